package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/go-sql-driver/mysql"
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
// them down and they have been for at least atLeast (DBDownWait for writes,
// readDownWait for reads); otherwise a zero time and nil.
//
// When that probe is older than dbProbeInterval, another is started in
// the background, so that what fails at once sees the databases answer
// again within a probe interval of their return.
func (a *Archive) knownDown(atLeast time.Duration) (time.Time, error) {
	w := &a.dbw
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil || time.Since(w.probed) > dbProbeGap || time.Since(w.downSince) < atLeast {
		return time.Time{}, nil
	}
	if time.Since(w.probed) >= dbProbeInterval {
		a.probeLocked()
	}
	return w.downSince, w.err
}

// dbUp records that the databases answered (Health found them
// answering): an outage seen before is over.
func (a *Archive) dbUp() {
	w := &a.dbw
	w.mu.Lock()
	defer w.mu.Unlock()
	w.probed, w.downSince, w.err = time.Now(), time.Time{}, nil
}

// dbWatch is the result of the last probe of a shared archive's
// databases, shared by every waiting write and read.
type dbWatch struct {
	mu        sync.Mutex
	probed    time.Time
	downSince time.Time // zero while they answer
	err       error
	probing   chan struct{} // closed when the running probe ends; nil while none runs
}

// dbDown probes the log's and the index's databases, unless they were
// probed less than dbProbeInterval ago, and returns since when they have
// not answered and why (a zero time and nil if they answer). It waits for
// the probe (at most dbProbeInterval); one probe runs at a time, and every
// caller waiting meanwhile gets its result.
func (a *Archive) dbDown(ctx context.Context) (time.Time, error) {
	w := &a.dbw
	w.mu.Lock()
	if time.Since(w.probed) < dbProbeInterval {
		defer w.mu.Unlock()
		return w.downSince, w.err
	}
	probe := a.probeLocked()
	w.mu.Unlock()
	select {
	case <-probe:
	case <-ctx.Done():
		return time.Time{}, nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.downSince, w.err
}

// probeLocked starts a probe of the databases unless one runs, and
// returns the channel closed when it ends. The caller holds a.dbw.mu.
func (a *Archive) probeLocked() <-chan struct{} {
	w := &a.dbw
	if w.probing != nil {
		return w.probing
	}
	done := make(chan struct{})
	w.probing = done
	go func() {
		start := time.Now()
		err := a.probeDB()
		w.mu.Lock()
		defer close(done)
		defer w.mu.Unlock()
		w.probing = nil
		// An outage is counted from the first of an unbroken run of
		// failed probes: after a gap in probing (no write or read
		// waited since the last one), the databases may have answered
		// meanwhile, so a failed probe starts a new outage rather than
		// continuing one that may have ended long ago.
		gap := start.Sub(w.probed) > dbProbeGap
		w.probed = start
		switch {
		case err == nil:
			w.downSince, w.err = time.Time{}, nil
		case w.downSince.IsZero() || gap:
			w.downSince, w.err = start, err
		default:
			w.err = err
		}
	}()
	return done
}

// probeDB pings the log's and the index's databases, giving up after
// dbProbeInterval even where the driver does not give up on a server that
// hangs (a connection accepted, never answered): the ping then ends in
// the background.
func (a *Archive) probeDB() error {
	ctx, cancel := context.WithTimeout(context.Background(), dbProbeInterval)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		err := ledger.PingDB(ctx, *a.aws)
		if err == nil && a.index != nil {
			err = a.index.Ping(ctx)
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("database probe: no answer within %v: %w", dbProbeInterval, ctx.Err())
	}
}

// readDownWait is how long the databases must have failed probes, one
// after another, before reads fail for them: two probes, so that one
// probe slowed down by a loaded machine fails no read.
const readDownWait = dbProbeInterval

// guardRead is the index's guard (index.Guard) for a shared archive: it
// runs read, and, while read waits, has the databases probed every
// dbProbeInterval; when probes have found them down for readDownWait it
// cancels read and returns an *UnavailableError at once, so a read of a
// database that hangs (a connection accepted, never answered) fails
// within three probe intervals (4 to 6 seconds) instead of hanging. Reads
// made while the last probe, a moment ago, found them down fail at once. A read that is only
// slow, of databases that answer probes, runs to its end.
func (a *Archive) guardRead(ctx context.Context, read func(context.Context) error) error {
	if since, err := a.knownDown(readDownWait); err != nil {
		return unavailableRead(since, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- read(ctx) }()
	t := time.NewTimer(dbProbeInterval)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
			if since, err := a.dbDown(ctx); err != nil && time.Since(since) >= readDownWait {
				return unavailableRead(since, err)
			}
			t.Reset(dbProbeInterval)
		}
	}
}

