// Package audit re-checks a whole archive against itself: the log (RFC
// 6962 tree, C2SP tlog-tiles), every kept checkpoint (C2SP
// tlog-checkpoint, signed notes, their witness cosignatures under the
// archive's C2SP tlog-policy, their RFC 3161 tokens) and that each is
// consistent with the one before, every statement's signature (DSSE),
// every stored object, the index, and, in an archive upgraded from format
// 1, the bundle files it still holds.
//
// An audit judges a consistent cut of the archive: the latest kept
// checkpoint when it starts (listed first), of tree size N, and what it
// covers. An archive held with its lock does not change meanwhile. A
// shared archive (archive.Archive.Shared: its log on S3 and MySQL) has no
// lock: its frontends keep writing while the audit runs, so what they add
// after the cut is not judged, and is no problem: checkpoints kept after
// the listing (of tree size above N), the log's published checkpoint
// larger than N (if consistent with it: a writer keeps it in a moment),
// index records at N or beyond, entries and kept checkpoints the index
// has not caught up with yet, and stored objects named by no entry up to
// N (writes in flight, or refused after their object was stored), which
// are counted in Report.Orphans instead. Everything up to the cut is
// judged as for a locked archive: a rollback, a fork, a kept checkpoint
// missing, an index record that disagrees with the log, a missing or
// corrupt object are problems.
package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/internal/par"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Problem is one thing an audit found wrong. Its Kind is one of
// "checkpoint" (a kept checkpoint, or the log's published one),
// "consistency" (two consecutive kept checkpoints), "tree", "entry",
// "missing", "corrupt", "orphaned", "index", "bundle" (a format-1 bundle
// file), "key", "store", "witness" (a kept checkpoint against the witness
// policy), "timestamp" (a stored RFC 3161 token). Where names the entry
// ("entry 12"), object (its digest), checkpoint ("checkpoints/x001/067")
// or file.
type Problem = archive.Problem

// Report is the result of an audit.
type Report struct {
	OK bool `json:"ok"`
	// LogSize and Root are those of the latest kept checkpoint; TreeRoot
	// is the root recomputed from every entry.
	LogSize  uint64 `json:"log_size"`
	Root     string `json:"root"`
	TreeRoot string `json:"tree_root"`
	// Entries is the number of entries read; Objects the number of stored
	// objects re-hashed; Indexed the records in the index (of a shared
	// archive, those below the cut).
	Entries uint64 `json:"entries"`
	Objects int    `json:"objects"`
	Indexed uint64 `json:"indexed"`
	// Checkpoints is the number of kept checkpoints checked, Timestamped
	// the number with a token, Pending the number (but the empty tree's)
	// still waiting for one in an archive with a TSA: not a problem, the
	// writer asks for them again.
	Checkpoints int `json:"checkpoints"`
	Timestamped int `json:"timestamped"`
	Pending     int `json:"pending_timestamps"`
	// Bundles is the number of format-1 bundle files checked.
	Bundles int `json:"bundles,omitempty"`
	// CaughtUp says what the audit caught up with before it checked
	// (Options.CatchUp), if anything.
	CaughtUp *archive.CaughtUp `json:"caught_up,omitempty"`
	// Shared says the archive is shared (its log on S3 and MySQL, written
	// by several frontends at once): the audit judged the cut of its
	// latest kept checkpoint at the start (see the package doc).
	Shared bool `json:"shared,omitempty"`
	// Orphans, for a shared archive only, is the number of stored objects
	// named by no log entry up to the cut, and Orphaned their digests:
	// not problems there (a write in flight stores its object before its
	// statement is logged; a write refused, as during a database outage,
	// leaves its object behind), they take space only. In any other
	// archive they are problems of kind "orphaned".
	Orphans  int       `json:"orphans,omitempty"`
	Orphaned []string  `json:"orphaned,omitempty"`
	Problems []Problem `json:"problems"`
}

