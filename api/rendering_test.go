package api_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestRecordPageRendering: a browser capture's record page shows its
// screenshot (loaded under the page's CSP, in a real browser) and links
// its PDF and DOM; each artefact is served with the media type its
// statement signs, a strict CSP and nosniff, the PDF and DOM as downloads;
// a changed stored artefact is not served.
func TestRecordPageRendering(t *testing.T) {
	bin := rendertest.Chromium(t)
	ctx := context.Background()
	site := httptest.NewServer(rendertest.ScriptedPage())
	defer site.Close()
	w := archivetest.New(t, archive.InitOptions{Origin: "pages.example/log"})
	in := ingest.New(w)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	rec, err := in.Capture(ctx, site.URL+"/terms", ingest.CaptureOptions{Entity: "Render Corp", Browser: true, Render: render.Options{Delay: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := in.Capture(ctx, site.URL+"/terms", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A page taller than the screenshot's bound, reached by a script.
	tall, err := in.Capture(ctx, site.URL+"/tall", ingest.CaptureOptions{Browser: true, Render: render.Options{Delay: -1}})
	if err != nil {
		t.Fatal(err)
	}
	rd := rec.Rendering
	if rd == nil || rd.Screenshot == nil {
		t.Fatalf("browser capture %+v", rec)
	}
	a := archivetest.Reopen(t, w, archive.OpenOptions{})
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body) // a refused object ends early
		return resp, b
	}

	resp, page := get("/records/" + rec.ID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("record page: %d", resp.StatusCode)
	}
	base := "/api/v1/records/" + rec.ID + "/rendering/"
	// "Check offline" names every artefact, as an export names its file
	// (issue 12).
	var args string
	for _, a := range rd.Artefacts() {
		args += " --artefact " + a.Name + "=" + path.Base(verify.RenderingFile(a.Name))
	}
	if !strings.Contains(args, "screenshot=screenshot.png") || !strings.Contains(args, "warc=capture.warc.gz") {
		t.Fatalf("artefact arguments %q", args)
	}
	for _, want := range []string{
		"--record-id " + rec.ID + args + " bundle.json</code>",
		"--snapshot snapshot.bin" + args + " bundle.json</code>",
		`<img id="screenshot" src="` + base + `screenshot"`,
		`href="` + base + `pdf"`, `href="` + base + `dom"`, `id="link-warc" href="` + base + `warc"`,
		rd.Screenshot.SHA256, rd.PDF.SHA256, rd.DOM.SHA256, rd.WARC.SHA256,
		rd.Browser.Name + " " + rd.Browser.Version, "settled after ", "the wait rule was met", "Screenshot of the whole page",
		"<dt>Delay after load</dt><dd>1000 ms</dd>",
		"the load event, then at least 1000 ms, then no request in flight for 500 ms, no timer of the page of at most 5000 ms pending",
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("record page lacks %q", want)
		}
	}
	// A cut screenshot is said to be cut, not "of the whole page".
	if _, tallPage := get("/records/" + tall.ID); !strings.Contains(string(tallPage), `id="screenshot-truncated">Screenshot of the top 16384 pixels only</strong>: the page was 20000 CSS pixels high`) ||
		strings.Contains(string(tallPage), "Screenshot of the whole page") {
		t.Errorf("the record page of a page taller than the screenshot does not say it is cut")
	}

	for _, tc := range []struct{ name, mediaType, disposition, ext string }{
		{"screenshot", verify.MediaTypePNG, "inline", ".png"},
		{"pdf", verify.MediaTypePDF, "attachment", ".pdf"},
		{"dom", verify.MediaTypeHTML, "attachment", ".html"},
		{"warc", verify.MediaTypeWARC, "attachment", ".warc.gz"},
		{"wacz", verify.MediaTypeWACZ, "attachment", ".wacz"},
	} {
		resp, body := get(base + tc.name)
		art := rd.Artefact(tc.name)
		if resp.StatusCode != http.StatusOK || verify.SHA256Hex(body) != art.SHA256 {
			t.Fatalf("%s: status %d, SHA-256 %s, want %s", tc.name, resp.StatusCode, verify.SHA256Hex(body), art.SHA256)
		}
		h := resp.Header
		if h.Get("Content-Type") != tc.mediaType || h.Get("Content-Security-Policy") != "default-src 'none'; sandbox" ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), tc.disposition+";") ||
			!strings.HasSuffix(h.Get("Content-Disposition"), tc.ext+`"`) {
			t.Errorf("%s: headers %v", tc.name, h)
		}
	}
	for _, p := range []string{base + "har", "/api/v1/records/" + plain.ID + "/rendering/screenshot"} {
		if resp, _ := get(p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
	}
	if resp, page := get("/records/" + plain.ID); resp.StatusCode != http.StatusOK || strings.Contains(string(page), "--artefact") {
		t.Errorf("plain record page: %d, or it asks for --artefact", resp.StatusCode)
	}

	// A real browser loads the screenshot into the page, under its CSP.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/records/"+rec.ID)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(tctx, chromedp.Evaluate[int](`(async () => { const i = document.getElementById('screenshot'); await i.decode(); return i.naturalWidth; })()`, func(p *runtime.EvaluateParams) { yes := true; p.AwaitPromise = &yes }))
	if err != nil || width != rd.Viewport.Width {
		t.Errorf("the screenshot in the page is %d px wide (%v), want %d", width, err, rd.Viewport.Width)
	}
	cancelB()

	// A changed stored screenshot is not served.
	obj := filepath.Join(a.Dir(), "objects", "sha256", rd.Screenshot.SHA256[:2], rd.Screenshot.SHA256)
	b, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	os.Chmod(obj, 0o644)
	if err := os.WriteFile(obj, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if resp, body := get(base + "screenshot"); resp.StatusCode == http.StatusOK || verify.SHA256Hex(body) == verify.SHA256Hex(b) {
		t.Errorf("a changed screenshot is served: status %d", resp.StatusCode)
	}
}

// TestRecordPageNavigated: the record page of a browser capture whose
// page navigated by itself to another document says so as it says a
// redirect, and so does the list of records; it labels every artefact for
// people, says what "settled" means, and, in a browser window 1280 pixels
// wide, does not scroll sideways.
func TestRecordPageNavigated(t *testing.T) {
	bin := rendertest.Chromium(t)
	ctx := context.Background()
	site := httptest.NewServer(rendertest.ScriptedPage())
	defer site.Close()
	w := archivetest.New(t, archive.InitOptions{Origin: "pages.example/log"})
	in := ingest.New(w)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	rec, err := in.Capture(ctx, site.URL+"/js-redirect", ingest.CaptureOptions{Entity: "Render Corp", Browser: true,
		Render: render.Options{WaitFor: "#clause", Delay: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if rd := rec.Rendering; rd == nil || len(rd.Navigations) != 1 || rd.WACZ == nil {
		t.Fatalf("browser capture %+v", rec)
	}
	a := archivetest.Reopen(t, w, archive.OpenOptions{})
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	terms := site.URL + "/terms"
	page := get("/records/" + rec.ID)
	for _, want := range []string{
		`<p class="notice" id="redirect-notice">The page at <span class="url">` + site.URL + `/js-redirect</span> <strong>navigated by itself</strong> to another document (navigated by script to ` + terms + `)`,
		html.EscapeString(", navigated by script to " + terms + "), exhibit record " + rec.ID),
		`id="link-wacz" href="/api/v1/records/` + rec.ID + `/rendering/wacz">Web archive (WACZ, replayable`,
		`id="settled-meaning">` + html.EscapeString(cite.SettledMeaning),
		"<dt>Wait rule</dt>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("record page lacks %q", want)
		}
	}
	if strings.Contains(page, ">wacz</a>") {
		t.Error("the WACZ link is labelled by its field name")
	}
	if want := `<span class="claim redirected">navigated by script to ` + terms + `</span>`; !strings.Contains(get("/"), want) {
		t.Errorf("GET / does not mark the navigated capture with %q", want)
	}

	// In a window 1280 pixels wide, the page does not scroll sideways.
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1280, 800))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	if err := chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/records/"+rec.ID)); err != nil {
		t.Fatal(err)
	}
	// The widest elements that stick out of the window, for the message.
	wide, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](`(() => {
		const w = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth <= w) return [];
		return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 0.5)
			.map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '') + ' right=' + Math.round(e.getBoundingClientRect().right) + ' of ' + w).slice(0, 10);
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(wide) > 0 {
		t.Errorf("the record page scrolls sideways in a 1280 px window: %s", strings.Join(wide, "; "))
	}
}
