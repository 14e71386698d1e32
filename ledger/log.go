package ledger

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
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
	// PollInterval is how often a waiting Append re-reads the published
	// checkpoint. Default 10ms.
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
	// Keys are further keys of the log whose checkpoints the writer's
	// reader accepts beside the signer's (see [NewReader]): after a key
	// rotation, the earlier keys that signed checkpoints already published.
	Keys []*verify.PublicKey
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
	return c
}

// Writer appends to a log. Open one per process, and only while holding the
// archive's write lock: Tessera's POSIX driver serialises writers, but
// exhibit's index and bundles must follow the same order.
type Writer struct {
	*Reader
	appender *tessera.Appender
	tessera  tessera.LogReader
	shutdown func(context.Context) error
	awaiter  *tessera.PublicationAwaiter
	cancel   context.CancelFunc
}

// OpenWriter opens (creating if needed) the Tessera POSIX log in dir for
// appending, with checkpoints signed by s and its cosigners (Tessera's
// additional checkpoint signers): every key's signature line, Ed25519 keys
// first.
func OpenWriter(ctx context.Context, dir string, s *Signer, cfg Config) (*Writer, error) {
	cfg = cfg.withDefaults()
	drv, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", dir, err)
	}
	signers := s.checkpointSigners()
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signers[0], signers[1:]...).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval).
		WithGarbageCollectionInterval(cfg.GCInterval).
		WithPushback(1 << 16)
	if cfg.WitnessPolicy != nil {
		wg, err := witnessGroup(cfg.WitnessPolicy, s.Keys())
		if err != nil {
			return nil, err
		}
		opts.WithWitnesses(wg, &tessera.WitnessOptions{Timeout: cfg.WitnessTimeout, FailOpen: cfg.WitnessFailOpen})
	}
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app, shutdown, lr, err := tessera.NewAppender(bctx, drv, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("opening log %s: %w", dir, err)
	}
	keys := s.Keys()
	for _, k := range cfg.Keys {
		if keys.Lookup(k.VKey) == nil {
			keys = append(keys, k)
		}
	}
	r := NewReader(dir, keys...)
	return &Writer{
		Reader:   r,
		appender: app,
		tessera:  lr,
		shutdown: shutdown,
		awaiter:  tessera.NewPublicationAwaiter(bctx, r.fetcher.ReadCheckpoint, cfg.PollInterval),
		cancel:   cancel,
	}, nil
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

// Append adds entry to the log and waits until a published checkpoint
// commits to it. It returns the entry's index and that checkpoint (a signed
// note). When it returns without error the entry is durably sequenced and
// integrated. Entries over verify.MaxEntrySize are refused.
func (w *Writer) Append(ctx context.Context, entry []byte) (uint64, []byte, error) {
	p, err := w.Add(ctx, entry)
	if err != nil {
		return 0, nil, err
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

// Wait waits until a published checkpoint commits to the pending entry and
// returns its index and that checkpoint (a signed note). When it returns
// without error the entry is durably sequenced and integrated.
func (w *Writer) Wait(ctx context.Context, p *Pending) (uint64, []byte, error) {
	idx, cp, err := w.awaiter.Await(ctx, p.future)
	if err != nil {
		return 0, nil, fmt.Errorf("appending to log: %w", err)
	}
	return idx.Index, cp, nil
}

// Sync waits until a published checkpoint covers every entry integrated
// into the tree, including entries a previous process sequenced but did not
// live to see published (after a crash). It returns that checkpoint.
func (w *Writer) Sync(ctx context.Context) ([]byte, *verify.Checkpoint, error) {
	size, err := w.tessera.IntegratedSize(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the log's tree size: %w", err)
	}
	for {
		signed, cp, err := w.Checkpoint(ctx)
		if err != nil && !errors.Is(err, ErrNoCheckpoint) {
			return nil, nil, err
		}
		if cp != nil && cp.Size >= size {
			return signed, cp, nil
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for a checkpoint of tree size %d: %w", size, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close waits for every accepted entry to be integrated and covered by a
// published checkpoint, then stops the appender.
func (w *Writer) Close(ctx context.Context) error {
	err := w.shutdown(ctx)
	w.cancel()
	return err
}

// Reader reads a log's checkpoint, tiles and entries from its directory,
// verifying the checkpoint before using it. It needs no lock: Tessera
// writes every file atomically.
type Reader struct {
	dir     string
	keys    verify.Keyring
	fetcher client.FileFetcher
}

// NewReader reads the log in dir, whose checkpoints must be signed by at
// least one of keys (the current key first, then earlier ones: see
// verify.Keyring). Requires at least one key.
func NewReader(dir string, keys ...*verify.PublicKey) *Reader {
	return &Reader{dir: dir, keys: verify.Keyring(keys), fetcher: client.FileFetcher{Root: dir}}
}

// Dir returns the log directory.
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
		return nil, nil, fmt.Errorf("checkpoint at %s: %w", filepath.Join(r.dir, layout.CheckpointPath), err)
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
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leaf, p, cp.Hash); err != nil {
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
// entry bundles. Requires to <= the integrated tree size.
func (r *Reader) Entries(ctx context.Context, from, to uint64) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if from >= to {
			return
		}
		size := func(context.Context) (uint64, error) { return to, nil }
		for b, err := range client.EntryBundles(ctx, 4, size, r.fetcher.ReadEntryBundle, from, to-from) {
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
