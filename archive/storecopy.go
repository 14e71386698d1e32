package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/exhibit-archive/exhibit/archive/internal/par"

	"github.com/exhibit-archive/exhibit/archive/store"
)

// ErrNotLocked is returned by CopyStore on an archive opened without Lock
// or Write.
var ErrNotLocked = errors.New("the archive must be opened with its write lock (OpenOptions.Lock or Write)")

// CopyOptions configure CopyStore.
type CopyOptions struct {
	// Concurrency is the number of objects copied, and then re-read, at
	// once. Default 8.
	Concurrency int
	// Progress, if set, is called from one goroutine after each object:
	// phase is "copy" while objects are copied, then "verify" while they
	// are re-read from the destination; done counts the objects of that
	// phase finished so far, total is the number of objects.
	Progress func(phase string, done, total uint64)
	// CreateBucket creates a missing S3 bucket (with Object Lock when the
	// destination asks for retention or a legal hold) instead of failing
	// with an error wrapping s3.ErrNoBucket.
	CreateBucket bool
}

// CopyReport is the result of CopyStore.
type CopyReport struct {
	// From and To are the Locations of the source and destination stores.
	From string `json:"from"`
	To   string `json:"to"`
	// Objects is the number of objects the source store lists; Copied of
	// them were written to the destination, AlreadyThere were found there
	// already (from an earlier, interrupted run); Bytes is the size of the
	// Copied ones. Verified is the number re-read from the destination
	// and found to hash to their names.
	Objects      int   `json:"objects"`
	Copied       int   `json:"copied"`
	AlreadyThere int   `json:"already_there"`
	Bytes        int64 `json:"bytes"`
	Verified     int   `json:"verified"`
	// Failures lists what went wrong, each with Where the object's digest
	// (or the store's location): "corrupt" (bytes that do not hash to
	// their name, in the source or the destination), "missing" (an object
	// not in the destination when re-read) or "store" (any other failure
	// to list, read or write). Any failure keeps the archive on its
	// current store.
	Failures []Problem `json:"failures"`
	// Switched reports that the archive's configuration now names the
	// destination store.
	Switched bool `json:"switched"`
}

// CopyStore copies every object of the archive's store to the store that
// to describes, verifies the copy, and then makes it the archive's store:
//
//  1. It opens the destination: an S3 bucket is checked as by Init
//     (credentials come from the environment), and created if missing
//     only with o.CreateBucket; a folder ("fs") must be a local path relative to the archive
//     directory. A destination at the current store's location is refused
//     with an error wrapping ErrInput.
//  2. It lists the current store and, for each object, with
//     o.Concurrency workers: if the destination holds an object of that
//     name and size, counts it AlreadyThere; otherwise reads it from the
//     source (hash-checked) and puts it into the destination with its
//     digest and size, so that the destination refuses bytes that do not
//     hash to the name. A source object that is corrupt is reported and
//     not copied; the others still are.
//  3. If nothing failed, it re-reads every object from the destination to
//     its end, hash-checked.
//  4. If nothing failed, it rewrites exhibit.json (atomically, fsynced)
//     with to as its store, and a uses the destination from then on.
//
// CopyStore is resumable: after an interruption or a failure, running it
// again with the same destination skips the objects already there. The
// source objects are left in place: delete them once satisfied (for the
// default store, the objects/ folder). Objects already in the destination
// that the source does not hold are left alone (exhibit audit reports
// them as orphaned).
//
// CopyStore requires a opened with Lock or Write (else ErrNotLocked), so
// that no other process changes the archive meanwhile, and that no other
// method of a runs concurrently with it. A failure of an object is reported
// in the CopyReport, with a nil error; the error is for a failure of the
// whole operation, such as an unreachable destination or the end of ctx
// (then the partial report is returned with it).
func (a *Archive) CopyStore(ctx context.Context, to StoreConfig, o CopyOptions) (*CopyReport, error) {
	if a.lock == nil {
		return nil, ErrNotLocked
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, uint64, uint64) {}
	}
	to, err := checkDestination(to)
	if err != nil {
		return nil, err
	}
	if to.Type == "s3" {
		if err := prepareS3(ctx, to, o.CreateBucket); err != nil {
			return nil, err
		}
	}
	dst, err := openStore(ctx, a.dir, to)
	if err != nil {
		return nil, err
	}
	rep := &CopyReport{From: a.store.Location(), To: dst.Location(), Failures: []Problem{}}
	if rep.From == rep.To {
		return nil, fmt.Errorf("%w: %s is already the archive's store", ErrInput, rep.To)
	}
	add := func(kind, where, format string, args ...any) {
		rep.Failures = append(rep.Failures, Problem{Kind: kind, Where: where, Detail: fmt.Sprintf(format, args...)})
	}

	var digests []string
	for d, err := range a.store.List(ctx) {
		if err != nil {
			add("store", rep.From, "listing: %v", err)
			continue
		}
		digests = append(digests, d)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("copying the store: %w", err)
	}
	sort.Strings(digests)
	rep.Objects = len(digests)
	total := uint64(len(digests))

	// Copy.
	var done uint64
	par.ForEach(ctx, digests, o.Concurrency, func(d string) copyResult {
		return a.copyObject(ctx, dst, d)
	}, func(r copyResult) {
		switch {
		case r.problem != nil && ctx.Err() != nil:
			// A failure caused by the end of ctx is not the object's.
		case r.problem != nil:
			rep.Failures = append(rep.Failures, *r.problem)
		case r.existed:
			rep.AlreadyThere++
		default:
			rep.Copied++
			rep.Bytes += r.size
		}
		done++
		progress("copy", done, total)
	})
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("copying the store: %w", err)
	}
	if len(rep.Failures) > 0 {
		return rep, nil
	}

	// Verify: re-read everything from the destination.
	done = 0
	par.ForEach(ctx, digests, o.Concurrency, func(d string) *Problem {
		err := store.Check(ctx, dst, d)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, store.ErrCorrupt):
			return &Problem{Kind: "corrupt", Where: d, Detail: fmt.Sprintf("re-read from the destination: %v", err)}
		case errors.Is(err, store.ErrNotFound):
			return &Problem{Kind: "missing", Where: d, Detail: fmt.Sprintf("not in the destination when re-read: %v", err)}
		default:
			return &Problem{Kind: "store", Where: d, Detail: fmt.Sprintf("re-reading from the destination: %v", err)}
		}
	}, func(p *Problem) {
		switch {
		case p != nil && ctx.Err() != nil:
		case p != nil:
			rep.Failures = append(rep.Failures, *p)
		default:
			rep.Verified++
		}
		done++
		progress("verify", done, total)
	})
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("verifying the copy: %w", err)
	}
	if len(rep.Failures) > 0 || rep.Verified != rep.Objects {
		return rep, nil
	}

	// Switch.
	cfg := *a.cfg
	cfg.Store = to
	b, _ := json.MarshalIndent(&cfg, "", "  ")
	if err := WriteFileAtomic(filepath.Join(a.dir, configFile), append(b, '\n'), 0o644); err != nil {
		return rep, fmt.Errorf("switching to the copied store: %w", err)
	}
	if err := syncDir(a.dir); err != nil {
		return rep, fmt.Errorf("switching to the copied store: %w", err)
	}
	a.cfg, a.store = &cfg, dst
	rep.Switched = true
	return rep, nil
}

