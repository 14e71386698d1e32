// This file is not built with exhibit: it is the generator of
// archive/testdata/v1, written against exhibit's format-1 API (commit
// 74ab0a2, the last release that wrote bundles/<record ID>.json and kept
// only the latest checkpoint). gen.sh copies it into a worktree of that
// commit and runs it there.

package archive_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/ledger/witnesstest"
)

var genOut = flag.String("gen-out", "", "where to write the format-1 archive")

func TestGenerateV1(t *testing.T) {
	if *genOut == "" {
		t.Skip("no -gen-out")
	}
	ctx := context.Background()
	keyPEM, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	const origin = "v1.example/log"
	s, err := ledger.NewSigner(keyPEM, origin)
	if err != nil {
		t.Fatal(err)
	}
	ws := witnesstest.Start(t, 3, s.PublicKey())
	policy := "# two of three\n" + ws[0].PolicyLine() + ws[1].PolicyLine() + ws[2].PolicyLine() +
		"group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"
	tsa := tsatest.Start(t)
	target, _ := url.Parse(tsa.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var tsaOff atomic.Bool
	tsaSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tsaOff.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer tsaSrv.Close()

	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{
		Origin: origin, KeyPEM: keyPEM, WitnessPolicy: []byte(policy),
		TSAURL: tsaSrv.URL + "/api/v1/timestamp", TSARootsPEM: tsa.ChainPEM,
	}); err != nil {
		t.Fatal(err)
	}
	open := func() *archive.Archive {
		a, err := archive.Open(ctx, dir, archive.OpenOptions{
			Write: true, Ledger: ledger.Config{WitnessTimeout: 2 * time.Second},
			WitnessWait: 10 * time.Second, TSATimeout: 2 * time.Second, TSARetryInterval: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// A web server with a policy page that changes.
	var page atomic.Value
	page.Store(`<html><head><title>Privacy</title></head><body><main><h1>Privacy Statement</h1>
<p>We collect the e-mail address you give us.</p>
<p>We do not use your audio recordings to train our models.</p></main></body></html>`)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page.Load())
	}))
	defer web.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := l.Addr().String()
	l.Close()

	a := open()
	files := t.TempDir()
	upload := func(name, body, claimedURL string, at time.Time) *archive.Record {
		p := filepath.Join(files, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := a.CaptureFile(ctx, p, archive.FileOptions{Entity: "Example", Document: name, URL: claimedURL, FetchedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	at := time.Date(2026, 8, 22, 0, 30, 13, 0, time.UTC)
	upload("terms.html", "<html><body><p>Terms of service, version one.</p></body></html>", "https://example.com/terms", at)
	upload("privacy.html", "<html><body><p>Privacy policy, version one.</p></body></html>", "https://example.com/privacy", at.Add(time.Hour))
	upload("notes.txt", "A note received by e-mail, no URL claimed.\n", "", time.Time{})
	if _, err := a.Capture(ctx, web.URL+"/privacy", archive.CaptureOptions{Entity: "Example", Document: "Live Privacy"}); err != nil {
		t.Fatal(err)
	}
	if r, err := a.Capture(ctx, "http://"+closedPort+"/gone", archive.CaptureOptions{Entity: "Example", Document: "Gone"}); err != nil || r.Outcome != "failed" {
		t.Fatalf("failed capture: %v %+v", err, r)
	}
	// A bulk import.
	man := filepath.Join(files, "import")
	os.MkdirAll(man, 0o755)
	var lines string
	for i := range 5 {
		name := fmt.Sprintf("doc%d.html", i)
		os.WriteFile(filepath.Join(man, name), fmt.Appendf(nil, "<p>imported document %d</p>", i), 0o644)
		lines += fmt.Sprintf(`{"entity":"Importer","document":"Doc %d","url":"https://example.org/doc%d","fetched_at":"2025-0%d-01T00:00:00Z","file":%q}`+"\n", i, i, i+1, name)
	}
	os.WriteFile(filepath.Join(man, "manifest.jsonl"), []byte(lines), 0o644)
	entries, err := archive.ReadManifest(filepath.Join(man, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if sum, err := a.Import(ctx, entries, archive.ImportOptions{Concurrency: 4}); err != nil || sum.Imported != 5 {
		t.Fatalf("import: %v %+v", err, sum)
	}
	// Tracking: a declaration, two versions, a provision and its status.
	if _, err := a.Track(ctx, archive.Declaration{Entity: "Example", Document: "Tracked Privacy", URL: web.URL + "/tracked", Select: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	run := archive.RunOptions{All: true, HostDelay: -1, Retries: -1}
	rep, err := a.TrackRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	_ = rep
	doc, err := a.Document(ctx, "example-tracked-privacy")
	if err != nil || doc.Current == nil {
		t.Fatalf("document: %v", err)
	}
	if _, _, err := a.Quote(ctx, doc.Current.RecordID, archive.QuoteOptions{Exact: "We do not use your audio recordings to train our models.", Label: "audio"}); err != nil {
		t.Fatal(err)
	}
	page.Store(`<html><body><main><h1>Privacy Statement</h1>
<p>We collect the e-mail address you give us.</p>
<p>We may use your audio recordings to train our models.</p></main></body></html>`)
	if _, err := a.TrackRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Key rotation with overlap: later checkpoints and envelopes carry
	// both keys' signatures.
	if _, err := archive.Rotate(ctx, dir, archive.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	a = open()
	upload("after-rotation.txt", "Captured after the key rotation.\n", "https://example.com/rotated", time.Time{})
	// A bundle lost and rewritten by reindex against the latest
	// checkpoint: the checkpoint it was first published with is lost with
	// it, in format 1.
	os.Remove(filepath.Join(dir, "bundles", mustID(t, a, "https://example.com/terms")+".json"))
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A capture while the TSA is down, last: its bundle says "pending",
	// and log/timestamps/<size>.pending names it.
	tsaOff.Store(true)
	upload("pending.txt", "Captured while the time-stamping authority was down.\n", "https://example.com/pending", time.Time{})
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "lock"))
	out, _ := filepath.Abs(*genOut)
	os.RemoveAll(out)
	if b, err := exec.Command("cp", "-a", dir, out).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v: %s", err, b)
	}
}

func mustID(t *testing.T, a *archive.Archive, u string) string {
	rs, err := a.Search(context.Background(), archive.SearchQuery{URL: u})
	if err != nil || len(rs) == 0 {
		t.Fatalf("search %s: %v", u, err)
	}
	return rs[0].RecordID
}
