// Package capture fetches a document over HTTP(S) and records what it
// observed on the way: every redirect hop, the final status, protocol and
// header fields as received, the peer's address, and the TLS session with
// the peer's certificate chain. The body, after transfer- and
// content-decoding, is handed to a [BodySink] that stores and hashes it.
//
// [Fetch] never returns an error: every outcome is a [Result], and a fetch
// that yields no body carries a [verify.Failure] whose Reason is one of the
// values listed there.
//
// Specifications followed:
//   - HTTP semantics, redirects and content codings: RFC 9110,
//     https://www.rfc-editor.org/rfc/rfc9110 (sections 15.4 and 8.4.1)
//   - HTTP/1.1 message framing (chunked transfer coding): RFC 9112,
//     https://www.rfc-editor.org/rfc/rfc9112#section-7.1
//   - "deflate" as zlib (RFC 1950) around raw DEFLATE (RFC 1951), and
//     "gzip" (RFC 1952): https://www.rfc-editor.org/rfc/rfc1950,
//     https://www.rfc-editor.org/rfc/rfc1952
//   - certificate path validation: RFC 5280 as implemented by crypto/x509.
//
// The package does not log and holds no global state: each call to [Fetch]
// uses its own http.Transport, without proxy (the environment's proxy
// settings are ignored, so that the recorded peer is the origin server) and
// without a cookie jar.
package capture

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// Defaults for the zero values of [Options].
const (
	// DefaultMaxBodyBytes is the default limit on the decoded body: 64 MiB.
	DefaultMaxBodyBytes = 64 << 20
	// DefaultTimeout is the default limit on a whole fetch.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxRedirects is the default number of redirects followed.
	DefaultMaxRedirects = 10
	// DefaultVersion is the version in the default User-Agent when
	// Options.Version is empty.
	DefaultVersion = "dev"
)

// ErrBodyTooLarge is wrapped by the error a body reader returns when the
// decoded body exceeds Options.MaxBodyBytes. [Fetch] reports it as the
// failure reason "body_too_large".
var ErrBodyTooLarge = errors.New("response body too large")

// Options control a fetch. Zero values mean the defaults.
type Options struct {
	// MaxBodyBytes limits the body in bytes after content decoding, so that
	// a compression bomb is caught. Zero or negative means
	// DefaultMaxBodyBytes (64 MiB).
	MaxBodyBytes int64
	// Timeout limits the whole fetch: DNS, connect, TLS handshakes, all
	// redirects, and reading the body into the sink. Zero or negative means
	// DefaultTimeout (60s). A deadline on the ctx given to [Fetch] applies
	// as well.
	Timeout time.Duration
	// MaxRedirects is the number of redirects followed; one more is a
	// "too_many_redirects" failure. Zero means DefaultMaxRedirects (10);
	// negative means none is followed.
	MaxRedirects int
	// InsecureSkipVerify lets a fetch go on when the server's certificate
	// chain does not verify. The chain is still recorded, and the chain is
	// still checked against RootCAs so that TLS.Verified tells the truth.
	InsecureSkipVerify bool
	// UserAgent is the User-Agent header sent with every request. Empty
	// means "exhibit/<Version> (+https://github.com/exhibit-archive/exhibit)".
	UserAgent string
	// Version is used in the default UserAgent; empty means DefaultVersion.
	Version string
	// RootCAs are the trusted roots; nil means the system roots.
	RootCAs *x509.CertPool
	// Control, if set, is passed to net.Dialer.Control and may refuse a
	// connection by returning an error (the fetch then fails with reason
	// "connect").
	Control func(network, address string, c syscall.RawConn) error
}

func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.MaxRedirects == 0:
		o.MaxRedirects = DefaultMaxRedirects
	case o.MaxRedirects < 0:
		o.MaxRedirects = 0
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.UserAgent == "" {
		o.UserAgent = "exhibit/" + o.Version + " (+https://github.com/exhibit-archive/exhibit)"
	}
	return o
}

// BodySink consumes the response body, already transfer- and
// content-decoded, and returns its lowercase hex SHA-256 and its size in
// bytes. It must read body to io.EOF, and must stop and return the reader's
// error (wrapped or not) if a read fails. ctx carries the fetch's deadline.
// The sink passed to [Fetch] must not be nil.
type BodySink func(ctx context.Context, body io.Reader) (sha256 string, size int64, err error)

