package archive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// The archive's side of witnessing and trusted time (package trust; see
// docs/FORMATS.md, 5.5 to 5.7).

const (
	witnessPolicyFile = "witness-policy.txt"
	tsaRootsFile      = "tsa-roots.pem"
)

// WitnessPolicy returns the archive's witness policy file, or nil when it
// has none.
func (a *Archive) WitnessPolicy() []byte { return a.trust.PolicyText }

// Policy returns the archive's witness policy, parsed, or nil when it has
// none.
func (a *Archive) Policy() *verify.Policy { return a.trust.Policy }

// TSATrust returns the trust anchors of the archive's time-stamping
// authority, or nil when it has none.
func (a *Archive) TSATrust() *verify.TimestampOptions {
	if a.trust.TSA == nil {
		return nil
	}
	return &a.trust.TSA.Trust
}

// TSAClient returns the client of the archive's time-stamping authority,
// or nil when it has none.
func (a *Archive) TSAClient() *ledger.TSAClient { return a.trust.TSA }

// WitnessFailOpen reports whether the archive publishes checkpoints without
// its witnesses' quorum when they cannot give it (init --witness-fail-open).
func (a *Archive) WitnessFailOpen() bool { return a.trust.FailOpen }

// TSARoots returns the PEM of the archive's TSA roots, or nil when it has
// no TSA.
func (a *Archive) TSARoots() []byte { return a.trust.TSARoots }

// ErrNoTimestamp is returned by Timestamp for a tree size without a token.
var ErrNoTimestamp = errors.New("no time-stamp token for that checkpoint")

// Timestamp returns the stored RFC 3161 token (a DER TimeStampResp) of the
// kept checkpoint of the given tree size, or an error wrapping
// ErrNoTimestamp. The token was checked when it was stored; a verifier
// checks it again against the checkpoint.
func (a *Archive) Timestamp(ctx context.Context, size uint64) ([]byte, error) {
	b, err := a.kept.Timestamp(ctx, size)
	if errors.Is(err, ledger.ErrNotKept) {
		return nil, fmt.Errorf("tree size %d: %w", size, ErrNoTimestamp)
	}
	return b, err
}

// newStamper returns the stamper of an archive opened for writing: it
// time-stamps every checkpoint kept (the keeper enqueues them), stores the
// tokens beside them, and has the follower note them in the index.
func newStamper(a *Archive, interval time.Duration) *trust.Stamper {
	if a.trust.TSA == nil {
		return nil
	}
	return trust.NewStamper(trust.StamperConfig{
		TSA:    a.trust.TSA,
		Tokens: a.kept,
		Unstamped: func(ctx context.Context) ([]uint64, error) {
			cps, err := a.index.Checkpoints(ctx, true)
			var sizes []uint64
			for _, c := range cps {
				if c.Size > 0 { // the empty tree's is not time-stamped
					sizes = append(sizes, c.Size)
				}
			}
			return sizes, err
		},
		Stamped:       func(size uint64) { a.follow.addCheckpoint(index.Checkpoint{Size: size, Timestamped: true}) },
		RetryInterval: interval,
		Log:           a.log,
	})
}

// RetryTimestamps asks, now, for the token of every kept checkpoint that
// has none. It returns how many are still pending, and why. The archive
// must be opened for writing.
func (a *Archive) RetryTimestamps(ctx context.Context) (int, error) {
	if a.writer == nil {
		return 0, ErrReadOnly
	}
	if a.stamper == nil {
		return 0, nil
	}
	n, err := a.stamper.Retry(ctx)
	if n > 0 {
		return n, fmt.Errorf("%d checkpoints still lack a time-stamp: %w", n, err)
	}
	return 0, err
}