// Options configure an audit.
type Options struct {
	// Concurrency of object re-hashing. Default 8.
	Concurrency int
	// CatchUp first brings the archive up to date with its log, as a
	// writer does when it opens after a crash (archive.Archive.CatchUp:
	// the log's published checkpoint kept, the entries and checkpoints it
	// holds indexed), so that what a stopped writer left unacknowledged is
	// not reported as a problem. It needs the archive opened with
	// archive.OpenOptions.CatchUp. It signs nothing and touches no
	// evidence already kept. If it fails, the audit reports why and checks
	// the archive as it is.
	CatchUp bool
	// Progress, if set, is called as work advances: phase is
	// "checkpoints", "entries" or "objects".
	Progress func(phase string, done, total uint64)
}

// Run audits the archive a, which should be held with its lock (opened
// for writing, or with OpenOptions.Lock) so that nothing changes
// meanwhile; a shared archive, which has no lock, is audited live, up to
// the cut of its latest kept checkpoint when Run starts (see the package
// doc), and Options.CatchUp is ignored for it (its frontends catch up
// themselves). It checks:
//
//   - the signing key files against the published verifier keys;
//   - every kept checkpoint: its signature under one of the log's keys,
//     its witness cosignatures against the policy (the quorum, unless the
//     archive publishes fail-open), its RFC 3161 token over its body
//     against the TSA roots; that the log's published checkpoint is kept;
//   - the tree: the root recomputed from every entry equals each kept
//     checkpoint's root at its size, and an RFC 6962 consistency proof
//     from the log's tiles verifies between every two consecutive kept
//     checkpoints;
//   - every statement's signature, and the index's record of it (an
//     index that cannot be opened, with IndexOptional, is reported);
//   - every stored object, re-hashed: missing, corrupt and orphaned ones;
//   - format-1 bundle files, if any: each verifies, for its entry, and its
//     checkpoint is kept.
//
// An error is returned only when the audit itself cannot go on.
func Run(ctx context.Context, a *archive.Archive, o Options) (*Report, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Progress == nil {
		o.Progress = func(string, uint64, uint64) {}
	}
	au := &auditor{a: a, o: o, shared: a.Shared(), rep: &Report{Problems: []Problem{}}, refs: map[string]string{}, named: map[string]bool{}, lost: map[uint64]bool{}}
	au.rep.Shared = au.shared
	if au.shared {
		au.o.CatchUp = false
	}
	return au.run(ctx)
}

type auditor struct {
	a *archive.Archive
	o Options
	// shared is set for a shared archive, audited live: only its cut is
	// judged.
	shared bool
	// cut is the tree size of the latest kept checkpoint listed at the
	// start.
	cut uint64
	mu  sync.Mutex
	rep *Report
	// refs maps each object digest a statement references to the first
	// entry that does.
	refs map[string]string
	// named holds every digest a statement names, in any field (see
	// archive.NamedDigests): a stored object named is not an orphan.
	named map[string]bool
	// lost are the tree sizes of kept checkpoints found missing beside
	// their token.
	lost map[uint64]bool
}

func (au *auditor) add(kind, where, format string, args ...any) {
	au.mu.Lock()
	defer au.mu.Unlock()
	au.rep.Problems = append(au.rep.Problems, Problem{Kind: kind, Where: where, Detail: fmt.Sprintf(format, args...)})
}

func (au *auditor) ref(d, where string) {
	if d == "" {
		return
	}
	if _, ok := au.refs[d]; !ok {
		au.refs[d] = where
	}
}

// kept is a kept checkpoint, opened.
type kept struct {
	size        uint64
	timestamped bool // its token is stored
	where       string
	signed      []byte
	cp          *verify.Checkpoint // nil if it does not verify
}