// Result is what a fetch observed.
type Result struct {
	// Observed is filled as far as the fetch got. On failure, FinalURL is
	// the last URL a request was sent to (or attempted), and Status,
	// Protocol, Headers, PeerAddress and TLS describe that request's
	// response, if one arrived: for "redirect_loop" and
	// "too_many_redirects" they describe the redirect that was not
	// followed, which is also the last entry of Redirects.
	// TLS.ServerName is the SNI name sent, empty for an IP address.
	// TLS.Verified reports whether the chain verifies against
	// Options.RootCAs (or the system roots) for the URL's host, also when
	// InsecureSkipVerify let an unverified chain through.
	// TLS.CertificateChainSHA256 is left empty for the caller to fill.
	Observed verify.Observation
	// MediaType is the final response's Content-Type header value as sent;
	// "" if none.
	MediaType string
	// CertChainPEM is the peer certificate chain of the final connection as
	// concatenated PEM "CERTIFICATE" blocks, leaf first; nil without TLS.
	// It is also filled when certificate verification failed, from the
	// verification error; Observed.TLS then has Verified false and empty
	// Version and CipherSuite, since the handshake did not complete.
	CertChainPEM []byte
	// SHA256 and Size are those the sink returned; "" and 0 on failure.
	SHA256 string
	Size   int64
	// Failure is nil when a response body was obtained, whatever its
	// status; otherwise it holds the reason and a message for humans.
	Failure *verify.Failure
}

// Failure reasons, as listed in [verify.Failure].
const (
	reasonDNS              = "dns"
	reasonConnect          = "connect"
	reasonConnectionReset  = "connection_reset"
	reasonTLS              = "tls"
	reasonRedirectLoop     = "redirect_loop"
	reasonTooManyRedirects = "too_many_redirects"
	reasonTimeout          = "timeout"
	reasonBodyTooLarge     = "body_too_large"
	reasonBadURL           = "bad_url"
	reasonProtocol         = "protocol"
	reasonOther            = "other"
)

// Fetch GETs rawURL, follows redirects, and hands the final response's
// body to sink, whatever its status. A final non-2xx status is not a
// failure. Fetch sends "Accept-Encoding: gzip, deflate" and decodes those
// content codings itself, so that Observed.Headers keep Content-Encoding and
// Content-Length exactly as received.
//
// A failure is reported in Result.Failure with one of these reasons:
// "bad_url" (not an absolute http or https URL, or a redirect to one),
// "dns", "connect", "connection_reset" (reset or closed before the response
// was complete), "tls" (handshake or certificate verification),
// "redirect_loop", "too_many_redirects", "timeout" (Options.Timeout or the
// ctx deadline), "body_too_large", "protocol" (unknown or corrupt content
// coding, unparsable Location), and "other" (including cancellation of ctx
// and errors of the sink itself).
func Fetch(ctx context.Context, rawURL string, opts Options, sink BodySink) *Result {
	start := time.Now()
	opts = opts.withDefaults()
	f := &fetch{
		opts: opts,
		res: &Result{Observed: verify.Observation{
			StartedAt:    verify.FormatTime(start),
			RequestedURL: rawURL,
			UserAgent:    opts.UserAgent,
		}},
	}
	f.run(ctx, rawURL, sink)
	f.res.Observed.DurationMS = time.Since(start).Milliseconds()
	return f.res
}

// fetch is the state of one call to Fetch.
type fetch struct {
	opts Options
	res  *Result
	// limit is the time the fetch was given: Options.Timeout, or less if
	// the caller's ctx has an earlier deadline.
	limit time.Duration
}

// failError carries a failure reason decided where the error arose.
type failError struct {
	reason string
	err    error
}

func (e *failError) Error() string { return e.err.Error() }
func (e *failError) Unwrap() error { return e.err }

// fail records err as the fetch's failure. handshakeErr is the TLS
// handshake error of the failed request, if any.
func (f *fetch) fail(ctx context.Context, err, handshakeErr error) {
	reason := classify(ctx, err, handshakeErr)
	msg := err.Error()
	if reason == reasonTimeout && f.limit > 0 {
		msg = fmt.Sprintf("%s (time limit %v)", msg, f.limit)
	}
	f.res.Failure = &verify.Failure{Reason: reason, Message: msg}
	f.res.SHA256, f.res.Size = "", 0
}

