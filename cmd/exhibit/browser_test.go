package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// browserRecord is the part of capture -o json a browser test reads.
type browserRecord struct {
	RecordID  string            `json:"record_id"`
	SHA256    string            `json:"sha256"`
	Outcome   string            `json:"outcome"`
	Method    string            `json:"method"`
	Failure   *verify.Failure   `json:"failure"`
	Rendering *verify.Rendering `json:"rendering"`
}

func objectPath(digest string) string {
	return filepath.Join("exhibit-archive", "objects", "sha256", digest[:2], digest)
}

func object(t *testing.T, digest string) []byte {
	t.Helper()
	b, err := os.ReadFile(objectPath(digest))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCaptureRefusePrivateTargets: with --refuse-private-targets a
// loopback page is a failed capture, reason connect, fetched or in the
// browser, and no request reaches it; without it the CLI captures it.
func TestCaptureRefusePrivateTargets(t *testing.T) {
	rendertest.Chromium(t)
	inTemp(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>intranet</html>"))
	}))
	defer srv.Close()
	for _, args := range [][]string{{}, {"--browser"}} {
		r := exhibit(t, append([]string{"capture", srv.URL + "/page", "--refuse-private-targets", "-o", "json"}, args...)...)
		r.want(t, 1, `"outcome":"failed"`, `"reason":"connect"`, "address not allowed")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the loopback page, want 0", n)
	}
	exhibit(t, "capture", srv.URL+"/page").want(t, 0)
}

