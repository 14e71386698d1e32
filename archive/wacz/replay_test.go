package wacz_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/render/replaytest"
	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestBrowserCaptureReplays is issue 12's proof in the library: the
// scripted page (its clause inserted by a script, from a response fetched
// after load) rendered in Chromium, its WARC packaged by Build, replays in
// ReplayWeb.page with the origin gone, the clause in the replayed page;
// and warcio.js reads the package's WARC, every record's digests
// checking.
func TestBrowserCaptureReplays(t *testing.T) {
	bin := rendertest.Chromium(t)
	replaytest.Prefix(t)
	t.Cleanup(func() {
		if left := rendertest.Leftovers(); len(left) > 0 {
			t.Errorf("browsers left running: %v", left)
		}
	})
	srv := httptest.NewServer(rendertest.ScriptedPage())
	pageURL := srv.URL + "/terms"
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), pageURL, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	// What replays comes from the package: the origin is gone.
	srv.Close()

	started, err := time.Parse(time.RFC3339Nano, res.Observed.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	var pkg bytes.Buffer
	if err := wacz.Build(context.Background(), &pkg, wacz.Input{
		WARC:     res.WARC,
		Pages:    []wacz.Page{{URL: pageURL, TS: started, Title: "Terms of Service"}},
		Created:  started,
		Software: "exhibit test",
		Key:      testKey(t),
	}); err != nil {
		t.Fatal(err)
	}

	text, err := replaytest.Replay(t, pkg.Bytes(), pageURL, rendertest.Clause, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "These terms govern your use of the service.") {
		t.Errorf("replayed text %q lacks the page's static text", text)
	}

	// The WARC as the package holds it, read by warcio.js.
	zr, err := zip.NewReader(bytes.NewReader(pkg.Bytes()), int64(pkg.Len()))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(verify.WACZWARC)
	if err != nil {
		t.Fatal(err)
	}
	warc, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := replaytest.WARCRecords(t, warc)
	if err != nil {
		t.Fatal(err)
	}
	responses := replaytest.CheckDigests(t, recs)
	if len(recs) == 0 || recs[0].Type != "warcinfo" {
		t.Errorf("warcio read %d records, the first not a warcinfo: %+v", len(recs), recs)
	}
	for _, want := range []string{pageURL, srv.URL + "/clause.json"} {
		if !slices.Contains(responses, want) {
			t.Errorf("no 200 response record of %s among %v", want, responses)
		}
	}
	t.Logf("warcio read %d records; %d responses of status 200", len(recs), len(responses))
}

// TestReplayWebPageVerification reads ReplayWeb.page's own verification
// summary of a package Build wrote (issue 12: a newcomer saw "1 hashes
// verified, 2 invalid" in its Archive Info). ReplayWeb.page 2.5.3 shows
// that for any WACZ with pages and a CDX index, whatever its files and
// signature (replaytest.Verification cites the source): the test asserts
// that documented state for a good package and for one whose signature
// was altered, which exhibit refuses; if ReplayWeb.page starts checking
// (an upgrade), the assertions fail and the documentation must change.
func TestReplayWebPageVerification(t *testing.T) {
	rendertest.Chromium(t)
	replaytest.Prefix(t)
	t.Cleanup(func() {
		if left := rendertest.Leftovers(); len(left) > 0 {
			t.Errorf("browsers left running: %v", left)
		}
	})
	in := testInput(t)
	pkg := build(t, in)
	pub, err := wacz.PublicKey(&in.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CheckWACZ(pkg, verify.WACZOptions{}); err != nil {
		t.Fatalf("CheckWACZ: %v", err)
	}

	got, err := replaytest.ReplayVerification(t, pkg, mainURL, "hello", 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ReplayWeb.page: %s", got.Summary())
	if got, want := got.Summary(), "1 hashes verified, 2 invalid"; got != want {
		t.Errorf("ReplayWeb.page says %q, want the documented %q", got, want)
	}
	if got.PublicKey != pub || got.Software != in.Software {
		t.Errorf("ReplayWeb.page shows public key %q, software %q; want %q, %q", got.PublicKey, got.Software, pub, in.Software)
	}

	// The signature altered in place (same length): exhibit refuses it,
	// ReplayWeb.page shows the same summary.
	var digest verify.WACZDigest
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open(verify.WACZDigestFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(f).Decode(&digest); err != nil {
		t.Fatal(err)
	}
	sig := digest.SignedData.Signature
	bad := []byte(sig)
	if bad[10] == 'A' {
		bad[10] = 'B'
	} else {
		bad[10] = 'A'
	}
	tampered := bytes.Replace(pkg, []byte(sig), bad, 1)
	if bytes.Equal(tampered, pkg) {
		t.Fatal("the signature was not found in the package")
	}
	if _, err := verify.CheckWACZ(tampered, verify.WACZOptions{}); err == nil {
		t.Fatal("CheckWACZ accepted an altered signature")
	}
	gotBad, err := replaytest.ReplayVerification(t, tampered, mainURL, "hello", 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ReplayWeb.page, signature altered: %s", gotBad.Summary())
	if gotBad != got {
		t.Errorf("ReplayWeb.page says %+v for an altered signature, %+v for the good one: it now checks signatures; update replaytest.Verification's doc and README", gotBad, got)
	}
}
