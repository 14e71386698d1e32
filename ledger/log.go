package ledger

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// Config tunes the appender. The zero value gives the defaults.
type Config struct {
	// BatchMaxAge is how long the first entry of a batch waits for others
	// before the batch is sequenced. Default 10ms.
	BatchMaxAge time.Duration
	// BatchMaxSize is the largest batch sequenced at once. Default 1024.
	BatchMaxSize uint
	// CheckpointInterval is the least time between two published
	// checkpoints. Default 100ms, Tessera's POSIX minimum.
	CheckpointInterval time.Duration
	// PollInterval is how often the writer reads the published checkpoint
	// to keep it and acknowledge the entries it covers. Default 10ms.
	PollInterval time.Duration
	// GCInterval is how often partial tiles and entry bundles made
	// obsolete by full ones are removed. Default 200ms, so that even a
	// short-lived process cleans up after itself.
	GCInterval time.Duration
	// WitnessPolicy, if not nil, is a C2SP tlog-policy file (see
	// verify.ParsePolicy) that lists this log and witnesses with their
	// tlog-witness URLs. Tessera then submits each new checkpoint to those
	// witnesses and publishes it, with their cosignatures appended, only
	// once they satisfy the quorum. While the quorum cannot be met no
	// checkpoint is published, so Append and Wait wait (until their
	// context ends). Witnesses only accept Ed25519 log keys.
	WitnessPolicy []byte
	// WitnessTimeout bounds each attempt to gather a quorum. Default 5s
	// (tessera.DefaultWitnessTimeout).
	WitnessTimeout time.Duration
	// WitnessFailOpen publishes a checkpoint even when the quorum was not
	// met within WitnessTimeout, with whatever cosignatures were gathered
	// (Tessera's WitnessOptions.FailOpen). Default false: fail closed, no
	// checkpoint without the quorum.
	WitnessFailOpen bool
	// RepublishInterval is how long the log stays idle before Tessera
	// publishes its checkpoint again, for the tree it already published:
	// newly signed, and newly cosigned by the witnesses, to show that the
	// log has not moved on in secret. A re-publication is not kept (the
	// checkpoint first published for that tree is); it changes nothing
	// for the records. Default 10 minutes
	// (tessera.DefaultCheckpointRepublishInterval); negative disables it.
	RepublishInterval time.Duration
	// Keys are further keys of the log whose checkpoints the writer's
	// reader accepts beside the signer's (see [NewReader]): after a key
	// rotation, the earlier keys that signed checkpoints already published.
	Keys []*verify.PublicKey
	// Keeper keeps every checkpoint the log publishes. Required.
	Keeper Keeper
}

func (c Config) withDefaults() Config {
	if c.BatchMaxAge == 0 {
		c.BatchMaxAge = 10 * time.Millisecond
	}
	if c.BatchMaxSize == 0 {
		c.BatchMaxSize = 1024
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 100 * time.Millisecond
	}
	if c.PollInterval == 0 {
		c.PollInterval = 10 * time.Millisecond
	}
	if c.GCInterval == 0 {
		c.GCInterval = 200 * time.Millisecond
	}
	if c.RepublishInterval == 0 {
		c.RepublishInterval = tessera.DefaultCheckpointRepublishInterval
	}
	return c
}

// Keeper keeps the checkpoints a log publishes (see [Checkpoints]). When
// Keep returns nil the checkpoint must be durable: the writer acknowledges
// entries only against kept checkpoints.
type Keeper interface {
	Keep(ctx context.Context, signed []byte, cp *verify.Checkpoint) error
}

// Writer appends to a log. Open one per process, and only while holding the
// archive's write lock: Tessera's POSIX driver serialises writers, but
// exhibit's index must follow the same order.
//
// Every checkpoint Tessera publishes is handed to the configured Keeper
// before any entry is acknowledged against it, and before another
// checkpoint is signed: the writer reads the published checkpoint every
// PollInterval, and again whenever Tessera is about to sign a new one (its
// publisher signs, witnesses and publishes one checkpoint at a time), so
// that none is published without being kept, even between two polls.
type Writer struct {
	*Reader
	appender *tessera.Appender
	tessera  tessera.LogReader
	shutdown func(context.Context) error
	cancel   context.CancelFunc
	keeper   Keeper
	polled   chan struct{} // closed when the poller stops

	keepMu sync.Mutex // serialises keepLatest

	mu         sync.Mutex // guards what follows
	kept       bool       // a checkpoint has been kept (or found kept)
	keptSigned []byte
	keptCP     *verify.Checkpoint
	keptErr    error // the last attempt to keep failed
	// seen is the checkpoint the log published last, as read: the kept
	// one, or a re-publication of the same tree (see keep).
	seen    []byte
	changed chan struct{} // closed and replaced at every change
	// sizes are the tree sizes kept since the writer opened, increasing;
	// recent holds the signed notes of the latest of them.
	sizes  []uint64
	recent map[uint64][]byte
}

