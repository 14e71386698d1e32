package archive

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// Shared reports whether several processes, on several machines, may write
// the archive at once (its log is on S3 and MySQL: see LogConfig).
func (a *Archive) Shared() bool { return a != nil && a.cfg.Log != nil }

// holderID names this open archive as the holder of leases: host, pid and
// a random part.
func holderID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), rand.Text()[:8])
}

// leaseName is the name a lease on key is stored under: kind and a
// digest of key, which may be long (a URL).
func leaseName(kind, key string) string {
	return kind + "/" + verify.SHA256Hex([]byte(key))
}

// TryLease takes the lease kind/key for ttl, unless another frontend of a
// shared archive holds it, and returns the function that gives it up. It
// does not renew it: a caller that holds it longer than ttl calls it again
// (as the follower does, every round), or uses Claim. An archive that is
// not shared has one writer (its file lock), which has every lease. It
// needs the archive opened for writing.
func (a *Archive) TryLease(ctx context.Context, kind, key string, ttl time.Duration) (release func(), ok bool, err error) {
	if a.writer == nil {
		return nil, false, ErrReadOnly
	}
	if !a.Shared() {
		return func() {}, true, nil
	}
	name := leaseName(kind, key)
	ok, err = a.index.TryLease(ctx, name, a.holder, ttl)
	if err != nil || !ok {
		return nil, false, err
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		// Best effort: a lease not given up expires.
		a.index.ReleaseLease(rctx, name, a.holder)
	}, true, nil
}

// LeaseTTL is how long a lease taken with Claim or Lease lasts unless it is
// renewed. The holder renews it every LeaseTTL/4 while it works, so a
// frontend that dies (SIGKILL, power loss) frees its leases within
// LeaseTTL, and another takes its work over.
const LeaseTTL = 20 * time.Second

// ErrLeaseLost is the cause of the cancellation of the context Claim and
// Lease return when the lease could not be renewed in time (the database
// did not answer) or another frontend holds it now.
var ErrLeaseLost = errors.New("lease lost")

// Claim takes the lease kind/key (a tracked document, an imported
// document), unless another frontend of a shared archive holds it, and
// holds it, renewing it every LeaseTTL/4, until release is called.
// Frontends take a lease before work that two of them must not do at
// once. The work is to be done under the returned context: it is ctx,
// cancelled with cause ErrLeaseLost (context.Cause) if the lease is lost,
// so that work another frontend may now be doing is abandoned. An archive
// that is not shared has one writer, which has every lease. It needs the
// archive opened for writing.
func (a *Archive) Claim(ctx context.Context, kind, key string) (work context.Context, release func(), ok bool, err error) {
	if a.writer == nil {
		return nil, nil, false, ErrReadOnly
	}
	if !a.Shared() {
		return ctx, func() {}, true, nil
	}
	name := leaseName(kind, key)
	taken := time.Now()
	ok, err = a.index.TryLease(ctx, name, a.holder, LeaseTTL)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	work, release = a.hold(ctx, kind, key, taken)
	return work, release, true, nil
}

// hold renews the lease kind/key, taken at taken (by this machine's
// clock, before asking), until the returned release is called.
func (a *Archive) hold(ctx context.Context, kind, key string, taken time.Time) (context.Context, func()) {
	work, cancel := context.WithCancelCause(ctx)
	h := &held{a: a, kind: kind, key: key, name: leaseName(kind, key), taken: taken, cancel: cancel}
	work = context.WithValue(work, heldKey{}, h)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(LeaseTTL / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-work.Done():
				return
			case <-tick.C:
			}
			if h.renew(ctx) != nil {
				return
			}
		}
	}()
	var once sync.Once
	return work, func() {
		once.Do(func() {
			close(stop)
			<-done
			h.mu.Lock()
			lost := h.lost
			h.mu.Unlock()
			cancel(nil)
			if lost != nil {
				return // another may hold it now
			}
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer rcancel()
			// Best effort: a lease not given up expires.
			a.index.ReleaseLease(rctx, h.name, a.holder)
		})
	}
}

// held is a lease Claim took and holds.
type held struct {
	a               *Archive
	kind, key, name string
	cancel          context.CancelCauseFunc
	mu              sync.Mutex // held by a renewal, for its whole run
	taken           time.Time  // when the last renewal that succeeded was sent
	lost            error      // once lost, for good
}

type heldKey struct{}

