package archive_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestEvidenceOutlivesFiles: in an archive with three real witnesses and a
// real TSA, every file that is not evidence (the index, and any bundle
// file) is deleted; every record still proves against the checkpoint it
// was first published with, with the cosignatures and the token it was
// published with, byte for byte, and the audit is clean. A token that came
// late (the TSA was down) is stored beside its checkpoint, and bundles made
// afterwards carry it.
func TestEvidenceOutlivesFiles(t *testing.T) {
	ctx := context.Background()
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	var mu sync.Mutex
	first := map[string][]byte{} // record ID -> bundle made when acknowledged
	var recs []*record.Record
	var wg sync.WaitGroup
	for range 24 {
		wg.Go(func() {
			rec, err := archivetest.UploadErr(t, tr.A)
			if err != nil {
				t.Error(err)
				return
			}
			b := archivetest.Bundle(t, tr.A, rec)
			mu.Lock()
			defer mu.Unlock()
			first[rec.ID] = b
			recs = append(recs, rec)
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// One record while the TSA is down: pending, then stored beside its
	// checkpoint once it is back.
	tr.TSAOff.Store(true)
	late := archivetest.Upload(t, tr.A)
	if b, _ := tr.Check(t, late); b.TimestampStatus != verify.TimestampPending {
		t.Fatalf("with the TSA down: timestamp status %q", b.TimestampStatus)
	}
	tr.TSAOff.Store(false)
	if n, err := tr.A.RetryTimestamps(ctx); n != 0 || err != nil {
		t.Fatalf("RetryTimestamps: %d, %v", n, err)
	}
	lateFirst := archivetest.Bundle(t, tr.A, late)
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Delete everything that is not evidence.
	for _, name := range []string{"index.db", "index.db-wal", "index.db-shm", "bundles"} {
		os.RemoveAll(filepath.Join(tr.Dir, name))
	}
	if _, err := archive.Open(ctx, tr.Dir, archive.OpenOptions{}); !errors.Is(err, index.ErrMissing) {
		t.Fatalf("read-only Open without an index: %v, want index.ErrMissing", err)
	}
	a := archivetest.Open(t, tr.Dir, tr.Open) // rebuilds the index from the log
	for _, rec := range recs {
		_, b, err := a.Prove(ctx, rec.ID, archive.ProveOptions{})
		if err != nil {
			t.Fatalf("Prove(%s): %v", rec.ID, err)
		}
		if got := b.Marshal(); string(got) != string(first[rec.ID]) {
			t.Errorf("record %s: the bundle made now differs from the one made when it was acknowledged:\n%s\n%s", rec.ID, got, first[rec.ID])
		}
		rep := verify.Check(b.Marshal(), a.Key(), tr.Verify)
		if !rep.Verified || !rep.Witnessed.QuorumMet || b.Timestamp == nil {
			t.Errorf("record %s: %+v", rec.ID, rep.Failed())
		}
	}
	_, b, err := a.Prove(ctx, late.ID, archive.ProveOptions{})
	if err != nil || string(b.Marshal()) != string(lateFirst) || b.Timestamp == nil {
		t.Errorf("the late-stamped record: %v", err)
	}
	if rep := archivetest.AuditOK(t, a); rep.Pending != 0 || rep.Timestamped != rep.Checkpoints-1 {
		t.Errorf("audit: %d of %d checkpoints time-stamped, %d pending", rep.Timestamped, rep.Checkpoints, rep.Pending)
	}
}

// tree hashes every file under dir, but SQLite's coordination files, and
// notes the modification time of every directory but dir itself (where
// SQLite creates and removes those).
// settledTree is tree(dir) once two readings a GC interval apart agree.
func settledTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	prev := tree(t, dir)
	for range 50 {
		time.Sleep(300 * time.Millisecond)
		cur := tree(t, dir)
		if maps.Equal(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatalf("%s is still changing after the writer closed", dir)
	return nil
}

func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			fi, _ := d.Info()
			out[p] = fmt.Sprintf("dir %v", fi.ModTime())
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		out[p] = fmt.Sprintf("%x %v %v", sha256.Sum256(b), fi.Mode(), fi.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReadPathsWriteNothing: opened for reading while another process
// holds its lock, an archive with a TSA that is down serves records,
// bundles (first and latest, one with its token pending), searches,
// checkpoints and tokens without taking the lock, asking the TSA or
// creating or changing any file or directory (the index keeps no
// write-ahead log, whose readers would write its -shm and -wal). An audit
// holds the lock without writing either.
func TestReadPathsWriteNothing(t *testing.T) {
	ctx := context.Background()
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	for range 3 {
		archivetest.Upload(t, tr.A)
	}
	tr.TSAOff.Store(true)
	pending := archivetest.Upload(t, tr.A)
	// The writer's own work (Tessera's garbage collection, its stamper)
	// is not reading: close it, and hold its lock meanwhile, so that a
	// reader that took it would fail.
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Close cancels Tessera's garbage collector but cannot wait for a pass
	// already under way (its lock is a POSIX record lock, which the same
	// process never waits for): let the files settle first.
	before := settledTree(t, tr.Dir)
	locker := archivetest.Open(t, tr.Dir, archive.OpenOptions{Lock: true})
	defer locker.Close(ctx)
	calls := tr.TSARequests.Load()

	r := archivetest.Open(t, tr.Dir, archive.OpenOptions{})
	var ids []string
	for rec, err := range r.Index().Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	for _, id := range ids {
		for _, latest := range []bool{false, true} {
			if _, _, err := r.Prove(ctx, id, archive.ProveOptions{Latest: latest}); err != nil {
				t.Fatalf("Prove(%s, latest %v): %v", id, latest, err)
			}
		}
	}
	if _, b, err := r.Prove(ctx, pending.ID, archive.ProveOptions{}); err != nil || b.TimestampStatus != verify.TimestampPending {
		t.Fatalf("pending record: %v", err)
	}
	if _, err := r.Search(ctx, archive.SearchQuery{Entity: "Example"}); err != nil {
		t.Fatal(err)
	}
	cps, err := r.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cps {
		r.CheckpointAt(ctx, c.Size)
		r.Timestamp(ctx, c.Size)
	}
	if _, err := r.RetryTimestamps(ctx); !errors.Is(err, archive.ErrReadOnly) {
		t.Errorf("RetryTimestamps of a reader: %v, want ErrReadOnly", err)
	}
	if _, err := r.Submit(ctx, &verify.Statement{}); !errors.Is(err, archive.ErrReadOnly) {
		t.Errorf("Submit to a reader: %v, want ErrReadOnly", err)
	}
	r.Close(ctx)
	after := tree(t, tr.Dir)
	for p, h := range before {
		if after[p] != h {
			t.Errorf("%s changed", p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
	if tr.TSARequests.Load() != calls {
		t.Errorf("the TSA was asked while reading")
	}
}