func (au *auditor) run(ctx context.Context) (*Report, error) {
	a, rep := au.a, au.rep
	if au.o.CatchUp {
		c, err := a.CatchUp(ctx)
		if err != nil {
			au.add("index", "index.db", "could not catch up with the log: %v", err)
		} else if c.Kept > 0 || c.Indexed > 0 {
			rep.CaughtUp = c
		}
	}
	if err := a.Config().CheckKeyFile(a.Dir()); err != nil {
		au.add("key", filepath.Join(a.Dir(), a.Config().KeyFile), "%v", err)
	}
	cps, err := au.checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	var latest *kept
	for i := len(cps) - 1; i >= 0; i-- {
		if cps[i].cp != nil {
			latest = cps[i]
			break
		}
	}
	if latest == nil {
		au.add("checkpoint", "checkpoints/", "no kept checkpoint verifies: nothing to audit against")
		return rep.finish(), nil
	}
	rep.LogSize, rep.Root = latest.size, fmt.Sprintf("%x", latest.cp.Hash)
	au.cut = latest.size
	au.published(ctx, latest)
	if err := au.tree(ctx, cps, latest); err != nil {
		return nil, err
	}
	au.consistency(ctx, cps)
	au.objects(ctx)
	if err := a.IndexErr(); err != nil {
		au.add("index", "index.db", "%v", err)
	} else {
		au.index(ctx, cps, latest.size)
	}
	au.bundles(ctx)
	return rep.finish(), nil
}

// checkpoints reads and checks every kept checkpoint and its token.
func (au *auditor) checkpoints(ctx context.Context) ([]*kept, error) {
	a := au.a
	all, err := a.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	au.rep.Checkpoints = len(all)
	policy, tsa := a.Policy(), a.TSATrust()
	var out []*kept
	for i, f := range all {
		k := &kept{size: f.Size, timestamped: f.Timestamped, where: "checkpoints/" + ledger.CheckpointPath(f.Size)}
		out = append(out, k)
		if i%256 == 0 {
			au.o.Progress("checkpoints", uint64(i), uint64(len(all)))
		}
		signed, cp, err := a.CheckpointAt(ctx, f.Size)
		if err != nil {
			au.add("checkpoint", k.where, "%v", err)
			continue
		}
		k.signed, k.cp = signed, cp
		if policy != nil {
			_, err := verify.OpenWitnessed(signed, policy)
			var qe *verify.QuorumError
			switch {
			case err == nil:
			case errors.As(err, &qe) && a.WitnessFailOpen():
				// Published fail-open, as the archive is configured to.
			case f.Size == 0:
				// The empty tree's checkpoint, published before any
				// witness was asked.
			default:
				au.add("witness", k.where, "the checkpoint of tree size %d against the witness policy: %v", f.Size, err)
			}
		}
		switch {
		case f.Timestamped && tsa == nil:
			au.add("timestamp", k.where+".tsr", "a stored time-stamp token, but the archive has no TSA to check it against")
		case f.Timestamped:
			au.rep.Timestamped++
			tok, err := a.Timestamp(ctx, f.Size)
			if err == nil {
				var body []byte
				if body, err = verify.CheckpointBody(signed); err == nil {
					_, err = verify.CheckTimestamp(tok, body, *tsa)
				}
			}
			if err != nil {
				au.add("timestamp", k.where+".tsr", "does not verify over the checkpoint of tree size %d: %v", f.Size, err)
			}
		case tsa != nil && f.Size > 0:
			au.rep.Pending++
		}
	}
	au.o.Progress("checkpoints", uint64(len(all)), uint64(len(all)))
	lone, err := a.LoneTokens(ctx)
	if err != nil {
		return nil, err
	}
	var listed uint64
	if len(all) > 0 {
		listed = all[len(all)-1].Size
	}
	for _, n := range lone {
		if au.shared && n > listed {
			// Kept after the listing, with its token: beyond the cut,
			// unless its checkpoint is truly missing.
			if _, _, err := a.CheckpointAt(ctx, n); err == nil {
				continue
			}
		}
		au.lost[n] = true
		au.add("checkpoint", "checkpoints/"+ledger.CheckpointPath(n), "missing, though its time-stamp token is stored beside it: evidence of when the records it covers were published is lost; restore the file from a backup or a mirror")
	}
	return out, nil
}