func (f *fetch) run(parent context.Context, rawURL string, sink BodySink) {
	u, err := parseURL(rawURL)
	if err != nil {
		f.fail(parent, &failError{reasonBadURL, err}, nil)
		return
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, f.opts.Timeout)
	defer cancel()
	if d, ok := ctx.Deadline(); ok {
		f.limit = d.Sub(start).Round(time.Millisecond)
	}
	tr := newTransport(f.opts)
	defer tr.CloseIdleConnections()

	requested := map[string]bool{}
	for {
		requested[withoutFragment(u)] = true
		resp, ct, err := f.roundTrip(ctx, tr, u)
		if err != nil {
			f.recordChainFromError(u, err)
			f.fail(ctx, fmt.Errorf("GET %s: %w", u.Redacted(), err), ct.handshakeError())
			return
		}
		loc, ok := redirectLocation(resp)
		if !ok {
			defer resp.Body.Close()
			f.readBody(ctx, u, resp, sink)
			return
		}
		resp.Body.Close()
		if hasUserinfo(loc) {
			// Never record, send or publish credentials a server hands out.
			loc = redactUserinfo(loc)
			if h := f.res.Observed.Headers; h != nil {
				h["Location"] = []string{loc}
			}
		}
		hops := append(f.res.Observed.Redirects, verify.Hop{URL: u.String(), Status: resp.StatusCode, Location: loc})
		f.res.Observed.Redirects = hops
		next, err := u.Parse(loc)
		if err != nil {
			f.fail(ctx, &failError{reasonProtocol, fmt.Errorf("redirect from %s: invalid Location header %q: %w", u.Redacted(), loc, err)}, nil)
			return
		}
		if next.Fragment == "" && next.RawFragment == "" {
			// RFC 9110, section 10.2.2: the target inherits the fragment.
			next.Fragment, next.RawFragment = u.Fragment, u.RawFragment
		}
		if err := checkURL(next); err != nil {
			f.fail(ctx, &failError{reasonBadURL, fmt.Errorf("redirect from %s: Location %q %w", u.Redacted(), loc, err)}, nil)
			return
		}
		if requested[withoutFragment(next)] {
			f.fail(ctx, &failError{reasonRedirectLoop, fmt.Errorf("redirect loop: %s redirects to %s, which was already requested", u.Redacted(), next.Redacted())}, nil)
			return
		}
		if len(hops) > f.opts.MaxRedirects {
			f.fail(ctx, &failError{reasonTooManyRedirects, fmt.Errorf("redirect %d, from %s to %s, is over the limit of %d redirects", len(hops), u.Redacted(), next.Redacted(), f.opts.MaxRedirects)}, nil)
			return
		}
		u = next
	}
}

// roundTrip sends one GET to u and records the response's metadata.
func (f *fetch) roundTrip(ctx context.Context, tr *http.Transport, u *url.URL) (*http.Response, *connTrace, error) {
	obs := &f.res.Observed
	obs.FinalURL = u.String()
	obs.Status, obs.Protocol, obs.Headers, obs.PeerAddress, obs.TLS = 0, "", nil, "", nil
	f.res.MediaType, f.res.CertChainPEM = "", nil

	ct := &connTrace{}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, ct.trace()), http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, ct, &failError{reasonBadURL, err}
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept-Encoding", "gzip, deflate")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, ct, err
	}

	obs.Status = resp.StatusCode
	obs.Protocol = resp.Proto
	obs.Headers = receivedHeaders(resp)
	obs.PeerAddress = ct.peerAddress()
	f.res.MediaType = resp.Header.Get("Content-Type")
	if cs := resp.TLS; cs != nil {
		obs.TLS = &verify.TLS{
			Version:      tls.VersionName(cs.Version),
			CipherSuite:  tls.CipherSuiteName(cs.CipherSuite),
			ServerName:   cs.ServerName,
			Verified:     verified(cs, u.Hostname(), f.opts.RootCAs),
			Certificates: len(cs.PeerCertificates),
		}
		if len(cs.PeerCertificates) > 0 {
			obs.TLS.LeafSubject = cs.PeerCertificates[0].Subject.String()
		}
		f.res.CertChainPEM = encodeChain(cs.PeerCertificates)
	}
	return resp, ct, nil
}

// readBody hands the decoded body of resp to sink.
func (f *fetch) readBody(ctx context.Context, u *url.URL, resp *http.Response, sink BodySink) {
	codings, err := contentCodings(resp.Header)
	if err != nil {
		f.fail(ctx, &failError{reasonProtocol, fmt.Errorf("response from %s: %w", u.Redacted(), err)}, nil)
		return
	}
	raw := &rawReader{r: resp.Body}
	var decoded io.Reader = raw
	if len(codings) > 0 {
		decoded = &decoder{raw: raw, codings: codings}
	}
	body := &bodyReader{r: &limitReader{r: decoded, limit: f.opts.MaxBodyBytes}}
	sum, size, err := sink(ctx, body)
	switch {
	case body.err != nil:
		// The reader failed: that is the cause, whatever the sink made of it.
		err = body.err
	case err != nil:
		// The sink failed on its own.
	case !body.eof:
		if body.probeEOF() {
			break
		}
		if body.err != nil {
			err = body.err
		} else {
			err = errors.New("the sink returned before the end of the body")
		}
	case size != body.n:
		err = fmt.Errorf("the sink reported %d bytes, but %d were read", size, body.n)
	}
	if err != nil {
		f.fail(ctx, fmt.Errorf("reading the body of %s: %w", u.Redacted(), err), nil)
		return
	}
	f.res.SHA256, f.res.Size = sum, size
}

