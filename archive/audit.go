package archive

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Problem is one thing an audit found wrong.
type Problem struct {
	// Kind is one of "checkpoint", "tree", "entry", "missing", "corrupt",
	// "orphaned", "index", "bundle", "key", "store", "witness" (a bundle
	// file's checkpoint or fail-open mark against the witness policy),
	// "timestamp" (a stored or bundled RFC 3161 token).
	Kind string `json:"kind"`
	// Where names the entry ("entry 12"), object (its digest) or file.
	Where  string `json:"where"`
	Detail string `json:"detail"`
}

// AuditReport is the result of Audit.
type AuditReport struct {
	OK bool `json:"ok"`
	// LogSize and Root are those of the latest signed checkpoint; TreeRoot
	// is the root recomputed from every entry.
	LogSize  uint64 `json:"log_size"`
	Root     string `json:"root"`
	TreeRoot string `json:"tree_root"`
	// Entries is the number of entries read; Objects the number of stored
	// objects re-hashed.
	Entries  uint64    `json:"entries"`
	Objects  int       `json:"objects"`
	Indexed  uint64    `json:"indexed"`
	Problems []Problem `json:"problems"`
}

// AuditOptions configure Audit.
type AuditOptions struct {
	// Concurrency of object re-hashing. Default 8.
	Concurrency int
	// Progress, if set, is called as work advances: phase is "entries" or
	// "objects".
	Progress func(phase string, done, total uint64)
}

