package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
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
// ErrFork for a log that does not extend cp; other errors are for a log
// that cannot be read or whose checkpoint does not verify.
func CheckPublished(ctx context.Context, logURL string, key *verify.PublicKey, cp *verify.Checkpoint, hc *http.Client) (*verify.Checkpoint, error) {
	u, err := url.Parse(logURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("log URL %q: want an http(s) URL", logURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	f, err := client.NewHTTPFetcher(u, hc)
	if err != nil {
		return nil, err
	}
	raw, err := f.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("fetching %s checkpoint: %w", logURL, err)
	}
	latest, err := verify.OpenCheckpoint(raw, key)
	if err != nil {
		return nil, fmt.Errorf("the checkpoint at %s: %w", logURL, err)
	}
	switch {
	case latest.Size < cp.Size:
		return latest, fmt.Errorf("%w: %s serves tree size %d, smaller than the bundle's %d", ErrFork, logURL, latest.Size, cp.Size)
	case latest.Size == cp.Size:
		if !bytes.Equal(latest.Hash, cp.Hash) {
			return latest, fmt.Errorf("%w: %s serves another root for tree size %d (%x, not %x)", ErrFork, logURL, cp.Size, latest.Hash, cp.Hash)
		}
		return latest, nil
	}
	if cp.Size == 0 {
		return latest, nil // the empty tree is a prefix of every tree
	}
	pb, err := client.NewProofBuilder(ctx, latest.Size, f.ReadTile)
	if err != nil {
		return latest, fmt.Errorf("reading tiles from %s: %w", logURL, err)
	}
	p, err := pb.ConsistencyProof(ctx, cp.Size, latest.Size)
	if err != nil {
		return latest, fmt.Errorf("building a consistency proof from %s's tiles: %w", logURL, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp.Size, latest.Size, p, cp.Hash, latest.Hash); err != nil {
		return latest, fmt.Errorf("%w: no consistency from tree size %d to %d: %v", ErrFork, cp.Size, latest.Size, err)
	}
	return latest, nil
}
