package render_test

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/pem"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

func TestMain(m *testing.M) {
	code := m.Run()
	// No browser may outlive the tests.
	if code == 0 {
		if left := rendertest.Leftovers(); len(left) > 0 {
			// Say why the package fails: no test failed.
			fmt.Fprintf(os.Stderr, "browser processes left after the tests: %v\n", left)
			code = 1
		}
	}
	os.Exit(code)
}

// TestRenderScriptedClause renders a page whose clause a script inserts
// after load, from a response fetched after load: the plain body lacks
// the clause; the rendered DOM, its text and the PDF's text hold it; the
// screenshot is a PNG of the viewport's width and of the page's height.
func TestRenderScriptedClause(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()

	r := render.New(render.Config{ExecPath: bin})
	res, err := r.Render(context.Background(), srv.URL+"/terms", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	if bytes.Contains(res.Body, []byte(rendertest.Clause)) {
		t.Fatalf("the response body already holds the clause: the test proves nothing")
	}
	if !bytes.Contains(res.DOM, []byte(rendertest.Clause)) {
		t.Errorf("the DOM lacks the clause:\n%s", res.DOM)
	}
	if !bytes.HasPrefix(res.DOM, []byte("<!DOCTYPE html>\n<html")) {
		t.Errorf("DOM starts %q, want the doctype then <html", res.DOM[:min(40, len(res.DOM))])
	}
	txt, err := extract.Extract(res.DOM, "text/html; charset=utf-8", extract.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.Text, rendertest.Clause) {
		t.Errorf("the DOM's text lacks the clause:\n%s", txt.Text)
	}
	pdf, err := extract.Extract(res.PDF, "application/pdf", extract.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(pdf.Text), " "), rendertest.Clause) {
		t.Errorf("the PDF's text lacks the clause:\n%s", pdf.Text)
	}
	img, err := png.Decode(bytes.NewReader(res.Screenshot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != render.DefaultWidth || b.Dy() < 1500 || b.Dy() > 3000 {
		t.Errorf("screenshot is %dx%d, want %d wide and 1500 to 3000 high (the page is 2000 px)", b.Dx(), b.Dy(), render.DefaultWidth)
	}

	o := res.Observed
	if o.Status != 200 || o.FinalURL != srv.URL+"/terms" || o.RequestedURL != srv.URL+"/terms" {
		t.Errorf("observed status %d, final %s, requested %s", o.Status, o.FinalURL, o.RequestedURL)
	}
	if got := o.Headers["X-Test"]; len(got) != 1 || got[0] != "main" {
		t.Errorf("X-Test header %q, want [main]", got)
	}
	if !strings.HasPrefix(o.PeerAddress, "127.0.0.1:") || o.Protocol != "HTTP/1.1" {
		t.Errorf("peer %q protocol %q", o.PeerAddress, o.Protocol)
	}
	rd := res.Rendering
	if rd.Browser.Version == "" || !rd.Wait.Settled || rd.Requests < 2 || rd.TransferBytes <= 0 {
		t.Errorf("rendering %+v: want a browser version, settled, at least 2 requests", rd)
	}
	if rd.Wait.WaitedMS < rendertest.ClauseDelay.Milliseconds() {
		t.Errorf("waited %d ms, less than the clause's delay", rd.Wait.WaitedMS)
	}
}

// TestRenderRedirect follows a redirect of the main document and records
// its hop.
func TestRenderRedirect(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/old", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if h := res.Observed.Redirects; len(h) != 1 || h[0].Status != 301 || h[0].URL != srv.URL+"/old" || h[0].Location != "/terms" {
		t.Errorf("redirects %+v", h)
	}
	if res.Observed.FinalURL != srv.URL+"/terms" {
		t.Errorf("final URL %s", res.Observed.FinalURL)
	}
}

// TestRenderFailures: each fault is a failed render with its reason, and
// no browser is left.
func TestRenderFailures(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for _, tc := range []struct {
		name, url  string
		cfg        render.Config
		opts       render.Options
		wantReason string
	}{
		{"no browser", srv.URL + "/terms", render.Config{ExecPath: "/nonexistent/chromium"}, render.Options{}, render.ReasonUnavailable},
		{"refused", closedURL + "/", render.Config{ExecPath: bin}, render.Options{}, "connect"},
		{"timeout", srv.URL + "/hang", render.Config{ExecPath: bin}, render.Options{Timeout: 3 * time.Second}, render.ReasonTimeout},
		{"renderer crash", "chrome://crash", render.Config{ExecPath: bin}, render.Options{}, render.ReasonCrashed},
		{"too large", srv.URL + "/big", render.Config{ExecPath: bin}, render.Options{MaxPageBytes: 16 << 20}, render.ReasonTooLarge},
		{"bad selector", srv.URL + "/terms", render.Config{ExecPath: bin}, render.Options{WaitFor: "p[", Delay: -1}, "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.New(tc.cfg).Render(context.Background(), tc.url, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Failure == nil || res.Failure.Reason != tc.wantReason {
				t.Fatalf("failure %+v, want reason %s", res.Failure, tc.wantReason)
			}
			if res.Screenshot != nil || res.PDF != nil || res.DOM != nil || res.WARC != nil {
				t.Error("a failed render has artefacts")
			}
			if left := rendertest.Leftovers(); len(left) > 0 {
				t.Errorf("browser processes left: %v", left)
			}
		})
	}
}