// maxRecent bounds the signed checkpoints a Writer holds in memory.
const maxRecent = 4096

// OpenWriter opens (creating if needed) the Tessera POSIX log in dir for
// appending, with checkpoints signed by s and its cosigners (Tessera's
// additional checkpoint signers): every key's signature line, Ed25519 keys
// first. cfg.Keeper is required. Before it returns, the checkpoint the log
// last published is kept.
func OpenWriter(ctx context.Context, dir string, s *Signer, cfg Config) (*Writer, error) {
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", dir, err)
	}
	return openWriter(ctx, drv, NewReader(dir), dir, s, cfg, nil)
}

// openWriter opens the log of Tessera driver drv, which r reads (its keys
// are replaced by the signer's and cfg.Keys); where names it in messages.
// more, if not nil, adds to Tessera's append options.
func openWriter(ctx context.Context, drv tessera.Driver, r *Reader, where string, s *Signer, cfg Config, more func(*tessera.AppendOptions)) (*Writer, error) {
	cfg = cfg.withDefaults()
	if cfg.Keeper == nil {
		return nil, errors.New("ledger: a writer needs a Keeper for the checkpoints it publishes")
	}
	keys := s.Keys()
	for _, k := range cfg.Keys {
		if keys.Lookup(k.VKey) == nil {
			keys = append(keys, k)
		}
	}
	r.keys = keys
	w := &Writer{
		Reader:  r,
		keeper:  cfg.Keeper,
		changed: make(chan struct{}),
		polled:  make(chan struct{}),
		recent:  map[uint64][]byte{},
	}
	signers := s.checkpointSigners()
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(keepingSigner{signers[0], w}, signers[1:]...).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithCheckpointRepublishInterval(cfg.RepublishInterval).
		WithGarbageCollectionInterval(cfg.GCInterval).
		WithPushback(1 << 16)
	if cfg.WitnessPolicy != nil {
		wg, err := witnessGroup(cfg.WitnessPolicy, s.Keys())
		if err != nil {
			return nil, err
		}
		opts.WithWitnesses(wg, &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout, FailOpen: cfg.WitnessFailOpen})
	}
	if more != nil {
		more(opts)
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	app, shutdown, lr, err := tessera.NewAppender(bctx, drv, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("opening log %s: %w", where, err)
	}
	w.appender, w.shutdown, w.tessera = app, shutdown, lr
	if err := w.keepLatest(ctx); err != nil {
		shutdown(ctx)
		cancel()
		return nil, err
	}
	go w.poll(bctx, cfg.PollInterval)
	return w, nil
}

// keepingSigner is the log's first checkpoint signer, wrapped so that the
// checkpoint published last is kept before Tessera signs the next one.
type keepingSigner struct {
	note.Signer
	w *Writer
}

func (s keepingSigner) Sign(msg []byte) ([]byte, error) {
	if err := s.w.keepLatest(context.Background()); err != nil {
		return nil, fmt.Errorf("not signing a new checkpoint before the last one published is kept: %w", err)
	}
	return s.Signer.Sign(msg)
}

// poll keeps the published checkpoint every interval until ctx ends.
func (w *Writer) poll(ctx context.Context, interval time.Duration) {
	defer close(w.polled)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.keepLatest(ctx) // an error is kept for the waiters
	}
}

