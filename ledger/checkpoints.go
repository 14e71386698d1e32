package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/ledger/durable"
	"github.com/exhibit-archive/exhibit/verify"
)

// Checkpoints keeps every checkpoint a log publishes, and the RFC 3161
// time-stamp token of each, in a directory:
//
//	<dir>/<N>      the signed checkpoint of tree size N, byte for byte as
//	               published: a C2SP signed note with every signature line,
//	               witness cosignatures included
//	<dir>/<N>.tsr  the RFC 3161 TimeStampResp (DER) over that checkpoint's
//	               body (see verify.CheckpointBody), once obtained
//
// where <N> is the tree size in the path encoding of C2SP tlog-tiles tile
// indexes: groups of three decimal digits, all but the last prefixed with
// "x" (0 is "000", 1234067 is "x001/x234/067"), so that no directory holds
// more than a thousand checkpoints.
//
// Both files are created once and never replaced (mode 0444); when Keep or
// PutTimestamp returns nil the file and its directory are fsynced. A log
// publishes at most one checkpoint per tree size. Consecutive checkpoints
// are consistent (RFC 6962 section 2.1.2): exhibit audit proves it.
type Checkpoints struct {
	dir string
}

// NewCheckpoints returns the checkpoint store in dir, which is created
// when the first checkpoint is kept.
func NewCheckpoints(dir string) *Checkpoints { return &Checkpoints{dir: dir} }

// Dir returns the store's directory.
func (c *Checkpoints) Dir() string { return c.dir }

// ErrNotKept is returned for a tree size the store holds no checkpoint
// (or no token) for. It wraps fs.ErrNotExist.
var ErrNotKept = fmt.Errorf("no checkpoint kept for that tree size: %w", fs.ErrNotExist)

// CheckpointConflictError reports a second, different checkpoint offered
// for a tree size already kept: the first is kept.
type CheckpointConflictError struct {
	Size          uint64
	Kept, Offered []byte
}

func (e *CheckpointConflictError) Error() string {
	return fmt.Sprintf("a different checkpoint of tree size %d is already kept", e.Size)
}

// CheckpointPath returns the path, relative to the store, of the
// checkpoint of tree size size ("x001/x234/067"); its token's is the same
// with ".tsr" appended. It is also the path under /checkpoints/ at which
// exhibit serve publishes it.
func CheckpointPath(size uint64) string {
	s := fmt.Sprintf("%03d", size%1000)
	for size >= 1000 {
		size /= 1000
		s = fmt.Sprintf("x%03d/%s", size%1000, s)
	}
	return s
}

// ParseCheckpointPath is the inverse of CheckpointPath. It accepts only
// the canonical form (slash-separated).
func ParseCheckpointPath(p string) (uint64, error) {
	parts := strings.Split(p, "/")
	var n uint64
	for i, part := range parts {
		digits := part
		if i < len(parts)-1 {
			var ok bool
			if digits, ok = strings.CutPrefix(part, "x"); !ok {
				return 0, fmt.Errorf("checkpoint path %q: element %q lacks its x prefix", p, part)
			}
		}
		if len(digits) != 3 || strings.Trim(digits, "0123456789") != "" {
			return 0, fmt.Errorf("checkpoint path %q: element %q is not three digits", p, part)
		}
		d, _ := strconv.ParseUint(digits, 10, 64)
		if n > (1<<64-1-d)/1000 {
			return 0, fmt.Errorf("checkpoint path %q: tree size overflows", p)
		}
		n = n*1000 + d
	}
	if CheckpointPath(n) != p {
		return 0, fmt.Errorf("checkpoint path %q is not canonical (want %q)", p, CheckpointPath(n))
	}
	return n, nil
}

func (c *Checkpoints) path(size uint64) string {
	return filepath.Join(c.dir, filepath.FromSlash(CheckpointPath(size)))
}

// Keep stores signed, the checkpoint cp parsed from it (whose signature
// the caller checked), unless the store already holds it. It returns a
// *CheckpointConflictError if the store holds another checkpoint of the
// same tree size. When it returns nil the checkpoint is durable.
func (c *Checkpoints) Keep(ctx context.Context, signed []byte, cp *verify.Checkpoint) error {
	err := durable.CreateFile(c.path(cp.Size), signed, 0o444)
	var ee *durable.ExistsError
	if errors.As(err, &ee) {
		return &CheckpointConflictError{Size: cp.Size, Kept: ee.Have, Offered: signed}
	}
	if err != nil {
		return fmt.Errorf("keeping checkpoint %d: %w", cp.Size, err)
	}
	return nil
}

