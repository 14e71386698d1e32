// Package ingest brings documents into an archive: a URL fetched over
// HTTP(S) (package capture) with its provenance, a file received out of
// band with what its supplier claims, and bulk imports of manifests. Each
// becomes a capture statement (in-toto Statement v1 with exhibit's capture
// predicate, docs/FORMATS.md section 2), its bytes stored content-addressed
// first, and is logged through the archive's one write path
// (archive.Archive.Submit and Await).
package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/internal/keyed"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// Ingester brings documents into one archive, opened for writing. It is
// safe for concurrent use.
type Ingester struct {
	a *archive.Archive
	// importing serialises imports of the same document.
	importing keyed.Mutex
	// rend renders browser captures (made at first use); rmu guards it.
	rmu  sync.Mutex
	rend *render.Renderer
}

// New returns an ingester for a, which must be open for writing.
func New(a *archive.Archive) *Ingester { return &Ingester{a: a} }

// CaptureOptions describe a capture.
type CaptureOptions struct {
	Entity   string
	Document string
	Fetch    capture.Options
	// Browser has the page loaded and rendered by a headless browser
	// (package render) instead of fetched: the statement (capture
	// predicate version 2, method "browser") names the main document's
	// body as its snapshot and the screenshot, PDF, DOM and WARC by SHA-256.
	// Render's zero fields take render's defaults, but its Timeout that of
	// Fetch; Fetch.InsecureSkipVerify applies too, and Fetch.Control
	// becomes Render.Control (the browser's connections then go through
	// render's proxy, which dials with it) unless Render.Control is set.
	// The rest of Fetch is unused.
	Browser bool
	Render  render.Options
}

// Capture fetches url over HTTP(S), stores the body, and logs a signed
// statement of what was observed. A final non-2xx status is captured with
// outcome "http_error". A fetch that yields no body (DNS, connection, TLS,
// redirect loop, timeout, body over the limit) is logged as a failed-capture
// record with its reason, and returned without error: check
// Record.Outcome. An error is returned only when the archive itself could
// not store, sign or log; then nothing is acknowledged.
func (in *Ingester) Capture(ctx context.Context, rawURL string, o CaptureOptions) (*record.Record, error) {
	name, p, done, err := in.fetch(ctx, rawURL, o)
	// A browser capture's browser is closed while its statement is
	// signed and logged; Capture returns once it is gone.
	defer done()
	if err != nil {
		return nil, err
	}
	s, err := in.submitCapture(ctx, name, p)
	if err != nil {
		return nil, err
	}
	return in.await1(ctx, s)
}

// Submit fetches url, stores what it received, and submits the statement
// of what was observed (as Capture does) without waiting for it to be
// acknowledged: see archive.Archive.Await.
func (in *Ingester) Submit(ctx context.Context, rawURL string, o CaptureOptions) (*archive.Submission, error) {
	name, p, done, err := in.fetch(ctx, rawURL, o)
	defer done()
	if err != nil {
		return nil, err
	}
	return in.submitCapture(ctx, name, p)
}

