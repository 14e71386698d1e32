package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// CaughtUp says what CatchUp did.
type CaughtUp struct {
	// Kept is the tree size of the log's published checkpoint that was
	// kept, or zero if none needed keeping.
	Kept uint64 `json:"kept,omitempty"`
	// Indexed is the number of entries indexed; From is the first.
	From    uint64 `json:"from,omitempty"`
	Indexed uint64 `json:"indexed,omitempty"`
}

// CanCatchUp reports whether the archive was opened so that CatchUp can
// run (OpenOptions.CatchUp, with a lock file to hold).
func (a *Archive) CanCatchUp() bool { return a.canCatchUp && a.index != nil }

// catchUpBatch is the number of entries CatchUp indexes a transaction.
const catchUpBatch = 4096

// CatchUp does, for an archive opened with OpenOptions.CatchUp, what a
// writer does when it opens after a crash, short of signing anything: it
// keeps the log's published checkpoint if checkpoints/ lacks it (a writer
// stopped between Tessera's publication and its keeping; the checkpoint
// must verify under the log's keys and be consistent, by an RFC 6962
// proof from the log's tiles, with the latest kept one), then indexes
// every entry (each statement's signature checked) and kept checkpoint up
// to the latest kept checkpoint. It writes nothing else: entries the log
// sequenced but never published wait for the next writer, which publishes
// them. An index that is damaged, or ahead of the log, is left as it is
// (exhibit reindex rebuilds it).
func (a *Archive) CatchUp(ctx context.Context) (*CaughtUp, error) {
	if !a.canCatchUp {
		return nil, errors.New("archive: CatchUp needs the archive opened with OpenOptions.CatchUp and its lock held")
	}
	if a.index == nil {
		return nil, a.indexErr
	}
	if err := a.index.Damaged(); err != nil {
		return nil, err
	}
	out := &CaughtUp{}
	all, err := a.kept.All(ctx)
	if err != nil {
		return out, err
	}
	n, err := a.keepPublished(ctx, all)
	if err != nil {
		return out, err
	}
	out.Kept = n
	if n > 0 {
		// The list now ends with the checkpoint just kept.
		if all, err = a.kept.All(ctx); err != nil {
			return out, err
		}
	}
	if len(all) == 0 {
		return out, nil
	}
	latest := all[len(all)-1].Size
	from, err := a.index.Size(ctx)
	if err != nil {
		return out, err
	}
	if from > latest {
		return out, fmt.Errorf("%w: it covers %d entries, the latest kept checkpoint %d", errIndexAhead, from, latest)
	}
	out.From = from
	cps := make([]index.Checkpoint, 0, len(all))
	for _, k := range all {
		cps = append(cps, index.Checkpoint{Size: k.Size, Timestamped: k.Timestamped})
	}
	for from < latest || cps != nil {
		to := min(latest, from+catchUpBatch)
		var recs []*record.Record
		for e, err := range a.reader.Entries(ctx, from, to, latest) {
			if err != nil {
				return out, err
			}
			r, err := a.openRecord(e)
			if err != nil {
				return out, err
			}
			recs = append(recs, r)
		}
		if err := a.index.Add(ctx, index.Round{Records: recs, Checkpoints: cps, Size: max(to, from)}); err != nil {
			return out, err
		}
		out.Indexed += to - from
		from, cps = to, nil
	}
	if out.Indexed > 0 || out.Kept > 0 {
		a.log.Info("caught up with the log", "kept", out.Kept, "indexed_from", out.From, "indexed", out.Indexed)
	}
	return out, nil
}

// keepPublished keeps the log's published checkpoint if it is newer than
// the latest of the kept ones, all, and returns its tree size (zero if
// there was none to keep).
func (a *Archive) keepPublished(ctx context.Context, all []ledger.KeptFile) (uint64, error) {
	signed, cp, err := a.reader.Checkpoint(ctx)
	if errors.Is(err, ledger.ErrNoCheckpoint) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var prev *verify.Checkpoint
	if len(all) > 0 {
		last := all[len(all)-1].Size
		if cp.Size <= last {
			return 0, nil // kept already, or behind (the audit says)
		}
		if _, prev, err = a.CheckpointAt(ctx, last); err != nil {
			return 0, err
		}
	}
	if prev != nil && prev.Size > 0 {
		p, err := a.reader.ConsistencyProof(ctx, prev.Size, cp.Size)
		if err == nil {
			err = verify.ProofError(proof.VerifyConsistency(rfc6962.DefaultHasher, prev.Size, cp.Size, p, prev.Hash, cp.Hash))
		}
		if err != nil {
			return 0, fmt.Errorf("the log's published checkpoint of tree size %d is not consistent with the kept one of size %d: not keeping it: %w", cp.Size, prev.Size, err)
		}
	}
	if err := a.kept.Keep(ctx, signed, cp); err != nil {
		var ce *ledger.CheckpointConflictError
		if errors.As(err, &ce) && bytes.Equal(ce.Kept, signed) {
			return 0, nil
		}
		return 0, err
	}
	return cp.Size, nil
}