// Get returns the kept checkpoint of tree size size (a signed note, not
// verified here), or an error wrapping ErrNotKept.
func (c *Checkpoints) Get(ctx context.Context, size uint64) ([]byte, error) {
	b, err := os.ReadFile(c.path(size))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("checkpoint %d: %w", size, ErrNotKept)
	}
	return b, err
}

// PutTimestamp stores tsr, the RFC 3161 token over the body of the kept
// checkpoint of tree size size (which the caller checked). A token is
// stored once: if the store already holds one for that size, the one held
// is kept and PutTimestamp returns nil. When it returns nil the token is
// durable.
func (c *Checkpoints) PutTimestamp(ctx context.Context, size uint64, tsr []byte) error {
	err := durable.CreateFile(c.path(size)+".tsr", tsr, 0o444)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storing the time-stamp of checkpoint %d: %w", size, err)
	}
	return nil
}

// Timestamp returns the stored token of the checkpoint of tree size size,
// or an error wrapping ErrNotKept.
func (c *Checkpoints) Timestamp(ctx context.Context, size uint64) ([]byte, error) {
	b, err := os.ReadFile(c.path(size) + ".tsr")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("time-stamp of checkpoint %d: %w", size, ErrNotKept)
	}
	return b, err
}

// CheckpointStore keeps the checkpoints a log publishes, and their
// time-stamp tokens: Checkpoints in a directory, or s3.Checkpoints
// (package archive/store/s3) in a bucket. Both pass the same test.
type CheckpointStore interface {
	Keeper
	Get(ctx context.Context, size uint64) ([]byte, error)
	PutTimestamp(ctx context.Context, size uint64, tsr []byte) error
	Timestamp(ctx context.Context, size uint64) ([]byte, error)
	All(ctx context.Context) ([]KeptFile, error)
	LoneTokens(ctx context.Context) ([]uint64, error)
	KeptAt(ctx context.Context, size uint64) (time.Time, error)
	Location(size uint64) string
}

var _ CheckpointStore = (*Checkpoints)(nil)

// KeptFile is one checkpoint in the store, as [Checkpoints.All] lists it.
type KeptFile struct {
	Size uint64
	// Timestamped reports that its token is stored.
	Timestamped bool
}

// All returns every kept checkpoint, by increasing tree size. Files that
// are not the store's (temporary files of an interrupted write, names that
// do not parse) are skipped.
func (c *Checkpoints) All(ctx context.Context) ([]KeptFile, error) {
	all, _, err := c.walk(ctx)
	return all, err
}

// walk lists the kept checkpoints, and the tokens without one.
func (c *Checkpoints) walk(ctx context.Context) ([]KeptFile, []uint64, error) {
	stamped := map[uint64]bool{}
	var out []KeptFile
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path == c.dir {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(c.dir, path)
		if err != nil {
			return err
		}
		base, tsr := strings.CutSuffix(filepath.ToSlash(rel), ".tsr")
		n, err := ParseCheckpointPath(base)
		if err != nil {
			return nil
		}
		if tsr {
			stamped[n] = true
		} else {
			out = append(out, KeptFile{Size: n})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing kept checkpoints: %w", err)
	}
	slices.SortFunc(out, func(a, b KeptFile) int { return cmpUint(a.Size, b.Size) })
	for i := range out {
		out[i].Timestamped = stamped[out[i].Size]
		delete(stamped, out[i].Size)
	}
	var lone []uint64
	for n := range stamped {
		lone = append(lone, n)
	}
	slices.Sort(lone)
	return out, lone, nil
}

// LoneTokens returns the tree sizes of the tokens stored without their
// checkpoint, increasing: each is a kept checkpoint lost.
func (c *Checkpoints) LoneTokens(ctx context.Context) ([]uint64, error) {
	_, lone, err := c.walk(ctx)
	return lone, err
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// KeptAt returns when the checkpoint of tree size size was kept (its
// file's modification time), or an error wrapping ErrNotKept.
func (c *Checkpoints) KeptAt(ctx context.Context, size uint64) (time.Time, error) {
	fi, err := os.Stat(c.path(size))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, fmt.Errorf("checkpoint %d: %w", size, ErrNotKept)
	}
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// Location returns where the checkpoint of tree size size is kept: its
// file's path (whether or not it is kept); its token's is the same with
// ".tsr" appended.
func (c *Checkpoints) Location(size uint64) string { return c.path(size) }
