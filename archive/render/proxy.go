package render

// The forward proxy through which a render with Options.Control sends
// every connection of the browser (RFC 9110 9.3.6 CONNECT, RFC 9112 3.2.2
// absolute-form). See the package doc.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// maxProxyHead bounds a request head the proxy reads from the browser.
const maxProxyHead = 1 << 20

// proxy is a loopback HTTP forward proxy that dials with a Control
// function. It relays bytes as received: a CONNECT is a tunnel (TLS stays
// end to end), and an absolute-form request is sent on a new upstream
// connection with its request line in origin form and its header lines
// and body as the browser sent them, the response relayed byte for byte.
type proxy struct {
	ln     net.Listener
	dialer net.Dialer
	ctx    context.Context // canceled by close: ends dials in progress
	cancel context.CancelFunc

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// peers pins each authority (host:port) to the ip:port of the first
	// connection made for it: every later connection for it goes there.
	peers   map[string]string
	refused map[string]error // authority -> why the last dial for it failed
	asked   []string         // every authority asked for, in the order first asked
	closed  bool
	wg      sync.WaitGroup
}

// startProxy listens on 127.0.0.1 and serves until close.
func startProxy(control func(network, address string, c syscall.RawConn) error) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the browser's proxy: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &proxy{
		ln:      ln,
		ctx:     ctx,
		cancel:  cancel,
		dialer:  net.Dialer{Control: control, Timeout: 30 * time.Second},
		conns:   map[net.Conn]struct{}{},
		peers:   map[string]string{},
		refused: map[string]error{},
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(c) {
				c.Close()
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer p.untrack(c)
				p.serve(c)
			}()
		}
	}()
	return p, nil
}

// URL is the proxy's address for --proxy-server.
func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

// close stops the proxy and closes every connection it holds, then waits
// for its goroutines.
func (p *proxy) close() {
	p.cancel()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// peer returns the address the proxy connected to for authority: every
// connection it made for authority went to this one address.
func (p *proxy) peer(authority string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.peers[authority]
	return a, ok
}

// refusal returns why the proxy's last connection for authority failed,
// or nil.
func (p *proxy) refusal(authority string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refused[authority]
}

// refusals returns the authorities whose last connection failed, with why.
func (p *proxy) refusals() map[string]error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.refused)
}

// authorities returns every authority (host:port) the browser asked the
// proxy for, connected to or not, in the order first asked.
func (p *proxy) authorities() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asked)
}

// dial connects to authority with the Control function, recording the
// peer or the failure. The first connection made for an authority pins
// it: every later one goes to the same address (judged by Control
// again), so that the one peer recorded per authority is the peer of
// each of its exchanges, whatever the DNS answers later or the browser's
// reuse of connections.
func (p *proxy) dial(authority string) (net.Conn, error) {
	p.mu.Lock()
	if !slices.Contains(p.asked, authority) {
		p.asked = append(p.asked, authority)
	}
	pinned, ok := p.peers[authority]
	p.mu.Unlock()
	var c net.Conn
	var err error
	if ok {
		c, err = p.dialer.DialContext(p.ctx, "tcp", pinned)
	} else {
		c, err = p.dialer.DialContext(p.ctx, "tcp", authority)
	}
	if err != nil {
		p.mu.Lock()
		p.refused[authority] = err
		p.mu.Unlock()
		return nil, err
	}
	p.mu.Lock()
	addr := c.RemoteAddr().String()
	if first, seen := p.peers[authority]; !ok && seen && first != addr {
		// Another connection for authority, made at the same time, came
		// first and went elsewhere: go where it went.
		p.mu.Unlock()
		c.Close()
		return p.dial(authority)
	}
	if !ok {
		p.peers[authority] = cmp.Or(p.peers[authority], addr)
	}
	delete(p.refused, authority)
	p.mu.Unlock()
	if !p.track(c) {
		c.Close()
		return nil, net.ErrClosed
	}
	return c, nil
}

// readHead reads a request head (request line and header lines, through
// the empty line) as raw bytes, at most maxProxyHead.
func readHead(br *bufio.Reader) ([]byte, error) {
	var head []byte
	partial := false // the last read ended inside a line
	for {
		line, err := br.ReadSlice('\n')
		if len(head)+len(line) > maxProxyHead {
			return nil, errors.New("request head too long")
		}
		blank := !partial && isBlank(line)
		head = append(head, line...)
		partial = err == bufio.ErrBufferFull
		if partial {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch {
		case blank && len(head) == len(line):
			head = head[:0] // an empty line before the request line (RFC 9112 2.2)
		case blank:
			return head, nil
		}
	}
}

// serve answers the browser's requests on c, one after the other.
func (p *proxy) serve(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		head, err := readHead(br)
		if err != nil {
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			return
		}
		if req.Method == http.MethodConnect {
			p.tunnel(c, br, req.Host)
			return
		}
		if !p.forward(c, br, head, req) {
			return
		}
	}
}

