package archive

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// keeper is the archive's ledger.Keeper: it keeps each checkpoint the log
// publishes in checkpoints/ (durably, before the log acknowledges anything
// against it), then has the follower index it and the stamper time-stamp
// it.
type keeper struct{ a *Archive }

func (k keeper) Keep(ctx context.Context, signed []byte, cp *verify.Checkpoint) error {
	if err := k.a.kept.Keep(ctx, signed, cp); err != nil {
		return err
	}
	k.a.follow.addCheckpoint(index.Checkpoint{Size: cp.Size})
	if k.a.stamper != nil {
		k.a.stamper.Enqueue(cp.Size, signed)
	}
	return nil
}

// follower indexes the log as its checkpoints are kept: every entry below
// the latest kept checkpoint, in order, with the checkpoints themselves,
// one transaction a round. The records the write path holds are indexed
// as they are; any other entry (logged by a process that died before its
// record was indexed) is read back from the log and its signature checked.
// It is the only writer of the index while the archive is open.
type follower struct {
	a *Archive

	// busy is held by a round, and by Reindex, for their whole run: one
	// writer of the index at a time.
	busy sync.Mutex

	mu      sync.Mutex
	held    map[uint64]*record.Record // by leaf index, until indexed
	indexed uint64                    // every entry below is indexed
	cps     []index.Checkpoint        // kept checkpoints not yet indexed
	err     error                     // the last round's, until one succeeds
	failing time.Time                 // when rounds began to fail; zero while they succeed
	// callStart and callDue are the start and deadline of the database
	// call a round is in, zero between calls: a call past its deadline
	// (a driver that does not give up) counts as a stall (FollowerErr).
	callStart, callDue time.Time
	changed            chan struct{} // closed and replaced after every round
	kick               chan struct{}
	done               chan struct{}
}

func newFollower(a *Archive) *follower {
	return &follower{a: a, held: map[uint64]*record.Record{}, changed: make(chan struct{}), kick: make(chan struct{}, 1)}
}

// addCheckpoint queues a kept checkpoint (or its time-stamp) for the index.
func (f *follower) addCheckpoint(c index.Checkpoint) {
	f.mu.Lock()
	f.cps = append(f.cps, c)
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

// hold gives the follower the record of an entry the write path holds, so
// that it is indexed without being read back.
func (f *follower) hold(r *record.Record) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Index >= f.indexed {
		f.held[r.Index] = r
	}
}

// start runs rounds whenever a checkpoint is kept, until ctx ends. A
// round that fails (the database did not answer within followDBTimeout)
// is retried every followRetry, so that the index catches up when the
// database returns even if no new checkpoint is kept meanwhile.
func (f *follower) start(ctx context.Context) {
	f.done = make(chan struct{})
	go func() {
		defer close(f.done)
		var retry <-chan time.Time
		for {
			ch := f.a.writer.Changed()
			retry = nil
			if err := f.round(ctx); err != nil && ctx.Err() == nil {
				f.a.log.Error("indexing the log", "err", err)
				retry = time.After(followRetry)
			}
			select {
			case <-ctx.Done():
				return
			case <-ch:
			case <-f.kick:
			case <-retry:
			}
		}
	}()
}

// followDBTimeout bounds each database call of the follower (the index's
// size, the follow lease, a round's transaction, which is allowed another
// followDBPerRecord for each record it adds): a database that hangs
// (stopped, a network partition that drops packets) fails the round
// instead of blocking it for ever. followRetry is how soon a failed round
// is tried again.
const (
	followDBTimeout   = 10 * time.Second
	followDBPerRecord = 5 * time.Millisecond
	followRetry       = 2 * time.Second
)

// dbCall runs call under ctx bounded by followDBTimeout plus extra, and
// marks it in f while it runs.
func dbCall[T any](f *follower, ctx context.Context, extra time.Duration, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, followDBTimeout+extra)
	defer cancel()
	f.mu.Lock()
	f.callStart = time.Now()
	f.callDue = f.callStart.Add(followDBTimeout + extra + followCallGrace)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.callStart, f.callDue = time.Time{}, time.Time{}
		f.mu.Unlock()
	}()
	return call(ctx)
}

// followCallGrace is how long a database call of the follower may run past
// its deadline before FollowerErr reports the follower stalled: the
// driver is given that long to give up by itself.
const followCallGrace = 5 * time.Second

// IndexStalledError is FollowerErr's report of an index follower whose
// rounds have failed since Since: the records logged since are not yet
// searchable, and writes wait for them to be indexed.
type IndexStalledError struct {
	Since time.Time
	Err   error // the last round's
}

func (e *IndexStalledError) Error() string {
	return fmt.Sprintf("indexing the log has failed for %v: %v", time.Since(e.Since).Round(time.Second), e.Err)
}

