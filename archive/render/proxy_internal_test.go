package render

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawServer accepts one connection, reads a request head and len(body)
// bytes more, records them, answers resp verbatim and closes.
func rawServer(t *testing.T, bodyLen int, resp string) (addr string, got chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		head, err := readHead(br)
		if err != nil {
			got <- nil
			return
		}
		body := make([]byte, bodyLen)
		io.ReadFull(br, body)
		got <- append(head, body...)
		io.WriteString(c, resp)
	}()
	return ln.Addr().String(), got
}

func allowAddr(addr string) func(string, string, syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		if address == addr {
			return nil
		}
		return errors.New("refused by the test's policy")
	}
}

// TestProxyForwardVerbatim: an absolute-form request reaches the server
// with its request line in origin form and every header line and body
// byte as sent (case, order, Proxy-Connection and Accept-Encoding
// included: nothing added or removed); the response, gzip-encoded, comes
// back byte for byte; the proxy records the peer it dialled.
func TestProxyForwardVerbatim(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nX-B: 2\r\nX-A: 1\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x08\x00"
	for _, tc := range []struct{ desc, framing, body string }{
		{"content-length", "Content-Length: 5\r\n", "hello"},
		{"chunked", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			addr, got := rawServer(t, len(tc.body), resp)
			p, err := startProxy(allowAddr(addr))
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			c, err := net.Dial("tcp", p.ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			headers := "host: " + addr + "\r\nX-Zed: z\r\nproxy-connection: keep-alive\r\nAccept-Encoding: gzip, br\r\n" + tc.framing + "\r\n"
			io.WriteString(c, "POST http://"+addr+"/p?q=1 HTTP/1.1\r\n"+headers+tc.body)
			if g, want := string(<-got), "POST /p?q=1 HTTP/1.1\r\n"+headers+tc.body; g != want {
				t.Errorf("the server received\n%q\nwant\n%q", g, want)
			}
			b := make([]byte, len(resp))
			if _, err := io.ReadFull(c, b); err != nil || string(b) != resp {
				t.Errorf("the browser received %q (%v), want %q", b, err, resp)
			}
			if peer, ok := p.peer(addr); !ok || peer != addr {
				t.Errorf("peer %q, want %q", peer, addr)
			}
		})
	}
}

// TestProxyRefuses: a refused CONNECT is answered 502 and a refused
// absolute-form request gets no answer at all (never one the browser
// could take for the site's); both refusals are recorded, and no
// connection reaches the server.
func TestProxyRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	reached := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			reached <- struct{}{}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	p, err := startProxy(allowAddr("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, tc := range []struct{ req, want string }{
		{"CONNECT " + addr + " HTTP/1.1\r\nHost: " + addr + "\r\n\r\n", "HTTP/1.1 502 "},
		{"GET http://" + addr + "/ HTTP/1.1\r\nHost: " + addr + "\r\n\r\n", ""},
	} {
		c, err := net.Dial("tcp", p.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, tc.req)
		b, _ := io.ReadAll(c)
		c.Close()
		if !bytes.HasPrefix(b, []byte(tc.want)) || (tc.want == "" && len(b) != 0) {
			t.Errorf("%q: answered %q, want %q", strings.Fields(tc.req)[0], b, tc.want)
		}
	}
	if err := p.refusal(addr); err == nil || !strings.Contains(err.Error(), "refused by the test's policy") {
		t.Errorf("refusal %v, want the policy's error", err)
	}
	select {
	case <-reached:
		t.Error("a refused connection reached the server")
	default:
	}
}

// TestProxyBadRequest: a request head over the bound, or not a request,
// is refused without a connection out.
func TestProxyBadRequest(t *testing.T) {
	p, err := startProxy(allowAddr("127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, req := range []string{
		"NOT A REQUEST\r\n\r\n",
		"GET http://127.0.0.1:1/ HTTP/1.1\r\nX: " + strings.Repeat("a", maxProxyHead) + "\r\n\r\n",
		"GET /origin-form HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		c, err := net.Dial("tcp", p.ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go io.WriteString(c, req)
		b, _ := io.ReadAll(c)
		c.Close()
		if len(b) != 0 && !bytes.HasPrefix(b, []byte("HTTP/1.1 400 ")) {
			t.Errorf("%.20q: answered %q, want 400 or nothing", req, b)
		}
	}
	if len(p.refusals()) != 0 {
		t.Errorf("dials made for bad requests: %v", p.refusals())
	}
}

// FuzzReadHead: reading a request head never crashes, never returns more
// than maxProxyHead bytes, and what it returns ends with an empty line.
func FuzzReadHead(f *testing.F) {
	f.Add([]byte("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n"))
	f.Add([]byte("\r\n\r\nCONNECT a:443 HTTP/1.1\r\n\r\n"))
	f.Add([]byte("X\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		head, err := readHead(bufio.NewReaderSize(bytes.NewReader(b), 16))
		if err != nil {
			return
		}
		if len(head) > maxProxyHead || !(bytes.HasSuffix(head, []byte("\n\n")) || bytes.HasSuffix(head, []byte("\n\r\n"))) {
			t.Errorf("readHead(%q) = %q", b, head)
		}
	})
}

// TestProxyPinsPeer: once the proxy has connected for an authority, every
// later connection for it goes to the same address (here one set by hand,
// standing for a first DNS answer that differs from the next), judged by
// the policy again; the peer it reports stays that address; and every
// authority asked for is logged once, refused or not.
func TestProxyPinsPeer(t *testing.T) {
	accepted := func(ln net.Listener) chan struct{} {
		ch := make(chan struct{}, 8)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				ch <- struct{}{}
				c.Close()
			}
		}()
		return ch
	}
	first, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	pinned, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	defer pinned.Close()
	firstAcc, pinnedAcc := accepted(first), accepted(pinned)
	_, port, _ := net.SplitHostPort(first.Addr().String())
	authority := net.JoinHostPort("localhost", port)
	allowed := map[string]bool{first.Addr().String(): true, pinned.Addr().String(): true}
	p, err := startProxy(func(_, address string, _ syscall.RawConn) error {
		if allowed[address] {
			return nil
		}
		return errors.New("refused by the test's policy")
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	c, err := p.dial(authority)
	if err != nil {
		t.Fatal(err)
	}
	p.untrack(c)
	<-firstAcc
	if got, _ := p.peer(authority); got != first.Addr().String() {
		t.Fatalf("peer %q after the first connection, want %q", got, first.Addr())
	}
	// Pin the authority elsewhere: the next connections go there, not
	// where the name resolves.
	p.mu.Lock()
	p.peers[authority] = pinned.Addr().String()
	p.mu.Unlock()
	for range 2 {
		c, err := p.dial(authority)
		if err != nil {
			t.Fatal(err)
		}
		p.untrack(c)
		<-pinnedAcc
	}
	select {
	case <-firstAcc:
		t.Error("a connection went where the name resolves, not to the pinned address")
	default:
	}
	if got, _ := p.peer(authority); got != pinned.Addr().String() {
		t.Errorf("peer %q, want the pinned %q", got, pinned.Addr())
	}
	// The pinned address is judged by the policy at every connection.
	delete(allowed, pinned.Addr().String())
	if _, err := p.dial(authority); err == nil || p.refusal(authority) == nil {
		t.Errorf("a connection to a pinned address the policy now refuses: %v", err)
	}
	p.dial("127.0.0.1:1")
	if got, want := p.authorities(), []string{authority, "127.0.0.1:1"}; !slices.Equal(got, want) {
		t.Errorf("authorities %q, want %q", got, want)
	}
}
