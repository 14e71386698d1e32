package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
)

// ErrFork is wrapped by CheckPublished when the log at the URL does not
// extend the checkpoint: it is smaller, or no consistency proof leads from
// one to the other. Either means the log was rewritten or shows different
// histories to different readers.
var ErrFork = errors.New("the published log does not extend the checkpoint")

// CheckPublished checks that a checkpoint of the log signed by key is still
// part of the log the public sees at logURL (a C2SP tlog-tiles endpoint,
// e.g. https://archive.example.org/): it fetches the latest checkpoint,
// checks its signature by key, and verifies an RFC 6962 consistency proof
// from cp to it, computed from the tiles served there (which are untrusted
// and checked by the proof). It returns the latest checkpoint. Errors wrap
// ErrFork for a log that does not extend cp (as a *ForkError holding the
// evidence); other errors are for a log that cannot be read or whose
// checkpoint does not verify.
//
// Further keys of the log (after a key rotation: its earlier or later keys)
// may be given as more; the latest checkpoint may be signed by any of key
// and more.
func CheckPublished(ctx context.Context, logURL string, key *verify.PublicKey, cp *verify.Checkpoint, hc *http.Client, more ...*verify.PublicKey) (*verify.Checkpoint, error) {
	_, latest, err := Follow(ctx, logURL, key, cp, hc, more...)
	return latest, err
}

// ForkError is the evidence of a fork: two checkpoints signed by the log's
// key that cannot both be true, and the consistency proof (if any) the log
// served between them.
type ForkError struct {
	// Old is the earlier checkpoint (its body), New the latest one served
	// (the signed note, as fetched).
	Old    *verify.Checkpoint
	New    []byte
	Proof  [][]byte
	Reason string
}

func (e *ForkError) Error() string { return ErrFork.Error() + ": " + e.Reason }
func (e *ForkError) Unwrap() error { return ErrFork }

// Follow is CheckPublished that also returns the latest signed checkpoint
// as fetched, for a monitor to keep.
func Follow(ctx context.Context, logURL string, key *verify.PublicKey, cp *verify.Checkpoint, hc *http.Client, more ...*verify.PublicKey) ([]byte, *verify.Checkpoint, error) {
	f, err := httpFetcher(logURL, hc)
	if err != nil {
		return nil, nil, err
	}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("fetching %s checkpoint: %w", logURL, err)
	}
	latest, _, err := append(verify.Keyring{key}, more...).OpenCheckpoint(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("the checkpoint at %s: %w", logURL, err)
	}
	fork := func(p [][]byte, format string, args ...any) error {
		return &ForkError{Old: cp, New: raw, Proof: p, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case cp == nil || cp.Size == 0:
		return raw, latest, nil // the empty tree is a prefix of every tree
	case latest.Size < cp.Size:
		return raw, latest, fork(nil, "%s serves tree size %d, smaller than the %d seen before", logURL, latest.Size, cp.Size)
	case latest.Size == cp.Size:
		if !bytes.Equal(latest.Hash, cp.Hash) {
			return raw, latest, fork(nil, "%s serves another root for tree size %d (%x, not %x)", logURL, cp.Size, latest.Hash, cp.Hash)
		}
		return raw, latest, nil
	}
	// tessera's proof builder flattens a fetch error into text: keep the
	// first one, so that the caller gets it whole (errors.As).
	var mu sync.Mutex
	var tileErr error
	readTile := func(ctx context.Context, l, i uint64, p uint8) ([]byte, error) {
		b, err := f.ReadTile(ctx, l, i, p)
		if err != nil {
			mu.Lock()
			if tileErr == nil {
				tileErr = err
			}
			mu.Unlock()
		}
		return b, err
	}
	fetchErr := func(err error) error {
		mu.Lock()
		defer mu.Unlock()
		if tileErr != nil {
			return tileErr
		}
		return err
	}
	pb, err := client.NewProofBuilder(ctx, latest.Size, readTile)
	if err != nil {
		return raw, latest, fmt.Errorf("reading tiles from %s: %w", logURL, fetchErr(err))
	}
	p, err := pb.ConsistencyProof(ctx, cp.Size, latest.Size)
	if err != nil {
		return raw, latest, fmt.Errorf("building a consistency proof from %s's tiles: %w", logURL, fetchErr(err))
	}
	if err := verify.ProofError(proof.VerifyConsistency(rfc6962.DefaultHasher, cp.Size, latest.Size, p, cp.Hash, latest.Hash)); err != nil {
		return raw, latest, fork(p, "no consistency from tree size %d to %d: %v", cp.Size, latest.Size, err)
	}
	return raw, latest, nil
}

// Bounds on what a log served over HTTP may send: every response is read
// up to the largest the resource can be, and refused beyond it (a
// *ResponseTooLargeError), so that a hostile or broken server cannot make
// a verifier or monitor read without end. They follow from C2SP
// tlog-tiles (https://c2sp.org/tlog-tiles) and exhibit's entry limit.
const (
	// MaxTileSize is the size of a full tile: 256 hashes of 32 bytes
	// (tlog-tiles: "Full tiles MUST be exactly 256 hashes wide, or 8,192
	// bytes"). A partial tile of width W is 32·W bytes.
	MaxTileSize = 256 * 32
	// MaxEntryBundleSize is the largest full entry bundle: 256 entries,
	// each a big-endian uint16 length and at most verify.MaxEntrySize
	// (65,535) bytes, the most a uint16 length can say and exhibit's limit
	// on a signed statement: 16,777,472 bytes. A partial bundle of width W
	// is at most W·65,537 bytes. The bound applies to the bytes after any
	// Content-Encoding is undone, so a compressed bomb is refused as well.
	MaxEntryBundleSize = 256 * (2 + verify.MaxEntrySize)
	// MaxCheckpointSize bounds a signed checkpoint (C2SP tlog-checkpoint
	// and signed-note set no limit): a body of three lines (exhibit writes
	// no extension lines) and at most 100 signature lines (the limit
	// golang.org/x/mod/sumdb/note enforces, which signed-note suggests),
	// each well under 400 bytes (a key name, a 4-byte key ID, an 8-byte
	// cosignature time and a signature of at most 72 bytes, in base64),
	// fit in 64 KiB with room to spare.
	MaxCheckpointSize = 64 << 10
)

