package audit_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/ledger"
)

// TestRunLiveShared audits a shared archive (its log on S3 and MariaDB)
// again and again, from a third frontend opened as exhibit audit opens
// it, while two other frontends upload without pause: each audit judges
// the cut of the latest kept checkpoint at its start, and finds no
// problem in what the writers add meanwhile (checkpoints kept and
// published, records indexed, objects stored after the cut). Then, with
// the writers still uploading, a kept checkpoint below the cut and an
// object a logged statement names are removed from the bucket behind
// exhibit's back: the audit reports both, and nothing else.
func TestRunLiveShared(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, _, g := archivetest.AWS(t, "auditlive.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, first, o); err != nil {
		t.Fatal(err)
	}
	second, third := archivetest.Join(t, first), archivetest.Join(t, first)
	w1 := archivetest.Open(t, first, archive.OpenOptions{Write: true})
	w2 := archivetest.Open(t, second, archive.OpenOptions{Write: true})
	early := archivetest.Upload(t, w1)
	archivetest.Upload(t, w2)

	var (
		stop     atomic.Bool
		broken   atomic.Bool // an upload failed
		uploaded atomic.Int64
		wg       sync.WaitGroup
	)
	for _, w := range []*archive.Archive{w1, w2, w1, w2, w1, w2} {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := archivetest.UploadErr(t, w); err != nil {
					t.Errorf("upload: %v", err)
					broken.Store(true)
					return
				}
				uploaded.Add(1)
			}
		})
	}
	defer func() {
		stop.Store(true)
		wg.Wait()
	}()

	// As cmd/exhibit/audit.go opens it.
	a := archivetest.Open(t, third, archive.OpenOptions{Lock: true, CatchUp: true, IndexOptional: true})
	run := func() *audit.Report {
		t.Helper()
		// Each phase's end is slowed, as in an archive large enough for
		// the writers to keep checkpoints, publish and index records
		// while the audit reads: all of that lands after its cut.
		slow := func(phase string, done, total uint64) {
			if done == total {
				time.Sleep(time.Second)
			}
		}
		rep, err := audit.Run(ctx, a, audit.Options{CatchUp: a.CanCatchUp(), Progress: slow})
		if err != nil {
			t.Fatalf("audit: %v", err)
		}
		if !rep.Shared {
			t.Fatal("audit: the archive is not reported as shared")
		}
		return rep
	}
	waitFor := func(n int64) {
		t.Helper()
		for uploaded.Load() < n {
			if broken.Load() || ctx.Err() != nil {
				t.FailNow()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var last *audit.Report
	for i := range 6 {
		waitFor(int64(4 * (i + 1)))
		before := uploaded.Load()
		rep := run()
		if !rep.OK {
			t.Errorf("audit %d of a live shared archive (%d uploads during it): %+v", i, uploaded.Load()-before, rep.Problems)
		}
		if rep.TreeRoot != rep.Root || rep.Entries != rep.LogSize {
			t.Errorf("audit %d: %d entries read of %d, root %s, checkpoint root %s", i, rep.Entries, rep.LogSize, rep.TreeRoot, rep.Root)
		}
		if last != nil && rep.LogSize < last.LogSize {
			t.Errorf("audit %d: cut at %d, below the one before (%d)", i, rep.LogSize, last.LogSize)
		}
		if rep.Orphans != len(rep.Orphaned) {
			t.Errorf("audit %d: %d orphans, %d listed", i, rep.Orphans, len(rep.Orphaned))
		}
		t.Logf("audit %d: cut at %d entries, %d uploads during it, %d orphans", i, rep.LogSize, uploaded.Load()-before, rep.Orphans)
		last = rep
	}
	if last.LogSize < 10 {
		t.Fatalf("the last audit's cut is at %d entries: the writers did not write meanwhile", last.LogSize)
	}

	// Real problems below the cut, the writers still writing.
	cps, err := a.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var victim uint64
	for _, c := range cps {
		if c.Size > 0 && c.Size < last.LogSize {
			victim = c.Size
			break
		}
	}
	if victim == 0 {
		t.Fatalf("no kept checkpoint below %d to remove: %+v", last.LogSize, cps)
	}
	bucket := filepath.Join(g.DataDir, "evidence")
	remove := func(suffix string) {
		t.Helper()
		var found string
		filepath.WalkDir(bucket, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, suffix) {
				found = p
			}
			return nil
		})
		if found == "" {
			t.Fatalf("no file in %s ends with %s", bucket, suffix)
		}
		if err := os.Remove(found); err != nil {
			t.Fatal(err)
		}
	}
	cpWhere := "checkpoints/" + ledger.CheckpointPath(victim)
	remove(string(filepath.Separator) + filepath.FromSlash(cpWhere))
	remove(string(filepath.Separator) + early.SHA256)
	waitFor(uploaded.Load() + 2)
	rep := run()
	stop.Store(true)
	wg.Wait()
	got := map[string]string{}
	for _, p := range rep.Problems {
		got[p.Kind+" "+p.Where] = p.Detail
	}
	for _, want := range []string{"checkpoint " + cpWhere, "missing " + early.SHA256} {
		if _, ok := got[want]; !ok {
			t.Errorf("audit after removing %s: not reported as %q: %+v", cpWhere, want, rep.Problems)
		}
		delete(got, want)
	}
	if len(got) > 0 {
		t.Errorf("audit after removing a kept checkpoint and an object: other problems too: %v", got)
	}
	if rep.OK {
		t.Error("audit: OK with a kept checkpoint and an object removed")
	}

	// Writes quiet: the two problems still, and no orphan left by an
	// upload in flight.
	rep = run()
	if len(rep.Problems) != 2 || rep.Orphans != 0 {
		t.Errorf("audit once the writers stopped: %d orphans, problems %+v", rep.Orphans, rep.Problems)
	}
}