// await1 is Await for one submission.
func (in *Ingester) await1(ctx context.Context, s *archive.Submission) (*record.Record, error) {
	rs, err := in.a.Await(ctx, s)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// fetch fetches url, stores what it received, and returns the statement's
// subject name and predicate, not yet logged, and done, which the caller
// must call (see render; a no-op without a browser).
func (in *Ingester) fetch(ctx context.Context, rawURL string, o CaptureOptions) (string, verify.Capture, func(), error) {
	if o.Browser {
		return in.render(ctx, rawURL, o)
	}
	name, p, err := in.fetchHTTP(ctx, rawURL, o)
	return name, p, func() {}, err
}

func (in *Ingester) fetchHTTP(ctx context.Context, rawURL string, o CaptureOptions) (string, verify.Capture, error) {
	var none verify.Capture
	if err := in.a.Writable(); err != nil {
		return "", none, err
	}
	if u, err := url.Parse(rawURL); err == nil {
		if err := archive.CheckNoCredentials(u); err != nil {
			return "", none, err
		}
	}
	if err := archive.CheckText(map[string]string{"entity": o.Entity, "document": o.Document}); err != nil {
		return "", none, err
	}
	o.Fetch.Version = archive.Version
	var storeErr error
	res := capture.Fetch(ctx, rawURL, o.Fetch, func(ctx context.Context, body io.Reader) (string, int64, error) {
		obj, err := in.a.Store().Put(ctx, tagReads{body}, -1, "")
		if err != nil && !isReadError(err) {
			// The archive's fault, not the server's: reported, not logged.
			storeErr = err
		}
		if err != nil {
			return "", 0, err
		}
		return obj.SHA256, obj.Size, nil
	})
	if storeErr != nil {
		return "", none, fmt.Errorf("storing snapshot: %w", storeErr)
	}
	if errors.Is(ctx.Err(), context.Canceled) && res.Failure != nil {
		// Interrupted by the caller, not failed by the server: log nothing.
		return "", none, ctx.Err()
	}
	obs := res.Observed
	if len(res.CertChainPEM) > 0 && obs.TLS != nil {
		obj, err := in.a.Store().Put(ctx, bytes.NewReader(res.CertChainPEM), int64(len(res.CertChainPEM)), "")
		if err != nil {
			return "", none, fmt.Errorf("storing certificate chain: %w", err)
		}
		obs.TLS.CertificateChainSHA256 = obj.SHA256
	}
	p := verify.Capture{
		Entity:   o.Entity,
		Document: o.Document,
		Method:   verify.MethodFetch,
		Observed: &obs,
		Tool:     archive.Tool(),
	}
	name := rawURL
	switch {
	case res.Failure != nil:
		p.Outcome = verify.OutcomeFailed
		p.Failure = res.Failure
	default:
		p.Outcome = verify.OutcomeCaptured
		if obs.Status < 200 || obs.Status > 299 {
			p.Outcome = verify.OutcomeHTTPError
		}
		p.Snapshot = &verify.Snapshot{SHA256: res.SHA256, Size: res.Size, MediaType: res.MediaType}
	}
	return name, p, nil
}

// isReadError reports whether err came from reading the response body
// (which the fetcher classifies) rather than from writing the store.
func isReadError(err error) bool {
	var re *readError
	return errors.As(err, &re)
}

// readError marks an error from reading the response body.
type readError struct{ err error }

// tagReads wraps the errors of a reader (other than io.EOF) in *readError.
type tagReads struct{ r io.Reader }

func (t tagReads) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = &readError{err}
	}
	return n, err
}

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// FileOptions describe a document received out of band.
type FileOptions struct {
	Entity   string
	Document string
	// URL is where the supplier says the document came from (a claim).
	URL string
	// FetchedAt is when the supplier says it was fetched (a claim); zero if
	// not claimed.
	FetchedAt time.Time
	// SHA256, if set, is the digest the supplier states; the bytes must
	// match it or nothing is stored.
	SHA256 string
	// MediaType, if empty, is detected from the file name and content.
	MediaType string
}

// File archives a file received out of band. Its statement records
// what exhibit observed (the file name, size, digest and the time it was
// received) apart from what was claimed (URL and fetch time). Anything but
// a regular file (a named pipe, a device) is refused (*NotRegularError)
// before a byte is read; reading stops when ctx is done.
func (in *Ingester) File(ctx context.Context, path string, o FileOptions) (*record.Record, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return in.captureFile(ctx, f, path, o)
}

// captureFile archives the open file f, named path.
func (in *Ingester) captureFile(ctx context.Context, f *os.File, path string, o FileOptions) (*record.Record, error) {
	d, err := in.storeFile(ctx, f, path, o)
	if err != nil {
		return nil, err
	}
	s, err := d.submit(ctx)
	if err != nil {
		return nil, err
	}
	return in.await1(ctx, s)
}

// stored is a document stored, perhaps not yet durably, and the statement
// to log about it once it is.
type stored struct {
	in      *Ingester
	subject string
	p       verify.Capture
	durable func() error
	// lease is the context of the document's lease (archive.Claim), for
	// an import, and leaseKey its key; nil and "" otherwise.
	lease    context.Context
	leaseKey string
}

// submit waits until the document is durable, then submits its statement.
func (d *stored) submit(ctx context.Context) (*archive.Submission, error) {
	if err := d.durable(); err != nil {
		return nil, err
	}
	return d.in.submitCapture(ctx, d.subject, d.p)
}

// asyncPutter is a store that can make objects durable in groups (the
// local folder: store.FS).
type asyncPutter interface {
	PutAsync(ctx context.Context, r io.Reader, size int64, want string) (store.Object, func() error, error)
}

// maxHashFirst is the largest file storeFile hashes before it puts it in
// a store that does not make objects durable in groups.
const maxHashFirst = 64 << 20

