package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestAWSLogCorpus runs the main job on an archive whose log is on S3 and
// MariaDB: the corpus imported through the one write path verifies
// offline, audits clean, and reads the same after a reopen; the archive's
// configuration holds no secret, and a second archive on the same bucket
// is refused.
func TestAWSLogCorpus(t *testing.T) {
	dir := archivetest.Corpus(t, "policies")
	o, _, _ := archivetest.AWS(t, "aws.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	adir := filepath.Join(t.TempDir(), "archive")
	cfg, err := archive.Init(ctx, adir, o)
	if err != nil {
		t.Fatalf("Init with the log on S3 and MariaDB: %v", err)
	}
	if cfg.Log == nil || cfg.Log.Bucket != "evidence" || cfg.Log.Prefix != "archive/log/" {
		t.Fatalf("config log %+v, want the store's bucket under archive/log/", cfg.Log)
	}
	b, _ := os.ReadFile(filepath.Join(adir, "exhibit.json"))
	if containsAny(string(b), mariadbtest.Password, os.Getenv("AWS_SECRET_ACCESS_KEY")) {
		t.Fatal("a secret was written to exhibit.json")
	}
	if _, err := os.Stat(filepath.Join(adir, "log")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an archive with its log on S3 has a log/ directory (%v)", err)
	}

	a, err := archive.Open(ctx, adir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
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
		t.Fatalf("import: %+v, %v", sum, err)
	}
	for _, r := range recs {
		archivetest.Check(t, a, r, verify.Options{})
		if loc := a.CheckpointFile(r.Published); !strings.HasPrefix(loc, "s3://evidence/archive/checkpoints/") {
			t.Fatalf("record %s published with a checkpoint kept at %s, want in the bucket", r.ID, loc)
		}
	}
	archivetest.AuditOK(t, a)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Read-only, from the bucket.
	ro := archivetest.Open(t, adir, archive.OpenOptions{})
	for _, r := range recs[:10] {
		archivetest.Check(t, ro, r, verify.Options{})
	}
	ro.Close(ctx)

	// Written again: the same import logs nothing twice; a reindex gives
	// the same index.
	a = archivetest.Open(t, adir, archive.OpenOptions{Write: true})
	defer a.Close(context.Background())
	sum, err = ingest.New(a).Import(ctx, me, ingest.ImportOptions{})
	if err != nil || sum.Imported != 0 {
		t.Errorf("importing again: %+v, %v; want nothing new", sum, err)
	}
	before := indexDump(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := indexDump(t, a); after != before {
		t.Error("a reindex from the log on S3 gives another index")
	}

	// A second archive on the same bucket and database is refused.
	if _, err := archive.Init(ctx, filepath.Join(t.TempDir(), "other"), o); !errors.Is(err, archive.ErrExists) {
		t.Errorf("a second archive on the same log: %v, want ErrExists", err)
	}
}

// TestAWSLogConfigRefused checks that bad log settings are refused before
// anything is written.
func TestAWSLogConfigRefused(t *testing.T) {
	ctx := t.Context()
	fsStore := archive.InitOptions{Log: &archive.LogConfig{Type: "aws", DSN: "exhibit@tcp(127.0.0.1:3306)/log"}}
	for name, o := range map[string]archive.InitOptions{
		"fs store":    fsStore,
		"password":    {Store: archive.StoreConfig{Type: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:1"}, Log: &archive.LogConfig{Type: "aws", DSN: "exhibit:secret@tcp(127.0.0.1:3306)/log"}},
		"no database": {Store: archive.StoreConfig{Type: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:1"}, Log: &archive.LogConfig{Type: "aws", DSN: "exhibit@tcp(127.0.0.1:3306)/"}},
		"type":        {Store: archive.StoreConfig{Type: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:1"}, Log: &archive.LogConfig{Type: "gcp", DSN: "exhibit@tcp(127.0.0.1:3306)/log"}},
	} {
		dir := filepath.Join(t.TempDir(), "a")
		_, err := archive.Init(ctx, dir, o)
		if !errors.Is(err, archive.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("%s: refused, but %s was created", name, dir)
		}
	}
}

// indexDump renders every record and checkpoint the index holds, to
// compare two indexes.
func indexDump(t *testing.T, a *archive.Archive) string {
	t.Helper()
	var b strings.Builder
	for r, err := range a.Index().Records(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	cps, err := a.Index().Checkpoints(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(cps)
	b.Write(j)
	return b.String()
}
