package export_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestExportBrowser exports a browser capture: the package holds the
// screenshot, PDF and DOM under rendering/, verifies, and its certificate
// and VERIFY.md name them; each artefact flipped, forged (with the
// manifest rewritten to match), removed or added is caught, naming the
// file.
func TestExportBrowser(t *testing.T) {
	bin := rendertest.Chromium(t)
	a := archivetest.New(t, archive.InitOptions{})
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	in := ingest.New(a)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	rec, err := in.Capture(context.Background(), srv.URL+"/terms", ingest.CaptureOptions{Entity: "Render Corp", Document: "Terms", Browser: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Rendering == nil || rec.Outcome != verify.OutcomeCaptured {
		t.Fatalf("browser capture %+v", rec)
	}
	data := build(t, a, rec.ID, export.Options{})
	files := unzip(t, data)
	for _, art := range rec.Rendering.Artefacts() {
		f := verify.RenderingFile(art.Name)
		if got := files[f]; verify.SHA256Hex(got) != art.SHA256 {
			t.Fatalf("%s: SHA-256 %s, want %s", f, verify.SHA256Hex(got), art.SHA256)
		}
	}
	if !bytes.Contains(files[verify.RenderingFile("dom")], []byte(rendertest.Clause)) {
		t.Error("the package's DOM lacks the clause")
	}
	cert := string(files[verify.PackageCertificateHTML])
	for _, s := range []string{"headless web browser", "rendering/screenshot.png", "rendering/page.pdf", "rendering/dom.html", "rendering/capture.warc.gz", "Wait rule"} {
		if !strings.Contains(cert, s) {
			t.Errorf("the certificate lacks %q", s)
		}
	}
	if !strings.Contains(string(files[verify.PackageInstructions]), "rendering/page.pdf is the signed pdf") {
		t.Error("VERIFY.md does not check the PDF")
	}
	rep := check(data, a.Key())
	var artefactChecks, waczChecks int
	for _, c := range rep.Checks {
		if c.Name == verify.CheckArtefactDigest && c.OK {
			artefactChecks++
		}
	}
	for _, c := range rep.Checks {
		if c.Name == verify.CheckWACZArtefact && c.OK && c.File == verify.RenderingFile("wacz") {
			waczChecks++
		}
	}
	if waczChecks != 1 {
		t.Errorf("%d passed wacz checks of %s, want 1", waczChecks, verify.RenderingFile("wacz"))
	}
	if !rep.Verified || artefactChecks != len(verify.ArtefactKinds) {
		t.Fatalf("verified %v with %d artefact checks, want %d", rep.Verified, artefactChecks, len(verify.ArtefactKinds))
	}

	for _, art := range verify.ArtefactNames() {
		fname := verify.RenderingFile(art)
		t.Run("flip/"+art, func(t *testing.T) {
			bad := bytes.Clone(data)
			bad[dataOffset(t, data, fname)+int64(len(files[fname])/2)] ^= 0x01
			wantNamed(t, check(bad, a.Key()), fname)
		})
		t.Run("forge/"+art, func(t *testing.T) {
			forged := clone(files)
			forged[fname][len(forged[fname])/2] ^= 0x01
			rewriteManifest(t, forged)
			zipData, err := verify.WritePackage(forged)
			if err != nil {
				t.Fatal(err)
			}
			rep := check(zipData, a.Key())
			wantNamed(t, rep, fname)
			for _, c := range rep.Checks {
				if c.File == fname && !c.OK && c.Name != verify.CheckArtefactDigest {
					t.Errorf("the forged %s fails %s, want %s", art, c.Name, verify.CheckArtefactDigest)
				}
			}
		})
		t.Run("remove/"+art, func(t *testing.T) {
			less := clone(files)
			delete(less, fname)
			rewriteManifest(t, less)
			zipData, _ := verify.WritePackage(less)
			wantNamed(t, check(zipData, a.Key()), fname)
		})
	}
	t.Run("extra", func(t *testing.T) {
		more := clone(files)
		more["rendering/har.json"] = []byte("{}")
		rewriteManifest(t, more)
		zipData, _ := verify.WritePackage(more)
		wantNamed(t, check(zipData, a.Key()), "rendering/har.json")
	})

	// VERIFY.md's steps, with the stock tools, check the artefacts too.
	for _, tool := range []string{"unzip", "sha256sum", "openssl", "jq", "python3", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			needTool(t, tool)
		}
	}
	dir := t.TempDir()
	zipPath := filepath.Join(dir, "p.zip")
	os.WriteFile(zipPath, data, 0o644)
	if out, err := exec.Command("unzip", "-q", zipPath, "-d", filepath.Join(dir, "p")).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v\n%s", err, out)
	}
	pkg := filepath.Join(dir, "p")
	cmd := verifySteps(t, pkg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("VERIFY.md's steps fail: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "rendering/screenshot.png is the signed screenshot") {
		t.Errorf("VERIFY.md's steps do not check the screenshot:\n%s", out)
	}
	shot := filepath.Join(pkg, "rendering", "screenshot.png")
	b, _ := os.ReadFile(shot)
	b[len(b)/2] ^= 1
	os.WriteFile(shot, b, 0o644)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("VERIFY.md's steps pass with the screenshot changed:\n%s", out)
	}
}

