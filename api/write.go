package api

// The write API: two POST routes that add records to the archive, behind
// bearer tokens.
//
//	POST /api/v1/captures    JSON {"url", "entity", "document", "browser",
//	                         "browser_wait_ms", "browser_delay_ms",
//	                         "browser_wait_for"}: capture the URL from this
//	                         server (ingest.Ingester.Capture)
//	POST /api/v1/snapshots   multipart/form-data: fields url (the claimed
//	                         URL), fetched_at (the claimed fetch time, RFC
//	                         3339, optional), entity, document, and a file
//	                         part "file" (ingest.Ingester.File)
//
// Both answer 201 Created with Location: /api/v1/records/{id} and the body
// {"record": {...}, "bundle": <the record's evidence bundle>} for every
// record they log, whatever its outcome: a server-side capture that could
// not fetch the URL (DNS, connect, TLS, timeout, a refused address...) is
// logged as a record with outcome "failed" and answered 201 like any other;
// the client reads record.outcome. "record.bundle" is the bundle's API path.
//
// A capture with "browser": true loads the page in a headless Chromium
// (package render, docs/FORMATS.md 2.10: capture predicate version 2,
// method "browser", a screenshot, a PDF and the DOM after scripts, served
// at /api/v1/records/{id}/rendering/{name}) by the server's one renderer
// (Options.Browser: its binary, and at most MaxBrowsers browsers at once).
// "browser_wait_ms", only with "browser", is the longest wait for the page
// to settle, 1 ms up to the render's time limit (Options.Fetch.Timeout, 60
// s by default); without it, 15 s. "browser_delay_ms", only with
// "browser", is the least wait after the load event, 0 up to that limit
// (render.DefaultDelay, none, without it: the page's short timers are
// waited for by the wait rule itself); "browser_wait_for", only with
// "browser", a CSS selector (at most 1024 bytes, no control characters)
// the page must match to count as settled. A browser capture holds a browser slot
// beside its capture slot; when every browser is busy it is refused at
// once with 503 and Retry-After: 5, never queued. A render that failed
// (no browser: "browser_unavailable", a crash, a page over 64 MiB, the
// time limit) is a failed capture, logged and answered 201 like a failed
// fetch. Browser captures obey the address policy of fetches
// (capture.RefusePrivate, unless Options.AllowPrivateTargets): every
// connection of the browser goes through render's proxy, which dials with
// the same Control function, so a page whose main document (or a hop of
// its redirects) is at a refused address is a failed capture with reason
// "connect" answered 201, as a refused fetch is, and a refused
// sub-resource is not loaded and is named in the WARC's warcinfo record.
//
// Statuses before anything is logged: 403 when the write API is disabled
// (no Options.Tokens, or a token file holding no tokens: {"error": "write
// API disabled: no tokens"}); 401 with WWW-Authenticate: Bearer without a
// valid "Authorization: Bearer <token>"; 429 with Retry-After (seconds) when
// the token already has Options.MaxPerToken requests in progress (checked
// first: such a request does not count against the rate), or is over its
// rate; 408 (and the connection closed) when the body arrives slower
// than Options.MinUploadRate once Options.UploadGrace has passed;
// 503 with Retry-After: 1 when Options.MaxCaptures captures are already
// being worked on once this one's body has arrived (the request is refused
// at once, not queued: a slot is held from when the work starts, never
// while a body trickles in, and the server's WriteTimeout counts from
// then too), or with Retry-After: 5 when a browser capture finds every
// browser busy; 413 for a body over its limit; 400 for bad
// input, including what the archive refuses (archive.ErrInput). A capture
// that is logged but whose checkpoint the witnesses' quorum could not
// publish (fail-closed witnessing) answers 503 with Retry-After: 60 and the
// reason; the entry is published once the witnesses are back. For an
// archive shared by several frontends, a write that fails while the
// database or the bucket does not answer answers 503 with Retry-After: 5
// and which of them is down: nothing was acknowledged.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/verify"
)

