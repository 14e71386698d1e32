package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// UpgradeReport says what upgrading an archive of format 1 recovered.
type UpgradeReport struct {
	// Checkpoints is the number of distinct checkpoints kept, from the
	// log, the bundle files and the pending time-stamps; Timestamps the
	// number of tokens stored beside them.
	Checkpoints int `json:"checkpoints"`
	Timestamps  int `json:"timestamps"`
	// Bundles is the number of bundle files read.
	Bundles int `json:"bundles"`
	// Skipped are the files left out, each with why: a bundle whose
	// checkpoint does not verify or is not consistent with the log, a
	// token that does not verify, a token of a checkpoint no file holds.
	Skipped []string `json:"skipped,omitempty"`
}

// upgrade brings an archive of format 1 to the current format, in place.
// The caller holds the archive's lock.
//
// Format 1 kept only the latest checkpoint (log/checkpoint); the
// checkpoint each record was published with, with its witness
// cosignatures and its RFC 3161 token, was in the record's bundle file
// (bundles/<record ID>.json) and log/timestamps/<tree size>.tsr. Upgrade
// keeps, in checkpoints/, the log's checkpoint and every checkpoint those
// files hold whose signature verifies under one of the log's keys and
// that is consistent with the log (an RFC 6962 consistency proof from the
// log's tiles), and stores beside each the tokens that verify over it. It
// then marks the archive format 2; the index, of another schema, is
// rebuilt from the log when the archive opens. The files of format 1 are
// left in place, unchanged: every bundle file still verifies as it did.
// Interrupted, it can run again.
func upgrade(ctx context.Context, dir string, cfg *Config, keys verify.Keyring, log *slog.Logger) error {
	rep, err := recoverCheckpoints(ctx, dir, cfg, keys)
	if err != nil {
		return err
	}
	for _, s := range rep.Skipped {
		log.Warn("upgrade: left out", "file", s)
	}
	next := *cfg
	next.FormatVersion = FormatVersion
	if err := next.write(dir); err != nil {
		return err
	}
	*cfg = next
	log.Info("archive upgraded", "from", 1, "to", FormatVersion, "checkpoints", rep.Checkpoints, "timestamps", rep.Timestamps, "bundles", rep.Bundles)
	return nil
}

