package archive_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store/s3"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestS3Corpus runs the main job with snapshots in a real S3 server: the
// corpus imported into a bucket verifies with snapshots read back from it,
// and audits clean.
func TestS3Corpus(t *testing.T) {
	dir := archivetest.Corpus(t, "policies")
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	ctx := archivetest.Context(t, 5*time.Minute)

	adir := filepath.Join(t.TempDir(), "archive")
	sc := archive.StoreConfig{Type: "s3", Bucket: "evidence", Prefix: "corpus/", Endpoint: g.Endpoint, PathStyle: true,
		Retention: "1d", RetentionMode: "governance"}
	cfg, err := archive.Init(ctx, adir, archive.InitOptions{Origin: "s3.test/log", Store: sc, CreateBucket: true})
	if err != nil {
		t.Fatalf("Init on S3 (creating the bucket): %v", err)
	}
	if cfg.Store.Type != "s3" || cfg.Store.Bucket != "evidence" {
		t.Fatalf("config store %+v", cfg.Store)
	}
	if b, _ := os.ReadFile(filepath.Join(adir, "exhibit.json")); containsAny(string(b), g.AccessKey, g.SecretKey) {
		t.Fatal("credentials were written to exhibit.json")
	}
	a, err := archive.Open(ctx, adir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	me, err := ingest.ReadManifest(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*record.Record
	sum, err := ingest.New(a).Import(ctx, me, ingest.ImportOptions{OnResult: func(res ingest.ImportResult) {
		if res.Err != nil {
			t.Errorf("%s: %v", res.Entry.File, res.Err)
			return
		}
		recs = append(recs, res.Record)
	}})
	if err != nil || sum.Imported != 302 {
		t.Fatalf("import into S3: %+v, %v", sum, err)
	}
	for _, r := range recs {
		archivetest.Check(t, a, r, verify.Options{}) // reads the snapshot back from S3, hash-checked
	}
	rep := archivetest.AuditOK(t, a)
	if rep.Objects != 280 {
		t.Errorf("%d objects in the bucket, want 280", rep.Objects)
	}
	// An object corrupted behind exhibit's back, in the server's own
	// storage, is caught by the audit.
	victim := recs[1].SHA256
	path := filepath.Join(g.DataDir, "evidence", "corpus", "sha256", victim[:2], victim)
	archivetest.Rewrite(t, path, []byte("<html>altered</html>"))
	bad, err := audit.Run(ctx, a, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bad.OK || len(bad.Problems) != 1 || bad.Problems[0].Kind != "corrupt" || bad.Problems[0].Where != victim {
		t.Errorf("audit after corrupting %s in the bucket: %+v", victim, bad.Problems)
	}

	// Locked: deleting a stored version is refused by the server.
	raw := g.Raw(t)
	key := "corpus/sha256/" + recs[0].SHA256[:2] + "/" + recs[0].SHA256
	info, err := raw.StatObject(ctx, "evidence", key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.RemoveObject(ctx, "evidence", key, minio.RemoveObjectOptions{VersionID: info.VersionID}); err == nil {
		t.Error("a locked snapshot version was deleted")
	}
}

// TestS3InitChecks: init checks the store before it writes anything.
func TestS3InitChecks(t *testing.T) {
	g := s3test.Start(t)
	ctx := context.Background()
	plain := g.NewBucket(t, false)
	for name, tc := range map[string]struct {
		key, secret string
		sc          archive.StoreConfig
		want        error
	}{
		"wrong credentials": {"nobody", "wrong-secret-0123456789", archive.StoreConfig{Type: "s3", Bucket: "xbucket", Endpoint: g.Endpoint, PathStyle: true}, s3.ErrAccessDenied},
		"retention without object lock": {g.AccessKey, g.SecretKey, archive.StoreConfig{Type: "s3", Bucket: plain.Bucket, Endpoint: g.Endpoint, PathStyle: true,
			Retention: "7y", RetentionMode: "compliance"}, s3.ErrNoObjectLock},
		"missing bucket": {g.AccessKey, g.SecretKey, archive.StoreConfig{Type: "s3", Bucket: "nosuchbucket", Endpoint: g.Endpoint, PathStyle: true}, s3.ErrNoBucket},
		"bad retention": {g.AccessKey, g.SecretKey, archive.StoreConfig{Type: "s3", Bucket: "ybucket", Endpoint: g.Endpoint, PathStyle: true,
			Retention: "forever", RetentionMode: "compliance"}, archive.ErrInput},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("AWS_ACCESS_KEY_ID", tc.key)
			t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
			dir := filepath.Join(t.TempDir(), "archive")
			start := time.Now()
			_, err := archive.Init(ctx, dir, archive.InitOptions{Store: tc.sc})
			if !errors.Is(err, tc.want) {
				t.Fatalf("Init: %v, want %v", err, tc.want)
			}
			if containsAny(err.Error(), tc.secret) {
				t.Errorf("the error shows the secret: %v", err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("took %v to fail", time.Since(start))
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("a refused init left the archive directory behind")
			}
		})
	}
	for _, bad := range []string{"s3://", "https://bucket", "s3://u:p@bucket", "bucket"} {
		if _, err := archive.ParseStoreURL(bad); err == nil {
			t.Errorf("ParseStoreURL(%q) accepted", bad)
		}
	}
	if sc, err := archive.ParseStoreURL("s3://evidence/firm/matter-12"); err != nil || sc.Bucket != "evidence" || sc.Prefix != "firm/matter-12/" {
		t.Errorf("ParseStoreURL = %+v, %v", sc, err)
	}
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "7y": 7 * 365 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := archive.ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v", in, got, err)
		}
	}
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestS3KilledMidImport: the S3 server dies in the middle of an import.
// The documents in flight fail cleanly, nothing is logged whose snapshot
// is missing, and re-running the import after a restart completes it.
func TestS3KilledMidImport(t *testing.T) {
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	ctx := archivetest.Context(t, 3*time.Minute)
	adir := filepath.Join(t.TempDir(), "archive")
	sc := archive.StoreConfig{Type: "s3", Bucket: "killed", Endpoint: g.Endpoint, PathStyle: true, RetryDeadline: "100ms"}
	if _, err := archive.Init(ctx, adir, archive.InitOptions{Origin: "s3.test/killed", Store: sc, CreateBucket: true}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, adir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())

	docs := t.TempDir()
	var lines []string
	for i := range 300 {
		name := filepath.Join(docs, fmt.Sprintf("%d.html", i))
		os.WriteFile(name, []byte(fmt.Sprintf("<p>document %d %s</p>", i, strings.Repeat("x", 2000))), 0o644)
		lines = append(lines, fmt.Sprintf(`{"url":"https://kill.example/%d","fetched_at":"2026-01-01T00:00:00Z","file":"%d.html"}`, i, i))
	}
	manifest := filepath.Join(docs, "m.jsonl")
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	me, err := ingest.ReadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	done := 0
	stopped := make(chan struct{})
	// Four workers, so that storing stays well behind the first checkpoints
	// however loaded the machine: the outage must catch documents unstored.
	sum, err := ingest.New(a).Import(ctx, me, ingest.ImportOptions{Concurrency: 4, OnResult: func(res ingest.ImportResult) {
		mu.Lock()
		defer mu.Unlock()
		if res.Err == nil {
			done++
		}
		if done == 10 {
			done++
			g.Stop() // the server dies mid-import
			close(stopped)
		}
	}})
	<-stopped
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if sum.Failed == 0 || sum.Imported < 10 || sum.Imported == 300 {
		t.Fatalf("summary %+v: want some imported and some failed", sum)
	}
	g.Restart()
	rep, err := audit.Run(ctx, a, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		if p.Kind != "orphaned" { // objects stored whose statements never got logged
			t.Errorf("after the outage: %+v", p)
		}
	}
	if rep.LogSize != uint64(sum.Imported) {
		t.Errorf("log has %d entries, %d were acknowledged", rep.LogSize, sum.Imported)
	}
	sum2, err := ingest.New(a).Import(ctx, me, ingest.ImportOptions{})
	if err != nil || sum2.Failed != 0 || sum2.Imported+sum2.Skipped != 300 || sum2.Skipped != sum.Imported {
		t.Fatalf("re-run after restart: %+v, %v", sum2, err)
	}
	if rep := archivetest.AuditOK(t, a); rep.LogSize != 300 {
		t.Errorf("log size %d after the re-run, want 300", rep.LogSize)
	}
}

// TestS3CaptureEmpty captures an empty page (HTTP 200, no body) into an
// archive whose bucket holds no empty object yet, twice: the gateway keeps
// its connections alive, as deployed (docs/DEPLOYMENT.md), and an empty
// upload of unknown size used to be sent malformed.
func TestS3CaptureEmpty(t *testing.T) {
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	ctx := archivetest.Context(t, 2*time.Minute)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	sc := archive.StoreConfig{Type: "s3", Bucket: "evidence", Prefix: "main/", Endpoint: g.Endpoint, PathStyle: true}
	a := archivetest.New(t, archive.InitOptions{Origin: "s3.test/log", Store: sc, CreateBucket: true})
	for i := range 2 {
		r, err := ingest.New(a).Capture(ctx, srv.URL+fmt.Sprintf("/empty%d", i), ingest.CaptureOptions{})
		if err != nil {
			t.Fatalf("capture %d of an empty page: %v", i+1, err)
		}
		if r.SHA256 != archivetest.SHA256(nil) {
			t.Errorf("capture %d: snapshot %s, want the empty one", i+1, r.SHA256)
		}
		archivetest.Check(t, a, r, verify.Options{})
	}
}
