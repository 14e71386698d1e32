package archive

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
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

// TryLease takes the lease kind/key (a tracked document, an imported
// document) for ttl, unless another frontend of a shared archive holds it,
// and returns the function that gives it up. Frontends take a lease
// before work that two of them must not do at once; an archive that is
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
	return func() { a.index.ReleaseLease(context.WithoutCancel(ctx), name, a.holder) }, true, nil
}

// Lease is TryLease that waits, polling, until the lease is free or ctx
// ends.
func (a *Archive) Lease(ctx context.Context, kind, key string, ttl time.Duration) (func(), error) {
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		release, ok, err := a.TryLease(ctx, kind, key, ttl)
		if err != nil || ok {
			return release, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another frontend to finish with %s %q: %w", kind, key, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// UnavailableError is Health's report of a shared archive whose database
// or bucket does not answer: writes fail until it is back.
type UnavailableError struct {
	// What is "database", "index database" or "bucket".
	What string
	Err  error
}

func (e *UnavailableError) Error() string { return e.What + " unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Health checks, for a shared archive, that the log's database and bucket
// and the index's database answer (within the time ctx allows); it
// returns an *UnavailableError naming the first that does not. An
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