// recordChainFromError fills CertChainPEM and a partial Observed.TLS from a
// certificate verification error, if err holds one.
func (f *fetch) recordChainFromError(u *url.URL, err error) {
	chain := chainFromError(err)
	if len(chain) == 0 {
		return
	}
	f.res.CertChainPEM = encodeChain(chain)
	f.res.Observed.TLS = &verify.TLS{
		ServerName:   sniName(u.Hostname()),
		Verified:     false,
		Certificates: len(chain),
		LeafSubject:  chain[0].Subject.String(),
	}
}

// sniName returns the server name crypto/tls sends for host: none for an
// IP address.
func sniName(host string) string {
	if net.ParseIP(host) != nil {
		return ""
	}
	return host
}

// parseURL accepts only absolute http and https URLs with a host.
func parseURL(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if err := checkURL(u); err != nil {
		return nil, fmt.Errorf("%q %w", rawURL, err)
	}
	return u, nil
}

// checkURL returns an error, to follow the URL in a message, unless u is
// an absolute http or https URL with a host.
func checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return errors.New("is not an http or https URL")
	}
	if u.Hostname() == "" {
		return errors.New("is a URL without a host")
	}
	if u.User != nil {
		return errors.New("holds credentials (user:password@), which exhibit neither sends nor records")
	}
	return nil
}

// hasUserinfo reports whether the URL reference loc has a user name or
// password.
func hasUserinfo(loc string) bool {
	u, err := url.Parse(loc)
	return err == nil && u.User != nil
}

// redactUserinfo replaces the user name and password in loc with
// "redacted".
func redactUserinfo(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.User == nil {
		return loc
	}
	u.User = url.User("redacted")
	return u.String()
}

func withoutFragment(u *url.URL) string {
	v := *u
	v.Fragment, v.RawFragment = "", ""
	return v.String()
}

// redirectLocation returns the raw Location of a redirect response, which
// is one of 301, 302, 303, 307 and 308 with a non-empty Location (as
// net/http's Client decides). Other responses are final.
func redirectLocation(resp *http.Response) (string, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return "", false
	}
	loc := resp.Header.Get("Location")
	return loc, loc != ""
}

// receivedHeaders returns the response's header fields as received.
// net/http moves Transfer-Encoding out of the header into
// resp.TransferEncoding; it is put back.
func receivedHeaders(resp *http.Response) map[string][]string {
	h := resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 && h.Values("Transfer-Encoding") == nil {
		if h == nil {
			h = http.Header{}
		}
		h["Transfer-Encoding"] = append([]string(nil), resp.TransferEncoding...)
	}
	return h
}

func newTransport(o Options) *http.Transport {
	d := &net.Dialer{Control: o.Control}
	return &http.Transport{
		Proxy:       nil, // the recorded peer must be the origin server
		DialContext: d.DialContext,
		TLSClientConfig: &tls.Config{
			RootCAs: o.RootCAs,
			// Deliberate and documented in Options; the chain is
			// still verified by verified() and reported.
			InsecureSkipVerify: o.InsecureSkipVerify, // #nosec G402
		},
		ForceAttemptHTTP2:  true,
		DisableCompression: true,
	}
}

// connTrace records, through httptrace, the connection a request used.
// Its callbacks may run on the transport's dialing goroutine.
type connTrace struct {
	mu           sync.Mutex
	peer         string
	handshakeErr error
}

func (c *connTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.peer = info.Conn.RemoteAddr().String()
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil {
				return
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			c.handshakeErr = err
		},
	}
}

func (c *connTrace) peerAddress() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer
}

func (c *connTrace) handshakeError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handshakeErr
}

// verified reports whether the peer's chain verifies for host against roots
// (nil: the system roots). The handshake already did this unless
// InsecureSkipVerify was set.
func verified(cs *tls.ConnectionState, host string, roots *x509.CertPool) bool {
	if len(cs.VerifiedChains) > 0 {
		return true
	}
	if len(cs.PeerCertificates) == 0 {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if cs.ServerName != "" {
		host = cs.ServerName
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
	})
	return err == nil
}

