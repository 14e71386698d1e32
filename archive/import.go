package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// ManifestEntry is one line of an import manifest (JSON Lines), in the
// format of the policy corpus's manifest.jsonl. Other fields are ignored.
type ManifestEntry struct {
	Entity   string `json:"entity"`
	Document string `json:"document"`
	URL      string `json:"url"`
	// FetchedAt is RFC 3339 (converted to UTC).
	FetchedAt string `json:"fetched_at"`
	// File is relative to the manifest's directory (or absolute).
	File string `json:"file"`
	// SHA256, optional, is checked before the file is stored.
	SHA256 string `json:"sha256,omitempty"`

	line int
	at   time.Time
	path string
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
// from a manifest with any.
func ReadManifest(path string) ([]ManifestEntry, error) {
	f, err := os.Open(path)
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
		if len(line) == 0 {
			continue
		}
		var e ManifestEntry
		bad := func(format string, args ...any) {
			errs = append(errs, &ManifestError{Path: path, Line: n, Err: fmt.Errorf(format, args...)})
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
		t, err := time.Parse(time.RFC3339Nano, e.FetchedAt)
		if err != nil {
			bad("fetched_at: %v", err)
			continue
		}
		e.at = t.UTC()
		if e.SHA256 != "" && !store.ValidDigest(e.SHA256) {
			bad("sha256 %q is not 64 lowercase hex digits", e.SHA256)
			continue
		}
		e.path = e.File
		if !filepath.IsAbs(e.path) {
			e.path = filepath.Join(base, e.File)
		}
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
	// Concurrency is the number of documents in flight. Default 32.
	Concurrency int
	// OnRecord is called (serially) for each document: with its record
	// (Existed set when it was skipped), or with an error.
	OnRecord func(e *ManifestEntry, r *Record, err error)
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Total    int           `json:"total"`
	Imported int           `json:"imported"`
	Skipped  int           `json:"skipped"`
	Failed   int           `json:"failed"`
	Elapsed  time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`
}

// Import archives every document of a manifest, concurrently. A document
// already imported (same URL, claimed fetch time and SHA-256) is skipped.
// A document that cannot be imported (missing file, digest mismatch) is
// counted as failed and reported through OnRecord; it leaves nothing behind.
// The returned error is for the import as a whole (a malformed manifest, a
// cancelled context).
func (a *Archive) Import(ctx context.Context, entries []ManifestEntry, o ImportOptions) (*ImportSummary, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	start := time.Now()
	sum := &ImportSummary{Total: len(entries)}
	var mu sync.Mutex
	report := func(e *ManifestEntry, r *Record, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err != nil:
			sum.Failed++
		case r.Existed:
			sum.Skipped++
		default:
			sum.Imported++
		}
		if o.OnRecord != nil {
			o.OnRecord(e, r, err)
		}
	}
	work := make(chan *ManifestEntry)
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				r, err := a.importOne(ctx, e)
				report(e, r, err)
			}
		}()
	}
	for i := range entries {
		if ctx.Err() != nil {
			break
		}
		work <- &entries[i]
	}
	close(work)
	wg.Wait()
	sum.Elapsed = time.Since(start)
	sum.Seconds = sum.Elapsed.Seconds()
	return sum, ctx.Err()
}

func (a *Archive) importOne(ctx context.Context, e *ManifestEntry) (*Record, error) {
	fetchedAt := verify.FormatTime(e.at)
	digest := e.SHA256
	if digest == "" {
		var err error
		if digest, err = hashFile(e.path); err != nil {
			return nil, err
		}
	}
	if ir, err := a.index.FindImported(ctx, e.URL, fetchedAt, digest); err == nil {
		r, err := a.recordFromIndex(ir)
		if err != nil {
			return nil, err
		}
		r.Existed = true
		return r, nil
	}
	return a.CaptureFile(ctx, e.path, FileOptions{
		Entity:    e.Entity,
		Document:  e.Document,
		URL:       e.URL,
		FetchedAt: e.at,
		SHA256:    digest,
	})
}

// Line returns the entry's line number in its manifest.
func (e *ManifestEntry) Line() int { return e.line }

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