// keepLatest reads the checkpoint the log publishes and, if it is new,
// checks it and has it kept; then it wakes the waiters.
func (w *Writer) keepLatest(ctx context.Context) error {
	w.keepMu.Lock()
	defer w.keepMu.Unlock()
	raw, err := w.fetcher.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		w.mu.Lock()
		same := w.kept && bytes.Equal(raw, w.seen)
		if same && w.keptErr != nil {
			// The checkpoint kept is published again (a rollback of the
			// bucket's checkpoint undone): nothing is wrong any more.
			w.keptErr = nil
			close(w.changed)
			w.changed = make(chan struct{})
		}
		w.mu.Unlock()
		if same {
			return nil
		}
		err = w.keep(ctx, raw)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil || w.keptErr != nil {
		w.keptErr = err
		close(w.changed)
		w.changed = make(chan struct{})
	}
	return err
}

// keep checks and keeps a newly published checkpoint. The caller holds
// keepMu.
func (w *Writer) keep(ctx context.Context, raw []byte) error {
	cp, _, err := w.keys.OpenCheckpoint(raw)
	if err != nil {
		return fmt.Errorf("published checkpoint of log %s: %w", w.where, err)
	}
	w.mu.Lock()
	prev := w.keptCP
	w.mu.Unlock()
	if prev != nil && cp.Size < prev.Size {
		return fmt.Errorf("the log published a checkpoint of tree size %d after one of size %d", cp.Size, prev.Size)
	}
	if prev != nil && cp.Size == prev.Size {
		if !sameTree(cp, prev) {
			return fmt.Errorf("the log published a checkpoint of tree size %d with another root hash than the one kept: a fork", cp.Size)
		}
		// A re-publication of the tree kept (RepublishInterval): the
		// checkpoint first published for it stays the evidence.
		w.mu.Lock()
		w.seen, w.keptErr = raw, nil
		w.mu.Unlock()
		return nil
	}
	signed := raw
	if err := w.keeper.Keep(ctx, raw, cp); err != nil {
		// A re-publication of a tree kept before this writer opened keeps
		// the first checkpoint too.
		var ce *CheckpointConflictError
		if !errors.As(err, &ce) {
			return err
		}
		first, _, oerr := w.keys.OpenCheckpoint(ce.Kept)
		if oerr != nil || !sameTree(cp, first) {
			return err
		}
		signed = ce.Kept
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.kept, w.keptSigned, w.keptCP, w.keptErr, w.seen = true, signed, cp, nil, raw
	if n := len(w.sizes); n == 0 || w.sizes[n-1] < cp.Size {
		w.sizes = append(w.sizes, cp.Size)
		w.recent[cp.Size] = signed
		if n+1 > maxRecent {
			delete(w.recent, w.sizes[n+1-maxRecent-1])
		}
	}
	close(w.changed)
	w.changed = make(chan struct{})
	return nil
}

// sameTree reports whether two checkpoints are of the same tree: the same
// origin, size and root hash (their signatures may differ).
func sameTree(a, b *verify.Checkpoint) bool {
	return a.Origin == b.Origin && a.Size == b.Size && bytes.Equal(a.Hash, b.Hash)
}

// witnessGroup checks a witness policy strictly with package verify, then
// has Tessera build its witness group from it. The policy must list at
// least one of the keys that sign checkpoints, an Ed25519 one (witnesses
// verify only Ed25519 log signatures).
func witnessGroup(policy []byte, keys verify.Keyring) (tessera.WitnessGroup, error) {
	p, err := verify.ParsePolicy(policy)
	if err != nil {
		return tessera.WitnessGroup{}, fmt.Errorf("witness policy: %w", err)
	}
	if !PolicyListsSigner(p, keys) {
		return tessera.WitnessGroup{}, fmt.Errorf("witness policy: it lists none of the Ed25519 keys that sign this log's checkpoints (%s)", keys[0].VKey)
	}
	for _, w := range p.Witnesses {
		if w.URL == "" {
			return tessera.WitnessGroup{}, fmt.Errorf("witness policy: witness %s has no URL to submit checkpoints to", w.Name)
		}
	}
	wg, err := tessera.NewWitnessGroupFromPolicy(policy)
	if err != nil {
		return tessera.WitnessGroup{}, fmt.Errorf("witness policy: %w", err)
	}
	return wg, nil
}

// PolicyListsSigner reports whether the policy lists, as a log, one of the
// Ed25519 keys among keys: the signature a witness can verify.
func PolicyListsSigner(p *verify.Policy, keys verify.Keyring) bool {
	for _, l := range p.Logs {
		if k := keys.Lookup(l.Key.VKey); k != nil {
			if _, ok := k.Key.(ed25519.PublicKey); ok {
				return true
			}
		}
	}
	return false
}

// Published is the checkpoint that first published an entry, as kept.
type Published struct {
	// Size is its tree size.
	Size uint64
	// Signed is the signed note, or nil when the writer no longer holds it
	// in memory (then read it from the Keeper's store by Size).
	Signed []byte
}

// Append adds entry to the log and waits until a kept checkpoint commits
// to it (see [Writer.Wait]).
func (w *Writer) Append(ctx context.Context, entry []byte) (uint64, Published, error) {
	p, err := w.Add(ctx, entry)
	if err != nil {
		return 0, Published{}, err
	}
	return w.Wait(ctx, p)
}

// Pending is an entry handed to the log whose publication is not yet
// known.
type Pending struct {
	future tessera.IndexFuture
}

// Add hands entry to the log and returns at once. The entry will follow
// every entry added before Add returned. Use Wait to learn its index and
// the checkpoint that publishes it: until then it is not acknowledged.
// Entries over verify.MaxEntrySize are refused.
func (w *Writer) Add(ctx context.Context, entry []byte) (*Pending, error) {
	if len(entry) > verify.MaxEntrySize {
		return nil, fmt.Errorf("log entry is %d bytes, over the tlog-tiles limit of %d", len(entry), verify.MaxEntrySize)
	}
	return &Pending{future: w.appender.Add(ctx, tessera.NewEntry(entry))}, nil
}

// Index waits until the pending entry is sequenced and returns its index
// in the log. The entry is then durably in the log, but not yet
// acknowledged: no kept checkpoint may commit to it yet.
func (w *Writer) Index(p *Pending) (uint64, error) {
	idx, err := p.future()
	if err != nil {
		return 0, fmt.Errorf("appending to log: %w", err)
	}
	return idx.Index, nil
}

// Wait waits until a kept checkpoint commits to the pending entry and
// returns its index and the first kept checkpoint that does (the one the
// entry was published with). When it returns without error the entry is
// durably sequenced and integrated, and that checkpoint durably kept. If
// ctx ends first while keeping checkpoints fails, the error says why: the
// entry is in the log all the same.
func (w *Writer) Wait(ctx context.Context, p *Pending) (uint64, Published, error) {
	idx, err := w.Index(p)
	if err != nil {
		return 0, Published{}, err
	}
	pub, err := w.WaitCovered(ctx, idx)
	return idx, pub, err
}

// WaitCovered waits until a kept checkpoint commits to the entry at index
// idx, and returns the first such checkpoint kept since the writer opened
// (or, for an entry published before, the latest kept when it opened).
func (w *Writer) WaitCovered(ctx context.Context, idx uint64) (Published, error) {
	for {
		w.mu.Lock()
		ch, err := w.changed, w.keptErr
		if w.kept && w.keptCP.Size > idx {
			i, _ := slices.BinarySearch(w.sizes, idx+1)
			size := w.sizes[i]
			pub := Published{Size: size, Signed: w.recent[size]}
			w.mu.Unlock()
			return pub, nil
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			if err != nil {
				return Published{}, fmt.Errorf("waiting for a checkpoint covering entry %d: %w; keeping the log's checkpoint failed: %w", idx, ctx.Err(), err)
			}
			return Published{}, fmt.Errorf("waiting for a checkpoint covering entry %d: %w", idx, ctx.Err())
		case <-ch:
		}
	}
}

// Lag returns how many entries are sequenced (durably given an index) but
// not yet integrated into the tree: for a log on the AWS driver, by every
// process appending to it.
func (w *Writer) Lag(ctx context.Context) (uint64, error) {
	next, err := w.tessera.NextIndex(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the log's next index: %w", err)
	}
	size, err := w.tessera.IntegratedSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the log's tree size: %w", err)
	}
	if next < size {
		return 0, nil
	}
	return next - size, nil
}

