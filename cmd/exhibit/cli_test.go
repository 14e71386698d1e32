package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"k8s.io/klog/v2"
)

func init() { klog.SetSlogLogger(slog.New(slog.DiscardHandler)) }

type result struct {
	code           int
	stdout, stderr string
}

func exhibit(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return result{code, out.String(), errb.String()}
}

func (r result) want(t *testing.T, code int, stdout ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range stdout {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", s, r.stdout, r.stderr)
		}
	}
}

// inTemp runs the test in a fresh directory with the default archive
// location (./exhibit-archive).
func inTemp(t *testing.T) string {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("EXHIBIT_ARCHIVE", "")
	return dir
}

func corpus(t *testing.T) string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "..", "shared", "corpus", "policies"))
	if _, err := os.Stat(filepath.Join(dir, "manifest.jsonl")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the policy corpus is missing at %s (CI=true)", dir)
		}
		t.Skipf("the policy corpus is missing at %s; skipping", dir)
	}
	return dir
}

// TestQuickStart follows the README: capture a real document into the
// default archive, cite it, verify its bundle, and see a tampered copy
// fail.
func TestQuickStart(t *testing.T) {
	c := corpus(t)
	inTemp(t)
	doc := filepath.Join(c, "snapshots/github-privacy-policy/20260822T003013Z.html")
	r := exhibit(t, "capture", doc,
		"--url", "https://docs.github.com/en/free-pro-team@latest/github/site-policy/github-privacy-statement",
		"--entity", "GitHub", "--document", "Privacy Policy", "--fetched-at", "2026-08-22T00:30:13Z", "-o", "json")
	r.want(t, 0, "created archive ./exhibit-archive")
	var rec struct {
		RecordID  string `json:"record_id"`
		SHA256    string `json:"sha256"`
		Index     *int   `json:"index"`
		Published uint64 `json:"published"`
		Bundle    string `json:"bundle"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("capture -o json: %v\n%s", err, r.stdout)
	}
	if rec.SHA256 != "845abd0e30de13a21e94ea9646250232c35de33d2a45e162f6e066071b6ccb54" || rec.Index == nil || *rec.Index != 0 || !strings.HasPrefix(rec.RecordID, "EXR-") || rec.Published != 1 {
		t.Fatalf("capture record %+v", rec)
	}
	// No bundle file is written: the checkpoint the record was first
	// published with is kept, and its bundle is computed on demand.
	if rec.Bundle != "" {
		t.Errorf("capture -o json names a bundle file %q", rec.Bundle)
	}
	if _, err := os.Stat(filepath.Join("exhibit-archive", "bundles")); !os.IsNotExist(err) {
		t.Errorf("capture wrote bundles/: %v", err)
	}
	if _, err := os.Stat(filepath.Join("exhibit-archive", "checkpoints", filepath.FromSlash(ledger.CheckpointPath(1)))); err != nil {
		t.Errorf("the checkpoint the record was published with is not kept: %v", err)
	}
	bundle := proveFile(t, rec.RecordID)

	exhibit(t, "show", rec.RecordID).want(t, 0,
		"Entity:         GitHub", "Record ID:      "+rec.RecordID, "SHA-256:        "+rec.SHA256, "URL (claimed):  https://docs.github.com/",
		`GitHub, “Privacy Policy” (copy supplied to exhibit `, `stated as fetched 22 August 2026, 00:30:13 UTC), exhibit record `+rec.RecordID)
	exhibit(t, "show", strings.ToLower(rec.RecordID), "-o", "markdown").want(t, 0, "| Record ID | "+rec.RecordID+" |")

	exhibit(t, "verify", bundle, "--snapshot", doc).want(t, 0, "ok   inclusion-proof", "ok   snapshot-digest", "verified: record "+rec.RecordID,
		"note:     a copy supplied to exhibit out of band", "cite as:  GitHub")
	exhibit(t, "verify", bundle, "--record-id", rec.RecordID).want(t, 0, "and it is the cited "+rec.RecordID)

	// With the key alone, no archive.
	key := exhibit(t, "log-key")
	key.want(t, 0)
	vkey := strings.TrimSpace(key.stdout)
	os.WriteFile("log.vkey", []byte(vkey+"\n"), 0o644)
	exhibit(t, "verify", bundle, "--key", vkey, "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "verify", bundle, "--key", "log.vkey", "--archive", "nowhere").want(t, 0, "verified")

	// prove, in both forms, verifies.
	exhibit(t, "prove", rec.RecordID, "-o", "b.json").want(t, 0)
	exhibit(t, "prove", rec.RecordID, "--format", "tlog-proof", "-o", "b.tlog-proof").want(t, 0)
	exhibit(t, "verify", "b.tlog-proof").want(t, 0, "verified")
	if b, _ := os.ReadFile("b.tlog-proof"); !bytes.HasPrefix(b, []byte("c2sp.org/tlog-proof@v1\nextra ")) {
		t.Errorf("tlog-proof starts %q", b[:40])
	}

	// A tampered copy fails with status 1 and names the check.
	b, _ := os.ReadFile(bundle)
	os.WriteFile("tampered.json", bytes.Replace(b, []byte(`"index": 0`), []byte(`"index": 1`), 1), 0o644)
	exhibit(t, "verify", "tampered.json").want(t, 1, "FAIL inclusion-proof", "NOT VERIFIED")
	// A different file as the snapshot fails.
	exhibit(t, "verify", bundle, "--snapshot", "tampered.json").want(t, 1, "FAIL snapshot-digest")
	// JSON report.
	j := exhibit(t, "verify", "tampered.json", "-o", "json")
	j.want(t, 1)
	var rep struct {
		Verified bool   `json:"verified"`
		RecordID string `json:"record_id"`
		Checks   []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil || rep.Verified || len(rep.Checks) != 6 || rep.RecordID != rec.RecordID {
		t.Errorf("verify -o json: %v %+v", err, rep)
	}
	// Garbage (no bundle in any form), a missing file or a bad key is a
	// usage error (2); a JSON object that is no valid bundle fails a check (1).
	os.WriteFile("garbage", []byte("not a bundle"), 0o644)
	exhibit(t, "verify", "garbage").want(t, 2, "is not an evidence bundle or package")
	os.WriteFile("object.json", []byte(`{"media_type": "x"}`), 0o644)
	exhibit(t, "verify", "object.json").want(t, 1, "FAIL bundle-parse")
	exhibit(t, "verify", "missing.json").want(t, 2, "reading bundle")
	exhibit(t, "verify", bundle, "--key", "example.org+00000000+AAAA").want(t, 2, "invalid verifier key")
	exhibit(t, "verify", bundle, "--archive", "nowhere").want(t, 2, "no trusted key")
	exhibit(t, "verify").want(t, 2)
	exhibit(t, "verify", bundle, "--record-id", "bogus").want(t, 2, "invalid record ID")
	exhibit(t, "verify", bundle, "--key", "nonexistent.vkey").want(t, 2, "neither a verifier key")
	exhibit(t, "verify", bundle, "--snapshot", ".").want(t, 2, "not a regular file")
	exhibit(t, "show", "garbage").want(t, 2, "invalid record ID")
	exhibit(t, "show", "EXR-00000-00000-00000-00000").want(t, 1, "no such record")
	exhibit(t, "verify", bundle, "--output", "yaml").want(t, 2)

	// The empty tree's checkpoint and the record's are kept.
	exhibit(t, "audit").want(t, 0, "kept     2 checkpoints, consecutive ones consistent", "audit: ok")
	exhibit(t, "reindex").want(t, 0, "reindexed 1 records")
	exhibit(t, "init").want(t, 1, "already exists")
}

// TestCaptureURL captures over HTTP, including a failure, which is logged
// and exits 1.
func TestCaptureURL(t *testing.T) {
	inTemp(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>hello</html>"))
	}))
	defer srv.Close()
	exhibit(t, "init", "--origin", "test.example/log").want(t, 0, "origin  test.example/log", "log key test.example/log+")
	exhibit(t, "capture", srv.URL+"/page", "--entity", "Example", "--document", "Terms").want(t, 0,
		"captured "+srv.URL+"/page", "sha256   "+sha256hex("<html>hello</html>"),
		"log      test.example/log #0, published with checkpoint 1 ("+filepath.Join("exhibit-archive", "checkpoints", filepath.FromSlash(ledger.CheckpointPath(1)))+")")
	r := exhibit(t, "capture", srv.URL+"/loop", "-o", "json")
	r.want(t, 1, `"outcome":"failed"`, "redirect_loop", "the failure is logged as record EXR-")
	// An untrusted TLS server: refused by default, captured and flagged
	// with --insecure-skip-verify.
	tlsSrv := httptest.NewTLSServer(srv.Config.Handler)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer tlsSrv.Close()
	exhibit(t, "capture", tlsSrv.URL+"/page").want(t, 1, "FAILED", "(tls)")
	r = exhibit(t, "capture", tlsSrv.URL+"/page", "--insecure-skip-verify")
	r.want(t, 0, "WARNING  the TLS certificate was NOT verified", "; TLS certificate not verified), exhibit record")
	// Credentials in a URL would be published for good: refused, nothing logged.
	exhibit(t, "capture", strings.Replace(srv.URL, "http://", "http://user:secret@", 1)+"/page").want(t, 2, "holds credentials")
	exhibit(t, "audit", "-o", "json").want(t, 0, `"ok": true`, `"log_size": 4`)
	// Usage errors.
	exhibit(t, "capture", "ftp://example.org/x").want(t, 2, "neither an http(s) URL nor a readable file")
	exhibit(t, "capture", srv.URL, "--url", "https://x.example/").want(t, 2, "go with a FILE")
	exhibit(t, "capture", srv.URL, "--timeout", "soon").want(t, 2)
}

// TestImport imports a manifest, re-runs it, and refuses a malformed one.
func TestImport(t *testing.T) {
	dir := inTemp(t)
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.html"), []byte("<p>b</p>"), 0o644)
	os.WriteFile("m.jsonl", []byte(`{"entity":"E","document":"D","url":"https://x.example/a","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","sha256":"`+sha256hex("<p>a</p>")+`"}
{"entity":"E","document":"D","url":"https://x.example/b","fetched_at":"2024-01-02T00:00:00Z","file":"b.html"}
`), 0o644)
	r := exhibit(t, "import", "m.jsonl", "-o", "json")
	r.want(t, 0, "imported 2, skipped 0", `"record_id":"EXR-`, `"published":`)
	lines := importOuts(t, r.stdout)
	if len(lines) != 2 {
		t.Fatalf("import -o json printed %d lines, want 2:\n%s", len(lines), r.stdout)
	}
	ids := map[string]string{}
	for _, l := range lines {
		// The manifest line and file, then the record.
		if want := map[string]int{"a.html": 1, "b.html": 2}[l.File]; l.Line != want || l.Skipped || l.Error != "" || !strings.HasPrefix(l.RecordID, "EXR-") || l.Published <= l.Index {
			t.Errorf("import -o json: %+v", l)
		}
		ids[l.File] = l.RecordID
		// Its bundle, against the checkpoint it was published with, verifies.
		exhibit(t, "verify", proveFile(t, l.RecordID), "--snapshot", l.File).want(t, 0, "verified: record "+l.RecordID)
	}
	if lines[0].Line == lines[1].Line || ids["a.html"] == ids["b.html"] {
		t.Errorf("import -o json: %+v", lines)
	}
	exhibit(t, "import", "m.jsonl").want(t, 0, "imported 0, skipped 2")
	// Again with -o json: each skipped with its earlier record.
	r = exhibit(t, "import", "m.jsonl", "-o", "json")
	r.want(t, 0, "imported 0, skipped 2")
	for _, l := range importOuts(t, r.stdout) {
		if !l.Skipped || l.RecordID != ids[l.File] || l.Error != "" {
			t.Errorf("import -o json, re-run: %+v, want skipped, record %s", l, ids[l.File])
		}
	}
	os.WriteFile("bad.jsonl", []byte(`{"url":"https://x.example/a","file":"a.html"}`+"\n"), 0o644)
	exhibit(t, "import", "bad.jsonl").want(t, 2, "bad.jsonl:1: missing fetched_at")
	os.WriteFile("wrong.jsonl", []byte(`{"url":"https://x.example/c","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","sha256":"`+strings.Repeat("ab", 32)+`"}`+"\n"), 0o644)
	exhibit(t, "import", "wrong.jsonl").want(t, 1, "failed 1", "content hashes to")
	r = exhibit(t, "import", "wrong.jsonl", "-o", "json")
	r.want(t, 1, "failed 1")
	if l := importOuts(t, r.stdout); len(l) != 1 || l[0].Line != 1 || l[0].File != "a.html" || !strings.Contains(l[0].Error, "content hashes to") || l[0].RecordID != "" {
		t.Errorf("import -o json of a failure: %+v", l)
	}
	exhibit(t, "audit").want(t, 0, "audit: ok", "log      2 entries")
}

// importOut is a line of exhibit import -o json, as a reader decodes it.
type importOut struct {
	Line      int    `json:"line"`
	File      string `json:"file"`
	RecordID  string `json:"record_id"`
	Index     uint64 `json:"index"`
	Published uint64 `json:"published"`
	Skipped   bool   `json:"skipped"`
	Error     string `json:"error"`
}

func importOuts(t *testing.T, stdout string) []importOut {
	t.Helper()
	var out []importOut
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var l importOut
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("import -o json: %v\n%s", err, stdout)
		}
		out = append(out, l)
	}
	return out
}

