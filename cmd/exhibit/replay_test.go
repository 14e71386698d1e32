package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/render/replaytest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCaptureBrowserReplays is issue 12 end to end: the scripted page
// (its clause inserted by a script after load, from a response fetched
// after load) captured with capture --browser, its WACZ taken from the
// evidence package export writes, opens in ReplayWeb.page in headless
// Chromium with the origin gone, and the clause is in the replayed page;
// warcio.js reads the WACZ's WARC, every record's digests checking, with
// the page's and the clause's responses among them.
func TestCaptureBrowserReplays(t *testing.T) {
	rendertest.Chromium(t)
	replaytest.Prefix(t)
	inTemp(t)
	t.Cleanup(func() {
		if left := rendertest.Leftovers(); len(left) > 0 {
			t.Errorf("browser processes left: %v", left)
		}
	})
	srv := httptest.NewServer(rendertest.ScriptedPage())
	page := srv.URL + "/terms"

	r := exhibit(t, "capture", page, "--browser", "-o", "json")
	r.want(t, 0)
	var rec browserRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Rendering == nil || rec.Rendering.WACZ == nil {
		t.Fatalf("the capture names no WACZ: %s", r.stdout)
	}
	// Replay reads the package, never the origin.
	srv.Close()

	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 0)
	zr, err := zip.OpenReader("p.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	wacz := readZipFile(t, &zr.Reader, verify.PackageRenderingDir+"capture.wacz")
	if sum := sha256.Sum256(wacz); hex.EncodeToString(sum[:]) != rec.Rendering.WACZ.SHA256 {
		t.Fatalf("the package's capture.wacz is not the one the record names (%s)", rec.Rendering.WACZ.SHA256)
	}

	text, err := replaytest.Replay(t, wacz, page, rendertest.Clause, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "These terms govern your use of the service.") {
		t.Errorf("replayed text %q lacks the page's static text", text)
	}

	wr, err := zip.NewReader(bytes.NewReader(wacz), int64(len(wacz)))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := replaytest.WARCRecords(t, readZipFile(t, wr, verify.WACZWARC))
	if err != nil {
		t.Fatal(err)
	}
	responses := replaytest.CheckDigests(t, recs)
	for _, want := range []string{page, srv.URL + "/clause.json"} {
		if !slices.Contains(responses, want) {
			t.Errorf("warcio found no 200 response record of %s among %v", want, responses)
		}
	}
	t.Logf("warcio read %d records, every digest checking; 200 responses: %v", len(recs), responses)
}

func readZipFile(t *testing.T, zr *zip.Reader, name string) []byte {
	t.Helper()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}