// Kept returns the latest kept checkpoint, or ErrNoCheckpoint.
func (w *Writer) Kept() ([]byte, *verify.Checkpoint, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.kept {
		return nil, nil, ErrNoCheckpoint
	}
	return w.keptSigned, w.keptCP, nil
}

// KeepErr returns the error of the last attempt to keep the published
// checkpoint, or nil if it succeeded: while it is not nil, nothing new is
// acknowledged.
func (w *Writer) KeepErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.keptErr
}

// Changed returns a channel closed at the next change of the kept
// checkpoint (or of the error keeping it).
func (w *Writer) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.changed
}

// Sync waits until a kept checkpoint covers every entry integrated into the
// tree, including entries a previous process sequenced but did not live to
// see published (after a crash). It returns that checkpoint.
func (w *Writer) Sync(ctx context.Context) ([]byte, *verify.Checkpoint, error) {
	size, err := w.tessera.IntegratedSize(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the log's tree size: %w", err)
	}
	for {
		w.mu.Lock()
		ch, kerr := w.changed, w.keptErr
		if w.kept && w.keptCP.Size >= size {
			signed, cp := w.keptSigned, w.keptCP
			w.mu.Unlock()
			return signed, cp, nil
		}
		w.mu.Unlock()
		select {
		case <-ctx.Done():
			if kerr != nil {
				return nil, nil, fmt.Errorf("waiting for a checkpoint of tree size %d: %w; keeping the log's checkpoint failed: %w", size, ctx.Err(), kerr)
			}
			return nil, nil, fmt.Errorf("waiting for a checkpoint of tree size %d: %w", size, ctx.Err())
		case <-ch:
		}
	}
}