// TestRenderNeverSettles takes a page that keeps loading once the settle
// bound runs out, recorded as not settled.
func TestRenderNeverSettles(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/busy", render.Options{SettleTimeout: 2 * time.Second})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if res.Rendering.Wait.Settled || res.Rendering.Wait.WaitedMS < 2000 {
		t.Errorf("wait %+v: want not settled after 2 s", res.Rendering.Wait)
	}
}

// TestRenderLoopingSubresource: an image that redirects to itself for
// ever does not stop the page from being taken, settled.
func TestRenderLoopingSubresource(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/redirects", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if !res.Rendering.Wait.Settled || !bytes.Contains(res.DOM, []byte("looping image")) {
		t.Errorf("wait %+v, DOM %s", res.Rendering.Wait, res.DOM)
	}
}

// TestRenderLimit runs no more browsers at once than the limit.
func TestRenderLimit(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin, MaxBrowsers: 1})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		close(started)
		r.Render(ctx, srv.URL+"/busy", render.Options{SettleTimeout: 3 * time.Second})
	}()
	<-started
	time.Sleep(200 * time.Millisecond)
	wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
	defer wcancel()
	if _, err := r.Render(wctx, srv.URL+"/terms", render.Options{}); err == nil {
		t.Error("a second render ran beside the first with MaxBrowsers 1")
	}
	cancel()
	<-done
	if _, err := exec.LookPath(bin); err != nil {
		t.Fatal(err)
	}
}