func (e *IndexStalledError) Unwrap() error { return e.Err }

// FollowerErr returns, for an archive open for writing, an
// *IndexStalledError while the follower's rounds fail (until one
// succeeds), or while one of its database calls runs more than
// followCallGrace past its deadline; else nil.
func (a *Archive) FollowerErr() error {
	if a.writer == nil || a.follow == nil {
		return nil
	}
	f := a.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		if !f.callDue.IsZero() && time.Now().After(f.callDue) {
			return &IndexStalledError{Since: f.callStart, Err: fmt.Errorf("a database call of the index follower has not returned %v after it began, past its deadline: %w", time.Since(f.callStart).Round(time.Second), context.DeadlineExceeded)}
		}
		return nil
	}
	return &IndexStalledError{Since: f.failing, Err: f.err}
}

// IndexLag returns how many entries of the latest kept checkpoint this
// frontend has not yet seen indexed (by itself or, for a shared archive,
// by the frontend that leads the indexing). It needs the archive opened
// for writing.
func (a *Archive) IndexLag() (uint64, error) {
	if a.writer == nil {
		return 0, ErrReadOnly
	}
	_, cp, err := a.writer.Kept()
	if err != nil {
		return 0, err
	}
	f := a.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.indexed >= cp.Size {
		return 0, nil
	}
	return cp.Size - f.indexed, nil
}

func (f *follower) wait() {
	if f.done != nil {
		<-f.done
	}
}

// flush runs a last round, after the log closed.
func (f *follower) flush(ctx context.Context) error { return f.round(ctx) }

// round indexes every entry up to the latest kept checkpoint.
func (f *follower) round(ctx context.Context) error {
	f.busy.Lock()
	defer f.busy.Unlock()
	_, cp, err := f.a.writer.Kept()
	if err != nil {
		return err
	}
	to := cp.Size
	// Frontends of a shared archive index the same log into one index:
	// what another has indexed already is not read back again.
	var shared uint64
	if f.a.Shared() {
		if shared, err = dbCall(f, ctx, 0, f.a.index.Size); err != nil {
			return f.failed(fmt.Errorf("reading the size of the index: %w", err))
		}
	}
	f.mu.Lock()
	if f.a.Shared() && shared < f.indexed {
		// The shared index is behind what this frontend indexed: another
		// rebuilt it (exhibit reindex) meanwhile, and what was added to
		// the old one is gone. Follow the log again from where it is.
		f.indexed = shared
	}
	if shared > f.indexed {
		f.indexed = min(shared, to)
		for i := range f.held {
			if i < f.indexed {
				delete(f.held, i)
			}
		}
		f.changed = notify(f.changed)
	}
	if f.a.Shared() && f.indexed < to {
		// One frontend at a time follows the log into the shared index
		// (the holder of its lease, renewed at every round); the others
		// see what it indexed, soon after.
		f.mu.Unlock()
		lead, err := dbCall(f, ctx, 0, func(ctx context.Context) (bool, error) {
			_, lead, err := f.a.TryLease(ctx, "follow", "index", followLease)
			return lead, err
		})
		if err != nil {
			return f.failed(fmt.Errorf("taking the lease of the index follower: %w", err))
		}
		if !lead {
			time.AfterFunc(followPoll, func() {
				select {
				case f.kick <- struct{}{}:
				default:
				}
			})
			f.succeeded()
			return nil
		}
		f.mu.Lock()
	}
	from, cps := f.indexed, f.cps
	f.cps = nil
	var held []*record.Record
	if to > from {
		held = make([]*record.Record, to-from)
		for i := from; i < to; i++ {
			held[i-from] = f.held[i]
		}
	}
	f.mu.Unlock()
	if to <= from && len(cps) == 0 {
		f.succeeded()
		return nil
	}
	recs, err := f.records(ctx, from, held)
	if err == nil {
		_, err = dbCall(f, ctx, time.Duration(len(recs))*followDBPerRecord, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, f.a.index.Add(ctx, index.Round{Records: recs, Checkpoints: cps, Size: max(to, from)})
		})
	}
	if index.IsDamaged(err) {
		// The index is a cache of the log: rebuild it from there.
		f.a.log.Warn("the index is damaged; rebuilding it from the log", "err", err)
		if _, err = f.a.rebuildIndex(ctx, nil); err == nil {
			f.mu.Lock()
			f.changed = notify(f.changed)
			f.mu.Unlock()
			return nil
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		f.cps = append(cps, f.cps...)
		f.setErr(fmt.Errorf("indexing entries %d to %d: %w", from, to, err))
	} else {
		f.setErr(nil)
		for i := from; i < to; i++ {
			delete(f.held, i)
		}
		f.indexed = max(to, from)
	}
	f.changed = notify(f.changed)
	return err
}

