package ingest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// ManifestEntry is one line of an import manifest (JSON Lines), in the
// format of the policy corpus's manifest.jsonl. Other fields are ignored;
// a key given twice in a line (or twice but for case) is refused.
type ManifestEntry struct {
	Entity   string `json:"entity"`
	Document string `json:"document"`
	URL      string `json:"url"`
	// FetchedAt is RFC 3339 (converted to UTC).
	FetchedAt string `json:"fetched_at"`
	// File is a relative path inside the manifest's folder; it may not
	// leave it (no absolute paths, no "..", no symbolic links out).
	File string `json:"file"`
	// SHA256, optional, is checked before the file is stored.
	SHA256 string `json:"sha256,omitempty"`

	line int
	at   time.Time
	base string // the manifest's folder
}

// ManifestError reports a malformed manifest line.
type ManifestError struct {
	Path string
	Line int
	Err  error
}

func (e *ManifestError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }
func (e *ManifestError) Unwrap() error { return e.Err }

// ReadManifest reads and validates a whole manifest. Every malformed line
// is reported (joined errors of type *ManifestError); nothing is imported
// from a manifest with any. A manifest that is not a regular file (a named
// pipe, a device) is refused (*NotRegularError) before it is read.
func ReadManifest(path string) ([]ManifestEntry, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	base := filepath.Dir(path)
	var out []ManifestEntry
	var errs []error
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\ufeff")) // a UTF-8 byte order mark
		}
		if len(line) == 0 {
			continue
		}
		var e ManifestEntry
		bad := func(format string, args ...any) {
			errs = append(errs, &ManifestError{Path: path, Line: n, Err: fmt.Errorf(format, args...)})
		}
		if !utf8.Valid(line) {
			bad("not valid UTF-8")
			continue
		}
		// A key given twice would be read as one of its values, the other
		// dropped unseen: refused, as bundles refuse it.
		if err := verify.UniqueKeys(line); err != nil {
			bad("%v", err)
			continue
		}
		if err := json.Unmarshal(line, &e); err != nil {
			bad("%v", err)
			continue
		}
		e.line = n
		switch {
		case e.URL == "":
			bad("missing url")
			continue
		case e.File == "":
			bad("missing file")
			continue
		case e.FetchedAt == "":
			bad("missing fetched_at")
			continue
		}
		if err := archive.CheckText(map[string]string{"entity": e.Entity, "document": e.Document, "url": e.URL}); err != nil {
			bad("%v", err)
			continue
		}
		if err := checkClaimedURL(e.URL); err != nil {
			bad("%v", err)
			continue
		}
		if !filepath.IsLocal(e.File) {
			bad("file %q is not a relative path inside the manifest's folder", e.File)
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, e.FetchedAt)
		if err != nil {
			bad("fetched_at: %v", err)
			continue
		}
		e.at = t.UTC()
		if err := checkClaimedTime(e.at); err != nil {
			bad("fetched_at: %v", err)
			continue
		}
		if e.SHA256 != "" && !store.ValidDigest(e.SHA256) {
			bad("sha256 %q is not 64 lowercase hex digits", e.SHA256)
			continue
		}
		e.base = base
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// ImportOptions configure Import.
type ImportOptions struct {
	// Concurrency is the number of documents read, stored and signed at
	// once. Default DefaultImportConcurrency.
	Concurrency int
	// OnResult is called (serially, in completion order) for each
	// document.
	OnResult func(ImportResult)
}

