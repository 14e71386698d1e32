package render_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/nlnwa/gowarc/v3"
	"golang.org/x/net/websocket"

	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
)

// allowAll is an address policy that refuses nothing: the browser's
// connections still go through the render's proxy, which logs them.
func allowAll(string, string, syscall.RawConn) error { return nil }

// proxyLog collects what render.SetProxyLog reports, for one test.
func proxyLog(t *testing.T) func() []string {
	var mu sync.Mutex
	var got []string
	render.SetProxyLog(func(a []string) {
		mu.Lock()
		got = append(got, a...)
		mu.Unlock()
	})
	t.Cleanup(func() { render.SetProxyLog(nil) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// TestRenderNoBackgroundTraffic renders loopback pages through the
// proxy, with a policy that refuses nothing: the browser asks the proxy
// for no host but the page's (no component update, safe browsing,
// optimization guide, variations, sign-in or other Google service), and
// the WARC holds exchanges of the page's host only. It waits long enough
// after load for the browser's background tasks of its first seconds.
func TestRenderNoBackgroundTraffic(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	host := srv.Listener.Addr().String()
	asked := proxyLog(t)
	r := render.New(render.Config{ExecPath: bin})
	for _, path := range []string{"/exchanges", "/late"} {
		res, err := r.Render(context.Background(), srv.URL+path, render.Options{Control: allowAll, Delay: 3e9})
		if err != nil || res.Failure != nil {
			t.Fatalf("%s: %v %+v", path, err, res.Failure)
		}
		for _, rec := range readWARC(t, res.WARC) {
			if u := rec.h.Get(gowarc.WarcTargetURI); rec.typ != "warcinfo" && !strings.HasPrefix(u, srv.URL+"/") {
				t.Errorf("%s: the WARC holds a %s record of %s, not of the page's host", path, rec.typ, u)
			}
		}
	}
	if got := asked(); !slices.Equal(got, []string{host, host}) {
		t.Errorf("the browser asked the proxy for %q; want only the page's %s, once per render", got, host)
	}
}

// TestRenderPeers renders a page on 127.0.0.1 whose images, script and
// fetch() come from a second host, 127.0.0.2, several from each over
// connections the browser reuses: each response's recorded peer (the
// observation's and WARC-IP-Address) is the address of the server that
// answered it, with a policy (through the proxy, over http and https) and
// without.
func TestRenderPeers(t *testing.T) {
	bin := rendertest.Chromium(t)
	for _, tls := range []bool{false, true} {
		// cdn serves the sub-resources on 127.0.0.2, counting the
		// connections it accepts.
		var cdnConns atomic.Int64
		cdn := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			switch {
			case strings.HasSuffix(r.URL.Path, ".js"):
				w.Header().Set("Content-Type", "text/javascript")
				fmt.Fprint(w, "document.title = 'scripted';")
			case strings.HasSuffix(r.URL.Path, ".json"):
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"ok": true}`)
			default:
				w.Header().Set("Content-Type", "image/svg+xml")
				fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`)
			}
		}))
		ln, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			t.Skipf("no second loopback address: %v", err)
		}
		cdn.Listener = ln
		cdn.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				cdnConns.Add(1)
			}
		}
		page := httptest.NewUnstartedServer(nil)
		page.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/own.svg" {
				w.Header().Set("Content-Type", "image/svg+xml")
				fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			c := cdn.URL
			fmt.Fprintf(w, `<!DOCTYPE html><html><head><script src="%[1]s/a.js"></script></head><body>
<img src="%[1]s/1.svg"><img src="%[1]s/2.svg"><img src="%[1]s/3.svg"><img src="%[1]s/4.svg">
<img src="%[1]s/5.svg"><img src="%[1]s/6.svg"><img src="%[1]s/7.svg"><img src="%[1]s/8.svg">
<img src="/own.svg">
<script>addEventListener('load', () => fetch(%[1]q + '/late.json').then(r => r.json()).then(() => fetch(%[1]q + '/later.json')))</script>
</body></html>`, c)
		})
		if tls {
			cdn.StartTLS()
			page.StartTLS()
		} else {
			cdn.Start()
			page.Start()
		}
		pageAddr, cdnAddr := page.Listener.Addr().String(), cdn.Listener.Addr().String()
		for _, withPolicy := range []bool{false, true} {
			name := fmt.Sprintf("tls=%v/policy=%v", tls, withPolicy)
			t.Run(name, func(t *testing.T) {
				o := render.Options{IgnoreCertErrors: true, Delay: -1}
				if withPolicy {
					o.Control = func(network, address string, c syscall.RawConn) error {
						if address == pageAddr || address == cdnAddr {
							return nil
						}
						return capture.RefusePrivate(network, address, c)
					}
				}
				before := cdnConns.Load()
				res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), page.URL+"/", o)
				if err != nil || res.Failure != nil {
					t.Fatalf("%v %+v", err, res.Failure)
				}
				if got := res.Observed.PeerAddress; got != pageAddr {
					t.Errorf("observed peer %q, want the page's server %q", got, pageAddr)
				}
				byIP := map[string]int{}
				var urls []string
				for _, rec := range readWARC(t, res.WARC) {
					if rec.typ != "response" {
						continue
					}
					u := rec.h.Get(gowarc.WarcTargetURI)
					want := "127.0.0.1"
					if strings.HasPrefix(u, cdn.URL) {
						want = "127.0.0.2"
					}
					got := rec.h.Get(gowarc.WarcIPAddress)
					if got != want {
						t.Errorf("%s: WARC-IP-Address %q, want %q", u, got, want)
					}
					byIP[got]++
					urls = append(urls, u)
				}
				// The script, eight images and two fetches from the cdn,
				// over fewer connections than requests: reused (but for
				// plain http through the proxy, which sends each request
				// on a connection of its own, while the browser sends
				// the requests of both hosts on its connections to the
				// proxy).
				if byIP["127.0.0.2"] != 11 || byIP["127.0.0.1"] < 2 {
					t.Errorf("responses by peer %v, want 11 of 127.0.0.2 and the page's and its image of 127.0.0.1: %q", byIP, urls)
				}
				if n := cdnConns.Load() - before; n >= 11 && (tls || !withPolicy) {
					t.Errorf("the cdn accepted %d connections for 11 requests: none reused", n)
				}
			})
		}
		cdn.Close()
		page.Close()
	}
}

