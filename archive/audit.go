package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"sort"
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
	// "orphaned", "index", "bundle", "key", "store".
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
// bundle files missing or not verifying for their entry; and a signing key
// that is not the one the configuration publishes.
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
	bundles := make(chan ledgerEntry)
	var bwg sync.WaitGroup
	for range o.Concurrency {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for e := range bundles {
				if err := a.checkBundleFile(e.index, e.data); err != nil {
					add("bundle", a.bundlePath(verify.RecordID(e.data)), "entry %d: %v (exhibit reindex rewrites it)", e.index, err)
				}
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
	b, err := os.ReadFile(a.bundlePath(verify.RecordID(entry)))
	if err != nil {
		return err
	}
	rep := verify.Check(b, a.key, verify.Options{Keys: a.keys[1:]})
	if !rep.Verified {
		f := rep.Failed()
		return fmt.Errorf("does not verify: %s: %s", f.Name, f.Detail)
	}
	if rep.Bundle.Index != index || !bytes.Equal(rep.Bundle.Entry, entry) {
		return fmt.Errorf("holds entry %d, not this one", rep.Bundle.Index)
	}
	return nil
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