// Audit re-checks the whole archive: it verifies the latest checkpoint's
// signature, recomputes the Merkle tree from every log entry and compares
// its root, checks every statement's signature, re-hashes every stored
// object, and reports objects that statements reference but the store lacks
// (missing), that do not hash to their name (corrupt), or that nothing
// references (orphaned); index records missing or not holding their entry;
// bundle files missing or not verifying for their entry; a signing key
// that is not the one the configuration publishes; and the trust evidence
// when the archive has it: each stored time-stamp token
// (log/timestamps/<size>.tsr) verifies against the TSA roots over the body
// of the checkpoint of its size, each bundle file's token is the stored one
// and verifies, a bundle file is marked "fail-open" only in an archive
// configured so, and with a witness policy each bundle file's checkpoint
// meets the quorum unless it is marked fail-open.
func (a *Archive) Audit(ctx context.Context, o AuditOptions) (*AuditReport, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string, uint64, uint64) {}
	}
	rep := &AuditReport{Problems: []Problem{}}
	var mu sync.Mutex
	add := func(kind, where, format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		rep.Problems = append(rep.Problems, Problem{Kind: kind, Where: where, Detail: fmt.Sprintf(format, args...)})
	}
	if err := a.checkKeyFile(); err != nil {
		add("key", filepath.Join(a.dir, a.cfg.KeyFile), "%v", err)
	}
	_, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		add("checkpoint", "log/checkpoint", "%v", err)
		return rep.finish(), nil
	}
	rep.LogSize = cp.Size
	rep.Root = fmt.Sprintf("%x", cp.Hash)

	// Entries: recompute the tree, check statements, collect references.
	refs := map[string]string{} // digest -> first entry that references it
	ref := func(d, where string) {
		if d == "" {
			return
		}
		if _, ok := refs[d]; !ok {
			refs[d] = where
		}
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	tree := rf.NewEmptyRange(0)

	// Bundles are checked by a pool, beside the walk over the entries.
	// Their checkpoints' bodies, by tree size, are kept for the stored
	// time-stamp tokens; the log's roots at the sizes of those tokens are
	// kept too, for a token of a checkpoint no bundle file holds.
	bodies := &checkpointBodies{bySize: map[uint64][]byte{}}
	tokens, err := a.storedTimestamps()
	if err != nil {
		add("timestamp", filepath.Join(a.dir, logDir, timestampsDir), "%v", err)
	}
	roots := map[uint64][]byte{}
	bundles := make(chan ledgerEntry)
	var bwg sync.WaitGroup
	for range o.Concurrency {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for e := range bundles {
				file := a.bundlePath(verify.RecordID(e.data))
				rep, err := a.readBundleFile(e.index, e.data)
				if err != nil {
					add("bundle", file, "entry %d: %v (exhibit reindex rewrites it)", e.index, err)
					continue
				}
				a.auditBundleTrust(rep, file, add, bodies)
			}
		}()
	}
	// The index is read in leaf order beside the entries (a merge).
	nextRec, stopRecs := iter.Pull2(a.index.Records(ctx))
	rec, recErr, recOK := nextRec()
	for e, err := range a.reader.Entries(ctx, 0, cp.Size) {
		if err != nil {
			add("tree", fmt.Sprintf("entry %d", rep.Entries), "%v", err)
			break
		}
		if err := tree.Append(rfc6962.DefaultHasher.HashLeaf(e.Data), nil); err != nil {
			return nil, err
		}
		rep.Entries++
		if _, ok := tokens[rep.Entries]; ok {
			if roots[rep.Entries], err = tree.GetRootHash(nil); err != nil {
				return nil, err
			}
		}
		where := fmt.Sprintf("entry %d", e.Index)
		bundles <- ledgerEntry{e.Index, e.Data}
		for recOK && recErr == nil && rec.LeafIndex < e.Index {
			rec, recErr, recOK = nextRec() // a duplicate leaf index cannot be; counted below
		}
		ent, err := a.openEntry(e.Data)
		if err == nil && ent.Capture == nil {
			a.auditTracking(ctx, ent, e.Index, e.Data, where, add, ref)
		} else {
			switch {
			case recErr != nil:
				add("index", "index.db", "%v", recErr)
				recOK = false
			case !recOK || rec.LeafIndex != e.Index:
				add("index", where, "not in the index: run exhibit reindex")
			case rec.RecordID != verify.RecordID(e.Data) || !bytes.Equal(rec.Entry, e.Data):
				add("index", where, "the index's record %s does not hold this entry: run exhibit reindex", rec.RecordID)
			case err == nil:
				if want := indexRecord(newRecord(ent.Capture, e.Data, e.Index)); indexDiff(rec, want) != "" {
					add("index", where, "the index's record %s differs from what its entry says (%s): run exhibit reindex", rec.RecordID, indexDiff(rec, want))
				}
			}
			if err != nil {
				add("entry", where, "%v", err)
			} else {
				p := &ent.Capture.Predicate
				if p.Snapshot != nil {
					ref(p.Snapshot.SHA256, where)
				}
				if p.Observed.TLS != nil {
					ref(p.Observed.TLS.CertificateChainSHA256, where)
				}
				ref(p.Observed.HeadersDigest, where)
			}
		}
		if rep.Entries%1024 == 0 {
			progress("entries", rep.Entries, cp.Size)
		}
	}
	stopRecs()
	close(bundles)
	bwg.Wait()
	progress("entries", rep.Entries, cp.Size)
	if rep.Entries == cp.Size {
		root, err := tree.GetRootHash(nil)
		if err != nil {
			return nil, err
		}
		if cp.Size == 0 {
			root = rfc6962.DefaultHasher.EmptyRoot()
		}
		rep.TreeRoot = fmt.Sprintf("%x", root)
		if !bytes.Equal(root, cp.Hash) {
			add("tree", "log", "the entries hash to root %x, but the signed checkpoint says %x", root, cp.Hash)
		}
	}

	a.auditTimestamps(tokens, bodies.bySize, roots, cp.Origin, add)

	// Objects: re-hash everything stored.
	var stored []string
	for d, err := range a.store.List(ctx) {
		if err != nil {
			add("store", a.store.Location(), "%v", err)
			continue
		}
		stored = append(stored, d)
	}
	sort.Strings(stored)
	rep.Objects = len(stored)
	type result struct {
		digest string
		err    error
	}
	have := make(map[string]bool, len(stored))
	for _, d := range stored {
		have[d] = true
	}
	var done uint64
	forEach(ctx, stored, o.Concurrency, func(d string) result {
		return result{d, rehash(ctx, a.store, d)}
	}, func(r result) {
		if r.err != nil {
			if errors.Is(r.err, store.ErrCorrupt) {
				add("corrupt", r.digest, "%v", r.err)
			} else {
				add("store", r.digest, "%v", r.err)
			}
		}
		done++
		if done%64 == 0 {
			progress("objects", done, uint64(len(stored)))
		}
	})
	progress("objects", done, uint64(len(stored)))
	for d, where := range refs {
		if !have[d] {
			add("missing", d, "referenced by %s but not in the store", where)
		}
	}
	for _, d := range stored {
		if _, ok := refs[d]; !ok {
			add("orphaned", d, "stored but referenced by no log entry (left by a capture interrupted before its statement was logged; re-running that capture or import logs it)")
		}
	}

	// Index: every entry indexed.
	if n, err := a.index.Count(ctx); err != nil {
		add("index", "index.db", "%v", err)
	} else {
		rep.Indexed = n
		if n != cp.Size {
			add("index", "index.db", "the index holds %d records, the log %d entries: run exhibit reindex", n, cp.Size)
		}
	}
	return rep.finish(), nil
}