// setErr records the outcome of a round; the caller holds f.mu.
func (f *follower) setErr(err error) {
	switch {
	case err == nil:
		if f.err != nil {
			f.a.log.Info("indexing the log again", "failed_for", time.Since(f.failing).Round(time.Second))
		}
		f.failing = time.Time{}
	case f.err == nil:
		f.failing = time.Now()
	}
	f.err = err
}

// succeeded records a round that had nothing to index, or left it to
// the frontend that leads: the database answered.
func (f *follower) succeeded() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		f.setErr(nil)
		f.changed = notify(f.changed)
	}
}

// failed records err, the failure of a round before it read anything,
// and wakes the waiters so that they see it; it returns err.
func (f *follower) failed(err error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setErr(err)
	f.changed = notify(f.changed)
	return err
}

// followLease is how long a frontend of a shared archive leads the
// indexing of the log without renewing its lease: after it dies, another
// takes over once it expires. followPoll is how often the others look at
// what it indexed, while their records wait for it.
const (
	followLease = 5 * time.Second
	followPoll  = 50 * time.Millisecond
)

// notify closes ch, to wake its waiters, and returns its replacement.
func notify(ch chan struct{}) chan struct{} {
	close(ch)
	return make(chan struct{})
}

// records returns the records of the entries from, from+1, …: those held,
// and the others read from the log. The entries not held are read in one
// pass over the entry bundles from the first to the last of them: those
// logged by the other frontends of a shared archive are interleaved with
// this one's, and a read per gap would fetch the same bundle again and
// again.
func (f *follower) records(ctx context.Context, from uint64, held []*record.Record) ([]*record.Record, error) {
	first, last := -1, -1
	for i, r := range held {
		if r == nil {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 {
		return held, nil
	}
	out := slices.Clone(held)
	size := from + uint64(len(held))
	for e, err := range f.a.reader.Entries(ctx, from+uint64(first), from+uint64(last)+1, size) {
		if err != nil {
			return nil, err
		}
		if e.Index < from || e.Index >= size {
			return nil, fmt.Errorf("log entry %d read for entries %d to %d", e.Index, from, size)
		}
		i := e.Index - from
		if out[i] != nil {
			continue
		}
		r, err := f.a.openRecord(e)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	for i, r := range out {
		if r == nil {
			return nil, fmt.Errorf("log entry %d: not read from the log", from+uint64(i))
		}
	}
	return out, nil
}

// openRecord checks the signature of a log entry read back from the log
// and returns its record.
func (a *Archive) openRecord(e ledger.Entry) (*record.Record, error) {
	st, _, _, err := a.keys.OpenEntry(e.Data)
	if err != nil {
		return nil, fmt.Errorf("log entry %d: %w", e.Index, err)
	}
	env, err := verify.ParseEnvelope(e.Data)
	if err != nil {
		return nil, fmt.Errorf("log entry %d: %w", e.Index, err)
	}
	return record.FromEntry(e.Data, e.Index, st, env.Payload), nil
}

// waitIndexed waits until the entry at idx is indexed.
func (f *follower) waitIndexed(ctx context.Context, idx uint64) error {
	for {
		f.mu.Lock()
		done, ch, err := f.indexed > idx, f.changed, f.err
		f.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("waiting for entry %d to be indexed: %w; %w", idx, ctx.Err(), err)
			}
			return fmt.Errorf("waiting for entry %d to be indexed: %w", idx, ctx.Err())
		case <-ch:
		}
	}
}

// catchUp brings the index up to date with the log and the kept
// checkpoints, when the archive opens for writing.
//
// It first waits for a kept checkpoint covering every entry already in the
// tree: a process killed after sequencing entries but before their
// checkpoint was published leaves entries that are in the log all the
// same, and that a re-run must see, or it would log the same documents
// twice. A process killed after keeping checkpoints but before indexing
// them leaves checkpoints/ ahead of the index: they are added.
func (a *Archive) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, appendTimeout)
	defer cancel()
	_, cp, err := a.writer.Sync(ctx)
	if err != nil {
		return err
	}
	err = a.catchUpIndex(ctx, cp)
	if index.IsDamaged(err) || errors.Is(err, errIndexAhead) {
		// The index is a cache of the log: rebuild it from there.
		a.log.Warn("the index is damaged or is not this log's; rebuilding it from the log", "err", err)
		if _, err = a.rebuildIndex(ctx, nil); err == nil {
			err = a.catchUpIndex(ctx, cp)
		}
	}
	return err
}

// errIndexAhead is catchUpIndex's error for an index that covers more of
// the log than the log has (an index of another copy of the archive).
var errIndexAhead = errors.New("the index is ahead of the log")