// recoverCheckpoints keeps the checkpoints and tokens of a format-1
// archive (see upgrade).
func recoverCheckpoints(ctx context.Context, dir string, cfg *Config, keys verify.Keyring) (*UpgradeReport, error) {
	rep := &UpgradeReport{}
	kept := ledger.NewCheckpoints(filepath.Join(dir, checkpointsDir))
	reader := ledger.NewReader(filepath.Join(dir, logDir), keys...)
	latestSigned, latest, err := reader.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	var tsa *verify.TimestampOptions
	if cfg.TSA != nil {
		b, err := os.ReadFile(filepath.Join(dir, cfg.TSA.RootsFile))
		if err != nil {
			return nil, err
		}
		o, err := verify.ParseTSARoots(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.TSA.RootsFile, err)
		}
		tsa = &o
	}
	bodies := map[uint64][]byte{} // kept checkpoints' bodies, by size
	keep := func(signed []byte) (*verify.Checkpoint, error) {
		cp, _, err := keys.OpenCheckpoint(signed)
		if err != nil {
			return nil, err
		}
		if err := consistent(ctx, reader, cp, latest); err != nil {
			return nil, err
		}
		if _, ok := bodies[cp.Size]; ok {
			return cp, nil
		}
		err = kept.Keep(ctx, signed, cp)
		var ce *ledger.CheckpointConflictError
		if errors.As(err, &ce) {
			// Another signed form of the same tree (other cosignature
			// lines): the token covers both bodies; the first is kept.
			if b1, e1 := verify.CheckpointBody(ce.Kept); e1 == nil {
				if b2, e2 := verify.CheckpointBody(signed); e2 == nil && bytes.Equal(b1, b2) {
					err = nil
				}
			}
		}
		if err != nil {
			return nil, err
		}
		body, _ := verify.CheckpointBody(signed)
		bodies[cp.Size] = body
		rep.Checkpoints++
		return cp, nil
	}
	stamp := func(size uint64, tsr []byte) error {
		body, ok := bodies[size]
		if !ok {
			return fmt.Errorf("no kept checkpoint of tree size %d", size)
		}
		if tsa == nil {
			return errors.New("the archive has no TSA to check it against")
		}
		if _, err := verify.CheckTimestamp(tsr, body, *tsa); err != nil {
			return err
		}
		if _, err := kept.Timestamp(ctx, size); err == nil {
			return nil
		}
		if err := kept.PutTimestamp(ctx, size, tsr); err != nil {
			return err
		}
		rep.Timestamps++
		return nil
	}
	if _, err := keep(latestSigned); err != nil {
		return nil, fmt.Errorf("log/checkpoint: %w", err)
	}

	// The bundle files, in name order so that a rerun does the same.
	bdir := filepath.Join(dir, bundlesDir)
	ents, err := os.ReadDir(bdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		name := filepath.Join(bundlesDir, e.Name())
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		rep.Bundles++
		b, err := verify.ParseBundle(raw)
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		cp, err := keep([]byte(b.Checkpoint))
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: its checkpoint: %v", name, err))
			continue
		}
		if b.Timestamp != nil {
			if err := stamp(cp.Size, b.Timestamp); err != nil {
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: its time-stamp token: %v", name, err))
			}
		}
	}

	// log/timestamps: <size>.pending names a published checkpoint still
	// to time-stamp; <size>.tsr is the token of a checkpoint.
	tdir := filepath.Join(dir, logDir, "timestamps")
	ents, err = os.ReadDir(tdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var tokens []uint64
	for _, e := range ents {
		name := filepath.Join(logDir, "timestamps", e.Name())
		if n, ok := strings.CutSuffix(e.Name(), ".pending"); ok {
			var p struct {
				Checkpoint string `json:"checkpoint"`
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				err = json.Unmarshal(b, &p)
			}
			if err == nil {
				_, err = keep([]byte(p.Checkpoint))
			}
			if err != nil {
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s (tree size %s): %v", name, n, err))
			}
			continue
		}
		if n, ok := strings.CutSuffix(e.Name(), ".tsr"); ok {
			if size, err := strconv.ParseUint(n, 10, 64); err == nil {
				tokens = append(tokens, size)
			}
		}
	}
	sort.Slice(tokens, func(i, j int) bool { return tokens[i] < tokens[j] })
	for _, size := range tokens {
		name := filepath.Join(logDir, "timestamps", strconv.FormatUint(size, 10)+".tsr")
		tsr, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = stamp(size, tsr)
		}
		if err != nil {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: %v", name, err))
		}
	}
	return rep, nil
}

// consistent checks that cp is a checkpoint of the log whose latest
// checkpoint is latest: an RFC 6962 consistency proof from the log's tiles
// leads from one to the other.
func consistent(ctx context.Context, r *ledger.Reader, cp, latest *verify.Checkpoint) error {
	if cp.Origin != latest.Origin {
		return fmt.Errorf("origin %q is not the log's %q", cp.Origin, latest.Origin)
	}
	switch {
	case cp.Size > latest.Size:
		return fmt.Errorf("tree size %d is beyond the log's %d", cp.Size, latest.Size)
	case cp.Size == latest.Size:
		if !bytes.Equal(cp.Hash, latest.Hash) {
			return fmt.Errorf("root %x at tree size %d is not the log's %x", cp.Hash, cp.Size, latest.Hash)
		}
		return nil
	case cp.Size == 0:
		if !bytes.Equal(cp.Hash, rfc6962.DefaultHasher.EmptyRoot()) {
			return errors.New("the empty tree's root is not the empty root")
		}
		return nil
	}
	p, err := r.ConsistencyProof(ctx, cp.Size, latest.Size)
	if err != nil {
		return err
	}
	if err := verify.ProofError(proof.VerifyConsistency(rfc6962.DefaultHasher, cp.Size, latest.Size, p, cp.Hash, latest.Hash)); err != nil {
		return fmt.Errorf("not consistent with the log's tree of size %d: %w", latest.Size, err)
	}
	return nil
}