// hashFile returns the hex SHA-256 digest of the rest of f, and seeks f
// back to where it was.
func hashFile(ctx context.Context, f *os.File) (string, error) {
	at, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, withContext(ctx, f)); err != nil {
		return "", err
	}
	if _, err := f.Seek(at, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// storeFile stores the open file f, named path, and returns the statement
// to log once it is durable. Of a store that makes objects durable in
// groups it does not wait for that: an import goes on storing while the
// file system flushes, and one flush serves many documents.
func (in *Ingester) storeFile(ctx context.Context, f *os.File, path string, o FileOptions) (*stored, error) {
	if err := in.a.Writable(); err != nil {
		return nil, err
	}
	if o.URL != "" {
		if err := checkClaimedURL(o.URL); err != nil {
			return nil, err
		}
	}
	if !o.FetchedAt.IsZero() {
		if err := checkClaimedTime(o.FetchedAt); err != nil {
			return nil, err
		}
	}
	if err := archive.CheckText(map[string]string{"entity": o.Entity, "document": o.Document, "url": o.URL, "file name": filepath.Base(path)}); err != nil {
		return nil, err
	}
	start := time.Now()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	mt := o.MediaType
	if mt == "" {
		mt = detectMediaType(f, path)
	}
	var obj store.Object
	durable := func() error { return nil }
	if ap, ok := in.a.Store().(asyncPutter); ok {
		obj, durable, err = ap.PutAsync(ctx, withContext(ctx, f), fi.Size(), o.SHA256)
	} else {
		want := o.SHA256
		if want == "" && fi.Size() <= maxHashFirst {
			// A remote store (S3) given the digest uploads straight to
			// the object's key: one conditional PUT (two, is it there?
			// put it, over 1 MiB) instead of four (put a temporary
			// object, is the final one there?, copy, delete the
			// temporary one). A file changed between the two reads is
			// refused by Put as a digest mismatch, nothing stored.
			if want, err = hashFile(ctx, f); err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		obj, err = in.a.Store().Put(ctx, withContext(ctx, f), fi.Size(), want)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	obs := verify.Observation{
		StartedAt:  verify.FormatTime(start),
		DurationMS: time.Since(start).Milliseconds(),
		FileName:   filepath.Base(path),
	}
	p := verify.Capture{
		Entity:   o.Entity,
		Document: o.Document,
		Method:   verify.MethodUpload,
		Outcome:  verify.OutcomeCaptured,
		Snapshot: &verify.Snapshot{SHA256: obj.SHA256, Size: obj.Size, MediaType: mt},
		Observed: &obs,
		Tool:     archive.Tool(),
	}
	if o.URL != "" || !o.FetchedAt.IsZero() {
		p.Claimed = &verify.Claim{URL: o.URL}
		if !o.FetchedAt.IsZero() {
			p.Claimed.FetchedAt = verify.FormatTime(o.FetchedAt)
		}
	}
	name := o.URL
	if name == "" {
		name = filepath.Base(path)
	}
	return &stored{in: in, subject: name, p: p, durable: durable}, nil
}

// checkClaimedURL requires an absolute URL without credentials.
func checkClaimedURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: claimed URL: %v", archive.ErrInput, err)
	}
	if u.Scheme == "" || u.Host == "" || strings.ContainsFunc(raw, unicode.IsSpace) {
		return fmt.Errorf("%w: claimed URL %q is not an absolute URL", archive.ErrInput, raw)
	}
	return archive.CheckNoCredentials(u)
}

// checkClaimedTime refuses a claimed fetch time before the web (1990) or
// more than a day in the future.
func checkClaimedTime(t time.Time) error {
	if t.Before(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) || t.After(time.Now().Add(24*time.Hour)) {
		return fmt.Errorf("%w: claimed fetch time %s is not plausible (before 1990 or in the future)", archive.ErrInput, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func detectMediaType(f *os.File, path string) string {
	if mt := mime.TypeByExtension(filepath.Ext(path)); mt != "" {
		return mt
	}
	var head [512]byte
	n, _ := f.ReadAt(head[:], 0)
	return http.DetectContentType(head[:n])
}

// submitCapture builds a capture statement and submits it. A statement
// too large for a log entry because of the response headers it holds has
// them moved into the store, named by digest.
func (in *Ingester) submitCapture(ctx context.Context, subject string, p verify.Capture) (*archive.Submission, error) {
	st := verify.Statement{
		Type:          verify.StatementType,
		PredicateType: verify.CapturePredicateType,
		Predicate:     p,
	}
	if p.Method == verify.MethodBrowser {
		st.PredicateType = verify.CapturePredicateTypeV2
	}
	digest := verify.SHA256Hex([]byte(subject))
	if p.Snapshot != nil {
		digest = p.Snapshot.SHA256
	}
	st.Subject = []verify.Subject{{Name: subject, Digest: map[string]string{"sha256": digest}}}
	s, err := in.a.Submit(ctx, &st)
	var tl *archive.EntryTooLargeError
	if errors.As(err, &tl) && st.Predicate.Observed.Headers != nil {
		// Move the headers out of the entry, into the store.
		hb, _ := json.Marshal(st.Predicate.Observed.Headers)
		obj, err := in.a.Store().Put(ctx, bytes.NewReader(hb), int64(len(hb)), "")
		if err != nil {
			return nil, fmt.Errorf("storing headers: %w", err)
		}
		obs := *st.Predicate.Observed
		obs.Headers = nil
		obs.HeadersDigest = obj.SHA256
		st.Predicate.Observed = &obs
		return in.a.Submit(ctx, &st)
	}
	return s, err
}
