package prune_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/prune"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/verify"
	"k8s.io/klog/v2"
)

func init() { klog.SetSlogLogger(slog.New(slog.DiscardHandler)) }

// put stores b behind the write path's back, as a capture stopped before
// its statement was logged leaves it.
func put(t *testing.T, a *archive.Archive, b string) string {
	t.Helper()
	obj, err := a.Store().Put(context.Background(), bytes.NewReader([]byte(b)), int64(len(b)), "")
	if err != nil {
		t.Fatal(err)
	}
	return obj.SHA256
}

func digests(rep *prune.Report, status string) []string {
	var out []string
	for _, o := range rep.Orphans {
		if o.Status == status {
			out = append(out, o.SHA256)
		}
	}
	return out
}

// orphaned returns the objects an audit reports orphaned.
func orphaned(t *testing.T, a *archive.Archive) []string {
	t.Helper()
	rep, err := audit.Run(context.Background(), a, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range rep.Problems {
		if p.Kind != "orphaned" {
			t.Errorf("audit: %+v", p)
			continue
		}
		out = append(out, p.Where)
	}
	slices.Sort(out)
	return out
}

// TestPrune: a dry run lists the orphans (what audit reports) and removes
// nothing; a real run removes them, and only them: every snapshot of a
// record, and an object a statement names only in its text, stay; the
// audit is then clean.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	r1, r2 := archivetest.Upload(t, a), archivetest.Upload(t, a)
	o1, o2 := put(t, a, "orphan one"), put(t, a, "orphan two")
	// An object no statement references as a snapshot, but one names.
	named := put(t, a, "named in a statement's text")
	doc := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(doc, []byte("a document citing another"), 0o644)
	r3, err := ingest.New(a).File(ctx, doc, ingest.FileOptions{Document: "annex " + named})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{o1, o2}
	slices.Sort(want)
	if got := orphaned(t, a); !slices.Equal(got, want) {
		t.Fatalf("audit reports orphans %v, want %v", got, want)
	}

	rep, err := prune.Run(ctx, a, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := digests(rep, prune.Orphaned); !rep.DryRun || !slices.Equal(got, want) || rep.Removed != 0 || rep.Bytes != int64(len("orphan one")+len("orphan two")) {
		t.Fatalf("dry run: %+v, want orphans %v", rep, want)
	}
	for _, d := range append(want, named, r1.SHA256, r2.SHA256, r3.SHA256) {
		if _, err := a.Store().Stat(ctx, d); err != nil {
			t.Fatalf("after a dry run, %s: %v", d, err)
		}
	}

	rep, err = prune.Run(ctx, a, prune.Options{Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := digests(rep, prune.Removed); rep.DryRun || !slices.Equal(got, want) || rep.Removed != 2 || rep.Retained+rep.Failed != 0 {
		t.Fatalf("prune: %+v, want %v removed", rep, want)
	}
	for _, d := range want {
		if _, err := a.Store().Stat(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("pruned %s: Stat = %v, want ErrNotFound", d, err)
		}
	}
	for _, r := range []string{r1.ID, r2.ID, r3.ID} {
		rec, err := a.Get(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		archivetest.Check(t, a, rec, verify.Options{})
	}
	if _, err := a.Store().Stat(ctx, named); err != nil {
		t.Errorf("the object a statement names was removed: %v", err)
	}
	archivetest.AuditOK(t, a)
	if rep, err := prune.Run(ctx, a, prune.Options{Remove: true}); err != nil || len(rep.Orphans) != 0 {
		t.Errorf("second prune: %+v, %v", rep, err)
	}

	// Read-only, it refuses.
	ro := archivetest.Reopen(t, a, archive.OpenOptions{})
	if _, err := prune.Run(ctx, ro, prune.Options{}); !errors.Is(err, archive.ErrReadOnly) {
		t.Errorf("prune of a read-only archive = %v, want ErrReadOnly", err)
	}
}

// TestPruneS3 prunes an archive whose store is a real S3 server
// (versitygw): in a bucket without retention the orphans are removed; in
// one whose objects are under Object Lock retention, or a legal hold, none
// is, each reported retained, and all stay readable.
func TestPruneS3(t *testing.T) {
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	ctx := archivetest.Context(t, 2*time.Minute)
	for i, tc := range []struct {
		name      string
		retention string
		legalHold bool
	}{
		{name: "no retention"},
		{name: "governance", retention: "1d"},
		{name: "legal hold", legalHold: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := archive.StoreConfig{Type: "s3", Bucket: fmt.Sprintf("prune%d", i), Endpoint: g.Endpoint, PathStyle: true,
				Retention: tc.retention, LegalHold: tc.legalHold}
			if tc.retention != "" {
				sc.RetentionMode = "governance"
			}
			a := archivetest.New(t, archive.InitOptions{Store: sc, CreateBucket: true})
			rec := archivetest.Upload(t, a)
			o := put(t, a, "an S3 orphan "+tc.name)
			rep, err := prune.Run(ctx, a, prune.Options{Remove: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Orphans) != 1 || rep.Orphans[0].SHA256 != o {
				t.Fatalf("prune found %+v, want the one orphan %s", rep.Orphans, o)
			}
			_, serr := a.Store().Stat(ctx, o)
			if tc.retention == "" && !tc.legalHold {
				if rep.Removed != 1 || !errors.Is(serr, store.ErrNotFound) {
					t.Errorf("prune: %+v; Stat after = %v", rep, serr)
				}
				archivetest.AuditOK(t, a)
			} else if rep.Retained != 1 || rep.Removed != 0 || rep.Orphans[0].Status != prune.Retained || serr != nil {
				t.Errorf("prune of a retained orphan: %+v; Stat after = %v", rep, serr)
			}
			if _, err := a.Store().Stat(ctx, rec.SHA256); err != nil {
				t.Errorf("the record's snapshot: %v", err)
			}
		})
	}
}

// TestPruneShared: on an archive shared by several frontends (its log on
// S3 and MySQL), no lock keeps the other frontends out, so an object that
// looks orphaned may be that of a write in flight: removing is refused
// and nothing is removed; a dry run lists the orphans.
func TestPruneShared(t *testing.T) {
	o, _, _ := archivetest.AWS(t, "pruneshared.test/log")
	a := archivetest.New(t, o)
	ctx := t.Context()
	orphan := put(t, a, "stored by a write another frontend has yet to log")
	_, err := prune.Run(ctx, a, prune.Options{Remove: true})
	if !errors.Is(err, prune.ErrShared) {
		t.Fatalf("prune --yes of a shared archive: %v, want ErrShared", err)
	}
	if _, err := a.Store().Stat(ctx, orphan); err != nil {
		t.Fatalf("the orphan after a refused prune: %v", err)
	}
	rep, err := prune.Run(ctx, a, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || !rep.Shared || !slices.Equal(digests(rep, prune.Orphaned), []string{orphan}) {
		t.Errorf("dry run of a shared archive: %+v, want the orphan %s listed", rep, orphan)
	}
}