// Defaults of the write API's Options.
const (
	// DefaultRateLimit is the requests per minute allowed to one token.
	DefaultRateLimit = 60
	// DefaultMaxCaptures is the number of write requests worked on at
	// once.
	DefaultMaxCaptures = 8
	// DefaultMaxPerToken is the number of write requests one token may
	// have in progress at once.
	DefaultMaxPerToken = 4
	// DefaultMinUploadRate is the slowest a request body may arrive, in
	// bytes per second, after DefaultUploadGrace.
	DefaultMinUploadRate = 32 << 10
	// DefaultUploadGrace is the time a body may lag the minimum rate by.
	DefaultUploadGrace = 10 * time.Second
	// MaxJSONBody is the largest JSON request body accepted: 64 KiB.
	MaxJSONBody = 64 << 10
	// retryBrowser is the Retry-After, in seconds, of a browser capture
	// refused because every browser is busy: about a render's time.
	retryBrowser = "5"
	// maxField is the largest non-file multipart field accepted.
	maxField = 8 << 10
	// multipartSlack is allowed over MaxUploadBytes for the form's other
	// fields and its part headers.
	multipartSlack = 1 << 20
)

// writeAPI serves the write routes.
type writeAPI struct {
	s          *server
	in         *ingest.Ingester
	tokens     *Tokens
	fetch      capture.Options
	maxUpload  int64
	tempDir    string
	limit      *rateLimiter
	captures   chan struct{} // a slot per write request worked on
	browsers   chan struct{} // a slot per browser capture worked on
	renderMax  time.Duration // a render's time limit: the most browser_wait_ms may be
	perToken   int           // requests in progress a token may have; 0: no limit
	minRate    int64         // bytes per second
	grace      time.Duration
	mu         sync.Mutex
	inProgress map[string]int // token ID -> its requests in progress
}

func newWriteAPI(s *server, o Options) *writeAPI {
	w := &writeAPI{
		s:         s,
		in:        ingest.New(s.a),
		tokens:    o.Tokens,
		fetch:     o.Fetch,
		maxUpload: o.MaxUploadBytes,
		tempDir:   o.TempDir,
	}
	if w.maxUpload <= 0 {
		w.maxUpload = capture.DefaultMaxBodyBytes
	}
	if !o.AllowPrivateTargets {
		w.fetch.Control = capture.RefusePrivate
	}
	// One renderer for the server, its browsers counted by the write
	// API's slots: a render waits in the renderer's own queue only for
	// browsers that others sharing it (tracking) hold.
	rend := o.Renderer
	if rend == nil {
		rend = render.New(o.Browser)
	}
	w.in.SetRenderer(rend)
	w.browsers = make(chan struct{}, max(1, cmp.Or(o.Browser.MaxBrowsers, render.DefaultMaxBrowsers)))
	w.renderMax = cmp.Or(o.Fetch.Timeout, render.DefaultTimeout)
	rate := o.RateLimit
	if rate == 0 {
		rate = DefaultRateLimit
	}
	if rate > 0 {
		w.limit = newRateLimiter(float64(rate)/60, float64(rate), time.Now)
	}
	n := o.MaxCaptures
	if n <= 0 {
		n = DefaultMaxCaptures
	}
	w.captures = make(chan struct{}, n)
	switch {
	case o.MaxPerToken == 0:
		w.perToken = DefaultMaxPerToken
	case o.MaxPerToken > 0:
		w.perToken = o.MaxPerToken
	}
	w.inProgress = map[string]int{}
	w.minRate, w.grace = o.MinUploadRate, o.UploadGrace
	if w.minRate <= 0 {
		w.minRate = DefaultMinUploadRate
	}
	if w.grace <= 0 {
		w.grace = DefaultUploadGrace
	}
	return w
}