// ResponseTooLargeError reports a response of a log larger than the
// resource it stands for can be.
type ResponseTooLargeError struct {
	URL   string
	What  string // "checkpoint", "tile", "entry bundle"
	Limit int64
}

func (e *ResponseTooLargeError) Error() string {
	return fmt.Sprintf("%s: the response is over %d bytes, larger than any %s can be (C2SP tlog-tiles): refused", e.URL, e.Limit, e.What)
}

// tileFetcher reads a tlog-tiles log over HTTP, bounding every read by
// the size the resource can have. It does what tessera's
// client.HTTPFetcher does (a partial tile or bundle no longer served is
// read in full), with the bounds.
type tileFetcher struct {
	base *url.URL
	hc   *http.Client
}

func httpFetcher(logURL string, hc *http.Client) (*tileFetcher, error) {
	u, err := url.Parse(logURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log URL %q: want an http(s) URL", logURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &tileFetcher{base: u, hc: hc}, nil
}

// get fetches path under the log's URL, reading at most limit bytes. A
// 404 is os.ErrNotExist (wrapped), as tessera's client expects.
func (f *tileFetcher) get(ctx context.Context, path string, limit int64, what string) ([]byte, error) {
	u, err := f.base.Parse(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", u, os.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	case resp.ContentLength > limit:
		return nil, &ResponseTooLargeError{URL: u.String(), What: what, Limit: limit}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(b)) > limit {
		return nil, &ResponseTooLargeError{URL: u.String(), What: what, Limit: limit}
	}
	return b, nil
}

// ReadCheckpoint reads the log's checkpoint.
func (f *tileFetcher) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return f.get(ctx, layout.CheckpointPath, MaxCheckpointSize, "checkpoint")
}

// ReadTile reads a tile, partial (of width p) or full (p = 0); a partial
// tile no longer served is read in full.
func (f *tileFetcher) ReadTile(ctx context.Context, l, i uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) {
		return f.get(ctx, layout.TilePath(l, i, p), 32*width(p), "tile")
	})
}

// ReadEntryBundle reads an entry bundle, partial or full, as ReadTile.
func (f *tileFetcher) ReadEntryBundle(ctx context.Context, i uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) {
		return f.get(ctx, layout.EntriesPath(i, p), (2+verify.MaxEntrySize)*width(p), "entry bundle")
	})
}

// width is the number of hashes or entries in a tile or bundle of partial
// width p (0 for a full one).
func width(p uint8) int64 {
	if p == 0 {
		return layout.TileWidth
	}
	return int64(p)
}

// AuditPublished downloads every entry of the log published at logURL up
// to the checkpoint cp (which the caller has verified), checks each entry's
// statement signature by key (or by one of more, the log's other keys after
// a rotation), and recomputes the tree's root from the leaves. It returns
// the number of entries checked, or the first problem.
func AuditPublished(ctx context.Context, logURL string, key *verify.PublicKey, cp *verify.Checkpoint, hc *http.Client, progress func(done, total uint64), more ...*verify.PublicKey) (uint64, error) {
	ring := append(verify.Keyring{key}, more...)
	if cp.Size == 0 {
		return 0, nil
	}
	f, err := httpFetcher(logURL, hc)
	if err != nil {
		return 0, err
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	tree := rf.NewEmptyRange(0)
	size := func(context.Context) (uint64, error) { return cp.Size, nil }
	var n uint64
	for b, err := range client.EntryBundles(ctx, 4, size, f.ReadEntryBundle, 0, cp.Size) {
		if err != nil {
			return n, fmt.Errorf("reading entry bundles from %s: %w", logURL, err)
		}
		var eb api.EntryBundle
		if err := eb.UnmarshalText(b.Data); err != nil {
			return n, fmt.Errorf("entry bundle %d: %w", b.RangeInfo.Index, err)
		}
		for i := uint64(0); i < uint64(b.RangeInfo.N); i++ {
			j := uint64(b.RangeInfo.First) + i
			if j >= uint64(len(eb.Entries)) {
				return n, fmt.Errorf("entry bundle %d is short", b.RangeInfo.Index)
			}
			e := eb.Entries[j]
			if _, _, _, err := ring.OpenEntry(e); err != nil {
				return n, fmt.Errorf("entry %d: %w", n, err)
			}
			if err := tree.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
				return n, err
			}
			n++
			if progress != nil && n%1024 == 0 {
				progress(n, cp.Size)
			}
		}
	}
	if n != cp.Size {
		return n, fmt.Errorf("%s served %d entries, the checkpoint commits to %d", logURL, n, cp.Size)
	}
	root, err := tree.GetRootHash(nil)
	if err != nil {
		return n, err
	}
	if !bytes.Equal(root, cp.Hash) {
		return n, &ForkError{Old: cp, Reason: fmt.Sprintf("the %d entries served hash to root %x, but the signed checkpoint says %x", n, root, cp.Hash)}
	}
	return n, nil
}