// TestRenderTLS records the main document's TLS session and certificate
// chain; a certificate the system does not trust loads only with
// IgnoreCertErrors, and is recorded as not verified.
func TestRenderTLS(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewTLSServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	res, err := r.Render(context.Background(), srv.URL+"/terms", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil || res.Failure.Reason != "tls" {
		t.Fatalf("untrusted certificate: failure %+v, want reason tls", res.Failure)
	}
	res, err = r.Render(context.Background(), srv.URL+"/terms", render.Options{IgnoreCertErrors: true})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	tls := res.Observed.TLS
	if tls == nil || tls.Verified || tls.Version == "" || tls.Certificates != 1 {
		t.Fatalf("TLS %+v: want a session, not verified, one certificate", tls)
	}
	certs, err := verify.ParseCertificatesPEM(res.CertChainPEM)
	if err != nil || len(certs) != 1 || !certs[0].Equal(srv.Certificate()) {
		t.Errorf("chain %d certificates (%v), want the server's", len(certs), err)
	}
	checkCertChainRecord(t, res.WARC, res.Observed.FinalURL, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
}

// TestRenderClientNavigations follows the main frame's client-side
// navigations: the final document is the one taken and observed, and
// each navigation is recorded with its kind.
func TestRenderClientNavigations(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	for _, tc := range []struct{ path, kind string }{
		{"/js-redirect", "script"},
		{"/meta-refresh", "meta-refresh"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			res, err := r.Render(context.Background(), srv.URL+tc.path, render.Options{})
			if err != nil || res.Failure != nil {
				t.Fatalf("%v %+v", err, res.Failure)
			}
			o := res.Observed
			if o.RequestedURL != srv.URL+tc.path || o.FinalURL != srv.URL+"/terms" || o.Status != 200 {
				t.Errorf("observed requested %s final %s status %d, want the final document /terms", o.RequestedURL, o.FinalURL, o.Status)
			}
			if got := o.Headers["X-Test"]; len(got) != 1 || got[0] != "main" {
				t.Errorf("observed headers %v are not the final document's", o.Headers)
			}
			if !bytes.Contains(res.Body, []byte("Terms of Service")) || !bytes.Contains(res.DOM, []byte(rendertest.Clause)) {
				t.Errorf("body or DOM is not the final document's:\n%s", res.DOM)
			}
			nav := res.Rendering.Navigations
			if len(nav) != 1 || nav[0].Kind != tc.kind || nav[0].URL != srv.URL+"/terms" || nav[0].AtMS <= 0 {
				t.Errorf("navigations %+v, want one %s to /terms", nav, tc.kind)
			}
			// Both documents are in the WARC, each with its body.
			for _, p := range []string{tc.path, "/terms"} {
				if !bytes.Contains(gunzipAll(t, res.WARC), []byte("WARC-Target-URI: "+srv.URL+p+"\r\n")) {
					t.Errorf("the WARC has no record of %s", p)
				}
			}
		})
	}
}

// TestRenderNavigationLoop: a page that navigates for ever ends at the
// settle bound with a clear outcome (not settled, or a timeout naming the
// navigations), and the navigations are bounded.
func TestRenderNavigationLoop(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	const settle, timeout = 3 * time.Second, 20 * time.Second
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/js-loop", render.Options{SettleTimeout: settle, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	// What the render recorded, not the wall clock (a loaded machine's
	// browser is slow): taken at the settle bound, not settled, within
	// the render's own bound.
	if f := res.Failure; f != nil {
		if f.Reason != render.ReasonTimeout || !strings.Contains(f.Message, "navigat") {
			t.Errorf("failure %+v, want a timeout naming the navigations", f)
		}
	} else {
		w := res.Rendering.Wait
		if w.Settled {
			t.Error("a page that never stops navigating is recorded as settled")
		}
		if w.WaitedMS < settle.Milliseconds() || w.WaitedMS >= timeout.Milliseconds() {
			t.Errorf("waited %d ms, want from the settle bound %v to the render's bound %v", w.WaitedMS, settle, timeout)
		}
	}
	if n := len(res.Rendering.Navigations); res.Failure == nil && (n == 0 || n > verify.MaxNavigations) {
		t.Errorf("%d navigations recorded, want 1 to %d", n, verify.MaxNavigations)
	}
}

// TestRenderWait: the default rule (no delay) waits for the timer of
// 1.5 s after load that fetches the text of /late, and does not with a
// timer bound below 1.5 s; a selector waits for it too, and one that never matches leaves the page not settled at the
// bound. An explicit delay is a minimum.
func TestRenderWait(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	for _, tc := range []struct {
		name                               string
		opts                               render.Options
		wantClause, wantSettled, wantFound bool
	}{
		{"default", render.Options{}, true, true, false},
		// Without the timer (a bound below its 1500 ms), the page is
		// taken before it: the timer is what the wait waited for.
		{"timer not tracked", render.Options{TimerMax: time.Second}, false, true, false},
		{"delay", render.Options{Delay: 2500 * time.Millisecond}, true, true, false},
		{"wait for", render.Options{WaitFor: "#late.ready", SettleTimeout: 5 * time.Second}, true, true, true},
		{"wait for, never", render.Options{WaitFor: "#late.never", SettleTimeout: 3 * time.Second}, true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Render(context.Background(), srv.URL+"/late", tc.opts)
			if err != nil || res.Failure != nil {
				t.Fatalf("%v %+v", err, res.Failure)
			}
			if got := bytes.Contains(res.DOM, []byte(rendertest.Clause)); got != tc.wantClause {
				t.Errorf("DOM holds the clause: %v, want %v", got, tc.wantClause)
			}
			w := res.Rendering.Wait
			if w.Rule != verify.WaitPageQuiet || w.Settled != tc.wantSettled || w.WaitForFound != tc.wantFound || w.WaitFor != tc.opts.WaitFor {
				t.Errorf("wait %+v, want rule %s, settled %v, found %v", w, verify.WaitPageQuiet, tc.wantSettled, tc.wantFound)
			}
			if w.DelayMS != max(tc.opts.Delay, 0).Milliseconds() || w.TimerMaxMS != cmp.Or(tc.opts.TimerMax, render.DefaultTimerMax).Milliseconds() || w.DOMQuietMaxMS != render.DefaultDOMQuietMax.Milliseconds() {
				t.Errorf("wait %+v: delay, timer or DOM quiet bound not recorded", w)
			}
			if w.Settled && (w.DOMChanging || w.TimersPending != 0) {
				t.Errorf("wait %+v: settled with the document changing or timers pending", w)
			}
			if w.WaitedMS < tc.opts.Delay.Milliseconds() {
				t.Errorf("waited %d ms, less than the delay", w.WaitedMS)
			}
		})
	}
}