// Close waits for every accepted entry to be integrated and covered by a
// published checkpoint, keeps that checkpoint, then stops the appender.
func (w *Writer) Close(ctx context.Context) error {
	err := w.shutdown(ctx)
	w.cancel()
	<-w.polled
	return errors.Join(err, w.keepLatest(ctx))
}

// Reader reads a log's checkpoint, tiles and entries, from its directory
// or its bucket, verifying the checkpoint before using it. It needs no
// lock: Tessera writes every file and object atomically.
type Reader struct {
	dir     string // "" for a log not in a directory
	where   string // names the log in messages
	keys    verify.Keyring
	fetcher Fetcher
}

// Fetcher reads a log's resources in the C2SP tlog-tiles layout; a
// missing resource is an error wrapping os.ErrNotExist. Tessera's
// client.FileFetcher and tessera.LogReader are Fetchers.
type Fetcher interface {
	ReadCheckpoint(ctx context.Context) ([]byte, error)
	ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, p uint8) ([]byte, error)
}

// NewReader reads the log in dir, whose checkpoints must be signed by at
// least one of keys (the current key first, then earlier ones: see
// verify.Keyring). Requires at least one key.
func NewReader(dir string, keys ...*verify.PublicKey) *Reader {
	r := newReader(client.FileFetcher{Root: dir}, dir, keys...)
	r.dir = dir
	return r
}

func newReader(f Fetcher, where string, keys ...*verify.PublicKey) *Reader {
	return &Reader{where: where, keys: verify.Keyring(keys), fetcher: f}
}

// ReadResource reads the log's resource at a tlog-tiles path
// ("tile/0/x001/234.p/5", "tile/entries/000") as stored, with no fallback
// from a partial tile to the full one: what a static server of the log
// answers. A missing one is an error wrapping os.ErrNotExist.
func (r *Reader) ReadResource(ctx context.Context, path string) ([]byte, error) {
	if rf, ok := r.fetcher.(interface {
		ReadResource(context.Context, string) ([]byte, error)
	}); ok {
		return rf.ReadResource(ctx, path)
	}
	if r.dir == "" {
		return nil, fmt.Errorf("log %s: reading %s: %w", r.where, path, errors.ErrUnsupported)
	}
	return os.ReadFile(filepath.Join(r.dir, filepath.FromSlash(path)))
}

// Fetcher returns what reads the log's resources.
func (r *Reader) Fetcher() Fetcher { return r.fetcher }

// Where names the log's place: its directory, or its bucket and
// database.
func (r *Reader) Where() string { return r.where }

// Dir returns the log directory, or "" for a log that is not in a
// directory (see Fetcher).
func (r *Reader) Dir() string { return r.dir }

// Key returns the log's (current) verifier key, the first of Keys.
func (r *Reader) Key() *verify.PublicKey { return r.keys[0] }