// TestCertificateBrowserWait exports browser captures and reads what the
// certificate says of their wait, from what each statement records: a
// page that settled is said to have met the wait rule, which is stated,
// with what "settled" means; a page taken when the bound ran out is not
// said to have settled; a capture whose browser could not start took
// nothing; and a page that navigated by itself to another document is
// said to be that other document, as a redirect is.
func TestCertificateBrowserWait(t *testing.T) {
	bin := rendertest.Chromium(t)
	a := archivetest.New(t, archive.InitOptions{})
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	ctx := context.Background()
	in := ingest.New(a)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	capture := func(path string, o render.Options) string {
		t.Helper()
		rec, err := in.Capture(ctx, srv.URL+path, ingest.CaptureOptions{Browser: true, Render: o})
		if err != nil {
			t.Fatal(err)
		}
		html, _ := certificateText(t, build(t, a, rec.ID, export.Options{}))
		return html
	}
	settled := capture("/terms", render.Options{WaitFor: "#clause"})
	unsettled := capture("/busy", render.Options{Delay: -1, SettleTimeout: 1500 * time.Millisecond})
	navigated := capture("/js-redirect", render.Options{WaitFor: "#clause", Delay: 100 * time.Millisecond})
	in.SetRenderer(render.New(render.Config{ExecPath: filepath.Join(t.TempDir(), "no-chromium")}))
	unavailable := capture("/terms", render.Options{})

	for _, tc := range []struct {
		name, html     string
		want, dontWant []string
	}{
		{"settled", settled, []string{
			"Once the page had settled, that is once it had met the wait rule (the load event, then no request in flight for 500 ms, no timer of the page of at most 5000 ms pending, an element matching #clause, and no change to the nodes or text of the page for 500 ms (waited for at most 2000 ms); at most 15000 ms from the start of the navigation)",
			"a screenshot of the whole page (PNG)",
			"“settled” means only that the documented wait rule was met; it does not mean the page could change no further",
			"--browser-wait-for", "--browser-delay",
			"Wait outcome", "settled after ",
		}, []string{"NOT settled", "bound ran out", "navigated"}},
		{"unsettled", unsettled, []string{
			"The page had NOT settled (it had not met the wait rule: the load event, then no request in flight for 500 ms, no timer of the page of at most 5000 ms pending, and no change to the nodes or text of the page for 500 ms (waited for at most 2000 ms); at most 1500 ms from the start of the navigation) when the 1500 ms bound ran out; exhibit took the renderings then",
			"NOT settled: the page had not met the wait rule when the 1500 ms bound ran out; it was taken as it was then",
			"“settled” means only",
		}, []string{"Once the page had settled", "settled after"}},
		{"unavailable", unavailable, []string{
			"the attempt FAILED", "browser_unavailable",
			"the capture FAILED (browser_unavailable) before any page was loaded: nothing was taken",
		}, []string{"bound ran out", "settled after", "Once the page had settled", "took the renderings"}},
		{"navigated", navigated, []string{
			"NOTE: the document archived is NOT the one at the URL requested. The page at " + srv.URL + "/js-redirect navigated by itself to another document (navigated by script to " + srv.URL + "/terms)",
			", navigated by script to " + srv.URL + "/terms), exhibit record",
			"Navigation 1", "script to " + srv.URL + "/terms, ",
		}, nil},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.html, w) {
				t.Errorf("%s: the certificate lacks %q", tc.name, w)
			}
		}
		for _, w := range tc.dontWant {
			if strings.Contains(tc.html, w) {
				t.Errorf("%s: the certificate says %q", tc.name, w)
			}
		}
	}
	if strings.Contains(settled, "NOTE: the document archived is NOT") {
		t.Error("the certificate of a page that did not move says it did")
	}
}