// published checks that the checkpoint the log publishes is kept, or is a
// re-publication of the kept tree.
func (au *auditor) published(ctx context.Context, latest *kept) {
	signed, cp, err := au.a.Ledger().Checkpoint(ctx)
	switch {
	case errors.Is(err, ledger.ErrNoCheckpoint):
		au.add("checkpoint", "log/checkpoint", "the log has no published checkpoint")
	case err != nil:
		au.add("checkpoint", "log/checkpoint", "%v", err)
	case bytes.Equal(signed, latest.signed):
	case cp.Origin == latest.cp.Origin && cp.Size == latest.size && bytes.Equal(cp.Hash, latest.cp.Hash):
		// A re-publication of the latest kept tree, newly signed and
		// cosigned (ledger.Config.RepublishInterval): the first is kept.
	case cp.Size == latest.size:
		au.add("checkpoint", "log/checkpoint", "the log publishes a checkpoint of tree size %d with another root hash than the kept one: a fork", cp.Size)
	case cp.Size > latest.size && au.shared:
		// Published by a frontend after the audit listed the kept
		// checkpoints: beyond the cut, and kept in a moment. It must
		// still extend the latest kept one.
		if latest.size == 0 {
			break
		}
		p, err := au.a.Ledger().ConsistencyProof(ctx, latest.size, cp.Size)
		if err == nil {
			err = verify.ProofError(proof.VerifyConsistency(rfc6962.DefaultHasher, latest.size, cp.Size, p, latest.cp.Hash, cp.Hash))
		}
		if err != nil {
			au.add("checkpoint", "log/checkpoint", "the log publishes a checkpoint of tree size %d that is not consistent with the latest kept (%d): a fork: %v", cp.Size, latest.size, err)
		}
	case cp.Size < latest.size:
		// Never to be kept: a rollback (a frontend whose sequencing
		// database is not the log's, a bucket restored from an old
		// backup).
		au.add("checkpoint", "log/checkpoint", "the log publishes a checkpoint of tree size %d, smaller than the latest kept (%d): a rollback, not to be kept; restore log/checkpoint from the kept checkpoint of size %d and check every frontend's log database (docs/DEPLOYMENT.md)", cp.Size, latest.size, latest.size)
	default:
		au.add("checkpoint", "log/checkpoint", "the log publishes a checkpoint of tree size %d that is not the latest kept (%d): open the archive for writing to keep it", cp.Size, latest.size)
	}
}

// tree reads every entry up to the latest kept checkpoint, recomputes the
// tree and compares its root with every kept checkpoint's at its size,
// checks each statement's signature, and collects the objects they
// reference.
func (au *auditor) tree(ctx context.Context, cps []*kept, latest *kept) error {
	a, rep := au.a, au.rep
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	tree := rf.NewEmptyRange(0)
	next := 0 // the next kept checkpoint to compare
	compare := func() error {
		for next < len(cps) && cps[next].size <= rep.Entries {
			k := cps[next]
			next++
			if k.cp == nil || k.size != rep.Entries {
				continue
			}
			root := rfc6962.DefaultHasher.EmptyRoot()
			if k.size > 0 {
				var err error
				if root, err = tree.GetRootHash(nil); err != nil {
					return err
				}
			}
			if !bytes.Equal(root, k.cp.Hash) {
				au.add("tree", k.where, "the log's first %d entries hash to root %x, but the kept checkpoint says %x", k.size, root, k.cp.Hash)
			}
		}
		return nil
	}
	if err := compare(); err != nil {
		return err
	}
	for e, err := range a.Ledger().Entries(ctx, 0, latest.size, latest.size) {
		if err != nil {
			au.add("tree", fmt.Sprintf("entry %d", rep.Entries), "%v", err)
			break
		}
		if err := tree.Append(rfc6962.DefaultHasher.HashLeaf(e.Data), nil); err != nil {
			return err
		}
		rep.Entries++
		if err := compare(); err != nil {
			return err
		}
		where := fmt.Sprintf("entry %d", e.Index)
		st, _, _, err := a.Keys().OpenEntry(e.Data)
		if err != nil {
			au.add("entry", where, "%v", err)
			continue
		}
		archive.NamedDigests(e.Data, func(d string) { au.named[d] = true })
		switch {
		case st.Capture != nil:
			p := &st.Capture.Predicate
			if p.Snapshot != nil {
				au.ref(p.Snapshot.SHA256, where)
			}
			if p.Observed.TLS != nil {
				au.ref(p.Observed.TLS.CertificateChainSHA256, where)
			}
			au.ref(p.Observed.HeadersDigest, where)
			for _, a := range p.Rendering.Artefacts() {
				au.ref(a.SHA256, where)
			}
		case st.Version != nil:
			au.ref(st.Version.Predicate.Text.SHA256, where)
		}
		if rep.Entries%1024 == 0 {
			au.o.Progress("entries", rep.Entries, latest.size)
		}
	}
	au.o.Progress("entries", rep.Entries, latest.size)
	if rep.Entries == latest.size {
		root := rfc6962.DefaultHasher.EmptyRoot()
		if latest.size > 0 {
			var err error
			if root, err = tree.GetRootHash(nil); err != nil {
				return err
			}
		}
		rep.TreeRoot = fmt.Sprintf("%x", root)
	}
	return nil
}