// guard wraps a write handler with, in order: the enabled check, bearer
// authentication, the token's limit of requests in progress, its rate
// limit, and the minimum rate of the request body. The handler reads
// the body, then calls job.start, which takes a capture slot for the
// work.
func (wa *writeAPI) guard(h func(http.ResponseWriter, *http.Request, *job)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if wa.tokens == nil {
			writeError(w, http.StatusForbidden, "write API disabled: no tokens")
			return
		}
		toks, err := wa.tokens.List()
		if err != nil {
			wa.s.fail(w, r, err)
			return
		}
		if len(toks) == 0 {
			writeError(w, http.StatusForbidden, "write API disabled: no tokens")
			return
		}
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="exhibit"`)
			writeError(w, http.StatusUnauthorized, "a bearer token is required")
			return
		}
		tok, ok, err := wa.tokens.Verify(strings.TrimSpace(secret))
		if err != nil {
			wa.s.fail(w, r, err)
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="exhibit", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid bearer token")
			return
		}
		// The requests in progress first: a request refused for them
		// does not use up one of the token's rate.
		if !wa.enter(tok.ID) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("this token already has %d requests in progress", wa.perToken))
			return
		}
		defer wa.leave(tok.ID)
		if wa.limit != nil {
			if ok, retry := wa.limit.allow(tok.ID); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
				writeError(w, http.StatusTooManyRequests, "rate limit exceeded for this token")
				return
			}
		}
		r.Body = newMinRateBody(w, r.Body, wa.minRate, wa.grace)
		j := &job{wa: wa}
		defer j.end()
		h(w, r, j)
	}
}

// enter counts a request of token in progress, unless it already has the
// most it may.
func (wa *writeAPI) enter(token string) bool {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	if wa.perToken > 0 && wa.inProgress[token] >= wa.perToken {
		return false
	}
	wa.inProgress[token]++
	return true
}

func (wa *writeAPI) leave(token string) {
	wa.mu.Lock()
	defer wa.mu.Unlock()
	if wa.inProgress[token]--; wa.inProgress[token] <= 0 {
		delete(wa.inProgress, token)
	}
}

// job is a write request's hold on a capture slot, and a browser
// capture's on a browser slot.
type job struct {
	wa      *writeAPI
	held    bool
	browser bool
}

// start takes a capture slot for the request's work, once its body has
// been received, and with browser a browser slot too; with either none
// free, it answers 503 and returns false, holding neither. The server's
// WriteTimeout, if any, then counts from now: the time a slow upload took
// to arrive is not taken from the time to answer it.
func (j *job) start(w http.ResponseWriter, r *http.Request, browser bool) bool {
	select {
	case j.wa.captures <- struct{}{}:
		j.held = true
	default:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "too many captures in progress")
		return false
	}
	if browser {
		select {
		case j.wa.browsers <- struct{}{}:
			j.browser = true
		default:
			j.end()
			w.Header().Set("Retry-After", retryBrowser)
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("all %d browsers are busy", cap(j.wa.browsers)))
			return false
		}
	}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && srv.WriteTimeout > 0 {
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(srv.WriteTimeout))
	}
	return true
}

func (j *job) end() {
	if j.browser {
		<-j.wa.browsers
		j.browser = false
	}
	if j.held {
		<-j.wa.captures
		j.held = false
	}
}

// minRateBody is a request body that must arrive at a minimum rate: after
// each read it moves the connection's read deadline to start + grace +
// received/rate, so that a read waiting past it fails (*slowBodyError).
type minRateBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	rate  int64
	grace time.Duration
	n     int64
}

func newMinRateBody(w http.ResponseWriter, body io.ReadCloser, rate int64, grace time.Duration) *minRateBody {
	b := &minRateBody{body: body, rc: http.NewResponseController(w), start: time.Now(), rate: rate, grace: grace}
	// Not every ResponseWriter supports deadlines (HTTP/2 does, as does
	// HTTP/1); without, the server's ReadTimeout bounds the body.
	b.rc.SetReadDeadline(b.deadline())
	return b
}

func (b *minRateBody) deadline() time.Time {
	return b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
}

func (b *minRateBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	b.n += int64(n)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, &slowBodyError{rate: b.rate, grace: b.grace, n: b.n, took: time.Since(b.start)}
	}
	if err == nil {
		b.rc.SetReadDeadline(b.deadline())
	}
	return n, err
}

func (b *minRateBody) Close() error { return b.body.Close() }

// slowBodyError reports a request body that fell below the minimum rate.
type slowBodyError struct {
	rate  int64
	grace time.Duration
	n     int64
	took  time.Duration
}

func (e *slowBodyError) Error() string {
	return fmt.Sprintf("request body slower than the minimum rate of %d bytes/s (after a grace of %v): %d bytes in %v",
		e.rate, e.grace, e.n, e.took.Round(time.Millisecond))
}

// slowBody answers 408 if err is a *slowBodyError, and says whether it did.
// The connection is closed after the answer (the body is unread).
func slowBody(w http.ResponseWriter, err error) bool {
	var se *slowBodyError
	if !errors.As(err, &se) {
		return false
	}
	w.Header().Set("Connection", "close")
	writeError(w, http.StatusRequestTimeout, se.Error())
	return true
}

// captureRequest is the body of POST /api/v1/captures.
type captureRequest struct {
	URL      string `json:"url"`
	Entity   string `json:"entity"`
	Document string `json:"document"`
	// Browser renders the page in a headless browser.
	Browser bool `json:"browser"`
	// BrowserWaitMS, with Browser, bounds the wait for the page to
	// settle, in milliseconds; nil: render.DefaultSettleTimeout.
	BrowserWaitMS *int64 `json:"browser_wait_ms"`
	// BrowserDelayMS, with Browser, is the least wait after the load
	// event, in milliseconds; nil: render.DefaultDelay.
	BrowserDelayMS *int64 `json:"browser_delay_ms"`
	// BrowserWaitFor, with Browser, is a CSS selector the page must
	// match to count as settled.
	BrowserWaitFor string `json:"browser_wait_for"`
}

// maxWaitFor bounds browser_wait_for, in bytes.
const maxWaitFor = 1024

// WriteResult is the body of a write route's answer.
type WriteResult struct {
	Record *RecordInfo `json:"record"`
	// Bundle is the record's evidence bundle (BundleMediaType) as JSON.
	Bundle json.RawMessage `json:"bundle"`
}

func (wa *writeAPI) capture(w http.ResponseWriter, r *http.Request, j *job) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req captureRequest
	if err := dec.Decode(&req); err != nil {
		if slowBody(w, err) {
			return
		}
		if tooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxJSONBody))
			return
		}
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
		if slowBody(w, err) {
			return
		}
		if tooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxJSONBody))
			return
		}
		writeError(w, http.StatusBadRequest, "request body: one JSON object expected")
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("url %q: want an absolute http or https URL", req.URL))
		return
	}
	o := ingest.CaptureOptions{Entity: req.Entity, Document: req.Document, Fetch: wa.fetch, Browser: req.Browser}
	if req.BrowserWaitMS != nil {
		ms := *req.BrowserWaitMS
		if !req.Browser {
			writeError(w, http.StatusBadRequest, `browser_wait_ms goes with "browser": true`)
			return
		}
		if ms < 1 || ms > wa.renderMax.Milliseconds() {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("browser_wait_ms %d: want 1 to %d (the render's time limit)", ms, wa.renderMax.Milliseconds()))
			return
		}
		o.Render.SettleTimeout = time.Duration(ms) * time.Millisecond
	}
	if req.BrowserDelayMS != nil {
		ms := *req.BrowserDelayMS
		if !req.Browser {
			writeError(w, http.StatusBadRequest, `browser_delay_ms goes with "browser": true`)
			return
		}
		if ms < 0 || ms > wa.renderMax.Milliseconds() {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("browser_delay_ms %d: want 0 to %d (the render's time limit)", ms, wa.renderMax.Milliseconds()))
			return
		}
		o.Render.Delay = time.Duration(ms) * time.Millisecond
		if ms == 0 {
			o.Render.Delay = -1 // none; render's zero is its default
		}
	}
	if req.BrowserWaitFor != "" {
		if !req.Browser {
			writeError(w, http.StatusBadRequest, `browser_wait_for goes with "browser": true`)
			return
		}
		if len(req.BrowserWaitFor) > maxWaitFor || strings.ContainsFunc(req.BrowserWaitFor, verify.IsControl) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("browser_wait_for: want a CSS selector of at most %d bytes without control characters", maxWaitFor))
			return
		}
		o.Render.WaitFor = req.BrowserWaitFor
	}
	if !j.start(w, r, req.Browser) {
		return
	}
	rec, err := wa.in.Capture(r.Context(), req.URL, o)
	if err != nil {
		wa.fail(w, r, err)
		return
	}
	wa.created(w, r, rec)
}

func (wa *writeAPI) upload(w http.ResponseWriter, r *http.Request, j *job) {
	// The body's time is bounded by its minimum rate (see guard), which
	// overrides the server's ReadTimeout.
	r.Body = http.MaxBytesReader(w, r.Body, wa.maxUpload+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "want a multipart/form-data body: "+err.Error())
		return
	}
	fields := map[string]string{}
	var file string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			wa.bodyError(w, err)
			return
		}
		name := p.FormName()
		switch name {
		case "url", "fetched_at", "entity", "document":
			if _, dup := fields[name]; dup {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("field %q given twice", name))
				return
			}
			b, err := io.ReadAll(io.LimitReader(p, maxField+1))
			if err != nil {
				wa.bodyError(w, err)
				return
			}
			if len(b) > maxField {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("field %q over %d bytes", name, maxField))
				return
			}
			fields[name] = string(b)
		case "file":
			if file != "" {
				writeError(w, http.StatusBadRequest, `part "file" given twice`)
				return
			}
			dir, err := os.MkdirTemp(wa.tempDir, "exhibit-upload-")
			if err != nil {
				wa.s.fail(w, r, err)
				return
			}
			defer os.RemoveAll(dir)
			file = filepath.Join(dir, uploadName(p.FileName()))
			if status, err := wa.saveUpload(file, p); err != nil {
				if slowBody(w, err) {
					return
				}
				if status == http.StatusInternalServerError {
					wa.s.fail(w, r, err)
				} else {
					writeError(w, status, err.Error())
				}
				return
			}
			if ct := p.Header.Get("Content-Type"); ct != "" {
				if mt, params, err := mime.ParseMediaType(ct); err == nil && mt != "application/octet-stream" {
					fields["media_type"] = mime.FormatMediaType(mt, params)
				}
			}
		default:
			writeError(w, http.StatusBadRequest, fmt.Sprintf("unexpected form field %q", name))
			return
		}
	}
	if file == "" {
		writeError(w, http.StatusBadRequest, `missing the file part "file"`)
		return
	}
	if fields["url"] == "" {
		writeError(w, http.StatusBadRequest, `missing the field "url" (the claimed URL)`)
		return
	}
	o := ingest.FileOptions{Entity: fields["entity"], Document: fields["document"], URL: fields["url"], MediaType: fields["media_type"]}
	if v := fields["fetched_at"]; v != "" {
		t, err := verify.ParseTime(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("fetched_at %q: want an RFC 3339 time", v))
			return
		}
		o.FetchedAt = t
	}
	if !j.start(w, r, false) {
		return
	}
	rec, err := wa.in.File(r.Context(), file, o)
	if err != nil {
		wa.fail(w, r, err)
		return
	}
	wa.created(w, r, rec)
}

// saveUpload writes the file part to path, refusing more than maxUpload
// bytes. It returns the status to answer with on error.
func (wa *writeAPI) saveUpload(path string, part io.Reader) (int, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	n, err := io.Copy(f, io.LimitReader(part, wa.maxUpload+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case tooLarge(err) || (err == nil && n > wa.maxUpload):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("upload over %d bytes", wa.maxUpload)
	case isFSError(err):
		return http.StatusInternalServerError, err
	case err != nil:
		return http.StatusBadRequest, fmt.Errorf("reading the upload: %w", err)
	}
	return 0, nil
}

// isFSError reports whether err came from the file system rather than
// from reading the request.
func isFSError(err error) bool {
	var pe *os.PathError
	return err != nil && errors.As(err, &pe)
}

// uploadName is the file name an upload is stored under (and recorded in
// its statement): the base of the name the client gave, or "upload".
func uploadName(name string) string {
	name = filepath.Base(filepath.Clean("/" + strings.ReplaceAll(name, `\`, "/")))
	if name == "/" || name == "." || name == ".." || name == "" {
		return "upload"
	}
	return name
}

func (wa *writeAPI) bodyError(w http.ResponseWriter, err error) {
	if slowBody(w, err) {
		return
	}
	if tooLarge(err) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", wa.maxUpload+multipartSlack))
		return
	}
	writeError(w, http.StatusBadRequest, "reading the form: "+err.Error())
}

func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}

// fail answers 400 for what the archive refused, 503 (with Retry-After)
// when the witnesses' quorum could not be gathered, else as server.fail.
func (wa *writeAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, archive.ErrInput) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nothing was logged.
		return
	}
	if ue := (*archive.UnavailableError)(nil); errors.As(err, &ue) {
		// A write that waited for the log while the database was down
		// (archive.DBDownWait): its record may still be logged.
		w.Header().Set("Retry-After", retryUnavailable)
		writeError(w, http.StatusServiceUnavailable, "not acknowledged: "+ue.Error())
		return
	}
	if s := wa.s; s.a.Shared() {
		// A database or bucket down fails the write: say so, and when
		// to try again. Nothing unacknowledged is lost to the client,
		// which retries.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), healthTimeout)
		herr := s.a.Health(ctx)
		cancel()
		var ue *archive.UnavailableError
		if errors.As(herr, &ue) {
			w.Header().Set("Retry-After", retryUnavailable)
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%v; the capture was not acknowledged: try again (%v)", ue, err))
			return
		}
	}
	if errors.Is(err, trust.ErrNoQuorum) {
		// Fail-closed witnessing: the entry is sequenced and will be
		// published once the witnesses are back; the client may retry.
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	wa.s.fail(w, r, err)
}

// created answers 201 with the record and its bundle, both from what the
// write path returned: nothing is read back but the inclusion proof's
// tiles.
func (wa *writeAPI) created(w http.ResponseWriter, r *http.Request, rec *record.Record) {
	wa.s.metrics.captures.WithLabelValues(rec.Method, rec.Outcome).Inc()
	b, err := wa.s.a.Bundle(r.Context(), rec, archive.ProveOptions{})
	if err != nil {
		wa.s.fail(w, r, err)
		return
	}
	info, err := wa.s.recordInfo(rec, b)
	if err != nil {
		wa.s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Location", "/api/v1/records/"+rec.ID)
	w.WriteHeader(http.StatusCreated)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(WriteResult{Record: info, Bundle: b.Marshal()})
}

// rateLimiter is a token bucket per key: each holds up to burst requests
// and refills at rate per second.
type rateLimiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	now     func() time.Time
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rate, burst float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{rate: rate, burst: burst, now: now, buckets: map[string]*bucket{}}
}

// allow takes one request from key's bucket; when it is empty, it reports
// how long until one is available.
func (l *rateLimiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