func unavailableRead(since time.Time, err error) error {
	return &UnavailableError{What: "database", Err: fmt.Errorf("reading the index: the database has not answered for %v: %w", time.Since(since).Round(time.Second), err)}
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
	if since, err := a.knownDown(DBDownWait); err != nil {
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
			// Not taken as a sign that the databases answer: the log
			// may hand back an entry it already holds in memory, or a
			// sequence number, without asking them. Probes say when
			// they answer again.
			return err
		case <-ctx.Done():
			// The caller gave up (a client gone, a lease lost): wait
			// may not see it (the log's Add goes on regardless).
			return fmt.Errorf("%s: %w", what, context.Cause(ctx))
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

// openWatched is open, watched, for a shared archive, by probes of its
// databases (see Open).
func openWatched(ctx context.Context, dir string, o OpenOptions) (*Archive, error) {
	cfg, err := ReadConfig(dir)
	if err != nil || cfg.Log == nil {
		return open(ctx, dir, o)
	}
	var dbs []*mysql.Config
	for _, dsn := range []string{cfg.Log.DSN, cfg.Log.IndexDSN} {
		c, err := ParseLogDSN(dsn)
		if err != nil {
			return open(ctx, dir, o) // which says what is wrong
		}
		if c.Passwd, err = dbPassword(); err != nil {
			return open(ctx, dir, o)
		}
		dbs = append(dbs, c)
	}
	type opened struct {
		a   *Archive
		err error
	}
	var mu sync.Mutex
	abandoned := false
	done := make(chan opened, 1)
	go func() {
		a, err := open(ctx, dir, o)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if a != nil {
				a.Close(context.WithoutCancel(ctx))
			}
			return
		}
		done <- opened{a, err}
	}()
	t := time.NewTicker(dbProbeInterval)
	defer t.Stop()
	var downSince time.Time
	for {
		select {
		case r := <-done:
			return r.a, r.err
		case <-t.C:
		}
		err := pingDBs(dbs)
		switch {
		case err == nil:
			downSince = time.Time{}
			continue
		case downSince.IsZero():
			downSince = time.Now()
			continue
		}
		mu.Lock()
		select {
		case r := <-done: // it ended meanwhile
			mu.Unlock()
			return r.a, r.err
		default:
		}
		abandoned = true
		mu.Unlock()
		return nil, &UnavailableError{What: "database", Err: fmt.Errorf("opening the archive: the database has not answered probes for %v: %w", time.Since(downSince).Round(time.Second), err)}
	}
}

// pingDBs pings each database, giving up on each after dbProbeInterval.
func pingDBs(dbs []*mysql.Config) error {
	ctx, cancel := context.WithTimeout(context.Background(), dbProbeInterval)
	defer cancel()
	for _, c := range dbs {
		conn, err := mysql.NewConnector(ledger.BoundedConfig(ctx, c))
		if err != nil {
			return err
		}
		db := sql.OpenDB(conn)
		err = db.PingContext(ctx)
		db.Close()
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			err = nil // it answers, if only to refuse (a missing database)
		}
		if err != nil {
			return fmt.Errorf("database %s at %s: %w", c.DBName, c.Addr, err)
		}
	}
	return nil
}