// consistency checks an RFC 6962 consistency proof, built from the log's
// tiles, between every two consecutive kept checkpoints.
func (au *auditor) consistency(ctx context.Context, cps []*kept) {
	var prev *kept
	for _, k := range cps {
		if k.cp == nil {
			continue
		}
		if prev != nil && prev.size > 0 {
			p, err := au.a.Ledger().ConsistencyProof(ctx, prev.size, k.size)
			if err == nil {
				err = verify.ProofError(proof.VerifyConsistency(rfc6962.DefaultHasher, prev.size, k.size, p, prev.cp.Hash, k.cp.Hash))
			}
			if err != nil {
				au.add("consistency", k.where, "from the kept checkpoint of tree size %d: %v", prev.size, err)
			}
		}
		prev = k
	}
}

// objects re-hashes every stored object and compares the store with the
// references.
func (au *auditor) objects(ctx context.Context) {
	st := au.a.Store()
	var stored []string
	for d, err := range st.List(ctx) {
		if err != nil {
			au.add("store", st.Location(), "%v", err)
			continue
		}
		stored = append(stored, d)
	}
	sort.Strings(stored)
	au.rep.Objects = len(stored)
	type result struct {
		digest string
		err    error
	}
	have := make(map[string]bool, len(stored))
	for _, d := range stored {
		have[d] = true
	}
	var done uint64
	par.ForEach(ctx, stored, au.o.Concurrency, func(d string) result {
		return result{d, store.Check(ctx, st, d)}
	}, func(r result) {
		if r.err != nil {
			if errors.Is(r.err, store.ErrCorrupt) {
				au.add("corrupt", r.digest, "%v", r.err)
			} else {
				au.add("store", r.digest, "%v", r.err)
			}
		}
		done++
		if done%64 == 0 {
			au.o.Progress("objects", done, uint64(len(stored)))
		}
	})
	au.o.Progress("objects", done, uint64(len(stored)))
	var missing []string
	for d := range au.refs {
		if !have[d] {
			missing = append(missing, d)
		}
	}
	sort.Strings(missing)
	for _, d := range missing {
		au.add("missing", d, "referenced by %s but not in the store", au.refs[d])
	}
	for _, d := range stored {
		if _, ok := au.refs[d]; !ok && !au.named[d] && au.shared {
			au.rep.Orphaned = append(au.rep.Orphaned, d)
			au.rep.Orphans++
		} else if !ok && !au.named[d] {
			au.add("orphaned", d, "stored but named by no log entry up to the latest kept checkpoint: left by a writer stopped before its statement was logged (exhibit prune lists such objects, and removes them with --yes; re-running the capture or import stores it again), or before the entry it had logged was published (opening the archive for writing publishes it)")
		}
	}
}