// TestRenderSettle: the wait takes what a page still has to do into
// account. A chain of three 300 ms timers is waited for to its end; a
// page whose setInterval changes its text for ever is taken, settled,
// once the DOM quiet bound has run out (not at the settle bound); a
// timer of 60 s is not waited for; a static page settles quiet.
func TestRenderSettle(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	// Settled is the recorded outcome that the page was taken by the
	// rule, before the settle bound: the ticker once the DOM quiet bound
	// ran out (dom_changing), the poll once its chain of timers was
	// older than the timer bound, the long timer at once.
	for _, tc := range []struct {
		path         string
		want         []string
		wantChanging bool
	}{
		{"/chain", rendertest.ChainParts, false},
		{"/ticker", []string{"Ticker"}, true},
		{"/poll", []string{"Poll"}, false},
		{"/long-timer", []string{"Long timer"}, false},
		{"/static", []string{"Nothing moves here."}, false},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, err := r.Render(context.Background(), srv.URL+tc.path, render.Options{})
			if err != nil || res.Failure != nil {
				t.Fatalf("%v %+v", err, res.Failure)
			}
			for _, s := range tc.want {
				if !bytes.Contains(res.DOM, []byte(s)) {
					t.Errorf("the DOM lacks %q:\n%s", s, res.DOM)
				}
			}
			w := res.Rendering.Wait
			t.Logf("wait %+v", w)
			if !w.Settled || w.DOMChanging != tc.wantChanging || w.TimersPending != 0 {
				t.Errorf("wait %+v, want settled, dom_changing %v", w, tc.wantChanging)
			}
			if w.WaitedMS >= w.TimeoutMS {
				t.Errorf("waited %d ms, not less than the settle bound %d", w.WaitedMS, w.TimeoutMS)
			}
		})
	}
}

// gunzipAll returns the concatenated members of a .warc.gz.
func gunzipAll(t *testing.T, b []byte) []byte {
	t.Helper()
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRenderDialogs: alert, confirm, prompt and print do not hang the
// capture; the dialogs are dismissed and counted.
func TestRenderDialogs(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/dialogs", render.Options{Timeout: 30 * time.Second})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	// What the render recorded, not the wall clock: a dialog left open
	// would hold the page (no load event, the script stopped), so that it
	// is taken unsettled at the settle bound, without the script's text.
	w := res.Rendering.Wait
	if !w.Settled || w.WaitedMS >= w.TimeoutMS || !bytes.Contains(res.DOM, []byte("after the dialogs")) {
		t.Errorf("wait %+v; the script did not go on after its dialogs:\n%s", w, res.DOM)
	}
	if got := res.Rendering.DialogsDismissed; got != 3 {
		t.Errorf("%d dialogs dismissed, want 3 (alert, confirm, prompt; print is a no-op)", got)
	}
}

// TestRenderNoDownload: a page that clicks a download link writes no
// file, in HOME or anywhere under it.
func TestRenderNoDownload(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DOWNLOAD_DIR", filepath.Join(home, "Downloads"))
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/download", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	filepath.WalkDir(home, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), "file") {
			t.Errorf("a download was written: %s", p)
		}
		return nil
	})
	// (With Chromium's default download behaviour this test fails: the
	// file lands in $HOME/Downloads.)
}