// checkDestination validates and normalises CopyStore's destination.
func checkDestination(to StoreConfig) (StoreConfig, error) {
	switch to.Type {
	case "s3":
		return to, nil
	case "fs":
		if to.Bucket != "" || to.Prefix != "" || to.Endpoint != "" || to.Region != "" || to.PathStyle ||
			to.Retention != "" || to.RetentionMode != "" || to.LegalHold {
			return StoreConfig{}, fmt.Errorf("%w: S3 options given for a folder store", ErrInput)
		}
		if !filepath.IsLocal(to.Path) {
			return StoreConfig{}, fmt.Errorf("%w: store folder %q: want a path inside the archive directory, relative to it", ErrInput, to.Path)
		}
		return StoreConfig{Type: "fs", Path: filepath.ToSlash(filepath.Clean(to.Path))}, nil
	default:
		return StoreConfig{}, fmt.Errorf("%w: unknown store type %q", ErrInput, to.Type)
	}
}

type copyResult struct {
	existed bool
	size    int64
	problem *Problem
}

// copyObject copies the object d from a's store to dst, unless dst holds
// it already.
func (a *Archive) copyObject(ctx context.Context, dst store.Store, d string) copyResult {
	fail := func(kind, format string, args ...any) copyResult {
		return copyResult{problem: &Problem{Kind: kind, Where: d, Detail: fmt.Sprintf(format, args...)}}
	}
	size, err := a.store.Stat(ctx, d)
	if err != nil {
		return fail("store", "reading the source: %v", err)
	}
	switch n, err := dst.Stat(ctx, d); {
	case err == nil && n == size:
		return copyResult{existed: true, size: n}
	case err == nil:
		return fail("corrupt", "the destination holds %d bytes under this name, the source %d: remove the destination's object and copy again", n, size)
	case !errors.Is(err, store.ErrNotFound):
		return fail("store", "checking the destination: %v", err)
	}
	rc, err := a.store.Get(ctx, d)
	if err != nil {
		return fail("store", "reading the source: %v", err)
	}
	defer rc.Close()
	obj, err := dst.Put(ctx, rc, size, d)
	var dm *store.DigestMismatchError
	switch {
	case errors.As(err, &dm):
		// Whether the source's verifying reader or the destination's own
		// check caught it, the source's bytes do not hash to their name.
		return fail("corrupt", "in the source, not copied: %v", err)
	case err != nil:
		return fail("store", "copying: %v", err)
	}
	return copyResult{existed: obj.Existed, size: obj.Size}
}

// syncDir makes the entries of dir (a rename into it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Problem is one thing found wrong with an object, a file or an entry,
// by CopyStore or by an audit (package audit).
type Problem struct {
	// Kind says what is wrong, e.g. "corrupt", "missing", "store".
	Kind string `json:"kind"`
	// Where names the entry ("entry 12"), object (its digest) or file.
	Where  string `json:"where"`
	Detail string `json:"detail"`
}