// index compares the index with the log: every entry below size indexed
// with its statement, nothing else, and the kept checkpoints. Of a shared
// archive, it judges only the cut: records at size or beyond, and
// checkpoints kept after the listing, are not judged; entries and kept
// checkpoints the index has not caught up with yet (its frontends index
// them in a moment) are not problems.
func (au *auditor) index(ctx context.Context, cps []*kept, size uint64) {
	a := au.a
	ix := a.Index()
	// covered is how far the index says it covers the log, read before
	// its records: a frontend adds records and that size in one
	// transaction, so every entry below it must be there.
	covered := size
	if au.shared {
		n, err := ix.Size(ctx)
		if err != nil {
			au.add("index", "index.db", "%v", err)
			return
		}
		covered = min(n, size)
	}
	next, stop := iter.Pull2(ix.Records(ctx))
	defer stop()
	rec, err, ok := next()
	var indexed uint64
	for e, eerr := range a.Ledger().Entries(ctx, 0, size, size) {
		if eerr != nil {
			return // reported by tree
		}
		where := fmt.Sprintf("entry %d", e.Index)
		for ok && err == nil && rec.Index < e.Index {
			au.add("index", fmt.Sprintf("entry %d", rec.Index), "the index holds record %s at an index the log does not have: run exhibit reindex", rec.ID)
			indexed++
			rec, err, ok = next()
		}
		switch {
		case err != nil:
			au.add("index", "index.db", "%v", err)
			return
		case (!ok || rec.Index != e.Index) && e.Index >= covered:
			continue // not indexed yet, on a shared archive
		case !ok || rec.Index != e.Index:
			au.add("index", where, "not in the index: run exhibit reindex")
			continue
		}
		indexed++
		if d := indexDiff(rec, e.Data); d != "" {
			au.add("index", where, "the index's record %s %s: run exhibit reindex", rec.ID, d)
		}
		rec, err, ok = next()
	}
	for ok && err == nil && !au.shared {
		au.add("index", fmt.Sprintf("entry %d", rec.Index), "the index holds record %s beyond the log's kept size %d: run exhibit reindex", rec.ID, size)
		indexed++
		rec, err, ok = next()
	}
	au.rep.Indexed = indexed
	bad, err := ix.CheckColumns(ctx)
	if err != nil {
		au.add("index", "index.db", "%v", err)
	}
	for _, m := range bad {
		au.add("index", "index.db", "record %s: its columns %s are not what its statement says: run exhibit reindex", m.RecordID, strings.Join(m.Columns, ", "))
	}
	have, err := ix.Checkpoints(ctx, false)
	if err != nil {
		au.add("index", "index.db", "%v", err)
		return
	}
	known := map[uint64]index.Checkpoint{}
	for _, c := range have {
		known[c.Size] = c
	}
	if au.shared {
		known = au.indexCatchUp(ctx, cps, covered, known)
	}
	for _, k := range cps {
		c, ok := known[k.size]
		switch {
		case !ok && au.shared && k.size > covered:
			// Kept, not indexed yet: its frontend indexes it once the
			// index covers its tree.
		case !ok:
			au.add("index", k.where, "the index does not know this kept checkpoint: run exhibit reindex")
		case c.Timestamped && !k.timestamped && au.shared && au.stamped(ctx, k.size):
			// Its token was stored after the listing.
		case c.Timestamped && !k.timestamped:
			au.add("timestamp", k.where+".tsr", "missing, though the index records it as stored: the checkpoint's time-stamp is lost; restore the file from a backup or a mirror (exhibit reindex would forget it)")
		}
		delete(known, k.size)
	}
	for s := range known {
		if au.lost[s] {
			continue // reported with its lone token
		}
		if au.shared && s > au.cut {
			if _, _, err := a.CheckpointAt(ctx, s); err == nil {
				continue // kept after the listing, beyond the cut
			}
		}
		au.add("checkpoint", "checkpoints/"+ledger.CheckpointPath(s), "missing, though the index records it as kept: evidence of when the records it covers were published is lost; restore the file from a backup or a mirror (exhibit reindex would forget it)")
	}
}