// proveFile writes the bundle of a record (exhibit prove, against the
// checkpoint the record was first published with) to ID.json in the
// current directory and returns that name: what capture used to write in
// the archive's bundles/.
func proveFile(t *testing.T, id string, args ...string) string {
	t.Helper()
	name := id + ".json"
	exhibit(t, append([]string{"prove", id, "-o", name}, args...)...).want(t, 0)
	return name
}

func sha256hex(s string) string {
	return sha256Hex([]byte(s))
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// TestInitS3 creates an archive whose snapshots live in a real S3 server.
func TestInitS3(t *testing.T) {
	g := s3test.Start(t)
	inTemp(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	exhibit(t, "init", "--store", "s3://evidence", "--retention", "7y").want(t, 2, "--s3-endpoint")
	exhibit(t, "init", "--retention", "7y").want(t, 2, "go with --store")
	exhibit(t, "init", "--store", "s3://evidence/matter-12", "--s3-endpoint", g.Endpoint, "--s3-path-style").want(t, 1, "does not exist")
	exhibit(t, "init", "--store", "s3://evidence/matter-12", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket",
		"--retention", "90d", "--retention-mode", "compliance", "--legal-hold").want(t, 0, "store   s3://evidence/matter-12/ at "+g.Endpoint)
	os.WriteFile("doc.html", []byte("<p>terms</p>"), 0o644)
	r := exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "verify", proveFile(t, rec.RecordID), "--snapshot", "doc.html").want(t, 0, "verified")
	exhibit(t, "audit").want(t, 0, "objects  1 re-hashed", "audit: ok")
	if cfg, _ := os.ReadFile("exhibit-archive/exhibit.json"); strings.Contains(string(cfg), g.SecretKey) {
		t.Error("the secret key was written to exhibit.json")
	}
}

// TestStoreCopy moves a folder archive's snapshots to a real S3 server: the
// archive then reads them from the bucket and audits clean, and the folder
// is left in place.
func TestStoreCopy(t *testing.T) {
	g := s3test.Start(t)
	inTemp(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	exhibit(t, "init", "--origin", "test.example/log").want(t, 0)
	os.WriteFile("a.html", []byte("<p>a</p>"), 0o644)
	os.WriteFile("b.html", []byte("<p>bb</p>"), 0o644)
	exhibit(t, "capture", "a.html", "--url", "https://example.org/a").want(t, 0)
	exhibit(t, "capture", "b.html", "--url", "https://example.org/b").want(t, 0)

	exhibit(t, "store", "copy").want(t, 2, "needs --to")
	exhibit(t, "store", "copy", "--to", "s3://moved").want(t, 2, "--s3-endpoint")
	exhibit(t, "store", "copy", "--to", "https://moved", "--s3-endpoint", g.Endpoint).want(t, 2, "want s3://BUCKET")
	exhibit(t, "store", "copy", "--to", "s3://moved", "--s3-endpoint", g.Endpoint, "--concurrency", "0").want(t, 2, "--concurrency")
	exhibit(t, "store", "copy", "--to", "s3://moved/matter-7", "--s3-endpoint", g.Endpoint, "--s3-path-style").want(t, 1, "does not exist")

	exhibit(t, "store", "copy", "--to", "s3://moved/matter-7", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket").want(t, 0,
		"objects  2: 2 copied (17 bytes), 0 already there", "verified 2 re-read", "the archive now uses s3://moved/matter-7/ ("+g.Endpoint+")",
		"left in place")
	cfg, _ := os.ReadFile("exhibit-archive/exhibit.json")
	if !strings.Contains(string(cfg), `"type": "s3"`) || !strings.Contains(string(cfg), `"bucket": "moved"`) || strings.Contains(string(cfg), g.SecretKey) {
		t.Errorf("exhibit.json after store copy:\n%s", cfg)
	}
	if _, err := os.Stat(filepath.Join("exhibit-archive", "objects", "sha256", sha256hex("<p>a</p>")[:2], sha256hex("<p>a</p>"))); err != nil {
		t.Errorf("the source object was not left in place: %v", err)
	}
	exhibit(t, "audit").want(t, 0, "objects  2 re-hashed", "audit: ok")
	// New captures go to the bucket.
	os.WriteFile("c.html", []byte("<p>ccc</p>"), 0o644)
	exhibit(t, "capture", "c.html", "--url", "https://example.org/c").want(t, 0)
	exhibit(t, "audit", "-o", "json").want(t, 0, `"ok": true`, `"objects": 3`)
	exhibit(t, "store", "copy", "--to", "s3://moved/matter-7", "--s3-endpoint", g.Endpoint, "--s3-path-style").want(t, 2, "already the archive's store")
}

// TestVerifyOnline: verify --log checks that the bundle's checkpoint is in
// the log published at a URL, here served by exhibit's own api package.
func TestVerifyOnline(t *testing.T) {
	inTemp(t)
	for i := range 3 {
		os.WriteFile(fmt.Sprintf("d%d.html", i), []byte(fmt.Sprintf("<p>%d</p>", i)), 0o644)
	}
	r := exhibit(t, "capture", "d0.html", "--url", "https://example.org/0", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "capture", "d1.html", "--url", "https://example.org/1").want(t, 0)
	exhibit(t, "capture", "d2.html", "--url", "https://example.org/2").want(t, 0)
	// The bundle against the checkpoint the first record was published with.
	bundle := proveFile(t, rec.RecordID)

	a, err := archive.Open(context.Background(), "exhibit-archive", archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	exhibit(t, "verify", bundle, "--log", srv.URL).want(t, 0, "ok   log-consistency", "serves tree size 3", "contains the bundle's tree size 1")
	// A log that is not this one (another archive's) fails the check.
	other := t.TempDir()
	exhibit(t, "--archive", other+"/a", "init").want(t, 0)
	exhibit(t, "--archive", other+"/a", "capture", "d1.html", "--url", "https://example.org/1").want(t, 0)
	b, err := archive.Open(context.Background(), other+"/a", archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	srv2 := httptest.NewServer(api.New(b, api.Options{}))
	defer srv2.Close()
	exhibit(t, "verify", bundle, "--log", srv2.URL).want(t, 1, "FAIL log-consistency")

	// A hostile log that streams without end: refused at the bound,
	// naming the URL, by verify --log and by monitor.
	h := api.New(a, api.Options{})
	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/checkpoint" && !strings.HasPrefix(r.URL.Path, "/tile/0/") {
			h.ServeHTTP(w, r)
			return
		}
		buf := make([]byte, 64<<10)
		for sent := 0; sent < 256<<20; sent += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	defer hostile.Close()
	exhibit(t, "verify", bundle, "--log", hostile.URL).want(t, 1, "FAIL log-consistency", hostile.URL+"/checkpoint: the response is over 65536 bytes, larger than any checkpoint can be")
	exhibit(t, "monitor", hostile.URL, "--once", "--state", "hostile.state").want(t, 1, hostile.URL+"/checkpoint: the response is over 65536 bytes")
}

// TestQuickStartOffline runs the README's offline quick start as written:
// a file that ships in the repository, no corpus, no network.
func TestQuickStartOffline(t *testing.T) {
	doc, err := filepath.Abs(filepath.Join("..", "..", "docs", "example", "terms.html"))
	if err != nil {
		t.Fatal(err)
	}
	inTemp(t)
	r := exhibit(t, "capture", doc, "--url", "https://example.com/terms",
		"--entity", "Example", "--document", "Terms of Service", "--fetched-at", "2026-05-08T11:13:55Z")
	r.want(t, 0, "created archive ./exhibit-archive", "archived a supplied copy of https://example.com/terms (URL claimed), 40 bytes",
		"sha256   93d7e5e64a07dcc698778c8b5987fff8aa8f3839f06fb5d5d828525229a29beb", "published with checkpoint 1 (exhibit-archive/checkpoints/001)",
		"cite as  Example, “Terms of Service” (copy supplied to exhibit ")
}

// TestInitAWSLog creates an archive whose log is on S3 and MariaDB with
// exhibit init --log-db, captures, verifies and audits through the CLI;
// a DSN with a password and --log-db without an S3 store are refused.
func TestInitAWSLog(t *testing.T) {
	o, db, g := archivetest.AWS(t, "cli.test/log")
	inTemp(t)
	dsn := o.Log.DSN
	withPassword := db.DSN("x")
	exhibit(t, "init", "--log-db", dsn).want(t, 2, "--log-db DSN needs --store")
	exhibit(t, "init", "--store", "s3://evidence/matter", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket",
		"--log-db", withPassword).want(t, 2, "holds a password")
	exhibit(t, "init", "--index-db", o.Log.IndexDSN).want(t, 2, "go with --log-db")
	exhibit(t, "init", "--origin", "cli.test/log", "--store", "s3://evidence/matter", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket",
		"--log-db", dsn, "--index-db", o.Log.IndexDSN).want(t, 0, "log     s3://evidence/matter/log/, sequenced in "+dsn, "index   "+o.Log.IndexDSN)
	os.WriteFile("doc.html", []byte("<p>terms</p>"), 0o644)
	r := exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "verify", proveFile(t, rec.RecordID), "--snapshot", "doc.html").want(t, 0, "verified")
	exhibit(t, "audit").want(t, 0, "audit: ok")
	cfg, _ := os.ReadFile("exhibit-archive/exhibit.json")
	if strings.Contains(string(cfg), mariadbtest.Password) || strings.Contains(string(cfg), g.SecretKey) {
		t.Error("a secret was written to exhibit.json")
	}
	// Without the password, the archive does not open for writing, and
	// says why.
	t.Setenv(archive.EnvDBPassword, "")
	exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms2").want(t, 1, "database")
}

// TestMissingArchive checks that a command that writes, given an --archive
// directory that holds no archive (a typo), fails naming the path and
// exhibit init, creating nothing; without --archive, the default archive
// is created on first use.
func TestMissingArchive(t *testing.T) {
	dir := inTemp(t)
	os.WriteFile("doc.html", []byte("<p>doc</p>"), 0o644)
	os.WriteFile("manifest.jsonl", []byte(`{"file":"doc.html","url":"https://example.org/doc","fetched_at":"2026-05-08T11:13:55Z"}`+"\n"), 0o644)
	typo := filepath.Join(dir, "exhibit-archvie")
	for _, args := range [][]string{
		{"capture", "doc.html", "--url", "https://example.org/doc"},
		{"import", "manifest.jsonl"},
		{"track", "add", "https://example.org/doc", "--entity", "E", "--document", "D"},
	} {
		r := exhibit(t, append([]string{"--archive", typo}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, typo) || !strings.Contains(r.stderr, "exhibit --archive "+typo+" init") {
			t.Errorf("%s into a missing --archive: exit %d, stderr %q; want an error naming the path and exhibit init", args[0], r.code, r.stderr)
		}
		if _, err := os.Stat(typo); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s into a missing --archive created %s", args[0], typo)
		}
	}
	exhibit(t, "capture", "doc.html", "--url", "https://example.org/doc").want(t, 0, "created archive ./exhibit-archive")
}