func (r *AuditReport) finish() *AuditReport {
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].Kind < r.Problems[j].Kind })
	r.OK = len(r.Problems) == 0
	return r
}

func rehash(ctx context.Context, s store.Store, digest string) error {
	rc, err := s.Get(ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

type ledgerEntry struct {
	index uint64
	data  []byte
}

// checkBundleFile checks the bundle file of the entry at index: present,
// verifying under one of the archive keys, and for this entry at this index.
func (a *Archive) checkBundleFile(index uint64, entry []byte) error {
	_, err := a.readBundleFile(index, entry)
	return err
}

// readBundleFile is checkBundleFile, also returning the verified bundle.
func (a *Archive) readBundleFile(index uint64, entry []byte) (*verify.Report, error) {
	b, err := os.ReadFile(a.bundlePath(verify.RecordID(entry)))
	if err != nil {
		return nil, err
	}
	rep := verify.Check(b, a.key, verify.Options{Keys: a.keys[1:]})
	if !rep.Verified {
		f := rep.Failed()
		return nil, fmt.Errorf("does not verify: %s: %s", f.Name, f.Detail)
	}
	if rep.Bundle.Index != index || !bytes.Equal(rep.Bundle.Entry, entry) {
		return nil, fmt.Errorf("holds entry %d, not this one", rep.Bundle.Index)
	}
	return rep, nil
}

// checkpointBodies are the bodies of the bundle files' checkpoints, by tree
// size, gathered by the audit's bundle pool.
type checkpointBodies struct {
	mu     sync.Mutex
	bySize map[uint64][]byte
}

// auditBundleTrust checks what a verified bundle file carries beside its
// proof against the archive's trust configuration: a "fail-open" mark only
// in an archive configured fail-open; with a witness policy, a checkpoint
// whose cosignatures verify and meet the quorum unless it is marked
// fail-open; and a time-stamp token that is the archive's stored token for
// the checkpoint's size and verifies over its body against the TSA roots.
func (a *Archive) auditBundleTrust(rep *verify.Report, file string, add func(kind, where, format string, args ...any), bodies *checkpointBodies) {
	b, size := rep.Bundle, rep.Checkpoint.Size
	body, err := verify.CheckpointBody([]byte(b.Checkpoint))
	if err != nil {
		add("bundle", file, "%v", err)
		return
	}
	bodies.mu.Lock()
	if _, ok := bodies.bySize[size]; !ok {
		bodies.bySize[size] = body
	}
	bodies.mu.Unlock()

	t := a.trust
	failOpen := b.Witnessing == verify.WitnessingFailOpen
	if failOpen && (t.policy == nil || !t.failOpen) {
		add("witness", file, "the bundle says \"witnessing\": \"fail-open\", but the archive is not configured to publish fail-open")
	}
	if t.policy != nil {
		_, err := verify.OpenWitnessed([]byte(b.Checkpoint), t.policy)
		var qe *verify.QuorumError
		switch {
		case err == nil:
		case errors.As(err, &qe) && failOpen && t.failOpen:
			// Published fail-open, as the bundle says.
		case errors.As(err, &qe) && failOpen:
			add("witness", file, "the checkpoint of size %d does not meet the witness quorum (the bundle's fail-open mark does not count in this fail-closed archive): %v", size, err)
		case errors.As(err, &qe):
			add("witness", file, "the checkpoint of size %d does not meet the witness quorum, and the bundle is not marked fail-open: %v", size, err)
		default:
			add("witness", file, "the checkpoint of size %d against the witness policy: %v", size, err)
		}
	}
	if b.Timestamp == nil {
		if t.tsa != nil && b.TimestampStatus != verify.TimestampPending {
			if _, err := a.Timestamp(size); err == nil {
				add("timestamp", file, "the bundle carries no time-stamp token, but the archive holds %s for its checkpoint (exhibit prove gives a bundle with it)", a.tsrPath(size))
			}
		}
		return
	}
	if t.tsa == nil {
		add("timestamp", file, "the bundle carries a time-stamp token, but the archive has no TSA to check it against")
		return
	}
	stored, err := a.Timestamp(size)
	switch {
	case err != nil:
		add("timestamp", file, "the bundle carries a time-stamp token for tree size %d, but the archive's %s: %v", size, a.tsrPath(size), err)
	case !bytes.Equal(stored, b.Timestamp):
		add("timestamp", file, "the bundle's time-stamp token is not the archive's %s for its checkpoint", a.tsrPath(size))
	}
	if _, err := verify.CheckTimestamp(b.Timestamp, body, t.tsa.Trust); err != nil {
		add("timestamp", file, "the bundle's time-stamp token does not verify over its checkpoint: %v", err)
	}
}

// storedTimestamps lists the tree sizes of the stored time-stamp tokens
// (log/timestamps/<size>.tsr).
func (a *Archive) storedTimestamps() (map[uint64]bool, error) {
	des, err := os.ReadDir(filepath.Join(a.dir, logDir, timestampsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sizes := map[uint64]bool{}
	for _, de := range des {
		n, ok := strings.CutSuffix(de.Name(), ".tsr")
		if !ok {
			continue
		}
		size, err := strconv.ParseUint(n, 10, 64)
		if err != nil || strconv.FormatUint(size, 10) != n {
			return sizes, fmt.Errorf("%s: not a <tree size>.tsr name", de.Name())
		}
		sizes[size] = true
	}
	return sizes, nil
}

// auditTimestamps checks every stored token: it must verify against the
// archive's TSA roots over the body of the checkpoint of its size, taken
// from a bundle file of that size, or, for a token of a checkpoint no
// bundle file holds (one fetched to prove a record against the latest
// checkpoint), over the body of the log's tree at that size.
func (a *Archive) auditTimestamps(sizes map[uint64]bool, bodies map[uint64][]byte, roots map[uint64][]byte, origin string, add func(kind, where, format string, args ...any)) {
	keys := make([]uint64, 0, len(sizes))
	for s := range sizes {
		keys = append(keys, s)
	}
	slices.Sort(keys)
	for _, size := range keys {
		file := a.tsrPath(size)
		if a.trust.tsa == nil {
			add("timestamp", file, "a stored time-stamp token, but the archive has no TSA to check it against")
			continue
		}
		tok, err := os.ReadFile(file)
		if err != nil {
			add("timestamp", file, "%v", err)
			continue
		}
		body, fromBundle := bodies[size]
		if !fromBundle {
			root, ok := roots[size]
			if !ok {
				add("timestamp", file, "no bundle file's checkpoint has tree size %d, and the log has no such size", size)
				continue
			}
			body = []byte(fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root)))
		}
		if _, err := verify.CheckTimestamp(tok, body, a.trust.tsa.Trust); err != nil {
			if fromBundle {
				add("timestamp", file, "does not verify over the checkpoint of tree size %d the bundle files hold: %v", size, err)
			} else {
				add("timestamp", file, "no bundle file's checkpoint has tree size %d, and the token does not verify over the log's tree at that size: %v", size, err)
			}
		}
	}
}

// auditTracking checks a tracking entry's index row and collects the
// objects it references (a version's text).
func (a *Archive) auditTracking(ctx context.Context, ent *verify.Entry, idx uint64, data []byte, where string, add func(kind, where, format string, args ...any), ref func(d, where string)) {
	want := trackingRow(ent, data, idx)
	got, err := a.index.GetTracking(ctx, want.RecordID)
	switch {
	case errors.Is(err, index.ErrNotFound):
		add("index", where, "not in the index: run exhibit reindex")
	case err != nil:
		add("index", "index.db", "%v", err)
	case got.LeafIndex != idx || !bytes.Equal(got.Entry, data):
		add("index", where, "the index's record %s does not hold this entry: run exhibit reindex", want.RecordID)
	case got.Kind != want.Kind || got.Document != want.Document || got.Ref != want.Ref || got.At != want.At:
		add("index", where, "the index's record %s differs from what its entry says: run exhibit reindex", want.RecordID)
	}
	if ent.Version != nil {
		ref(ent.Version.Predicate.Text.SHA256, where)
	}
}

// indexDiff names the fields in which an index record differs from the one
// derived from its entry.
func indexDiff(got, want *index.Record) string {
	var d []string
	for _, f := range []struct {
		name     string
		got, exp any
	}{
		{"sha256", got.SHA256, want.SHA256}, {"url", got.URL, want.URL}, {"final_url", got.FinalURL, want.FinalURL},
		{"entity", got.Entity, want.Entity}, {"document", got.Document, want.Document},
		{"outcome", got.Outcome, want.Outcome}, {"method", got.Method, want.Method},
		{"captured_at", got.CapturedAt, want.CapturedAt}, {"claimed", got.Claimed, want.Claimed},
	} {
		if f.got != f.exp {
			d = append(d, f.name)
		}
	}
	return strings.Join(d, ", ")
}