// indexCatchUp, for a shared archive, reads the index's checkpoints again
// while some kept checkpoint of tree size up to covered is missing from
// known, for up to a few seconds: a frontend indexes the checkpoints it kept soon after
// the index covers their tree (within its follower's poll). It returns
// the checkpoints the index knows.
func (au *auditor) indexCatchUp(ctx context.Context, cps []*kept, covered uint64, known map[uint64]index.Checkpoint) map[uint64]index.Checkpoint {
	for try := 0; try < 20; try++ {
		lagging := false
		for _, k := range cps {
			if _, ok := known[k.size]; !ok && k.size <= covered {
				lagging = true
			}
		}
		if !lagging {
			break
		}
		select {
		case <-ctx.Done():
			return known
		case <-time.After(250 * time.Millisecond):
		}
		have, err := au.a.Index().Checkpoints(ctx, false)
		if err != nil {
			break // the first read's are judged
		}
		known = map[uint64]index.Checkpoint{}
		for _, c := range have {
			known[c.Size] = c
		}
	}
	return known
}

// stamped says whether the time-stamp token of the kept checkpoint of tree
// size n is stored now.
func (au *auditor) stamped(ctx context.Context, n uint64) bool {
	_, err := au.a.Timestamp(ctx, n)
	return err == nil
}

// indexDiff says how an index record differs from the log entry it should
// be, or "" if it does not.
func indexDiff(r *record.Record, entry []byte) string {
	if id := verify.RecordID(entry); r.ID != id {
		return fmt.Sprintf("is not this entry's (%s)", id)
	}
	env, err := verify.ParseEnvelope(entry)
	if err != nil {
		return "" // reported by tree
	}
	if !bytes.Equal(r.Payload, env.Payload) {
		return "holds another statement than the entry's"
	}
	want := record.New(r.ID, r.Index, r.Statement, r.Payload)
	a, _ := json.Marshal(r)
	b, _ := json.Marshal(want)
	if !bytes.Equal(a, b) {
		return "differs from what its statement says"
	}
	return ""
}

// bundles checks the bundle files a format-1 archive left: each verifies
// under the log's keys, holds the entry at its index, and its checkpoint
// is kept.
func (au *auditor) bundles(ctx context.Context) {
	a := au.a
	dir := filepath.Join(a.Dir(), "bundles")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		au.add("bundle", dir, "%v", err)
		return
	}
	keys := a.Keys()
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(id, ".") {
			continue
		}
		au.rep.Bundles++
		file := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(file)
		if err != nil {
			au.add("bundle", file, "%v", err)
			continue
		}
		rep := verify.Check(b, keys[0], verify.Options{Keys: keys[1:], RecordID: id})
		if !rep.Verified {
			f := rep.Failed()
			au.add("bundle", file, "does not verify: %s: %s", f.Name, f.Detail)
			continue
		}
		if ix := a.Index(); ix != nil {
			r, err := ix.Get(ctx, id)
			if err != nil || r.Index != rep.Bundle.Index {
				au.add("bundle", file, "record %s is not at index %d in the index (%v)", id, rep.Bundle.Index, err)
				continue
			}
		}
		kept, _, err := a.CheckpointAt(ctx, rep.Checkpoint.Size)
		if err != nil || !bytes.Equal(kept, []byte(rep.Bundle.Checkpoint)) {
			au.add("bundle", file, "its checkpoint of tree size %d is not kept as it is (%v): open the archive for writing to upgrade it", rep.Checkpoint.Size, err)
		}
	}
}

func (r *Report) finish() *Report {
	sort.SliceStable(r.Problems, func(i, j int) bool { return r.Problems[i].Kind < r.Problems[j].Kind })
	r.OK = len(r.Problems) == 0
	return r
}
