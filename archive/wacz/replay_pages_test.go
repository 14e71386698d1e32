package wacz_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/render/replaytest"
	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

// capturePackage renders pageURL in Chromium and packages its WARC as
// Build does for a capture, failing the test if either fails. It skips
// the test (fails it under CI=true) where Chromium or the replay tools
// are missing, and checks that no browser is left running.
func capturePackage(t *testing.T, pageURL string) (*render.Result, []byte) {
	t.Helper()
	bin := rendertest.Chromium(t)
	replaytest.Prefix(t)
	t.Cleanup(func() {
		if left := rendertest.Leftovers(); len(left) > 0 {
			t.Errorf("browsers left running: %v", left)
		}
	})
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), pageURL, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	started, err := time.Parse(time.RFC3339Nano, res.Observed.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	var pkg bytes.Buffer
	if err := wacz.Build(context.Background(), &pkg, wacz.Input{
		WARC:     res.WARC,
		Pages:    []wacz.Page{{URL: pageURL, TS: started}},
		Created:  started,
		Software: "exhibit test",
		Key:      testKey(t),
	}); err != nil {
		t.Fatal(err)
	}
	return res, pkg.Bytes()
}

// warcRecords reads the package's WARC with warcio.js, every record's
// digests checking, and returns its response records by target URI.
func warcRecords(t *testing.T, pkg []byte) map[string]replaytest.WARCRecord {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
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
	replaytest.CheckDigests(t, recs)
	out := map[string]replaytest.WARCRecord{}
	for _, r := range recs {
		if r.Type == "response" {
			out[r.TargetURI] = r
		}
	}
	return out
}

// TestCrossOriginIframeReplays (issue 12, found by a newcomer): a page
// embedding a document of another site (127.0.0.2, so that Chromium puts
// it in a process of its own) replays with the embedded document's text,
// the origins gone. The child allows framing by the parent's origin only
// (CSP frame-ancestors), which the replay, served from another origin,
// must not enforce: wabac.js renames the header (X-Archive-Orig-…).
//
// Two faults, both exhibit's. The capture's: with site isolation,
// Chromium loads a frame of another site in a process and target of its
// own, whose loadingFinished the page's session never got, so the frame's
// response record had no body (Exhibit-Body-Omitted: unfinished) and its
// index entry served an empty document; render now runs Chromium without
// site isolation. The harness's: Replay read the text of the replayed
// page only, found by its address (modifier mp_), while wabac.js replays
// an iframe under the modifier if_ and wombat.js makes the frame's
// location read as the archived URL; Replay now reads every frame nested
// in the replayed page.
func TestCrossOriginIframeReplays(t *testing.T) {
	const inFrame = "This clause is shown in a frame of another site."
	frameBody := "<!DOCTYPE html><html><head><title>frame</title></head><body><p>" + inFrame + "</p></body></html>"
	var parentOrigin string
	child := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "frame-ancestors "+parentOrigin)
		io.WriteString(w, frameBody)
	}))
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address for a cross-site frame: %v", err)
	}
	child.Listener.Close()
	child.Listener = ln
	child.Start()
	defer child.Close()
	frameURL := child.URL + "/frame"
	parent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>parent</title></head><body><p>The parent page.</p><iframe src="%s" width="600" height="200"></iframe></body></html>`, frameURL)
	}))
	defer parent.Close()
	parentOrigin = parent.URL
	pageURL := parent.URL + "/page"

	_, pkg := capturePackage(t, pageURL)
	parent.Close()
	child.Close()

	responses := warcRecords(t, pkg)
	for _, u := range []string{pageURL, frameURL} {
		if r, ok := responses[u]; !ok || r.HTTPStatus != 200 {
			t.Errorf("no 200 response record of %s: %+v", u, r)
		}
	}
	sum := sha256.Sum256([]byte(frameBody))
	if got, want := responses[frameURL].Payload, "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("the frame's response record has payload digest %s, not that of the frame's body, %s (no body: the frame's loading was not seen)", got, want)
	}
	text, err := replaytest.Replay(t, pkg, pageURL, inFrame, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "The parent page.") {
		t.Errorf("the frame's text %q holds the parent's: Replay did not read the frame's own document", text)
	}
}

// TestWrongCharsetReplaysAsLive (issue 12, found by a newcomer): a page
// whose header says ISO-8859-1 while its bytes are UTF-8 shows mojibake
// in Chromium ("cafÃ©"); its replay must show the same, not worse. It
// showed "cafÃƒÂ©": Network.getResponseBody gives a text body decoded
// (by the header's charset), and the WARC held that text as UTF-8 under
// the same header, so the replay decoded it twice. The WARC now holds the
// bytes as served (its payload digest is theirs).
//
// A page whose <meta charset="utf-8"> disagrees with such a header is
// pinned as ReplayWeb.page 2.5.3 (wabac.js 2.27.3) shows it, which is
// wabac.js's fault, not the WARC's: its HTML rewriter reads a body
// without a UTF-8 header charset as Latin-1 and, from the <meta> on,
// writes it out as UTF-8 (src/rewrite/html.ts, isCharsetUTF8 set by the
// meta tag), while Chromium still decodes the result by the header. The
// text after the <meta> is garbled twice; README says so. If wabac.js
// fixes it, the pinned assertion fails and README must change.
func TestWrongCharsetReplaysAsLive(t *testing.T) {
	const words = "café naïve"
	// What Chromium shows of the UTF-8 bytes of words read as
	// windows-1252, and what the replay showed before the fix.
	const live, twice = "cafÃ© naÃ¯ve", "cafÃƒÂ© naÃƒÂ¯ve"
	pages := map[string]string{
		"/header": "<!DOCTYPE html><html><head><title>header</title></head><body><p>" + words + "</p></body></html>",
		"/meta":   `<!DOCTYPE html><html><head><meta charset="utf-8"><title>meta</title></head><body><p>` + words + "</p></body></html>",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		io.WriteString(w, body)
	}))
	defer srv.Close()

	for _, tc := range []struct {
		path string
		want string // in the replay
		not  string // not in it
	}{
		{"/header", live, twice},
		// wabac.js's fault, pinned: see the test's doc.
		{"/meta", twice, live},
	} {
		t.Run(tc.path, func(t *testing.T) {
			pageURL := srv.URL + tc.path
			res, pkg := capturePackage(t, pageURL)
			// Chromium showed the mojibake: the DOM it serialized holds it.
			if !strings.Contains(string(res.DOM), live) {
				t.Fatalf("Chromium's DOM lacks %q: %.300s", live, res.DOM)
			}
			sum := sha256.Sum256([]byte(pages[tc.path]))
			if !bytes.Equal(res.Body, []byte(pages[tc.path])) {
				t.Errorf("the main document's body is %q, not the bytes served %q", res.Body, pages[tc.path])
			}
			r := warcRecords(t, pkg)[pageURL]
			if got, want := r.Payload, "sha256:"+hex.EncodeToString(sum[:]); got != want {
				t.Errorf("the response record's payload digest is %s, not that of the bytes served, %s", got, want)
			}
			text, err := replaytest.Replay(t, pkg, pageURL, tc.want, 180*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text, tc.not) {
				t.Errorf("the replay shows %q", tc.not)
			}
		})
	}
}