// catchUpIndex is catchUp once the log's checkpoint is kept.
func (a *Archive) catchUpIndex(ctx context.Context, cp *verify.Checkpoint) error {
	from, err := a.index.Size(ctx)
	if err != nil {
		return err
	}
	if from > cp.Size {
		return fmt.Errorf("%w: it covers %d entries, the log's checkpoint %d", errIndexAhead, from, cp.Size)
	}
	a.follow.indexed = from
	if err := a.syncCheckpoints(ctx, cp.Size); err != nil {
		return err
	}
	if err := a.follow.round(ctx); err != nil {
		return err
	}
	if from < cp.Size {
		a.log.Info("index caught up with the log", "from", from, "to", cp.Size)
	}
	return nil
}

// syncCheckpoints adds to the index the kept checkpoints it lacks, with
// their tokens, when its latest is not latest (the size of the latest kept
// checkpoint): after a crash, an upgrade, or a rebuild.
func (a *Archive) syncCheckpoints(ctx context.Context, latest uint64) error {
	have, err := a.index.LatestCheckpoint(ctx)
	if err == nil && have.Size == latest {
		return nil
	}
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	return a.addKept(ctx, a.index)
}

// addKept adds every kept checkpoint, with its token's presence, to ix.
func (a *Archive) addKept(ctx context.Context, ix *index.Index) error {
	all, err := a.kept.All(ctx)
	if err != nil {
		return err
	}
	cps := make([]index.Checkpoint, 0, len(all))
	for _, k := range all {
		cps = append(cps, index.Checkpoint{Size: k.Size, Timestamped: k.Timestamped})
	}
	return ix.Add(ctx, index.Round{Checkpoints: cps})
}

// Reindex rebuilds the index from the log and the kept checkpoints alone:
// it reads every entry up to the latest kept checkpoint, checks each
// statement's signature, and indexes it, into a new index that replaces
// the old one once it is complete (readers, here and in other processes,
// read the old one until then). progress, if set, is called with the
// number of entries done. It needs the archive opened for writing.
func (a *Archive) Reindex(ctx context.Context, progress func(done, total uint64)) (int, error) {
	if a.writer == nil {
		return 0, ErrReadOnly
	}
	// Hold off the follower: rebuild, then let it go on from there.
	a.follow.busy.Lock()
	defer a.follow.busy.Unlock()
	return a.rebuildIndex(ctx, progress)
}

// rebuildIndex is Reindex; the caller holds the follower's busy lock.
func (a *Archive) rebuildIndex(ctx context.Context, progress func(done, total uint64)) (int, error) {
	_, cp, err := a.writer.Kept()
	if err != nil {
		return 0, err
	}
	// What the index knew of the kept checkpoints and their tokens is
	// compared with what checkpoints/ holds: one lost is said, not
	// forgotten in silence.
	knew, _ := a.index.Checkpoints(ctx, false)
	a.warnLost(ctx, knew)
	n := 0
	err = a.index.Rebuild(ctx, func(nx *index.Index) error {
		if err := a.addKept(ctx, nx); err != nil {
			return err
		}
		const batch = 1024
		var recs []*record.Record
		for e, err := range a.reader.Entries(ctx, 0, cp.Size, cp.Size) {
			if err != nil {
				return err
			}
			r, err := a.openRecord(e)
			if err != nil {
				return err
			}
			recs = append(recs, r)
			n++
			if len(recs) == batch || uint64(n) == cp.Size {
				if err := nx.Add(ctx, index.Round{Records: recs, Size: uint64(n)}); err != nil {
					return err
				}
				recs = recs[:0]
				if progress != nil {
					progress(uint64(n), cp.Size)
				}
			}
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	// The follower goes on from there.
	f := a.follow
	f.mu.Lock()
	f.indexed = cp.Size
	for i := range f.held {
		if i < cp.Size {
			delete(f.held, i)
		}
	}
	f.mu.Unlock()
	return n, nil
}

// warnLost logs each checkpoint, or token, that the index knew as kept and
// checkpoints/ no longer holds.
func (a *Archive) warnLost(ctx context.Context, knew []index.Checkpoint) {
	all, err := a.kept.All(ctx)
	if err != nil {
		return
	}
	have := map[uint64]ledger.KeptFile{}
	for _, k := range all {
		have[k.Size] = k
	}
	for _, c := range knew {
		k, ok := have[c.Size]
		switch {
		case !ok:
			a.log.Warn("a kept checkpoint is missing: the evidence of when the records it covers were published is lost; restore it from a backup or a mirror", "checkpoint", a.CheckpointFile(c.Size))
		case c.Timestamped && !k.Timestamped:
			a.log.Warn("a checkpoint's time-stamp is missing: restore it from a backup or a mirror", "token", a.CheckpointFile(c.Size)+".tsr")
		}
	}
}