// Keys returns the keys whose checkpoints the reader accepts.
func (r *Reader) Keys() verify.Keyring { return r.keys }

// ErrNoCheckpoint is returned when the log has published no checkpoint.
var ErrNoCheckpoint = errors.New("the log has no checkpoint yet")

// Checkpoint reads the latest published checkpoint and verifies its
// signature. It returns the signed note and its parsed body.
func (r *Reader) Checkpoint(ctx context.Context) ([]byte, *verify.Checkpoint, error) {
	raw, err := r.fetcher.ReadCheckpoint(ctx)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, ErrNoCheckpoint
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading checkpoint: %w", err)
	}
	cp, _, err := r.keys.OpenCheckpoint(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint of log %s: %w", r.where, err)
	}
	return raw, cp, nil
}

// InclusionProof returns the RFC 6962 inclusion proof for the entry at
// index in the tree of the given size, leaf side first. Requires
// index < size <= the integrated tree size.
func (r *Reader) InclusionProof(ctx context.Context, index, size uint64) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("index %d is not in a tree of size %d", index, size)
	}
	pb, err := client.NewProofBuilder(ctx, size, r.fetcher.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("reading tiles for tree size %d: %w", size, err)
	}
	return pb.InclusionProof(ctx, index)
}

// ConsistencyProof returns the RFC 6962 consistency proof from tree size
// from to tree size to. Requires 0 < from <= to <= the integrated size.
func (r *Reader) ConsistencyProof(ctx context.Context, from, to uint64) ([][]byte, error) {
	pb, err := client.NewProofBuilder(ctx, to, r.fetcher.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("reading tiles for tree size %d: %w", to, err)
	}
	return pb.ConsistencyProof(ctx, from, to)
}

// Prove builds an evidence bundle for entry (at index) against the signed
// checkpoint cp, and checks the proof before returning it.
func (r *Reader) Prove(ctx context.Context, entry []byte, index uint64, signedCP []byte, cp *verify.Checkpoint) (*verify.Bundle, error) {
	p, err := r.InclusionProof(ctx, index, cp.Size)
	if err != nil {
		return nil, err
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(entry)
	if err := verify.ProofError(proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leaf, p, cp.Hash)); err != nil {
		return nil, fmt.Errorf("the log's own proof for index %d does not verify (the log may be corrupt): %w", index, err)
	}
	if p == nil {
		p = [][]byte{}
	}
	return &verify.Bundle{
		MediaType:      verify.BundleMediaType,
		RecordID:       verify.RecordIDFromLeafHash(leaf),
		Entry:          entry,
		Index:          index,
		InclusionProof: p,
		Checkpoint:     string(signedCP),
	}, nil
}

// Entry is one log entry and its index.
type Entry struct {
	Index uint64
	Data  []byte
}

// Entries yields the entries with indices in [from, to), in order, reading
// entry bundles. size is the size of a tree the log has published (the
// entry bundles are read as that tree has them: its last one may be
// partial). Requires to <= size <= the integrated tree size.
func (r *Reader) Entries(ctx context.Context, from, to, size uint64) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if from >= to {
			return
		}
		if to > size {
			yield(Entry{}, fmt.Errorf("entries up to %d asked of a tree of size %d", to, size))
			return
		}
		treeSize := func(context.Context) (uint64, error) { return size, nil }
		for b, err := range client.EntryBundles(ctx, 4, treeSize, r.fetcher.ReadEntryBundle, from, to-from) {
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading entry bundle: %w", err))
				return
			}
			var eb api.EntryBundle
			if err := eb.UnmarshalText(b.Data); err != nil {
				yield(Entry{}, fmt.Errorf("entry bundle %d: %w", b.RangeInfo.Index, err))
				return
			}
			first := b.RangeInfo.Index*layout.EntryBundleWidth + uint64(b.RangeInfo.First)
			for i := uint64(0); i < uint64(b.RangeInfo.N); i++ {
				j := uint64(b.RangeInfo.First) + i
				if j >= uint64(len(eb.Entries)) {
					yield(Entry{}, fmt.Errorf("entry bundle %d has %d entries, want at least %d", b.RangeInfo.Index, len(eb.Entries), j+1))
					return
				}
				if !yield(Entry{Index: first + i, Data: eb.Entries[j]}, nil) {
					return
				}
			}
		}
	}
}