// TestRenderTransferBytes counts each byte once: a page with a script of
// known size transfers that size plus headers and the page.
func TestRenderTransferBytes(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	res, err := r.Render(context.Background(), srv.URL+"/weight", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if got, lo, hi := res.Rendering.TransferBytes, int64(rendertest.WeightSize), int64(rendertest.WeightSize)+4096; got < lo || got > hi {
		t.Errorf("transfer_bytes %d, want %d to %d (the script once, with headers and the page)", got, lo, hi)
	}
	// Just under the weight: refused, with what was loaded recorded.
	res, err = r.Render(context.Background(), srv.URL+"/weight", render.Options{MaxPageBytes: rendertest.WeightSize - 1})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Failure; f == nil || f.Reason != render.ReasonTooLarge {
		t.Fatalf("failure %+v, want %s", f, render.ReasonTooLarge)
	}
	if rd := res.Rendering; rd.Requests < 2 || rd.TransferBytes < rendertest.WeightSize-1 {
		t.Errorf("failed render records %d requests, %d bytes: want what was loaded", rd.Requests, rd.TransferBytes)
	}
	// Just over it: taken.
	res, err = r.Render(context.Background(), srv.URL+"/weight", render.Options{MaxPageBytes: rendertest.WeightSize + 8192})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
}

// TestRenderStaleProfiles: a render removes the profile directories of
// exhibit processes that died, and keeps those of live ones.
func TestRenderStaleProfiles(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	t.Setenv("TMPDIR", t.TempDir())
	// A process that has exited, and so a pid no one has.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(os.TempDir(), fmt.Sprintf("exhibit-render-%d-123", cmd.Process.Pid))
	live := filepath.Join(os.TempDir(), fmt.Sprintf("exhibit-render-%d-456", os.Getppid()))
	other := filepath.Join(os.TempDir(), "exhibit-render-notapid-789")
	for _, d := range []string{dead, live, other} {
		if err := os.MkdirAll(filepath.Join(d, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/clause.json", render.Options{Delay: -1})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("the dead process's profile %s is still there (%v)", dead, err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("exhibit-render-%d-*", os.Getpid())))
	if len(left) > 0 {
		t.Errorf("the render left its profile: %v", left)
	}
}

// TestRenderTallPage: a page taller than the screenshot's bound is shot
// down to it, and recorded as truncated with its height; a short one is
// not.
func TestRenderTallPage(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	for _, tc := range []struct {
		path          string
		wantTruncated bool
		wantHeight    int64
	}{
		{"/tall", true, rendertest.TallHeight},
		{"/terms", false, 2000},
	} {
		res, err := r.Render(context.Background(), srv.URL+tc.path, render.Options{Delay: -1})
		if err != nil || res.Failure != nil {
			t.Fatalf("%s: %v %+v", tc.path, err, res.Failure)
		}
		rd := res.Rendering
		if rd.ScreenshotTruncated != tc.wantTruncated || rd.PageHeight < tc.wantHeight || rd.PageHeight > tc.wantHeight+200 {
			t.Errorf("%s: truncated %v, page height %d; want %v, about %d", tc.path, rd.ScreenshotTruncated, rd.PageHeight, tc.wantTruncated, tc.wantHeight)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(res.Screenshot))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Height > render.MaxScreenshotHeight {
			t.Errorf("%s: screenshot %d px high", tc.path, cfg.Height)
		}
	}
}

// TestRenderViewport: the page sees the recorded viewport: innerWidth and
// innerHeight, screen.width and screen.height, devicePixelRatio 1; the
// screenshot is as wide and at least as high.
func TestRenderViewport(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	for _, tc := range []struct{ w, h int }{{0, 0}, {1024, 700}} {
		res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/viewport", render.Options{Width: tc.w, Height: tc.h})
		if err != nil || res.Failure != nil {
			t.Fatalf("%v %+v", err, res.Failure)
		}
		vp := res.Rendering.Viewport
		want := fmt.Sprintf("viewport %dx%d screen %dx%d dpr 1", vp.Width, vp.Height, vp.Width, vp.Height)
		if vp.Width != cmp.Or(tc.w, render.DefaultWidth) || vp.Height != cmp.Or(tc.h, render.DefaultHeight) || !bytes.Contains(res.DOM, []byte(want)) {
			t.Errorf("recorded %+v; the page saw %s, want %q", vp, res.DOM, want)
		}
		img, err := png.Decode(bytes.NewReader(res.Screenshot))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != vp.Width || b.Dy() != vp.Height {
			t.Errorf("screenshot %dx%d, want %dx%d (the page fits the viewport)", b.Dx(), b.Dy(), vp.Width, vp.Height)
		}
	}
}

// TestRenderPopups: a page that opens 50 windows, then alert, confirm and
// print, opens none, settles, and goes on after its dialogs.
func TestRenderPopups(t *testing.T) {
	bin := rendertest.Chromium(t)
	var opened atomic.Int64
	h := rendertest.ScriptedPage()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/static" {
			opened.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/popups", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if !res.Rendering.Wait.Settled || !bytes.Contains(res.DOM, []byte("after the popups")) {
		t.Errorf("wait %+v; DOM %s", res.Rendering.Wait, res.DOM)
	}
	if got := res.Rendering.DialogsDismissed; got != 2 {
		t.Errorf("%d dialogs dismissed, want 2", got)
	}
	if n := opened.Load(); n != 0 {
		t.Errorf("%d popups loaded, want none", n)
	}
	t.Logf("wait %+v", res.Rendering.Wait)
}

// TestRenderUnfinishedDocument: a main document whose response never
// ends (200, a paragraph, then the connection held open) is taken as it
// rendered when the bound runs out, not settled: its DOM, screenshot and
// PDF; its body what had arrived, in a truncated response record.
func TestRenderUnfinishedDocument(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/forever", render.Options{SettleTimeout: 3 * time.Second})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if res.Rendering.Wait.Settled {
		t.Errorf("wait %+v: want not settled", res.Rendering.Wait)
	}
	if !bytes.Contains(res.DOM, []byte("Loading forever")) || len(res.Screenshot) == 0 || !bytes.HasPrefix(res.PDF, []byte("%PDF-")) {
		t.Errorf("DOM %q, screenshot %d bytes, PDF %q", res.DOM, len(res.Screenshot), res.PDF[:min(8, len(res.PDF))])
	}
	if got, want := string(res.Body), "<html><body><p>Loading forever"; got != want {
		t.Errorf("body %q, want what had arrived, %q", got, want)
	}
	var found bool
	for _, r := range readWARC(t, res.WARC) {
		if r.typ == "response" && r.h.Get(gowarc.WarcTargetURI) == srv.URL+"/forever" {
			found = true
			if !bytes.Equal(r.payload, res.Body) || r.h.Get(gowarc.WarcTruncated) != "unspecified" || r.h.Get(render.HeaderBodyOmitted) != "" {
				t.Errorf("response record: payload %q, WARC-Truncated %q, %s %q", r.payload, r.h.Get(gowarc.WarcTruncated), render.HeaderBodyOmitted, r.h.Get(render.HeaderBodyOmitted))
			}
		}
	}
	if !found {
		t.Error("no response record of the main document")
	}
}

// TestRenderPDFDocument: a URL that answers with a PDF, which Chromium
// shows in its PDF viewer (and whose body it then gives as the viewer's
// HTML), fails at once with a reason saying so, not after the settle
// bound with a grey rendering and the wrong body.
func TestRenderPDFDocument(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	// A PDF to serve: Chromium's print of a page with the clause.
	first, err := r.Render(context.Background(), srv.URL+"/terms", render.Options{})
	if err != nil || first.Failure != nil {
		t.Fatalf("%v %+v", err, first.Failure)
	}
	doc := first.PDF
	pdfSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write(doc)
	}))
	defer pdfSrv.Close()
	// A settle bound longer than the render: a wait to the bound would
	// fail with "timeout", not the PDF's reason.
	res, err := r.Render(context.Background(), pdfSrv.URL+"/doc.pdf", render.Options{SettleTimeout: 60 * time.Second, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if f := res.Failure; f == nil || f.Reason != "other" || !strings.Contains(f.Message, "application/pdf") || !strings.Contains(f.Message, "without --browser") {
		t.Fatalf("failure %+v, want reason other naming the PDF viewer", f)
	}
	if res.WARC != nil || res.PDF != nil || res.Body != nil {
		t.Errorf("a failed render kept artefacts")
	}
}

// TestRenderShadowDOM renders a page whose clauses are in open, closed and
// nested shadow roots: the DOM holds each as declarative shadow DOM, still
// parses, and its text holds every clause, in document order, but not an
// ordinary template's text.
func TestRenderShadowDOM(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ShadowPage())
	defer srv.Close()

	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/", render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	t.Logf("DOM:\n%s", res.DOM)
	clauses := rendertest.ShadowClauses
	for _, c := range clauses {
		if !bytes.Contains(res.DOM, []byte(c)) {
			t.Errorf("the DOM lacks %q", c)
		}
	}
	for _, m := range []string{`<template shadowrootmode="open"`, `<template shadowrootmode="closed"`} {
		if !bytes.Contains(res.DOM, []byte(m)) {
			t.Errorf("the DOM has no %s", m)
		}
	}
	txt, err := extract.Extract(res.DOM, "text/html; charset=utf-8", extract.Rules{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("text:\n%s", txt.Text)
	at := -1
	for _, c := range append(clauses[:len(clauses):len(clauses)], "After the components.") {
		i := strings.Index(txt.Text, c)
		if i < 0 {
			t.Errorf("the DOM's text lacks %q", c)
			continue
		}
		if i < at {
			t.Errorf("%q is out of document order", c)
		}
		at = i
	}
	if strings.Contains(txt.Text, rendertest.TemplateText) {
		t.Errorf("an ordinary template's text is in the DOM's text")
	}
}
