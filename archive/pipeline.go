package archive

import (
	"bytes"
	"context"
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
	"time"
	"unicode"

	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// Record is the outcome of one capture, as the CLI prints it.
type Record struct {
	RecordID string `json:"record_id"`
	// Index is the entry's leaf index in the log.
	Index uint64 `json:"index"`
	// SHA256 is the snapshot's digest; empty for a failed capture.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Outcome is "captured", "http_error" or "failed".
	Outcome  string `json:"outcome"`
	Status   int    `json:"status,omitempty"`
	URL      string `json:"url"`
	FinalURL string `json:"final_url,omitempty"`
	Entity   string `json:"entity,omitempty"`
	Document string `json:"document,omitempty"`
	// CapturedAt is RFC 3339 UTC; Claimed marks a time claimed by the
	// supplier of an uploaded document rather than observed by exhibit.
	CapturedAt string          `json:"captured_at"`
	Claimed    bool            `json:"claimed,omitempty"`
	Failure    *verify.Failure `json:"failure,omitempty"`
	// Bundle is the path of the record's evidence bundle file.
	Bundle string `json:"bundle"`
	// Existed reports that an import skipped this document because it was
	// already archived; the record is the earlier one.
	Existed bool `json:"skipped,omitempty"`

	Statement *verify.Statement `json:"-"`
	Entry     []byte            `json:"-"`
}

// CaptureOptions describe a capture.
type CaptureOptions struct {
	Entity   string
	Document string
	Fetch    capture.Options
}

// Capture fetches url over HTTP(S), stores the body, and logs a signed
// statement of what was observed. A final non-2xx status is captured with
// outcome "http_error". A fetch that yields no body (DNS, connection, TLS,
// redirect loop, timeout, body over the limit) is logged as a failed-capture
// record with its reason, and returned without error: check
// Record.Outcome. An error is returned only when the archive itself could
// not store, sign or log; then nothing is acknowledged.
func (a *Archive) Capture(ctx context.Context, rawURL string, o CaptureOptions) (*Record, error) {
	name, p, err := a.fetch(ctx, rawURL, o)
	if err != nil {
		return nil, err
	}
	return a.commit(ctx, name, p)
}

// fetch fetches url, stores what it received, and returns the statement's
// subject name and predicate, not yet logged.
func (a *Archive) fetch(ctx context.Context, rawURL string, o CaptureOptions) (string, verify.Capture, error) {
	var none verify.Capture
	if a.writer == nil {
		return "", none, errors.New("archive opened read-only")
	}
	if u, err := url.Parse(rawURL); err == nil {
		if err := checkNoCredentials(u); err != nil {
			return "", none, err
		}
	}
	if err := checkText(map[string]string{"entity": o.Entity, "document": o.Document}); err != nil {
		return "", none, err
	}
	o.Fetch.Version = Version
	var storeErr error
	res := capture.Fetch(ctx, rawURL, o.Fetch, func(ctx context.Context, body io.Reader) (string, int64, error) {
		obj, err := a.store.Put(ctx, tagReads{body}, -1, "")
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
		obj, err := a.store.Put(ctx, bytes.NewReader(res.CertChainPEM), int64(len(res.CertChainPEM)), "")
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
		Tool:     tool(),
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

// CaptureFile archives a file received out of band. Its statement records
// what exhibit observed (the file name, size, digest and the time it was
// received) apart from what was claimed (URL and fetch time).
func (a *Archive) CaptureFile(ctx context.Context, path string, o FileOptions) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return a.captureFile(ctx, f, path, o)
}

// captureFile archives the open file f, named path.
func (a *Archive) captureFile(ctx context.Context, f *os.File, path string, o FileOptions) (*Record, error) {
	pend, err := a.prepareFile(ctx, f, path, o)
	if err != nil {
		return nil, err
	}
	return a.finish(ctx, pend)
}

// prepareFile stores the open file f, named path, and hands its statement
// to the log.
func (a *Archive) prepareFile(ctx context.Context, f *os.File, path string, o FileOptions) (*pending, error) {
	if a.writer == nil {
		return nil, errors.New("archive opened read-only")
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
	if err := checkText(map[string]string{"entity": o.Entity, "document": o.Document, "url": o.URL, "file name": filepath.Base(path)}); err != nil {
		return nil, err
	}
	start := time.Now()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	mt := o.MediaType
	if mt == "" {
		mt = detectMediaType(f, path)
	}
	obj, err := a.store.Put(ctx, f, fi.Size(), o.SHA256)
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
		Tool:     tool(),
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
	return a.prepare(ctx, name, p)
}

// checkClaimedURL requires an absolute URL without credentials.
func checkClaimedURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: claimed URL: %v", ErrInput, err)
	}
	if u.Scheme == "" || u.Host == "" || strings.ContainsFunc(raw, unicode.IsSpace) {
		return fmt.Errorf("%w: claimed URL %q is not an absolute URL", ErrInput, raw)
	}
	return checkNoCredentials(u)
}

// checkClaimedTime refuses a claimed fetch time before the web (1990) or
// more than a day in the future.
func checkClaimedTime(t time.Time) error {
	if t.Before(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)) || t.After(time.Now().Add(24*time.Hour)) {
		return fmt.Errorf("%w: claimed fetch time %s is not plausible (before 1990 or in the future)", ErrInput, t.UTC().Format(time.RFC3339))
	}
	return nil
}

// ErrInput is wrapped by the errors that refuse what a caller asked to
// archive (text, URLs, times), before anything is stored or logged.
var ErrInput = errors.New("refused")

// ErrCredentials is returned for a URL with a user name or password in it:
// the log is public and append-only, so they would be published for good.
// It wraps ErrInput.
var ErrCredentials = fmt.Errorf("%w: the URL holds credentials (user:password@); exhibit would publish them in its append-only log: remove them", ErrInput)

func checkNoCredentials(u *url.URL) error {
	if u.User != nil {
		return ErrCredentials
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

func tool() verify.Tool { return verify.Tool{Name: "exhibit", Version: Version} }

// commit signs the statement, appends it, waits for a checkpoint, writes
// the bundle and indexes the record.
func (a *Archive) commit(ctx context.Context, subject string, p verify.Capture) (*Record, error) {
	pend, err := a.prepare(ctx, subject, p)
	if err != nil {
		return nil, err
	}
	return a.finish(ctx, pend)
}

// pending is a statement signed and handed to the log, not yet published.
type pending struct {
	st    verify.Statement
	entry []byte
	add   *ledger.Pending
}

// prepare signs the statement and hands it to the log.
func (a *Archive) prepare(ctx context.Context, subject string, p verify.Capture) (*pending, error) {
	st := verify.Statement{
		Type:          verify.StatementType,
		PredicateType: verify.CapturePredicateType,
		Predicate:     p,
	}
	digest := verify.SHA256Hex([]byte(subject))
	if p.Snapshot != nil {
		digest = p.Snapshot.SHA256
	}
	st.Subject = []verify.Subject{{Name: subject, Digest: map[string]string{"sha256": digest}}}

	entry, err := a.sign(&st)
	if err != nil {
		return nil, err
	}
	if len(entry) > verify.MaxEntrySize && st.Predicate.Observed.Headers != nil {
		// Move the headers out of the entry, into the store.
		hb, _ := json.Marshal(st.Predicate.Observed.Headers)
		obj, err := a.store.Put(ctx, bytes.NewReader(hb), int64(len(hb)), "")
		if err != nil {
			return nil, fmt.Errorf("storing headers: %w", err)
		}
		obs := *st.Predicate.Observed
		obs.Headers = nil
		obs.HeadersDigest = obj.SHA256
		st.Predicate.Observed = &obs
		if entry, err = a.sign(&st); err != nil {
			return nil, err
		}
	}
	if len(entry) > verify.MaxEntrySize {
		return nil, fmt.Errorf("the signed statement is %d bytes, over the log's entry limit of %d", len(entry), verify.MaxEntrySize)
	}
	add, err := a.writer.Add(context.WithoutCancel(ctx), entry)
	if err != nil {
		return nil, err
	}
	return &pending{st: st, entry: entry, add: add}, nil
}

// finish waits for the checkpoint that publishes a prepared entry, then
// writes its bundle and indexes it. Once handed to the log, an entry is in
// it whether or not the caller still waits: finish runs regardless of ctx,
// within a bound, so that nothing is left half done.
func (a *Archive) finish(ctx context.Context, pend *pending) (*Record, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	idx, signedCP, err := a.wait(ctx, pend.add)
	if err != nil {
		a.finishLater(err, pend.entry, func(ctx context.Context) error {
			idx, signedCP, err := a.waitKept(ctx, pend.add)
			if err == nil {
				_, err = a.publish(ctx, pend, idx, signedCP)
			}
			return err
		})
		return nil, err
	}
	return a.publish(ctx, pend, idx, signedCP)
}

// publish writes the bundle of an entry published at idx under signedCP,
// and indexes it.
func (a *Archive) publish(ctx context.Context, pend *pending, idx uint64, signedCP []byte) (*Record, error) {
	st, entry := &pend.st, pend.entry
	cp, err := a.openCheckpoint(signedCP)
	if err != nil {
		return nil, fmt.Errorf("checkpoint published for entry %d: %w", idx, err)
	}
	bundle, err := a.reader.Prove(ctx, entry, idx, signedCP, cp)
	if err != nil {
		return nil, err
	}
	rec := newRecord(st, entry, idx)
	rec.Bundle = a.bundlePath(rec.RecordID)
	a.stamp(ctx, bundle, cp.Size, rec.RecordID)
	if err := writeBundle(rec.Bundle, bundle); err != nil {
		return nil, fmt.Errorf("writing bundle: %w", err)
	}
	if err := a.index.Add(ctx, indexRecord(rec)); err != nil {
		return nil, err
	}
	return rec, nil
}

// appendTimeout bounds the wait for a checkpoint covering a new entry.
const appendTimeout = 2 * time.Minute

func (a *Archive) sign(st *verify.Statement) ([]byte, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	// Never log what a verifier would reject.
	if _, err := verify.ParseStatement(payload); err != nil {
		return nil, fmt.Errorf("refusing to log: %w", err)
	}
	return a.signer.SignStatement(payload)
}

func (a *Archive) bundlePath(id string) string {
	return filepath.Join(a.dir, bundlesDir, id+".json")
}

func newRecord(st *verify.Statement, entry []byte, idx uint64) *Record {
	p := &st.Predicate
	at, claimed := st.CapturedAt()
	r := &Record{
		RecordID:   verify.RecordID(entry),
		Index:      idx,
		Outcome:    p.Outcome,
		Entity:     p.Entity,
		Document:   p.Document,
		URL:        st.Subject[0].Name,
		CapturedAt: verify.FormatTime(at),
		Claimed:    claimed,
		Failure:    p.Failure,
		Statement:  st,
		Entry:      entry,
	}
	if p.Snapshot != nil {
		r.SHA256 = p.Snapshot.SHA256
		r.Size = p.Snapshot.Size
	}
	if p.Observed != nil {
		r.Status = p.Observed.Status
		r.FinalURL = p.Observed.FinalURL
		if p.Method == verify.MethodFetch && p.Observed.RequestedURL != "" {
			r.URL = p.Observed.RequestedURL
		}
	}
	return r
}

func indexRecord(r *Record) *index.Record {
	return &index.Record{
		RecordID:   r.RecordID,
		LeafIndex:  r.Index,
		SHA256:     r.Statement.SubjectDigest(),
		URL:        r.URL,
		FinalURL:   r.FinalURL,
		Entity:     r.Entity,
		Document:   r.Document,
		Outcome:    r.Outcome,
		Method:     r.Statement.Predicate.Method,
		CapturedAt: r.CapturedAt,
		Claimed:    r.Claimed,
		Entry:      r.Entry,
	}
}

// recordFromIndex rebuilds a Record from the index; the statement is parsed
// from the stored entry, whose signature is checked.
func (a *Archive) recordFromIndex(ir *index.Record) (*Record, error) {
	st, err := a.openStatement(ir.Entry)
	if err != nil {
		return nil, fmt.Errorf("record %s in the index: %w", ir.RecordID, err)
	}
	if got := verify.RecordID(ir.Entry); got != ir.RecordID {
		return nil, fmt.Errorf("record %s in the index holds the entry of %s", ir.RecordID, got)
	}
	r := newRecord(st, ir.Entry, ir.LeafIndex)
	if p := a.bundlePath(r.RecordID); fileExists(p) {
		r.Bundle = p
	}
	return r, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