// chainFromError returns the peer certificates held by a certificate
// verification error: the whole chain if known, else the one certificate
// the error names.
func chainFromError(err error) []*x509.Certificate {
	if cve, ok := errors.AsType[*tls.CertificateVerificationError](err); ok && len(cve.UnverifiedCertificates) > 0 {
		return cve.UnverifiedCertificates
	}
	var c *x509.Certificate
	if e, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		c = e.Cert
	} else if e, ok := errors.AsType[x509.HostnameError](err); ok {
		c = e.Certificate
	} else if e, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		c = e.Cert
	}
	if c == nil {
		return nil
	}
	return []*x509.Certificate{c}
}

// encodeChain returns certs as concatenated PEM "CERTIFICATE" blocks.
func encodeChain(certs []*x509.Certificate) []byte {
	if len(certs) == 0 {
		return nil
	}
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// contentCodings returns the response's content codings in the order they
// were applied, lowercased, without "identity". An unsupported coding, or
// more than maxCodings, is an error.
func contentCodings(h http.Header) ([]string, error) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch c {
			case "", "identity":
			case "gzip", "x-gzip", "deflate":
				codings = append(codings, c)
			default:
				return nil, fmt.Errorf("unsupported Content-Encoding %q", c)
			}
		}
	}
	if len(codings) > maxCodings {
		return nil, fmt.Errorf("%d content codings, more than the %d supported", len(codings), maxCodings)
	}
	return codings, nil
}

// rawReader records the first error, other than io.EOF, of the response
// body as read off the connection.
type rawReader struct {
	r   io.Reader
	err error
}

func (r *rawReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

// bodyReader is what the sink reads: it counts bytes and records the first
// error and whether io.EOF was reached.
type bodyReader struct {
	r   io.Reader
	n   int64
	err error
	eof bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && b.err == nil:
		b.err = err
	}
	return n, err
}

// probeEOF reads once more after a sink returned without seeing io.EOF and
// reports whether the body had in fact ended.
func (b *bodyReader) probeEOF() bool {
	var p [1]byte
	for range 100 {
		n, err := b.Read(p[:])
		if n > 0 || (err != nil && err != io.EOF) {
			return false
		}
		if b.eof {
			return true
		}
	}
	return false
}

// limitReader returns an error wrapping ErrBodyTooLarge once more than
// limit bytes would be read.
type limitReader struct {
	r     io.Reader
	limit int64
	n     int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if rem := l.limit - l.n; int64(len(p)) > rem {
		p = p[:rem+1] // one byte more than allowed tells a long body
	}
	n, err := l.r.Read(p)
	if int64(n) > l.limit-l.n {
		n = int(l.limit - l.n)
		l.n = l.limit
		return n, fmt.Errorf("%w: more than the limit of %d bytes after content decoding", ErrBodyTooLarge, l.limit)
	}
	l.n += int64(n)
	return n, err
}

// classify maps a fetch error to a failure reason. It branches on error
// types and values only; handshakeErr is the TLS handshake error reported
// through httptrace, if any.
func classify(ctx context.Context, err error, handshakeErr error) string {
	if fe, ok := errors.AsType[*failError](err); ok {
		return fe.reason
	}
	if errors.Is(err, ErrBodyTooLarge) {
		return reasonBodyTooLarge
	}
	if _, ok := errors.AsType[*contentError](err); ok {
		// Only made when the connection delivered the body without error.
		return reasonProtocol
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Once the deadline passed, the transport tears the connection
		// down, and whatever error that caused is due to the timeout.
		return reasonTimeout
	}
	if errors.Is(err, context.Canceled) {
		return reasonOther
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return reasonDNS
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return reasonTimeout
	}
	if isTLSError(err) {
		return reasonTLS
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// io.EOF (before the response headers) and io.ErrUnexpectedEOF
		// (in the body) both mean the server closed the connection
		// before the response was complete.
		return reasonConnectionReset
	}
	if handshakeErr != nil {
		// The handshake failed without a typed TLS error (crypto/tls
		// returns many of its protocol errors as plain strings).
		return reasonTLS
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return reasonConnect
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTDOWN) {
		return reasonConnect
	}
	return reasonOther
}

// isTLSError reports whether err is a TLS handshake or certificate error.
func isTLSError(err error) bool {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.SystemRootsError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errors.AsType[*tls.ECHRejectionError](err); ok {
		return true
	}
	// An alert received from the peer is a *net.OpError whose Op is
	// "remote error" around an unexported alert type; Op is the only typed
	// handle on it.
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "remote error" {
		return true
	}
	return false
}
