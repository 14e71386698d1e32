// Package prune removes orphaned objects from an archive's store: objects
// stored by a capture or an import that was stopped (killed, interrupted,
// failed) before its statement was logged, and that no logged statement
// names. They are not evidence of anything, and exhibit audit reports them
// until they are gone. An object any statement of the log names, in any
// field (archive.NamedDigests), is never removed, nor one its store
// retains (S3 Object Lock retention or legal hold: store.RetainedError).
//
// Pruning needs the archive opened for writing: its write lock keeps every
// other writer (which might be storing an object whose statement it has
// yet to log) out, and opening it publishes and indexes whatever entries a
// stopped writer left in the log, so that the whole log is read. An
// archive shared by several frontends (its log on S3 and MySQL) has no
// such lock: another frontend may be storing the object of a record it is
// about to acknowledge, or hold an entry the database will sequence once
// it answers again. Removing is refused there (ErrShared); a dry run
// lists what is orphaned now.
package prune

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/store"
)

// Status of an orphan in a Report.
const (
	// Orphaned: found, not removed (a dry run).
	Orphaned = "orphaned"
	// Removed from the store, for good.
	Removed = "removed"
	// Retained by the store (Object Lock): not removed.
	Retained = "retained"
	// Failed: removing it failed (Detail says why).
	Failed = "failed"
)

// Orphan is a stored object no logged statement names.
type Orphan struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Status string `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// Report says what Run found and did.
type Report struct {
	// DryRun is set when nothing was to be removed (Options.Remove unset).
	DryRun bool `json:"dry_run"`
	// Shared is set for an archive shared by several frontends: an
	// orphan may be the object of a write in flight (see ErrShared).
	Shared bool `json:"shared,omitempty"`
	// Entries is the number of log entries read; Objects the number of
	// objects stored.
	Entries uint64 `json:"entries"`
	Objects int    `json:"objects"`
	// Orphans are the orphaned objects, by digest.
	Orphans []Orphan `json:"orphans"`
	// Bytes is the size of the orphans.
	Bytes    int64 `json:"bytes"`
	Removed  int   `json:"removed"`
	Retained int   `json:"retained"`
	Failed   int   `json:"failed"`
}

// Options configure Run.
type Options struct {
	// Remove removes the orphans. Without it, Run only lists them (a dry
	// run) and changes nothing.
	Remove bool
}

// ErrCannotRemove is returned by Run, asked to remove, for a store that
// cannot remove objects (no store.Remover).
var ErrCannotRemove = errors.New("this store cannot remove objects")

// ErrShared is returned by Run, asked to remove, for an archive shared by
// several frontends (archive.Archive.Shared).
var ErrShared = errors.New("removing orphans is refused on an archive shared by several frontends (its log on S3 and MySQL): no lock keeps the other frontends out, and an object that looks orphaned may be that of a record another frontend is about to acknowledge, or of an entry the database will sequence when it answers again; orphans take space only (a dry run lists them)")

// Run finds the orphaned objects of a, which must be open for writing: it
// reads every entry of the log (up to the latest kept checkpoint, which
// covers the whole log once the archive is open for writing) and collects
// every digest their statements name, then lists the store. With
// Options.Remove it removes each orphan (store.Remover), and reports, per
// orphan, whether it went, was retained, or failed. An error is returned
// when the orphans cannot be known for sure (an entry unreadable, the
// store not listable): nothing is then removed.
func Run(ctx context.Context, a *archive.Archive, o Options) (*Report, error) {
	if err := a.Writable(); err != nil {
		return nil, fmt.Errorf("prune needs the archive open for writing (its lock held, its log published): %w", err)
	}
	if o.Remove && a.Shared() {
		return nil, ErrShared
	}
	rep := &Report{DryRun: !o.Remove, Orphans: []Orphan{}, Shared: a.Shared()}
	cps, err := a.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	var size uint64
	if len(cps) > 0 {
		size = cps[len(cps)-1].Size
	}
	named := map[string]bool{}
	for e, err := range a.Ledger().Entries(ctx, 0, size, size) {
		if err != nil {
			return nil, fmt.Errorf("reading the log: %w", err)
		}
		if err := archive.NamedDigests(e.Data, func(d string) { named[d] = true }); err != nil {
			return nil, fmt.Errorf("log entry %d: %w", e.Index, err)
		}
		rep.Entries++
	}
	if rep.Entries != size {
		return nil, fmt.Errorf("read %d log entries, want %d", rep.Entries, size)
	}
	st := a.Store()
	for d, err := range st.List(ctx) {
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", st.Location(), err)
		}
		rep.Objects++
		if !named[d] {
			rep.Orphans = append(rep.Orphans, Orphan{SHA256: d, Status: Orphaned})
		}
	}
	sort.Slice(rep.Orphans, func(i, j int) bool { return rep.Orphans[i].SHA256 < rep.Orphans[j].SHA256 })
	var rm store.Remover
	if o.Remove && len(rep.Orphans) > 0 {
		var ok bool
		if rm, ok = st.(store.Remover); !ok {
			return nil, fmt.Errorf("%s: %w", st.Location(), ErrCannotRemove)
		}
	}
	for i := range rep.Orphans {
		or := &rep.Orphans[i]
		if n, err := st.Stat(ctx, or.SHA256); err == nil {
			or.Size = n
			rep.Bytes += n
		}
		if rm == nil {
			continue
		}
		err := rm.Remove(ctx, or.SHA256)
		var re *store.RetainedError
		switch {
		case err == nil:
			or.Status = Removed
			rep.Removed++
		case errors.As(err, &re):
			or.Status, or.Detail = Retained, err.Error()
			rep.Retained++
		default:
			or.Status, or.Detail = Failed, err.Error()
			rep.Failed++
		}
	}
	return rep, nil
}
