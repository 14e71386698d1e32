package archive_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/store/s3"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/verify"
)

// s3Dest starts an S3 server, puts its credentials in the environment and
// returns a destination in a bucket that does not exist yet.
func s3Dest(t *testing.T) (*s3test.Gateway, archive.StoreConfig) {
	t.Helper()
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	return g, archive.StoreConfig{Type: "s3", Bucket: "moved", Prefix: "matter-7/", Endpoint: g.Endpoint, PathStyle: true}
}

// storeSizes lists a store: digest -> size.
func storeSizes(t *testing.T, s store.Store) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	m := map[string]int64{}
	for d, err := range s.List(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.Stat(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		m[d] = n
	}
	return m
}

// objectPath is where the default folder store keeps an object.
func objectPath(a *archive.Archive, digest string) string {
	return filepath.Join(a.Dir(), "objects", "sha256", digest[:2], digest)
}

// TestCopyStore moves an archive's objects from its folder to S3: after
// the copy the configuration names the bucket, every bundle verifies with
// its snapshot read back from S3, the audit is clean, and the folder is
// left as it was.
func TestCopyStore(t *testing.T) {
	_, sc := s3Dest(t)
	ctx := archivetest.Context(t, 2*time.Minute)
	a, recs, _ := archivetest.SmallLog(t, 6)
	dir := a.Dir()
	src := storeSizes(t, a.Store())
	var bytes int64
	for _, n := range src {
		bytes += n
	}

	if _, err := a.CopyStore(ctx, sc, archive.CopyOptions{}); !errors.Is(err, s3.ErrNoBucket) {
		t.Fatalf("CopyStore to a missing bucket without CreateBucket: %v, want ErrNoBucket", err)
	}
	progress := map[string]uint64{}
	rep, err := a.CopyStore(ctx, sc, archive.CopyOptions{Concurrency: 3, CreateBucket: true, Progress: func(phase string, done, total uint64) {
		if total != uint64(len(src)) || done > total || done != progress[phase]+1 {
			t.Errorf("progress %s %d/%d after %d", phase, done, total, progress[phase])
		}
		progress[phase] = done
	}})
	if err != nil {
		t.Fatalf("CopyStore: %v", err)
	}
	if rep.Objects != len(src) || rep.Copied != len(src) || rep.AlreadyThere != 0 || rep.Verified != len(src) ||
		rep.Bytes != bytes || len(rep.Failures) != 0 || !rep.Switched {
		t.Fatalf("report %+v; want %d objects, %d bytes, all copied and verified, switched", rep, len(src), bytes)
	}
	if progress["copy"] != uint64(len(src)) || progress["verify"] != uint64(len(src)) {
		t.Errorf("progress ended at %v", progress)
	}
	if got, want := rep.To, "s3://moved/matter-7/ ("+sc.Endpoint+")"; got != want || a.Store().Location() != want {
		t.Errorf("copied to %s, the archive now uses %s; want %s", got, a.Store().Location(), want)
	}
	if a.Config().Store != sc {
		t.Errorf("the open archive's store %+v, want %+v", a.Config().Store, sc)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cfg, err := archive.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store != sc {
		t.Fatalf("exhibit.json store %+v, want %+v", cfg.Store, sc)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "exhibit.json")); containsAny(string(b), os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")) {
		t.Fatal("credentials were written to exhibit.json")
	}
	for d := range src {
		if _, err := os.Stat(objectPath(a, d)); err != nil {
			t.Errorf("source object not left in place: %v", err)
		}
	}

	b, err := archive.Open(ctx, dir, archive.OpenOptions{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	if got := storeSizes(t, b.Store()); len(got) != len(src) {
		t.Errorf("the bucket holds %d objects, want %d", len(got), len(src))
	}
	for _, r := range recs {
		archivetest.Check(t, b, r, verify.Options{}) // the snapshot read back from S3, hash-checked
	}
	if rep := archivetest.AuditOK(t, b); rep.Objects != len(src) {
		t.Errorf("audit re-hashed %d objects, want %d", rep.Objects, len(src))
	}
	if _, err := b.CopyStore(ctx, sc, archive.CopyOptions{}); !errors.Is(err, archive.ErrInput) {
		t.Errorf("CopyStore to the archive's own store: %v, want ErrInput", err)
	}
}

// TestCopyStoreResume interrupts a copy, which leaves the archive on its
// folder, and runs it again: the objects already copied are found there,
// the rest are copied, and the archive switches.
func TestCopyStoreResume(t *testing.T) {
	_, sc := s3Dest(t)
	ctx := archivetest.Context(t, 2*time.Minute)
	a, recs, _ := archivetest.SmallLog(t, 8)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rep, err := a.CopyStore(cctx, sc, archive.CopyOptions{Concurrency: 1, CreateBucket: true, Progress: func(phase string, done, total uint64) {
		if phase == "copy" && done == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted CopyStore: %v, want context.Canceled", err)
	}
	if rep == nil || rep.Switched || rep.Copied < 3 || rep.Copied >= rep.Objects || len(rep.Failures) != 0 {
		t.Fatalf("interrupted copy's report %+v", rep)
	}
	if cfg, err := archive.ReadConfig(a.Dir()); err != nil || cfg.Store.Type != "fs" || a.Config().Store.Type != "fs" {
		t.Fatalf("an interrupted copy switched the store: %+v, %v", cfg, err)
	}

	rep2, err := a.CopyStore(ctx, sc, archive.CopyOptions{})
	if err != nil {
		t.Fatalf("resumed CopyStore: %v", err)
	}
	if rep2.AlreadyThere < rep.Copied || rep2.Copied == 0 || rep2.AlreadyThere+rep2.Copied != rep2.Objects ||
		rep2.Verified != rep2.Objects || rep2.Objects != rep.Objects || !rep2.Switched {
		t.Fatalf("resumed copy's report %+v after %+v", rep2, rep)
	}
	for _, r := range recs {
		archivetest.Check(t, a, r, verify.Options{}) // the open archive reads from S3 now
	}
	archivetest.AuditOK(t, a)
}

// TestCopyStoreCorrupt: a corrupt source object is reported, not copied,
// and keeps the archive on its folder; the other objects are copied.
func TestCopyStoreCorrupt(t *testing.T) {
	g, sc := s3Dest(t)
	ctx := archivetest.Context(t, 2*time.Minute)
	a, recs, _ := archivetest.SmallLog(t, 5)
	bad := map[string]bool{}
	for i, alter := range []func([]byte) []byte{
		func(b []byte) []byte { return append(b, "appended"...) }, // another size
		func(b []byte) []byte { b[len(b)/2] ^= 1; return b },      // the same size
	} {
		d := recs[i+1].SHA256
		p := objectPath(a, d)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, alter(b), 0o644); err != nil {
			t.Fatal(err)
		}
		bad[d] = true
	}
	rep, err := a.CopyStore(ctx, sc, archive.CopyOptions{CreateBucket: true})
	if err != nil {
		t.Fatalf("CopyStore: %v", err)
	}
	if rep.Switched || rep.Copied != rep.Objects-2 || rep.Verified != 0 || len(rep.Failures) != 2 {
		t.Fatalf("report %+v; want 2 failures, the rest copied, not switched", rep)
	}
	for _, p := range rep.Failures {
		if p.Kind != "corrupt" || !bad[p.Where] {
			t.Errorf("failure %+v; want corrupt, for one of %v", p, bad)
		}
	}
	if cfg, err := archive.ReadConfig(a.Dir()); err != nil || cfg.Store.Type != "fs" || a.Config().Store.Type != "fs" {
		t.Fatalf("a copy with failures switched the store: %+v, %v", cfg, err)
	}
	dst, err := s3.New(ctx, s3.Config{Bucket: sc.Bucket, Prefix: sc.Prefix, Endpoint: g.Endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	for d := range bad {
		if _, err := dst.Stat(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("corrupt object %s in the destination: %v", d, err)
		}
	}
}

// TestCopyStoreFolder copies to another folder, without S3, and checks the
// refusals.
func TestCopyStoreFolder(t *testing.T) {
	ctx := archivetest.Context(t, time.Minute)
	a, recs, _ := archivetest.SmallLog(t, 3)
	dir := a.Dir()
	a.Close(ctx)

	r, err := archive.Open(ctx, dir, archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.CopyStore(ctx, archive.StoreConfig{Type: "fs", Path: "objects2"}, archive.CopyOptions{}); !errors.Is(err, archive.ErrNotLocked) {
		t.Errorf("CopyStore without the lock: %v, want ErrNotLocked", err)
	}
	r.Close(ctx)

	a, err = archive.Open(ctx, dir, archive.OpenOptions{Lock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	for _, to := range []archive.StoreConfig{
		{Type: "fs", Path: "objects"},
		{Type: "fs", Path: "./objects/"},
		{Type: "fs", Path: "../elsewhere"},
		{Type: "fs", Path: "/tmp/objects"},
		{Type: "fs", Path: "o", Bucket: "b"},
		{Type: "ftp"},
		{Type: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:1", Retention: "forever", RetentionMode: "compliance"},
	} {
		if _, err := a.CopyStore(ctx, to, archive.CopyOptions{}); !errors.Is(err, archive.ErrInput) {
			t.Errorf("CopyStore to %+v: %v, want ErrInput", to, err)
		}
	}
	rep, err := a.CopyStore(ctx, archive.StoreConfig{Type: "fs", Path: "objects2"}, archive.CopyOptions{})
	if err != nil || !rep.Switched || rep.Copied != 3 {
		t.Fatalf("CopyStore to objects2: %+v, %v", rep, err)
	}
	for _, r := range recs {
		if _, err := os.Stat(filepath.Join(dir, "objects2", "sha256", r.SHA256[:2], r.SHA256)); err != nil {
			t.Error(err)
		}
		archivetest.Check(t, a, r, verify.Options{})
	}
	archivetest.AuditOK(t, a)
}
