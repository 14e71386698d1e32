package render_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
)

// counted serves h and counts the requests that reach it.
func counted(h http.Handler) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	return srv, &n
}

// allowOnly is capture.RefusePrivate, except that it lets through exactly
// one address: the test's "public" site, on loopback.
func allowOnly(addr string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if address == addr {
			return nil
		}
		return capture.RefusePrivate(network, address, c)
	}
}

// TestRenderPolicyRefusesLoopback renders a page on loopback under the
// write API's policy: a failed render, reason "connect", its message
// naming the policy, and no request reaches the server.
func TestRenderPolicyRefusesLoopback(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv, n := counted(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	for _, path := range []string{"/terms", "/old"} {
		res, err := r.Render(context.Background(), srv.URL+path, render.Options{Control: capture.RefusePrivate})
		if err != nil {
			t.Fatal(err)
		}
		if res.Failure == nil || res.Failure.Reason != "connect" || !strings.Contains(res.Failure.Message, capture.ErrTargetRefused.Error()) || !strings.Contains(res.Failure.Message, "127.0.0.0/8 Loopback") {
			t.Errorf("%s: failure %+v, want reason connect naming the address policy and the loopback block", path, res.Failure)
		}
		if res.WARC != nil || res.Screenshot != nil {
			t.Errorf("%s: a refused render kept artefacts", path)
		}
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d requests reached the refused server, want 0", got)
	}
}

// TestRenderPolicySubresources renders a page of an allowed site whose
// image, iframe, fetch() and redirected image point at a refused site:
// the render succeeds, the refused site sees no request, the WARC holds
// no exchange of it and names it as refused, and the peer addresses
// recorded are the allowed site's, not the proxy's. A main document that
// redirects into the refused site fails the render.
func TestRenderPolicySubresources(t *testing.T) {
	bin := rendertest.Chromium(t)
	intranet, n := counted(rendertest.ScriptedPage())
	defer intranet.Close()
	in := intranet.URL
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!DOCTYPE html><html><body><p id="p">Public.</p>
<img src="%[1]s/pixel.png"><img src="/to-intranet"><iframe src="%[1]s/terms"></iframe>
<img src="/own.png">
<script>fetch(%[1]q + '/clause.json').catch(() => {})</script></body></html>`, in)
		case "/own.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(nil)
		case "/to-intranet":
			http.Redirect(w, r, in+"/pixel.png", http.StatusFound)
		case "/doc-to-intranet":
			http.Redirect(w, r, in+"/terms", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer public.Close()
	pub := public.Listener.Addr().String()
	r := render.New(render.Config{ExecPath: bin})
	o := render.Options{Control: allowOnly(pub)}

	res, err := r.Render(context.Background(), public.URL+"/page", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	if got, want := res.Observed.PeerAddress, pub; got != want {
		t.Errorf("peer address %q, want the site's %q (not the proxy's)", got, want)
	}
	recs := readWARC(t, res.WARC)
	sawOwn := false
	for _, rec := range recs {
		u := rec.h.Get(gowarc.WarcTargetURI)
		if strings.HasPrefix(u, in) {
			t.Errorf("the WARC holds a %s record of the refused site: %s", rec.h.Get(gowarc.WarcType), u)
		}
		if rec.h.Get(gowarc.WarcType) == "response" {
			if got, want := rec.h.Get(gowarc.WarcIPAddress), "127.0.0.1"; got != want {
				t.Errorf("%s: WARC-IP-Address %q, want %q", u, got, want)
			}
			sawOwn = sawOwn || u == public.URL+"/own.png"
		}
	}
	if !sawOwn {
		t.Errorf("the WARC lacks the allowed image's response")
	}
	inAuthority := intranet.Listener.Addr().String()
	if info := recs[0].block; !bytes.Contains(info, []byte("exhibit-connection-refused: "+inAuthority+": ")) || !bytes.Contains(info, []byte("exhibit-address-policy: ")) {
		t.Errorf("warcinfo does not name the refused %s and the policy:\n%s", inAuthority, info)
	}

	res, err = r.Render(context.Background(), public.URL+"/doc-to-intranet", o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil || res.Failure.Reason != "connect" || !strings.Contains(res.Failure.Message, capture.ErrTargetRefused.Error()) {
		t.Errorf("redirect into the refused site: failure %+v, want reason connect naming the policy", res.Failure)
	}
	if got := n.Load(); got != 0 {
		t.Errorf("%d requests reached the refused site, want 0", got)
	}
}

// TestRenderPolicyTLS renders an https page through the proxy: TLS is end
// to end, so the recorded chain is the server's own certificate, and the
// peer is the server's address.
func TestRenderPolicyTLS(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewTLSServer(rendertest.ScriptedPage())
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	r := render.New(render.Config{ExecPath: bin})
	res, err := r.Render(context.Background(), srv.URL+"/terms", render.Options{Control: allowOnly(addr), IgnoreCertErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil {
		t.Fatalf("render failed: %+v", res.Failure)
	}
	if got := res.Observed.PeerAddress; got != addr {
		t.Errorf("peer address %q, want the server's %q", got, addr)
	}
	block, _ := pem.Decode(res.CertChainPEM)
	if block == nil || !bytes.Equal(block.Bytes, srv.Certificate().Raw) {
		t.Errorf("the recorded leaf certificate is not the server's")
	}
	if res.Observed.TLS == nil || res.Observed.TLS.Verified {
		t.Errorf("TLS %+v, want an unverified session", res.Observed.TLS)
	}

	// Refused, the tunnel is never made: a failed render naming the
	// policy, not a TLS or tunnel error.
	res, err = r.Render(context.Background(), srv.URL+"/terms", render.Options{Control: capture.RefusePrivate, IgnoreCertErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil || res.Failure.Reason != "connect" || !strings.Contains(res.Failure.Message, capture.ErrTargetRefused.Error()) {
		t.Errorf("refused https page: failure %+v, want reason connect naming the policy", res.Failure)
	}
}
