package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/exhibit-archive/exhibit/verify"
)

// catchUp indexes the log entries the index has not seen yet (after a
// crash between appending and indexing).
//
// It first waits for a checkpoint covering every entry already in the tree:
// a process killed after sequencing entries but before their checkpoint was
// published leaves entries that are in the log all the same, and that a
// re-run must see, or it would log the same documents twice.
func (a *Archive) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, appendTimeout)
	defer cancel()
	_, cp, err := a.writer.Sync(ctx)
	if err != nil {
		return err
	}
	from, err := a.index.Size(ctx)
	if err != nil {
		return err
	}
	if from > cp.Size {
		return fmt.Errorf("the index covers %d entries but the log's checkpoint only %d: run exhibit reindex", from, cp.Size)
	}
	if from == cp.Size {
		return nil
	}
	n, err := a.indexEntries(ctx, from, cp.Size, false, nil)
	if err != nil {
		return err
	}
	a.log.Info("index caught up with the log", "from", from, "to", cp.Size, "records", n)
	return nil
}

// indexEntries adds the log's entries in [from, to) to the index, writes
// the bundle of any that lacks one (an entry whose capture was cut short
// after it entered the log), and records the new size.
// With checkBundles, a bundle that does not verify is rewritten too.
func (a *Archive) indexEntries(ctx context.Context, from, to uint64, checkBundles bool, progress func(uint64)) (int, error) {
	signed, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for e, err := range a.reader.Entries(ctx, from, to) {
		if err != nil {
			return n, err
		}
		ent, err := a.openEntry(e.Data)
		if err != nil {
			return n, fmt.Errorf("log entry %d: %w", e.Index, err)
		}
		if ent.Capture != nil {
			err = a.index.Add(ctx, indexRecord(newRecord(ent.Capture, e.Data, e.Index)))
		} else {
			err = a.index.AddTracking(ctx, trackingRow(ent, e.Data, e.Index))
		}
		if err != nil {
			return n, err
		}
		p := a.bundlePath(verify.RecordID(e.Data))
		rewrite := !fileExists(p)
		if !rewrite && checkBundles {
			rewrite = a.checkBundleFile(e.Index, e.Data) != nil
		}
		if rewrite && e.Index < cp.Size {
			b, err := a.reader.Prove(ctx, e.Data, e.Index, signed, cp)
			if err != nil {
				return n, err
			}
			a.stamp(ctx, b, cp.Size, verify.RecordID(e.Data))
			if err := writeBundle(p, b); err != nil {
				return n, fmt.Errorf("writing bundle: %w", err)
			}
		}
		n++
		if progress != nil {
			progress(e.Index + 1 - from)
		}
	}
	return n, a.index.SetSize(ctx, to)
}

// Reindex rebuilds the index from the log alone: it reads every entry up to
// the latest signed checkpoint, checks each statement's signature, and
// indexes it; it also rewrites any bundle file that is missing or does not
// verify. progress, if set, is called with the number of entries done.
// It needs the archive opened for writing.
func (a *Archive) Reindex(ctx context.Context, progress func(done, total uint64)) (int, error) {
	if a.writer == nil {
		return 0, errors.New("archive opened read-only")
	}
	_, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	if err := a.index.Reset(ctx); err != nil {
		return 0, err
	}
	var pf func(uint64)
	if progress != nil {
		pf = func(d uint64) { progress(d, cp.Size) }
	}
	return a.indexEntries(ctx, 0, cp.Size, true, pf)
}

// markIndexed records the log size in the index when the index holds every
// entry of the log, so that the next Open need not replay them.
func (a *Archive) markIndexed(ctx context.Context) error {
	_, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		return err
	}
	n, err := a.index.Count(ctx)
	if err != nil {
		return err
	}
	if n != cp.Size {
		return nil // The next Open catches up.
	}
	return a.index.SetSize(ctx, cp.Size)
}
