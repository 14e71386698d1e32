package trust

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// Tokens is where a Stamper reads the checkpoints it time-stamps and
// keeps their tokens: ledger.Checkpoints. PutTimestamp must make the token
// durable before it returns nil, and keep the first token stored for a
// size.
type Tokens interface {
	Get(ctx context.Context, size uint64) ([]byte, error)
	Timestamp(ctx context.Context, size uint64) ([]byte, error)
	PutTimestamp(ctx context.Context, size uint64, tsr []byte) error
}

// StamperConfig configures a Stamper.
type StamperConfig struct {
	// TSA is the time-stamping authority. Required.
	TSA *ledger.TSAClient
	// Tokens reads the checkpoints and keeps their tokens. Required.
	Tokens Tokens
	// Unstamped lists the tree sizes of the kept checkpoints without a
	// token, for the retry loop. Required.
	Unstamped func(ctx context.Context) ([]uint64, error)
	// Stamped, if set, is told of each token stored (or found stored).
	Stamped func(size uint64)
	// RetryInterval is how often the checkpoints without a token are
	// asked for again. Default DefaultRetryInterval.
	RetryInterval time.Duration
	// Log receives diagnostics. Default: discard.
	Log *slog.Logger
}

// A Stamper time-stamps every checkpoint an archive keeps (but the empty
// tree's) with its RFC 3161 authority, and stores each token beside its
// checkpoint, once. A checkpoint is asked for as soon as it is kept
// (Enqueue); while the authority fails, new checkpoints are not asked for
// (for ten seconds after a failure) and the retry loop asks again for
// every checkpoint without a token, oldest first, every RetryInterval.
// Nothing else is ever rewritten: bundles made afterwards carry the token.
// Only an archive's writer runs one.
type Stamper struct {
	c StamperConfig

	mu       sync.Mutex
	queue    []stampJob
	attempts map[uint64]chan struct{} // closed when the attempt ends
	signal   chan struct{}
	// failedAt is when the TSA last failed (Unix nanoseconds).
	failedAt atomic.Int64
	done     chan struct{}
}

type stampJob struct {
	size   uint64
	signed []byte
}

// NewStamper returns a Stamper; Start runs it.
func NewStamper(c StamperConfig) *Stamper {
	if c.RetryInterval <= 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return &Stamper{c: c, attempts: map[uint64]chan struct{}{}, signal: make(chan struct{}, 1)}
}

// Enqueue asks for the token of a newly kept checkpoint, signed, of tree
// size size.
func (s *Stamper) Enqueue(size uint64, signed []byte) {
	if size == 0 {
		return
	}
	s.mu.Lock()
	if _, ok := s.attempts[size]; !ok {
		s.attempts[size] = make(chan struct{})
		s.queue = append(s.queue, stampJob{size, signed})
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// WaitAttempt waits until the first attempt to time-stamp the checkpoint
// of tree size size has ended (with a token or not), within the TSA's
// timeout and ctx. It returns at once for a size not enqueued.
func (s *Stamper) WaitAttempt(ctx context.Context, size uint64) {
	s.mu.Lock()
	ch := s.attempts[size]
	s.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(s.c.TSA.HTTPClient.Timeout + time.Second)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// Start runs the queue and the retry loop until ctx ends (asking again at
// once for the checkpoints without a token).
func (s *Stamper) Start(ctx context.Context) {
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		retry := time.NewTicker(s.c.RetryInterval)
		defer retry.Stop()
		s.Retry(ctx)
		for {
			s.run(ctx)
			select {
			case <-ctx.Done():
				return
			case <-s.signal:
			case <-retry.C:
				s.Retry(ctx)
			}
		}
	}()
}

// Wait waits for the loops started by Start to end.
func (s *Stamper) Wait() {
	if s.done != nil {
		<-s.done
	}
}

// Drain asks for what is queued now, in the calling goroutine.
func (s *Stamper) Drain(ctx context.Context) { s.run(ctx) }

var errBackoff = errors.New("the TSA failed moments ago; not asked again yet")

// run asks for every queued checkpoint's token, in order.
func (s *Stamper) run(ctx context.Context) {
	for ctx.Err() == nil {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue = s.queue[1:]
		ch := s.attempts[j.size]
		s.mu.Unlock()
		err := errBackoff
		if time.Since(time.Unix(0, s.failedAt.Load())) > tsaBackoff {
			err = s.stamp(ctx, j.size, j.signed)
		}
		if err != nil {
			s.c.Log.Warn("time-stamp pending", "tree_size", j.size, "tsa", s.c.TSA.URL, "err", err)
		}
		s.mu.Lock()
		delete(s.attempts, j.size)
		s.mu.Unlock()
		close(ch)
	}
}

// Retry asks again for the token of every kept checkpoint that has none,
// oldest first, until the authority fails. It returns how many are left
// without one, and the last error.
func (s *Stamper) Retry(ctx context.Context) (int, error) {
	sizes, err := s.c.Unstamped(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.c.Log.Error("listing the checkpoints to time-stamp", "err", err)
		}
		return 0, err
	}
	done := 0
	for i, size := range sizes {
		s.mu.Lock()
		_, queued := s.attempts[size]
		s.mu.Unlock()
		if queued {
			continue
		}
		signed, err := s.c.Tokens.Get(ctx, size)
		if err == nil {
			err = s.stamp(ctx, size, signed)
		}
		if err != nil {
			left := len(sizes) - i
			s.c.Log.Warn("time-stamps still pending", "checkpoints", left, "err", err)
			return left, err
		}
		done++
	}
	if done > 0 {
		s.c.Log.Info("time-stamps obtained", "checkpoints", done)
	}
	return 0, nil
}

// stamp gets, checks and stores the token of a kept checkpoint, unless it
// is stored already.
func (s *Stamper) stamp(ctx context.Context, size uint64, signed []byte) error {
	if _, err := s.c.Tokens.Timestamp(ctx, size); err != nil {
		body, err := verify.CheckpointBody(signed)
		if err != nil {
			return err
		}
		tsr, _, err := s.c.TSA.Timestamp(ctx, body)
		if err != nil {
			var te *ledger.TSAError
			if errors.As(err, &te) {
				s.failedAt.Store(time.Now().UnixNano())
			}
			return err
		}
		if err := s.c.Tokens.PutTimestamp(ctx, size, tsr); err != nil {
			return err
		}
	}
	if s.c.Stamped != nil {
		s.c.Stamped(size)
	}
	return nil
}