// ImportResult is what became of one line of a manifest.
type ImportResult struct {
	// Entry is the manifest line (its number, Line(), and file).
	Entry *ManifestEntry
	// Record is the document's record: the one logged now, or, when
	// Skipped, the earlier one.
	Record  *record.Record
	Skipped bool
	// Err says why the document was not imported (nothing of it was
	// logged), or wraps context.Canceled when the import was interrupted
	// before it was acknowledged (a re-run finds it, or imports it).
	Err error
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Total    int `json:"total"`
	Imported int `json:"imported"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
	// LeaseLost counts the failed documents whose lease (of a shared
	// archive) was lost before they were handed to the log: they were
	// not imported, and another frontend may import them, or a re-run.
	LeaseLost int `json:"lease_lost"`
	// Interrupted counts documents not imported because ctx was cancelled;
	// a re-run imports them.
	Interrupted int           `json:"interrupted"`
	Elapsed     time.Duration `json:"-"`
	Seconds     float64       `json:"seconds"`
}

// Import archives every document of a manifest, concurrently. A document
// already imported (same URL, claimed fetch time and SHA-256) is skipped.
// A document that cannot be imported (missing file, not a regular file,
// digest mismatch) is counted as failed and reported through OnResult; it
// leaves nothing behind. On a shared archive, a document whose lease is
// lost before it is handed to the log is not logged: it is counted as
// failed (and in LeaseLost), with an error wrapping archive.ErrLeaseLost.
// Once ctx is done, no document is started and the
// reading of those under way stops: they are counted as interrupted.
// The returned error is for the import as a whole (a cancelled context).
//
// Documents flow through two stages: Concurrency workers read, hash and
// store them; then each waits, without holding a worker, until its
// snapshot is durable (in the local folder, one group flush serves the
// documents stored meanwhile), has its statement signed and submitted to
// the log, and waits for the checkpoint that publishes it. At most
// MaxPublishing documents are in the second stage at once.
func (in *Ingester) Import(ctx context.Context, entries []ManifestEntry, o ImportOptions) (*ImportSummary, error) {
	if err := in.a.Writable(); err != nil {
		return nil, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultImportConcurrency
	}
	start := time.Now()
	seen, err := in.uploads(ctx)
	if err != nil {
		return nil, err
	}
	rs := &roots{m: map[string]*os.Root{}}
	defer rs.close()
	sum := &ImportSummary{Total: len(entries)}
	var mu sync.Mutex
	report := func(res ImportResult) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(res.Err, context.Canceled):
			sum.Interrupted++
		case res.Err != nil:
			sum.Failed++
			if errors.Is(res.Err, archive.ErrLeaseLost) {
				sum.LeaseLost++
			}
		case res.Skipped:
			sum.Skipped++
		default:
			sum.Imported++
		}
		if o.OnResult != nil {
			o.OnResult(res)
		}
	}
	work := make(chan *ManifestEntry)
	publishing := make(chan struct{}, MaxPublishing)
	var wg, finishing sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for e := range work {
				r, d, unlock, err := in.importOne(ctx, e, seen, rs)
				if d == nil {
					report(ImportResult{Entry: e, Record: r, Skipped: r != nil, Err: err})
					continue
				}
				publishing <- struct{}{}
				finishing.Go(func() {
					defer func() { <-publishing }()
					defer unlock()
					// The document's lease, renewed at once: lost, the
					// document is not handed to the log (another frontend
					// may be logging it). Once handed, it is waited for
					// whatever becomes of the lease: it is logged.
					if importHook != nil {
						importHook(d.lease, d.leaseKey)
					}
					var sub *archive.Submission
					err := archive.ConfirmLease(d.lease)
					if err != nil {
						err = notImported(d.lease, err)
					} else {
						sub, err = d.submit(ctx)
					}
					if err == nil {
						r, err = in.await1(ctx, sub)
					}
					if err == nil {
						seen.add(e.key(r.SHA256))
					}
					report(ImportResult{Entry: e, Record: r, Err: err})
				})
			}
		})
	}
	for i := range entries {
		if ctx.Err() != nil {
			break
		}
		work <- &entries[i]
	}
	close(work)
	wg.Wait()
	finishing.Wait()
	sum.Elapsed = time.Since(start)
	sum.Seconds = sum.Elapsed.Seconds()
	return sum, ctx.Err()
}

// DefaultImportConcurrency is the number of documents Import reads, stores
// and signs at once unless told otherwise.
const DefaultImportConcurrency = 32

// MaxPublishing bounds the documents submitted to the log and waiting for
// their checkpoint during an import, beside the Concurrency being stored.
const MaxPublishing = 4096

// importOne skips a document already archived (returning its record), or
// stores it (returning the statement to log once it is durable, and the
// unlock of its key, which the caller calls once it is acknowledged).
func (in *Ingester) importOne(ctx context.Context, e *ManifestEntry, seen *uploadSet, roots *roots) (*record.Record, *stored, func(), error) {
	fetchedAt := verify.FormatTime(e.at)
	root, err := roots.open(e.base)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := openRegularIn(root, e.File, filepath.Join(e.base, e.File))
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	digest := e.SHA256
	if digest == "" {
		h := sha256.New()
		buf := copyBuffers.Get().(*[]byte)
		_, err := io.CopyBuffer(h, ctxReader{ctx, f}, *buf)
		copyBuffers.Put(buf)
		if err != nil {
			return nil, nil, nil, err
		}
		digest = hex.EncodeToString(h.Sum(nil))
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, nil, nil, err
		}
	}
	// Two lines of one manifest (or two imports) naming the same document
	// must log it once: the second waits for the first, then finds it.
	key := e.key(digest)
	unlock := in.importing.Lock(key)
	work := ctx
	if in.a.Shared() {
		// Other frontends may import it at once, or have since this
		// import began: hold the document's lease, then look.
		// It is renewed until the document is logged (see Claim); a
		// frontend that dies frees it within archive.LeaseTTL. The
		// document is stored under it (work), and not logged once it
		// is lost.
		var release func()
		work, release, err = in.a.Lease(ctx, "import", key)
		if err != nil {
			unlock()
			return nil, nil, nil, err
		}
		local := unlock
		unlock = func() { release(); local() }
		seen.add(key)
	}
	if !seen.has(key) {
		// Not in the archive when the import began, nor imported since.
	} else if r, err := in.a.Index().FindImported(ctx, e.URL, fetchedAt, digest); err == nil {
		// The statement, not only the index's columns, must say so.
		if r.URL == e.URL && r.SHA256 == digest && r.CapturedAt == fetchedAt && r.Claimed {
			unlock()
			return r, nil, nil, nil
		}
		in.a.Logger().Warn("the index names a record that its statement contradicts; importing anew (run exhibit audit)", "record", r.ID, "url", e.URL)
	} else if !errors.Is(err, archive.ErrNotFound) {
		unlock()
		return nil, nil, nil, err
	}
	d, err := in.storeFile(work, f, filepath.Join(e.base, e.File), FileOptions{
		Entity:    e.Entity,
		Document:  e.Document,
		URL:       e.URL,
		FetchedAt: e.at,
		SHA256:    digest,
	})
	if err != nil {
		unlock()
		return nil, nil, nil, notImported(work, err)
	}
	d.lease, d.leaseKey = work, key
	return nil, d, unlock, nil
}

// importHook, set by tests, is called with each document's lease context
// and key before its lease is confirmed and it is handed to the log.
var importHook func(lease context.Context, key string)

// notImported is the error of a document whose step under its lease
// (work) failed with err: if the lease was lost, an error wrapping
// archive.ErrLeaseLost that says the document was not imported, else err.
func notImported(work context.Context, err error) error {
	cause := context.Cause(work)
	if !errors.Is(cause, archive.ErrLeaseLost) {
		if errors.Is(err, archive.ErrLeaseLost) {
			cause = err
		} else {
			return err
		}
	}
	return fmt.Errorf("not imported (its statement was not logged): %w; another frontend may import it, or a re-run of this import will", cause)
}

// Line returns the entry's line number in its manifest.
func (e *ManifestEntry) Line() int { return e.line }

// key identifies the document of a manifest line, of the given digest.
func (e *ManifestEntry) key(digest string) string {
	return e.URL + "\n" + verify.FormatTime(e.at) + "\n" + digest
}

// uploadSet holds hashes of the identities (ManifestEntry.key) of the
// uploads in the archive, so that an import looks up in the index only the
// documents that may be there already: a hash seen may be a collision (the
// index says), one not seen is surely absent.
type uploadSet struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64]struct{}
}

// uploads reads the identities of the archive's uploads.
func (in *Ingester) uploads(ctx context.Context) (*uploadSet, error) {
	s := &uploadSet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}}
	for u, err := range in.a.Index().Uploads(ctx) {
		if err != nil {
			return nil, err
		}
		s.add(u.URL + "\n" + u.FetchedAt + "\n" + u.SHA256)
	}
	return s, nil
}

func (s *uploadSet) add(key string) {
	h := maphash.String(s.seed, key)
	s.mu.Lock()
	s.m[h] = struct{}{}
	s.mu.Unlock()
}

func (s *uploadSet) has(key string) bool {
	h := maphash.String(s.seed, key)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[h]
	return ok
}

// roots opens each manifest's folder once, as the root its files are
// opened in (they may not leave it).
type roots struct {
	mu sync.Mutex
	m  map[string]*os.Root
}

func (r *roots) open(dir string) (*os.Root, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if root := r.m[dir]; root != nil {
		return root, nil
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	r.m[dir] = root
	return root, nil
}

func (r *roots) close() {
	for _, root := range r.m {
		root.Close()
	}
}

// copyBuffers are the buffers files are hashed through (io.Copy would
// allocate one per file).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