// tunnel connects to authority and relays bytes both ways until either
// side closes. A failed dial is answered 502, which the browser reports
// as a failed tunnel.
func (p *proxy) tunnel(c net.Conn, br *bufio.Reader, authority string) {
	up, err := p.dial(authority)
	if err != nil {
		io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer p.untrack(up)
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	relay(c, br, up, up)
}

// relay copies a to b and b to a until both directions end.
func relay(c net.Conn, fromC io.Reader, up net.Conn, fromUp io.Reader) {
	done := make(chan struct{})
	go func() {
		io.Copy(up, fromC)
		if tc, ok := up.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		close(done)
	}()
	io.Copy(c, fromUp)
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
}

// forward sends an absolute-form request on a new upstream connection:
// the request line in origin form, the header lines as received, the
// body as received (chunks re-framed, their bytes unchanged), and relays
// the response's bytes as they arrive. It reports whether the browser's
// connection may carry another request.
func (p *proxy) forward(c net.Conn, br *bufio.Reader, head []byte, req *http.Request) bool {
	if req.URL.Scheme != "http" || req.URL.Host == "" {
		io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		return false
	}
	authority := req.URL.Host
	if req.URL.Port() == "" {
		authority = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	up, err := p.dial(authority)
	if err != nil {
		// No response: an answer of the proxy's own would be taken by the
		// browser for the site's.
		return false
	}
	defer p.untrack(up)
	// The request line in origin form, then the header lines verbatim.
	_, rest, _ := bytes.Cut(head, []byte("\n"))
	line := req.Method + " " + req.URL.RequestURI() + " " + req.Proto + "\r\n"
	if _, err := io.WriteString(up, line); err != nil {
		return false
	}
	if _, err := up.Write(rest); err != nil {
		return false
	}
	switch {
	case len(req.TransferEncoding) > 0:
		cw := httputil.NewChunkedWriter(up)
		if _, err := io.Copy(cw, httputil.NewChunkedReader(br)); err != nil {
			return false
		}
		cw.Close()
		// The trailer section, through its empty line.
		trailer, err := readTrailer(br)
		if err != nil {
			return false
		}
		if _, err := up.Write(trailer); err != nil {
			return false
		}
	case req.ContentLength > 0:
		if _, err := io.CopyN(up, br, req.ContentLength); err != nil {
			return false
		}
	}
	// The response, every byte read from upstream relayed to the browser
	// as it is read; parsing it only finds where it ends.
	ubr := bufio.NewReader(io.TeeReader(up, c))
	for {
		resp, err := http.ReadResponse(ubr, req)
		if err != nil {
			return false
		}
		if resp.StatusCode == http.StatusSwitchingProtocols {
			// What ubr holds was relayed already: the rest comes from up.
			relay(c, br, up, up)
			return false
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 {
			continue
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return false
		}
		// A body delimited by the connection's close ends the browser's
		// connection too.
		if resp.Close || resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 && bodyAllowed(req.Method, resp.StatusCode) {
			return false
		}
		return !req.Close
	}
}

// readTrailer reads a chunked body's trailer section through its empty line.
func readTrailer(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		out = append(out, line...)
		if len(out) > maxProxyHead {
			return nil, errors.New("trailer too long")
		}
		if isBlank(line) {
			return out, nil
		}
	}
}

// isBlank reports whether line is an empty line: CRLF, or a bare LF
// (RFC 9112 2.2).
func isBlank(line []byte) bool {
	return string(line) == "\r\n" || string(line) == "\n"
}

func bodyAllowed(method string, status int) bool {
	return method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified
}

// authorityOf returns the host:port a URL connects to ("" if it is not
// http or https).
func authorityOf(raw string) string {
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		return ""
	}
	u := req.URL
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "http" || u.Scheme == "ws":
		port = "80"
	case u.Scheme == "https" || u.Scheme == "wss":
		port = "443"
	default:
		return ""
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// splitPeer splits an ip:port for the browser's RemoteIPAddress and
// RemotePort fields.
func splitPeer(addr string) (string, int64) {
	h, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0
	}
	port, _ := strconv.ParseInt(ps, 10, 64)
	return h, port
}