// renew renews the lease now; if it is lost, it cancels the work with an
// error wrapping ErrLeaseLost and returns it. A renewal that fails (the
// database did not answer) is retried at the next tick, while the last
// one that succeeded is less than LeaseTTL/2 old. A renewal that
// succeeds more than 3/4 of LeaseTTL after the last one counts as lost
// too: the lease may have expired meanwhile (this process paused, its
// machine suspended), and another frontend taken it, done the work and
// given it up.
func (h *held) renew(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lost != nil {
		return h.lost
	}
	sent := time.Now()
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), LeaseTTL/4)
	ok, err := h.a.index.TryLease(rctx, h.name, h.a.holder, LeaseTTL)
	rcancel()
	gap := sent.Sub(h.taken)
	switch {
	case err == nil && ok && gap > LeaseTTL*3/4:
		h.lost = fmt.Errorf("%w: %s %q renewed %v after the last renewal, when it may have expired (was this process paused?)", ErrLeaseLost, h.kind, h.key, gap.Round(time.Second))
	case err == nil && ok:
		h.taken = sent
	case err == nil:
		h.lost = fmt.Errorf("%w: another frontend holds %s %q now", ErrLeaseLost, h.kind, h.key)
	case time.Since(h.taken) > LeaseTTL/2:
		// Another try would come too close to its expiry.
		h.lost = fmt.Errorf("%w: %s %q not renewed for %v: %w", ErrLeaseLost, h.kind, h.key, time.Since(h.taken).Round(time.Second), err)
	}
	if h.lost != nil {
		h.cancel(h.lost)
	}
	return h.lost
}

// ConfirmLease renews, at once, the lease whose work context Claim or Lease
// returned, and returns an error wrapping ErrLeaseLost if it is lost (see
// Claim), or work's cause if work is done otherwise. Call it just before
// a step that must not be done twice, such as handing an entry to the
// log: a lease lost while this process was paused is seen there, before
// the ticker that renews it runs again. It returns nil for a context not
// from Claim (an archive that is not shared: its one writer has every
// lease), unless it is done. A renewal that fails only because the
// database did not answer, while the lease is still young, is not a loss:
// ConfirmLease then returns nil.
func ConfirmLease(work context.Context) error {
	h, ok := work.Value(heldKey{}).(*held)
	if ok {
		if err := h.renew(work); err != nil {
			return err
		}
	}
	if work.Err() != nil {
		return context.Cause(work)
	}
	return nil
}

// Lease is Claim that waits, polling, until the lease is free or ctx
// ends.
func (a *Archive) Lease(ctx context.Context, kind, key string) (work context.Context, release func(), err error) {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		work, release, ok, err := a.Claim(ctx, kind, key)
		if err != nil || ok {
			return work, release, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for another frontend to finish with %s %q: %w", kind, key, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// UnavailableError is Health's report of a shared archive whose database
// or bucket does not answer, whose published checkpoint cannot be kept
// (it went back behind the kept one, or forked), or whose index follower
// fails (an *IndexStalledError): writes fail until it is mended.
type UnavailableError struct {
	// What is "database", "index database", "bucket", "log checkpoint"
	// or "index follower".
	What string
	Err  error
}

func (e *UnavailableError) Error() string { return e.What + " unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Health checks, for a shared archive, that the log's database and bucket
// and the index's database answer (within the time ctx allows) and, open
// for writing, that the log's published checkpoint is kept and that the
// index follower's last round succeeded; it returns an
// *UnavailableError naming the first that does not. An
// archive that is not shared is healthy.
func (a *Archive) Health(ctx context.Context) error {
	if a.aws == nil {
		return nil
	}
	if err := ledger.PingDB(ctx, *a.aws); err != nil {
		return &UnavailableError{What: "database", Err: err}
	}
	if err := ledger.PingBucket(ctx, *a.aws); err != nil {
		return &UnavailableError{What: "bucket", Err: err}
	}
	if a.index != nil {
		if err := a.index.Ping(ctx); err != nil {
			return &UnavailableError{What: "index database", Err: err}
		}
	}
	a.dbUp()
	if a.writer != nil {
		// The published checkpoint went back or forked, or cannot be
		// kept: nothing new is acknowledged until it is mended.
		if err := a.writer.KeepErr(); err != nil {
			return &UnavailableError{What: "log checkpoint", Err: err}
		}
		// The index follower's last round failed (a database call not
		// answered within its bound, or refused): nothing new is
		// acknowledged until a round succeeds.
		if err := a.FollowerErr(); err != nil {
			return &UnavailableError{What: "index follower", Err: err}
		}
	}
	return nil
}

// SequencingLag returns how many entries the log has sequenced but not yet
// integrated into its tree (by every frontend, for a shared archive). It
// needs the archive opened for writing.
func (a *Archive) SequencingLag(ctx context.Context) (uint64, error) {
	if a.writer == nil {
		return 0, ErrReadOnly
	}
	return a.writer.Lag(ctx)
}
