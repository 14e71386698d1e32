package api

// The write API: two POST routes that add records to the archive, behind
// bearer tokens.
//
//	POST /api/v1/captures    JSON {"url", "entity", "document"}: capture the
//	                         URL from this server (ingest.Ingester.Capture)
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
// Statuses before anything is logged: 403 when the write API is disabled
// (no Options.Tokens, or a token file holding no tokens: {"error": "write
// API disabled: no tokens"}); 401 with WWW-Authenticate: Bearer without a
// valid "Authorization: Bearer <token>"; 429 with Retry-After (seconds) when
// the token is over its rate; 503 with Retry-After: 1 when
// Options.MaxCaptures captures are already running (the request is
// refused at once, not queued); 413 for a body over its limit; 400 for bad
// input, including what the archive refuses (archive.ErrInput). A capture
// that is logged but whose checkpoint the witnesses' quorum could not
// publish (fail-closed witnessing) answers 503 with Retry-After: 60 and the
// reason; the entry is published once the witnesses are back. For an
// archive shared by several frontends, a write that fails while the
// database or the bucket does not answer answers 503 with Retry-After: 5
// and which of them is down: nothing was acknowledged.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/verify"
)

// Defaults of the write API's Options.
const (
	// DefaultRateLimit is the requests per minute allowed to one token.
	DefaultRateLimit = 60
	// DefaultMaxCaptures is the number of write requests served at once.
	DefaultMaxCaptures = 8
	// MaxJSONBody is the largest JSON request body accepted: 64 KiB.
	MaxJSONBody = 64 << 10
	// maxField is the largest non-file multipart field accepted.
	maxField = 8 << 10
	// multipartSlack is allowed over MaxUploadBytes for the form's other
	// fields and its part headers.
	multipartSlack = 1 << 20
	// uploadReadTime is how long an upload's body may take to arrive,
	// overriding the server's ReadTimeout.
	uploadReadTime = 10 * time.Minute
)

// ErrTargetRefused is wrapped by the error with which a server-side
// capture refuses to connect to a loopback, private, link-local,
// multicast, unspecified or otherwise reserved address (unless
// Options.AllowPrivateTargets). The capture is logged as failed with
// reason "connect" and this error's text in its message.
var ErrTargetRefused = errors.New("address not allowed for server-side capture (loopback, private, link-local, multicast, unspecified or reserved)")

// reservedNets are refused besides what the net.IP predicates cover.
var reservedNets = func() []*net.IPNet {
	var nets []*net.IPNet
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"192.0.0.0/24",    // IETF protocol assignments
		"198.18.0.0/15",   // benchmarking
		"240.0.0.0/4",     // reserved, and the limited broadcast address
		"64:ff9b::/96",    // NAT64, which may reach any IPv4 address
		"64:ff9b:1::/48",  // local-use NAT64
		"2002::/16",       // 6to4, likewise
		"::/96",           // IPv4-compatible (deprecated)
		"100::/64",        // discard-only
		"2001:db8::/32",   // documentation
		"fec0::/10",       // site-local (deprecated)
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"192.0.2.0/24",    // documentation
	} {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			panic(err)
		}
		nets = append(nets, n)
	}
	return nets
}()

// refusedIP reports whether a server-side capture must not connect to ip.
func refusedIP(ip net.IP) bool {
	if ip4 := ip.To4(); ip4 != nil {
		// An IPv4-mapped IPv6 address is judged as the IPv4 address.
		ip = ip4
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	for _, n := range reservedNets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// refusePrivate is a net.Dialer.Control that refuses the addresses
// refusedIP names. It sees every connection a fetch makes, so it covers
// every DNS answer and every redirect.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrTargetRefused, address)
	}
	ip := net.ParseIP(host) // a zoned address ("fe80::1%eth0") does not parse: refused
	if ip == nil || refusedIP(ip) {
		return fmt.Errorf("%w: %s", ErrTargetRefused, host)
	}
	return nil
}

// writeAPI serves the write routes.
type writeAPI struct {
	s              *server
	in             *ingest.Ingester
	tokens         *Tokens
	fetch          capture.Options
	maxUpload      int64
	tempDir        string
	limit          *rateLimiter
	captures       chan struct{}
	allowedPrivate bool
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
		w.fetch.Control = refusePrivate
	}
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
	return w
}

// guard wraps a write handler with, in order: the enabled check, bearer
// authentication, the token's rate limit and the capture semaphore.
func (wa *writeAPI) guard(h http.HandlerFunc) http.HandlerFunc {
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
		if wa.limit != nil {
			if ok, retry := wa.limit.allow(tok.ID); !ok {
				w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
				writeError(w, http.StatusTooManyRequests, "rate limit exceeded for this token")
				return
			}
		}
		select {
		case wa.captures <- struct{}{}:
			defer func() { <-wa.captures }()
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "too many captures in progress")
			return
		}
		h(w, r)
	}
}

// captureRequest is the body of POST /api/v1/captures.
type captureRequest struct {
	URL      string `json:"url"`
	Entity   string `json:"entity"`
	Document string `json:"document"`
}

// WriteResult is the body of a write route's answer.
type WriteResult struct {
	Record *RecordInfo `json:"record"`
	// Bundle is the record's evidence bundle (BundleMediaType) as JSON.
	Bundle json.RawMessage `json:"bundle"`
}

func (wa *writeAPI) capture(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req captureRequest
	if err := dec.Decode(&req); err != nil {
		if tooLarge(err) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", MaxJSONBody))
			return
		}
		writeError(w, http.StatusBadRequest, "request body: "+err.Error())
		return
	}
	if _, err := dec.Token(); err != io.EOF {
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
	rec, err := wa.in.Capture(r.Context(), req.URL, ingest.CaptureOptions{
		Entity: req.Entity, Document: req.Document, Fetch: wa.fetch,
	})
	if err != nil {
		wa.fail(w, r, err)
		return
	}
	wa.created(w, r, rec)
}

func (wa *writeAPI) upload(w http.ResponseWriter, r *http.Request) {
	// A large upload may take longer than the server's ReadTimeout; not
	// every ResponseWriter supports deadlines, so the error is ignored.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(uploadReadTime))
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
			writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("%s; the capture was not acknowledged: try again (%v)", ue.What+" unavailable", err))
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
