package archive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
)

// DBDownWait is how long a write to a shared archive (its log on S3 and
// MySQL) that waits for the log (for its entry to be sequenced,
// integrated, published under a kept checkpoint, indexed) keeps waiting
// once the databases stop answering: then it fails with an
// *UnavailableError. The databases are probed every dbProbeInterval while
// writes wait, so a write fails between DBDownWait and DBDownWait plus two
// probe intervals (12 to 16 seconds) after the database went down. Its
// entry may still be logged when the database returns.
const DBDownWait = 12 * time.Second

// dbProbeInterval is how often, at most, a waiting write has the
// databases probed, and how long a probe may take.
const dbProbeInterval = 2 * time.Second

// dbProbeGap is how long after the last probe a failed probe no longer
// continues the outage that probe saw: two probe intervals and the time a
// probe may take.
const dbProbeGap = 3 * dbProbeInterval

// knownDown returns, without probing, since when the databases have not
// answered and why, when the last probe, less than dbProbeGap ago, found
// them down and they have been for DBDownWait or longer; otherwise a zero
// time and nil.
func (a *Archive) knownDown() (time.Time, error) {
	w := &a.dbw
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil || time.Since(w.probed) > dbProbeGap || time.Since(w.downSince) < DBDownWait {
		return time.Time{}, nil
	}
	return w.downSince, w.err
}

// dbUp records that the databases answered (a wait that needed them
// ended, or Health found them answering): an outage seen before is over.
func (a *Archive) dbUp() {
	w := &a.dbw
	w.mu.Lock()
	defer w.mu.Unlock()
	w.probed, w.downSince, w.err = time.Now(), time.Time{}, nil
}

// dbWatch is the result of the last probe of a shared archive's
// databases, shared by every waiting write.
type dbWatch struct {
	mu        sync.Mutex
	probed    time.Time
	downSince time.Time // zero while they answer
	err       error
}

// dbDown probes the log's and the index's databases, unless they were
// probed less than dbProbeInterval ago, and returns since when they have
// not answered and why (a zero time and nil if they answer).
func (a *Archive) dbDown(ctx context.Context) (time.Time, error) {
	w := &a.dbw
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.probed) < dbProbeInterval {
		return w.downSince, w.err
	}
	now := time.Now()
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dbProbeInterval)
	defer cancel()
	// The probe is abandoned at its deadline even where the driver does
	// not give up on a server that hangs (a connection accepted, never
	// answered): it ends in the background.
	done := make(chan error, 1)
	go func() {
		err := ledger.PingDB(pctx, *a.aws)
		if err == nil && a.index != nil {
			err = a.index.Ping(pctx)
		}
		done <- err
	}()
	var err error
	select {
	case err = <-done:
	case <-pctx.Done():
		err = fmt.Errorf("database probe: no answer within %v: %w", dbProbeInterval, pctx.Err())
	}
	// An outage is counted from the first of an unbroken run of failed
	// probes: after a gap in probing (no write waited since the last
	// one), the databases may have answered meanwhile, so a failed probe
	// starts a new outage rather than continuing one that may have ended
	// long ago.
	gap := now.Sub(w.probed) > dbProbeGap
	w.probed = now
	switch {
	case err == nil:
		w.downSince, w.err = time.Time{}, nil
	case w.downSince.IsZero() || gap:
		w.downSince, w.err = now, err
	default:
		w.err = err
	}
	return w.downSince, w.err
}

// whileDBUp runs wait, for a shared archive, until it returns or the
// databases have not answered for DBDownWait (or the log's published
// checkpoint could not be kept for as long): then it cancels wait's
// context and returns an *UnavailableError at once (wait may go on in the
// background until it sees the cancellation). what says what was waited
// for.
func (a *Archive) whileDBUp(ctx context.Context, what string, wait func(context.Context) error) error {
	if a.aws == nil {
		return wait(ctx)
	}
	// The databases are known to be down (a waiting write saw them fail
	// for DBDownWait, a moment ago): the same answer at once.
	if since, err := a.knownDown(); err != nil {
		return &UnavailableError{What: "database", Err: fmt.Errorf("%s: the database has not answered for %v: %w", what, time.Since(since).Round(time.Second), err)}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- wait(ctx) }()
	t := time.NewTicker(dbProbeInterval)
	defer t.Stop()
	var keepErrSince time.Time
	for {
		select {
		case err := <-done:
			if err == nil {
				// What was waited for needed the databases: they answer.
				a.dbUp()
			}
			return err
		case <-t.C:
			since, err := a.dbDown(ctx)
			if err != nil && time.Since(since) >= DBDownWait {
				return &UnavailableError{What: "database", Err: fmt.Errorf("%s: the database has not answered for %v: %w", what, time.Since(since).Round(time.Second), err)}
			}
			// A published checkpoint that cannot be kept (gone back
			// behind the kept one): as long, the same answer.
			if err := a.writer.KeepErr(); err == nil {
				keepErrSince = time.Time{}
			} else if keepErrSince.IsZero() {
				keepErrSince = time.Now()
			} else if time.Since(keepErrSince) >= DBDownWait {
				return &UnavailableError{What: "log checkpoint", Err: fmt.Errorf("%s: %w", what, err)}
			}
		}
	}
}

// mayBeLogged wraps an *UnavailableError of a write whose entry was
// handed to the log: it says that the record may still be logged, and how
// to look it up by its ID before trying again. The sha256 of its bytes is
// given too, but it finds every capture of the same bytes, earlier ones
// included.
func mayBeLogged(err error, id, sha256 string) error {
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		return err
	}
	look := "before trying again, look it up by its record ID " + id + " (GET /api/v1/records/" + id + ", or exhibit show " + id + "): found, it was logged"
	if sha256 != "" {
		look += "; its content's sha256 is " + sha256 + " (exhibit search --sha256, GET /api/v1/search?sha256=), which also finds every earlier record of the same bytes"
	}
	return &UnavailableError{What: ue.What, Err: fmt.Errorf("%w; the record was handed to the log and may still be logged when the database returns: %s", ue.Err, look)}
}
