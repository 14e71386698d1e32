package archive_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
)

// corpusDir returns the policy corpus, read in place from ../shared. When
// it is missing the test fails under CI=true and is skipped elsewhere.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "corpus", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.jsonl")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the policy corpus is missing at %s (CI=true): %v", dir, err)
		}
		t.Skipf("the policy corpus is missing at %s; skipping (it lives in ../shared/corpus beside the repository)", dir)
	}
	return dir
}

// newArchive creates an archive in a temporary directory and opens it for
// writing.
func newArchive(t testing.TB) *archive.Archive {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "test.example/log"}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// checkBundle verifies a record's bundle file offline, with its snapshot
// when it has one, and fails the test on any failed check.
func checkBundle(t testing.TB, a *archive.Archive, rec *archive.Record) *verify.Report {
	t.Helper()
	b, err := os.ReadFile(rec.Bundle)
	if err != nil {
		t.Fatalf("reading bundle of %s: %v", rec.RecordID, err)
	}
	var opts verify.Options
	if rec.SHA256 != "" {
		rc, err := a.Store().Get(context.Background(), rec.SHA256)
		if err != nil {
			t.Fatalf("snapshot of %s: %v", rec.RecordID, err)
		}
		defer rc.Close()
		opts.Snapshot = rc
	}
	rep := verify.Check(b, a.Key(), opts)
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("bundle of %s does not verify: %s: %s", rec.RecordID, f.Name, f.Detail)
	}
	if rep.RecordID != rec.RecordID {
		t.Fatalf("bundle record ID %s, want %s", rep.RecordID, rec.RecordID)
	}
	return rep
}

func auditOK(t testing.TB, a *archive.Archive) *archive.AuditReport {
	t.Helper()
	rep, err := a.Audit(context.Background(), archive.AuditOptions{})
	if err != nil {
		t.Fatalf("Audit: %v", err)
	}
	if !rep.OK {
		t.Fatalf("audit found problems: %+v", rep.Problems)
	}
	if rep.TreeRoot != rep.Root {
		t.Fatalf("audit: tree root %s, checkpoint root %s", rep.TreeRoot, rep.Root)
	}
	return rep
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