// TestRenderWebSocket renders a page that opens a WebSocket (ws://) to a
// second loopback server and shows what comes back: without a policy,
// and with one allowing the server, the message arrives (through the
// proxy under the policy); with a policy refusing it, the server sees no
// connection, the page's socket fails, the render settles and succeeds,
// and the warcinfo record names the refused host. No case hangs.
func TestRenderWebSocket(t *testing.T) {
	bin := rendertest.Chromium(t)
	var wsConns atomic.Int64
	ws := httptest.NewServer(websocket.Handler(func(c *websocket.Conn) {
		wsConns.Add(1)
		var msg string
		if err := websocket.Message.Receive(c, &msg); err != nil {
			return
		}
		websocket.Message.Send(c, "echo: "+msg)
		// Hold the socket open: an open socket must not keep the page
		// from settling.
		websocket.Message.Receive(c, &msg)
	}))
	defer ws.Close()
	wsAddr := ws.Listener.Addr().String()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><p id="ws">waiting</p><script>
const p = document.getElementById('ws');
const s = new WebSocket('ws://%s/');
s.onopen = () => s.send('hello');
s.onmessage = e => { p.textContent = e.data };
s.onerror = () => { p.textContent = 'socket failed' };
</script></body></html>`, wsAddr)
	}))
	defer page.Close()
	pageAddr := page.Listener.Addr().String()
	for _, tc := range []struct {
		desc    string
		control func(string, string, syscall.RawConn) error
		want    string
		conns   int64
	}{
		{"no policy", nil, "echo: hello", 1},
		{"policy allowing the socket's server", func(network, address string, c syscall.RawConn) error {
			if address == pageAddr || address == wsAddr {
				return nil
			}
			return capture.RefusePrivate(network, address, c)
		}, "echo: hello", 1},
		{"policy refusing it", allowOnly(pageAddr), "socket failed", 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			before := wsConns.Load()
			res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), page.URL+"/", render.Options{Control: tc.control})
			if err != nil || res.Failure != nil {
				t.Fatalf("%v %+v", err, res.Failure)
			}
			if !res.Rendering.Wait.Settled {
				t.Errorf("the page did not settle")
			}
			if want := `<p id="ws">` + tc.want + `</p>`; !bytes.Contains(res.DOM, []byte(want)) {
				t.Errorf("the DOM lacks %s:\n%s", want, res.DOM)
			}
			if got := wsConns.Load() - before; got != tc.conns {
				t.Errorf("the socket's server took %d connections, want %d", got, tc.conns)
			}
			info := readWARC(t, res.WARC)[0].block
			if refused := bytes.Contains(info, []byte("exhibit-connection-refused: "+wsAddr+": ")); refused != (tc.conns == 0) {
				t.Errorf("warcinfo names the socket's server refused: %v, want %v:\n%s", refused, tc.conns == 0, info)
			}
		})
	}
}
