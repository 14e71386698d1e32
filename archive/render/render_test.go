package render_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

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