// TestCaptureBrowser: the clause a script inserts after load is missing
// from a plain capture and present in a --browser capture's DOM, its text
// and its PDF; the record names each artefact by digest, and the output
// says what the browser did.
func TestCaptureBrowser(t *testing.T) {
	rendertest.Chromium(t)
	inTemp(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()

	r := exhibit(t, "capture", srv.URL+"/terms", "-o", "json")
	r.want(t, 0)
	var plain browserRecord
	if err := json.Unmarshal([]byte(r.stdout), &plain); err != nil {
		t.Fatal(err)
	}
	if plain.Method != verify.MethodFetch || plain.Rendering != nil {
		t.Fatalf("plain capture %+v", plain)
	}
	if bytes.Contains(object(t, plain.SHA256), []byte(rendertest.Clause)) {
		t.Fatal("the plain capture holds the clause: the test proves nothing")
	}

	r = exhibit(t, "capture", srv.URL+"/terms", "--browser", "-o", "json")
	r.want(t, 0)
	var rec browserRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Method != verify.MethodBrowser || rec.Outcome != verify.OutcomeCaptured || rec.Rendering == nil || rec.Rendering.DOM == nil || rec.Rendering.WARC == nil {
		t.Fatalf("browser capture %s", r.stdout)
	}
	if rec.SHA256 != plain.SHA256 {
		t.Errorf("the browser's main document body %s differs from the plain fetch's %s", rec.SHA256, plain.SHA256)
	}
	dom := object(t, rec.Rendering.DOM.SHA256)
	txt, err := extract.Extract(dom, rec.Rendering.DOM.MediaType, extract.Rules{})
	if err != nil || !strings.Contains(txt.Text, rendertest.Clause) {
		t.Errorf("the DOM's text lacks the clause (%v):\n%s", err, txt.Text)
	}
	pdf, err := extract.Extract(object(t, rec.Rendering.PDF.SHA256), verify.MediaTypePDF, extract.Rules{})
	if err != nil || !strings.Contains(strings.Join(strings.Fields(pdf.Text), " "), rendertest.Clause) {
		t.Errorf("the PDF's text lacks the clause (%v)", err)
	}
	if png := object(t, rec.Rendering.Screenshot.SHA256); !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG")
	}

	// The bundle with its files: exhibit verify checks each artefact.
	bundle := proveFile(t, rec.RecordID)
	args := []string{"verify", bundle, "--snapshot", objectPath(rec.SHA256)}
	for _, a := range rec.Rendering.Artefacts() {
		args = append(args, "--artefact", a.Name+"="+objectPath(a.SHA256))
	}
	// Every artefact given, the note does not ask for them (issue 12).
	if r := exhibit(t, args...); strings.Contains(r.stdout, "check them with --artefact") || !strings.Contains(r.stdout, "(each file checked above)") {
		t.Errorf("all artefacts given, the note still asks for them or does not say they were checked:\n%s", r.stdout)
	}
	// None given: it asks; some given: it names the others.
	exhibit(t, "verify", bundle).want(t, 0, "by SHA-256 (check them with --artefact NAME=FILE)")
	exhibit(t, "verify", bundle, "--artefact", "dom="+objectPath(rec.Rendering.DOM.SHA256)).want(t, 0, "(not checked: screenshot, pdf, warc", "; check them with --artefact NAME=FILE)")
	exhibit(t, args...).want(t, 0, "ok   snapshot-digest", "ok   artefact-digest       dom SHA-256 "+rec.Rendering.DOM.SHA256,
		"ok   artefact-digest       pdf SHA-256", "ok   artefact-digest       screenshot SHA-256",
		"ok   artefact-digest       warc SHA-256 "+rec.Rendering.WARC.SHA256, "verified: record "+rec.RecordID)
	if w := object(t, rec.Rendering.WARC.SHA256); !bytes.HasPrefix(w, []byte{0x1f, 0x8b}) || rec.Rendering.WARC.MediaType != verify.MediaTypeWARC {
		t.Errorf("the WARC artefact is not a .warc.gz of media type %s: %+v", verify.MediaTypeWARC, rec.Rendering.WARC)
	}
	// The statement's warc field, changed, breaks the signature.
	exhibit(t, "verify", tamperWARCField(t, bundle), "--artefact", "warc="+objectPath(rec.Rendering.WARC.SHA256)).want(t, 1, "FAIL")
	for _, a := range rec.Rendering.Artefacts() {
		b := object(t, a.SHA256)
		b[len(b)/2] ^= 1
		bad := filepath.Join(t.TempDir(), a.Name)
		os.WriteFile(bad, b, 0o644)
		exhibit(t, "verify", bundle, "--artefact", a.Name+"="+bad).want(t, 1, "FAIL artefact-digest", a.Name+" (file "+bad+") SHA-256 is ", "but the statement signs "+a.SHA256)
	}
	// The artefact of another name is not the one signed.
	exhibit(t, "verify", bundle, "--artefact", "pdf="+objectPath(rec.Rendering.DOM.SHA256)).want(t, 1, "FAIL artefact-digest")
	exhibit(t, "verify", bundle, "--artefact", "har="+objectPath(rec.SHA256)).want(t, 2, "want NAME=FILE")
	// A plain capture has no artefacts.
	exhibit(t, "verify", proveFile(t, plain.RecordID), "--artefact", "dom="+objectPath(rec.Rendering.DOM.SHA256)).want(t, 1, "no such rendering artefact")

	// The evidence package holds them, and verifies.
	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 0)
	key := strings.TrimSpace(exhibit(t, "log-key").stdout)
	if r := exhibit(t, "verify", "p.zip", "--key", key); r.code != 0 || strings.Contains(r.stdout, "--artefact") || !strings.Contains(r.stdout, "(each file checked above)") {
		t.Errorf("verify p.zip: exit %d; a package's note must not ask for --artefact:\n%s%s", r.code, r.stdout, r.stderr)
	}
	exhibit(t, "verify", "p.zip", "--key", key).want(t, 0, "rendering/screenshot.png", "rendering/page.pdf", "rendering/dom.html", "rendering/capture.warc.gz")

	exhibit(t, "capture", srv.URL+"/terms", "--browser").want(t, 0,
		"browser  Chrome ", "viewport 1280x800", "settled after ", "(the wait rule was met)",
		"screenshot ", " bytes, image/png)", "pdf      ", "dom      ", "warc     ", "application/warc)")

	// The audit knows the artefacts: none is an orphan.
	if r := exhibit(t, "audit", "-o", "json"); r.code != 0 || strings.Contains(r.stdout, "orphan") {
		t.Errorf("audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Failures are records with their reason, and exit 1.
	exhibit(t, "capture", srv.URL+"/big", "--browser", "--max-page", "4000000").want(t, 1, "FAILED", "(page_too_large)", "the failure is logged as record")
	exhibit(t, "capture", "chromium-test.invalid", "--browser").want(t, 2)
	if left := rendertest.Leftovers(); len(left) > 0 {
		t.Errorf("browser processes left: %v", left)
	}
}

// TestCaptureBrowserKilled: exhibit killed (SIGKILL) during a browser
// capture leaves no browser running.
func TestCaptureBrowserKilled(t *testing.T) {
	rendertest.Chromium(t)
	dir := inTemp(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "capture", srv.URL+"/hang", "--browser", "--timeout", "2m")
	cmd.Args[0] = "exhibit" // testscript.Main runs the command named by argv[0]
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(30 * time.Second)
	for len(rendertest.LeftoversOf(pid)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("no browser started within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let it load the page
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	deadline = time.Now().Add(10 * time.Second)
	for {
		left := rendertest.LeftoversOf(pid)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("browser processes left 10 s after exhibit was killed: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its profile directory is left (it was killed), and the next
	// capture in a browser removes it.
	stale, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("exhibit-render-%d-*", pid)))
	if len(stale) == 0 {
		t.Fatal("the killed capture left no profile directory: the test proves nothing")
	}
	exhibit(t, "capture", srv.URL+"/clause.json", "--browser", "--browser-delay", "0").want(t, 0)
	for _, d := range stale {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the dead capture's profile %s is still there (%v)", d, err)
		}
	}
}

// TestCaptureBrowserNavigation: a page whose script moves to another
// captures that other, with the navigation in the record and the output;
// the wait flags are recorded, and refused when out of place.
func TestCaptureBrowserNavigation(t *testing.T) {
	rendertest.Chromium(t)
	inTemp(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := exhibit(t, "capture", srv.URL+"/js-redirect", "--browser", "--browser-wait-for", "#clause", "--browser-delay", "100ms", "-o", "json")
	r.want(t, 0)
	var rec browserRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	rd := rec.Rendering
	if rec.Outcome != verify.OutcomeCaptured || rd == nil || len(rd.Navigations) != 1 || rd.Navigations[0].Kind != "script" ||
		rd.Wait.DelayMS != 100 || rd.Wait.WaitFor != "#clause" || !rd.Wait.WaitForFound || !rd.Wait.Settled {
		t.Fatalf("record %s", r.stdout)
	}
	if !bytes.Contains(object(t, rec.SHA256), []byte("Terms of Service")) {
		t.Error("the snapshot is not the final document's body")
	}
	// The document taken is at another URL than the one asked for: it
	// is cited as a redirect is, naming the document captured.
	terms := srv.URL + "/terms"
	r = exhibit(t, "capture", srv.URL+"/js-redirect", "--browser")
	r.want(t, 0, "navigate script to "+terms,
		"WARNING  navigated by script to "+terms+": the snapshot is what that URL served",
		"(captured ", ", navigated by script to "+terms+"), exhibit record EXR-")
	id := field(t, r.stdout, "record   ")
	exhibit(t, "show", id).want(t, 0,
		"Final URL:      "+terms,
		"Navigated to:   "+terms+" (navigated by script to "+terms+"; the snapshot is what that URL served",
		"Navigation 1:   script to "+terms+" after ",
		", navigated by script to "+terms+"), exhibit record "+id)
	// A page that was not moved says nothing of the kind.
	r = exhibit(t, "capture", terms, "--browser", "--browser-delay", "0")
	r.want(t, 0)
	if strings.Contains(r.stdout, "WARNING") || strings.Contains(r.stdout, "navigated") {
		t.Errorf("a capture of a page that did not move says it did:\n%s", r.stdout)
	}
	exhibit(t, "capture", srv.URL+"/terms", "--browser-wait-for", "#clause").want(t, 2, "go with --browser")
	exhibit(t, "capture", srv.URL+"/terms", "--browser-delay", "1s").want(t, 2, "go with --browser")
	exhibit(t, "capture", srv.URL+"/terms", "--browser", "--browser-delay", "-1s").want(t, 2, "must not be negative")
}

// tamperWARCField writes a copy of the bundle file whose statement names
// another WARC digest (the envelope's payload re-encoded, the record ID
// kept consistent), and returns its path.
func tamperWARCField(t *testing.T, bundle string) string {
	t.Helper()
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	b, err := verify.ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	var env verify.Envelope
	if err := json.Unmarshal(b.Entry, &env); err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(env.Payload, &st); err != nil {
		t.Fatal(err)
	}
	w := st["predicate"].(map[string]any)["rendering"].(map[string]any)["warc"].(map[string]any)
	w["sha256"] = strings.Repeat("0", 64)
	env.Payload, _ = json.Marshal(st)
	b.Entry, _ = json.Marshal(env)
	b.RecordID = verify.RecordID(b.Entry)
	out := filepath.Join(t.TempDir(), "tampered.json")
	if err := os.WriteFile(out, b.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
