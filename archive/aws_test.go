package archive_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger"
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

// TestAWSFrontends writes one archive through three frontends at once,
// each with its own copy of exhibit.json and the key: every record
// verifies through every frontend, no entry is logged twice, the kept
// checkpoints are consistent from first to last, the audit is clean, and
// a reindex gives the same index. A frontend whose clock or key is wrong
// is refused at start.
func TestAWSFrontends(t *testing.T) {
	o, _, _ := archivetest.AWS(t, "frontends.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, first, o); err != nil {
		t.Fatal(err)
	}
	dirs := []string{first, archivetest.Join(t, first), archivetest.Join(t, first)}
	var fronts []*archive.Archive
	for _, d := range dirs {
		a, err := archive.Open(ctx, d, archive.OpenOptions{Write: true})
		if err != nil {
			t.Fatalf("frontend %s: %v", d, err)
		}
		fronts = append(fronts, a)
	}
	const n = 150
	docs := t.TempDir()
	recs := make([]*record.Record, n)
	errs := make(chan error, n)
	for i := range n {
		p := filepath.Join(docs, fmt.Sprintf("doc%d.html", i))
		os.WriteFile(p, fmt.Appendf(nil, "<html>document %d</html>", i), 0o644)
		go func() {
			r, err := ingest.New(fronts[i%3]).File(ctx, p, ingest.FileOptions{})
			recs[i] = r
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range recs {
		// Read through another frontend than the one that wrote it.
		archivetest.Check(t, fronts[(i+1)%3], r, verify.Options{})
	}

	// A fourth frontend with a clock a minute off is refused; so is one
	// whose key is not the archive's, and one configured for another log
	// key (it would fork the log).
	_, err := archive.Open(ctx, archivetest.Join(t, first), archive.OpenOptions{Write: true, Now: func() time.Time { return time.Now().Add(time.Minute) }})
	var skew *archive.ClockSkewError
	if !errors.As(err, &skew) {
		t.Errorf("a frontend with its clock a minute ahead: %v, want a ClockSkewError", err)
	}
	wrongKey := archivetest.Join(t, first)
	other := archivetest.Init(t, archive.InitOptions{Origin: "frontends.test/log"})
	b, _ := os.ReadFile(filepath.Join(other, "key.pem"))
	os.WriteFile(filepath.Join(wrongKey, "key.pem"), b, 0o600)
	if _, err := archive.Open(ctx, wrongKey, archive.OpenOptions{Write: true}); !errors.Is(err, archive.ErrKeyMismatch) {
		t.Errorf("a frontend with another key: %v, want ErrKeyMismatch", err)
	}
	forked := archivetest.Join(t, first)
	cfg, _ := os.ReadFile(filepath.Join(forked, "exhibit.json"))
	otherCfg, _ := archive.ReadConfig(other)
	firstCfg, _ := archive.ReadConfig(first)
	os.WriteFile(filepath.Join(forked, "exhibit.json"), []byte(strings.Replace(string(cfg), firstCfg.VKey, otherCfg.VKey, 1)), 0o644)
	os.WriteFile(filepath.Join(forked, "key.pem"), b, 0o600)
	if _, err := archive.Open(ctx, forked, archive.OpenOptions{Write: true}); err == nil {
		t.Error("a frontend configured with another log key opened the log for writing")
	} else {
		t.Logf("frontend with another log key: %v", err)
	}

	for _, a := range fronts {
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a := archivetest.Open(t, first, archive.OpenOptions{Write: true})
	defer a.Close(context.Background())
	_, cp, err := a.Checkpoint(ctx)
	if err != nil || cp.Size != n {
		t.Fatalf("checkpoint %v, %v; want %d entries, each logged once", cp, err, n)
	}
	seen := map[string]bool{}
	for e, err := range a.Ledger().Entries(ctx, 0, cp.Size, cp.Size) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(e.Data)] {
			t.Errorf("entry %d logged twice", e.Index)
		}
		seen[string(e.Data)] = true
	}
	archivetest.AuditOK(t, a)
	before := indexDump(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if after := indexDump(t, a); after != before {
		t.Error("a reindex from the log gives another index")
	}
}

// TestAWSFrontendsImportOnce imports one manifest through two frontends at
// once: each document is logged once, under the lease one of them holds,
// and the other finds it.
func TestAWSFrontendsImportOnce(t *testing.T) {
	dir := archivetest.Corpus(t, "policies")
	o, _, _ := archivetest.AWS(t, "import.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, first, o); err != nil {
		t.Fatal(err)
	}
	me, err := ingest.ReadManifest(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var fronts []*archive.Archive
	for _, d := range []string{first, archivetest.Join(t, first)} {
		fronts = append(fronts, archivetest.Open(t, d, archive.OpenOptions{Write: true}))
	}
	sums := make([]*ingest.ImportSummary, 2)
	errs := make(chan error, 2)
	for i, a := range fronts {
		go func() {
			var err error
			sums[i], err = ingest.New(a).Import(ctx, me, ingest.ImportOptions{OnResult: func(res ingest.ImportResult) {
				if res.Err != nil {
					t.Errorf("frontend %d: %s: %v", i, res.Entry.File, res.Err)
				}
			}})
			errs <- err
		}()
	}
	for range fronts {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("imported %+v and %+v", *sums[0], *sums[1])
	if got := sums[0].Imported + sums[1].Imported; got != 302 {
		t.Errorf("%d documents imported by the two frontends, want 302 in all", got)
	}
	for _, a := range fronts {
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a := archivetest.Open(t, first, archive.OpenOptions{})
	defer a.Close(ctx)
	if _, cp, err := a.Checkpoint(ctx); err != nil || cp.Size != 302 {
		t.Errorf("checkpoint %v, %v; want 302 entries", cp, err)
	}
}

// TestAWSFrontendTakeover checks that a frontend of one archive, its
// exhibit.json edited to name another, freshly created archive's bucket
// prefixes and databases, is refused at start, naming both verifier keys,
// before it writes anything: the other archive's own frontends still open
// it, and its log and kept checkpoints are as Init left them.
func TestAWSFrontendTakeover(t *testing.T) {
	o, db, _ := archivetest.AWS(t, "attacker.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	attacker := filepath.Join(t.TempDir(), "attacker")
	if _, err := archive.Init(ctx, attacker, o); err != nil {
		t.Fatal(err)
	}
	vo := o
	vo.Origin = "victim.test/log"
	vo.Store.Prefix = "victim/"
	logDB := db.Config(db.NewDatabase(t))
	logDB.Passwd = ""
	ixDB := db.Config(db.NewDatabase(t) + "_index")
	ixDB.Passwd = ""
	vo.Log = &archive.LogConfig{Type: "aws", DSN: logDB.FormatDSN(), IndexDSN: ixDB.FormatDSN()}
	victim := filepath.Join(t.TempDir(), "victim")
	vcfg, err := archive.Init(ctx, victim, vo)
	if err != nil {
		t.Fatal(err)
	}
	acfg, err := archive.ReadConfig(attacker)
	if err != nil {
		t.Fatal(err)
	}
	// The attacker's frontend, pointed at the victim's places.
	wrong := archivetest.Join(t, attacker)
	cfg := *acfg
	cfg.Store = vcfg.Store
	cfg.Log = vcfg.Log
	b, _ := json.MarshalIndent(&cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(wrong, "exhibit.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, wrong, archive.OpenOptions{Write: true})
	if err == nil {
		a.Close(ctx)
		t.Fatal("a frontend of another archive opened the victim's log for writing")
	}
	t.Logf("refused: %v", err)
	for _, want := range []string{vcfg.VKey, acfg.VKey} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not name the key %s", err, want)
		}
	}
	// A log created before its identity was recorded in its database:
	// its checkpoint, published at Init, names its key.
	sqldb, err := sql.Open("mysql", db.Config(logDB.DBName).FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer sqldb.Close()
	if _, err := sqldb.ExecContext(ctx, "DROP TABLE ExhibitLogIdentity"); err != nil {
		t.Fatal(err)
	}
	vk, _ := verify.ParseVKey(vcfg.VKey)
	_, err = archive.Open(ctx, wrong, archive.OpenOptions{Write: true})
	var lk *ledger.LogKeyError
	if !errors.As(err, &lk) || !strings.Contains(err.Error(), fmt.Sprintf("%s+%08x", vk.Name, vk.Hash)) || !strings.Contains(err.Error(), acfg.VKey) {
		t.Errorf("a frontend of another archive, the log's identity not recorded: %v, want a LogKeyError naming both keys", err)
	}
	// The victim's own frontends still open it, and its log is empty.
	v, err := archive.Open(ctx, archivetest.Join(t, victim), archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatalf("the victim's frontend after the refused one: %v", err)
	}
	defer v.Close(context.Background())
	_, cp, err := v.Checkpoint(ctx)
	if err != nil || cp.Size != 0 || cp.Origin != vo.Origin {
		t.Errorf("the victim's checkpoint: %+v, %v; want its empty log", cp, err)
	}
	archivetest.AuditOK(t, v)
}

// TestAWSPasswordHint checks that a frontend the database refuses says
// where the password is read from: none given, or the one given wrong.
func TestAWSPasswordHint(t *testing.T) {
	o, _, _ := archivetest.AWS(t, "password.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, o); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "password")
	os.WriteFile(file, []byte("wrong\n"), 0o600)
	for _, c := range []struct {
		name, password, file string
		want                 []string
	}{
		{"none", "", "", []string{"Access denied", "no password was given", archive.EnvDBPassword, archive.EnvDBPasswordFile}},
		{"wrong", "wrong", "", []string{"Access denied", "the password in " + archive.EnvDBPassword + " was refused"}},
		{"wrong file", "", file, []string{"Access denied", "the password read from " + file + " (" + archive.EnvDBPasswordFile + ") was refused"}},
	} {
		t.Setenv(archive.EnvDBPassword, c.password)
		t.Setenv(archive.EnvDBPasswordFile, c.file)
		for _, write := range []bool{true, false} {
			a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: write})
			if err == nil {
				a.Close(ctx)
				t.Errorf("%s, write %v: opened", c.name, write)
				continue
			}
			var de *archive.DBAccessError
			if !errors.As(err, &de) {
				t.Errorf("%s, write %v: %v, want a DBAccessError", c.name, write, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s, write %v: %q does not say %q", c.name, write, err, w)
				}
			}
		}
	}
}
