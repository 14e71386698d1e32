// Package render captures a web page as a reader's browser shows it. It
// drives the system's Chromium headless through the Chrome DevTools
// Protocol (https://chromedevtools.github.io/devtools-protocol/, by
// chromedp), waits for the page to settle, and returns what the browser
// received for the main document (status, headers, TLS session and
// certificate chain, body) beside three renderings: a full-page
// screenshot (PNG, https://www.w3.org/TR/png-3/), a PDF of the page as the
// browser prints it, and the DOM after the page's scripts ran, serialized
// as HTML (https://html.spec.whatwg.org/#serialising-html-fragments) with
// the shadow roots of its elements, open and closed, as declarative shadow
// DOM (a <template shadowrootmode="open|closed"> first in its host,
// https://html.spec.whatwg.org/multipage/scripting.html#attr-template-shadowrootmode),
// so that the text of web components is in it; frames' documents are not.
//
// While the page loads, every HTTP exchange it makes is recorded from the
// browser's Network events (requestWillBeSent, responseReceived,
// loadingFinished, and the extra-info events that carry the headers as
// sent and received) and the bodies the browser holds
// (Network.getResponseBody), into [Result.WARC]: a WARC/1.1 file (ISO
// 28500:2017,
// https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/),
// written with gowarc, each record its own gzip member (a .warc.gz as
// replay tools read it). Its records, in order:
//
//   - one warcinfo record (application/warc-fields: software, browser,
//     http-header-user-agent, format, conformsTo, description,
//     exhibit-requested-url, exhibit-started-at, and one
//     exhibit-exchange-omitted per exchange whose records gowarc refused,
//     with the URL and the error: such an exchange is left out, the
//     capture is not failed for it);
//   - per exchange (each redirect hop its own), a request record then a
//     response record (application/http;msgtype=request|response), with
//     WARC-Target-URI, WARC-Date (the request's wall time, to the
//     microsecond), WARC-Block-Digest and WARC-Payload-Digest as
//     "sha256:" and lowercase hex, WARC-IP-Address when the browser knows
//     it, WARC-Warcinfo-ID, and on the request WARC-Concurrent-To naming
//     its response (as warcio and Browsertrix link them);
//   - right after the main document's final response, when the page came
//     over TLS, a metadata record of its certificate chain
//     ([Result.CertChainPEM]): Content-Type [MediaTypeCertChain],
//     WARC-Target-URI [CertChainURIPrefix] followed by the main
//     document's final URL, WARC-Concurrent-To the main response record.
//
// HTTP messages are written as HTTP/1.1 whatever the protocol on the wire
// (HTTP/2 pseudo-headers dropped, a Host header added): the request line
// and headers as sent; the status line, then the headers as received (for
// HTTP/1 the verbatim header text, else the browser's header map sorted by
// name). The body is stored as the browser decoded it, so the headers are
// made to agree with it as Browsertrix does: Content-Encoding and
// Transfer-Encoding are renamed with [OrigHeaderPrefix], as is a
// Content-Length that differs from the stored body's length, and a
// Content-Length of the stored body is added. A text body, which the
// browser gives only decoded, is encoded back into the charset it was
// decoded with, so that the record holds the bytes received and a replay
// decodes them as the browser did ([HeaderBodyCharset]; the same bytes
// are [Result.Body]). A body the WARC does not
// hold (a redirect's, one the browser no longer has, one still loading
// when the page was taken) leaves its response record with an empty
// payload, a [HeaderBodyOmitted] header giving the reason, and
// WARC-Truncated. The main document is the exception: one still loading
// when the bound ran out (a server that never ends its response) is
// taken as it rendered, and its body is what had arrived then
// (Network.streamResourceContent's buffered data, read before loading
// is stopped), in [Result.Body] and a response record with
// WARC-Truncated "unspecified" and no [HeaderBodyOmitted]; only if the
// browser gives none of it is the body omitted ("unfinished"). The bodies together are bounded by
// [Options.MaxPageBytes], as the page is.
//
// Waiting: the page is taken when it has settled (the rule
// [verify.WaitPageQuiet]): the main frame's last document fired its load
// event (at least [Options.Delay] ago, none by default; Browsertrix calls
// it pageExtraDelay), no request has been in flight (a WebSocket whose
// handshake has not ended counts as one; a request of a document the
// main frame has since replaced, or of a frame since removed, does not:
// Chromium cancels it without always telling the tab, and the WARC marks
// its body unfinished; nor does the browser's favicon request) for
// [Options.IdleTime], no short timer of the page is pending, [Options.WaitFor],
// a CSS selector, matches if set, and the document has not changed for
// IdleTime, this last waited for at most [Options.DOMQuietMax] once the
// rest holds (a page that changes for ever at least every IdleTime, a
// ticker, is taken then, settled, and recorded as changing; a clock
// ticking each second has quiet spells of IdleTime and settles in one);
// or when
// [Options.SettleTimeout] runs out, recorded as not settled, and then the
// page is frozen (scripts disabled, loading stopped) before it is taken.
// What the page has pending is its own account, kept by a script run in
// every document before the page's (Page.addScriptToEvaluateOnNewDocument,
// in the page's world, as a wrapped setTimeout must be): a one-shot
// setTimeout with a function callback and a delay of at most
// [Options.TimerMax], in a chain of timers (each set by the callback of
// the one before, or with the same callback function) begun at most
// TimerMax before it was set, is pending until it runs or is cleared; a
// meta refresh of at most TimerMax until a second after it was due; and a MutationObserver notes the last change
// to the document's nodes or text (not attributes, which animations
// change for ever), a tracked timer's callback counting as one. A fixed
// delay after load, the rule before, cost every capture its length; this
// waits for what the page still has to do, and no longer. Browsertrix
// waits for the load event and network idle, then its behaviours
// (autoscroll) for as long as the page adds elements, within a timeout;
// the same idea here, bounded as above.
//
// Client-side navigations of the main frame (a script setting location,
// a meta refresh, a form, a link) are followed within the wait: the
// document taken, and observed, is the last one, and each navigation is
// recorded in order ([verify.Rendering.Navigations], at most
// [verify.MaxNavigations]). Each main-frame document's body is read from
// the browser when it finishes loading, as the next navigation discards
// it; every document is in the WARC. A page that never stops navigating
// is taken, not settled, at the bound, or fails with reason "timeout"
// naming its navigations if no document of it was complete then.
//
// The page cannot block or escape the capture: JavaScript dialogs
// (alert, confirm, prompt, beforeunload) are dismissed as they open and
// counted ([verify.Rendering.DialogsDismissed]), window.print does
// nothing, Chromium's popup blocker is on (a window.open without a
// user's gesture opens nothing and returns null), and downloads are denied (Browser.setDownloadBehavior), so
// that no file is written outside the bounds. The screenshot stops at
// [MaxScreenshotHeight]; the page's height and whether the screenshot was
// cut are recorded.
//
// A main document that is a PDF (application/pdf) is shown by
// Chromium's PDF viewer: Network.getResponseBody then gives the viewer's
// HTML wrapper, not the document's bytes, the viewer's page fires no
// load event the wait sees (the wait ran to its bound), and its
// screenshot and print are a grey page. Such a render fails ("other",
// saying so) as soon as the document has arrived: a plain capture
// (without --browser) stores the PDF itself, which is the evidence.
//
// The page sees the recorded viewport ([verify.Rendering.Viewport]):
// Emulation.setDeviceMetricsOverride sets innerWidth and innerHeight,
// screen.width and screen.height to Options.Width and Options.Height and
// devicePixelRatio to 1 (the window size alone gave a headless page
// 1280x657 of a 1280x800 window, on an 800x600 screen).
//
// Each render runs its own browser, started for it with a fresh profile
// directory and removed after it (a directory left by an exhibit process
// that was killed is removed by the next render, [RemoveStaleProfiles]),
// so that nothing (cookies, cache, service
// workers) passes from one capture to the next. It runs without site
// isolation (--disable-site-isolation-trials, and IsolateOrigins and
// site-per-process among --disable-features): a frame of another site
// then loads in the page's renderer, and its network events, which the
// capture records the WARC from, reach the page's session. The browser is never
// downloaded: it is [Config.ExecPath] or Debian's chromium. A capture
// makes no connection but the page's: the browser's own traffic
// (component updates, network time, Google account checks, optimization
// hints, sync, safe-browsing lists, cast-device discovery, first-run
// pages) is turned off by its switches ([quietFlags] names each and what
// Chromium 156 did without it), and a render through the proxy of an
// address policy (below) asks it for the page's hosts alone. Should a
// later Chromium add traffic of its own, it is still not the page's: the
// WARC is written from the page's network events only (the tab's), the
// warcinfo record names only refusals of hosts the page asked for, and
// the policy judges the connection as any other. (The browser asks the
// page's own host for /favicon.ico in the tab: that exchange is in the
// WARC, but the wait does not wait for it.)
//
// Address policy: with [Options.Control] set (the write API sets
// capture.RefusePrivate, the IANA special-purpose table its fetches use),
// the browser makes no connection of its own. A forward proxy of the
// render, on 127.0.0.1, carries every request: Chromium is started with
// --proxy-server naming it, --proxy-bypass-list=<-loopback> (by default
// Chromium sends loopback hosts around any proxy), --disable-quic and
// --force-webrtc-ip-handling-policy=disable_non_proxied_udp (no UDP, so
// no QUIC and no WebRTC candidates outside the proxy) and
// --dns-prefetch-disable. With a proxy Chromium resolves no host name of
// its requests: the proxy resolves them and dials with
// net.Dialer{Control: Control}, which judges the address actually
// connected to, so every DNS answer, every redirect hop and DNS
// rebinding are covered. https, wss and every other TLS is a CONNECT
// tunnel (RFC 9110 9.3.6): the bytes are relayed, TLS stays end to end
// and the browser sees, and the capture records, the server's own
// certificate chain. A plain http request (absolute-form, RFC 9112
// 3.2.2) is sent on a new connection of its own with its request line in
// origin form and its header lines and body as the browser sent them (a
// chunked body re-chunked, its bytes unchanged); the response's bytes are
// relayed as they arrive, unaltered (no decoding, no header added or
// removed). A connection the policy refuses is not made: a CONNECT is
// answered 502, a plain request by closing the connection, so that the
// browser fails the request and never takes an answer of the proxy's for
// the site's. If that request is the main document's (or a hop of its
// redirects), the render fails with reason "connect" ("dns" if the name
// did not resolve) and the proxy's error, which for the write API names
// the policy and the registry entry of the address; a refused
// sub-resource (image, script, frame, fetch, redirect) is not loaded, is
// absent from the WARC (it has no response), and is named in the
// warcinfo record as "exhibit-connection-refused: host:port: error" (at
// most 20, then "and N more"), beside "exhibit-address-policy"; the
// render goes on. A WebSocket (ws:// or wss://) is a CONNECT tunnel as
// well: one the policy refuses fails in the page (its error event), is
// named in warcinfo as refused, and the render goes on; its messages are
// not recorded. The peer address the browser reports is then the
// proxy's, so the capture records instead, in observed.peer and each
// response's WARC-IP-Address, the address the proxy connected to for
// that URL's host and port (none if it made no connection for it). That
// address is one per host and port: the proxy's first connection for it
// pins it, and every later one (a new connection, whatever DNS then
// answers) goes to the same address, judged by the policy again, so it is
// the peer of every exchange with that host and port, whichever
// connection carried it and however often the browser reused it.
// Without Options.Control (exhibit capture --browser on the operator's
// own machine) the browser connects by itself, anywhere.
//
// Bounds: at most [Config.MaxBrowsers] browsers run at once (more renders
// wait their turn, or their context); each render has a total time limit
// ([Options.Timeout]) and a page-weight limit ([Options.MaxPageBytes], the
// bytes of every response the page loaded, each counted once: as encoded
// on the wire, headers included, once it has finished, and the larger of
// its decoded and encoded chunks while it loads). The browser's processes are
// killed when the render returns, whatever happened ([Renderer.RenderThen]:
// in the background once the page is taken, and over when its done
// returns), and on Linux when the exhibit process dies (the kernel's parent-death signal, SIGKILL, set on
// the browser process; its helpers exit with it).
//
// A render that could not take the page returns a [Result] with Failure
// set, the requests and bytes loaded up to then, and no artefacts and no WARC (a reason of capture predicate version 2: "browser_unavailable",
// "browser_crashed", "page_too_large", "timeout", or a network reason such
// as "dns" or "connect"), never an error: the caller logs it as a failed
// capture.
package render

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/exhibit-archive/exhibit/verify"
)

// Defaults of [Config] and [Options].
const (
	// DefaultMaxBrowsers is how many browsers run at once by default.
	DefaultMaxBrowsers = 2
	// DefaultTimeout bounds a whole render: starting the browser, loading,
	// waiting and taking the page.
	DefaultTimeout = 60 * time.Second
	// DefaultSettleTimeout bounds the wait for the page to settle, counted
	// from the start of the navigation. A page still busy then is taken as
	// it is, and recorded as not settled.
	DefaultSettleTimeout = 15 * time.Second
	// DefaultIdleTime is the quiet time after the load event that counts
	// as settled: no request in flight for this long.
	DefaultIdleTime = 500 * time.Millisecond
	// DefaultDelay is the least time waited after the load event before
	// the page may count as settled: none, as the page's short timers,
	// its meta refresh and its document's changes are waited for by
	// themselves (the rule [verify.WaitPageQuiet]); a fixed delay would
	// cost every capture its whole length.
	DefaultDelay time.Duration = 0
	// DefaultTimerMax bounds the page's timers that the wait waits for: a
	// setTimeout of at most this delay, in a chain of timers (each set
	// by the callback of the one before, or with the same callback
	// function) begun at most this long before it was set; and a meta
	// refresh of at most this delay.
	DefaultTimerMax = 5 * time.Second
	// DefaultDOMQuietMax bounds the wait for the document to stop
	// changing, once the load event, the delay, the network, the
	// timers and WaitFor allow the page to be taken: a page that changes
	// for ever (a clock, a ticker) is taken then.
	DefaultDOMQuietMax = 2 * time.Second
	// DefaultMaxPageBytes bounds the bytes the page may load, all
	// responses together, as received: 64 MiB.
	DefaultMaxPageBytes = 64 << 20
	// DefaultWidth and DefaultHeight are the viewport, in CSS pixels.
	DefaultWidth  = 1280
	DefaultHeight = 800
	// MaxScreenshotHeight bounds a full-page screenshot, in CSS pixels:
	// a longer page is shot down to this height.
	MaxScreenshotHeight = 16384
)

// Config configures a [Renderer].
type Config struct {
	// ExecPath is the browser binary. If empty, "chromium" on PATH, else
	// /usr/bin/chromium.
	ExecPath string
	// MaxBrowsers is how many browsers may run at once. If zero,
	// DefaultMaxBrowsers.
	MaxBrowsers int
}

// Renderer renders pages, at most Config.MaxBrowsers at a time. It is safe
// for concurrent use.
type Renderer struct {
	execPath string
	slots    chan struct{}
}

// New returns a renderer. It does not start a browser: a missing browser
// is a failed render ("browser_unavailable"), not an error here.
func New(c Config) *Renderer {
	n := cmp.Or(c.MaxBrowsers, DefaultMaxBrowsers)
	if n < 1 {
		n = 1
	}
	return &Renderer{execPath: c.ExecPath, slots: make(chan struct{}, n)}
}

// ExecPath returns the browser binary a render runs, or "" if there is none.
func (r *Renderer) ExecPath() string {
	if r.execPath != "" {
		return r.execPath
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// Options describe one render. Zero fields take the defaults above.
type Options struct {
	Timeout       time.Duration
	SettleTimeout time.Duration
	IdleTime      time.Duration
	// Delay is the least time waited after the load event (of the last
	// document of the main frame) before the page may count as settled.
	// If zero, DefaultDelay (none); negative waits none.
	Delay time.Duration
	// TimerMax and DOMQuietMax bound what the wait waits for (see
	// DefaultTimerMax, DefaultDOMQuietMax). If zero, the defaults;
	// a negative DOMQuietMax waits for no quiet of the document.
	TimerMax, DOMQuietMax time.Duration
	// WaitFor, if set, is a CSS selector (document.querySelector) the
	// page must match before it counts as settled; a page that does not
	// match it within SettleTimeout is taken then, not settled.
	WaitFor       string
	MaxPageBytes  int64
	Width, Height int
	// IgnoreCertErrors loads a page whose TLS certificate does not verify
	// (recorded as unverified).
	IgnoreCertErrors bool
	// Software names the capturing software in the WARC's warcinfo
	// record, e.g. "exhibit/1.4.0". If empty, "exhibit".
	Software string
	// Control, if set, is the address policy of the render: the browser
	// then sends every connection through a proxy of this render that
	// dials with net.Dialer{Control: Control} (see the package doc), and
	// a connection it refuses is not made. capture.RefusePrivate is the
	// write API's. If nil, the browser connects by itself, anywhere.
	Control func(network, address string, c syscall.RawConn) error
}

func (o *Options) defaults() {
	o.Timeout = cmp.Or(o.Timeout, DefaultTimeout)
	o.SettleTimeout = min(cmp.Or(o.SettleTimeout, DefaultSettleTimeout), o.Timeout)
	o.IdleTime = cmp.Or(o.IdleTime, DefaultIdleTime)
	o.Delay = max(cmp.Or(o.Delay, DefaultDelay), 0)
	o.TimerMax = max(cmp.Or(o.TimerMax, DefaultTimerMax), time.Millisecond)
	o.DOMQuietMax = max(cmp.Or(o.DOMQuietMax, DefaultDOMQuietMax), 0)
	o.MaxPageBytes = cmp.Or(o.MaxPageBytes, DefaultMaxPageBytes)
	o.Width = cmp.Or(o.Width, DefaultWidth)
	o.Height = cmp.Or(o.Height, DefaultHeight)
}

// Result is what a render observed and took.
type Result struct {
	// Observed is the main document's exchange as the browser saw it
	// (requested and final URL, redirects, status, protocol, headers,
	// peer address, TLS session), with StartedAt and DurationMS covering
	// the whole render.
	Observed verify.Observation
	// CertChainPEM is the main document's certificate chain as
	// concatenated PEM blocks, leaf first (https only).
	CertChainPEM []byte
	// Body is the main document's response body, as the browser decoded
	// it from the wire (content-decoded), and MediaType its Content-Type.
	// A text body is the browser's text encoded back into the charset it
	// was decoded with (see [HeaderBodyCharset]): the bytes received,
	// not the browser's UTF-8 reading of them.
	Body      []byte
	MediaType string
	// Rendering is the browser, viewport, wait and traffic; its artefact
	// fields are left for the caller, which stores Screenshot, PDF and DOM.
	Rendering verify.Rendering
	// Screenshot (PNG), PDF and DOM (HTML, UTF-8) are nil when Failure is
	// set.
	Screenshot, PDF, DOM []byte
	// WARC is every HTTP exchange of the page as a WARC/1.1 file, each
	// record its own gzip member (see the package doc); nil when Failure
	// is set.
	WARC []byte
	// Failure, if set, says why the page could not be taken.
	Failure *verify.Failure
}

// Failure reasons of a render.
const (
	ReasonUnavailable = "browser_unavailable"
	ReasonCrashed     = "browser_crashed"
	ReasonTooLarge    = "page_too_large"
	ReasonTimeout     = "timeout"
)

// failure is an error with its recorded reason.
type failure struct {
	reason string
	err    error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

func fail(reason string, format string, args ...any) error {
	return &failure{reason: reason, err: fmt.Errorf(format, args...)}
}

// Render loads rawURL in a new headless browser and takes the page (see
// the package doc). It returns an error only when ctx is done before the
// render started or was canceled (not timed out) during it; every other
// problem is a Result with Failure set. When it returns, the browser is
// gone and its profile directory removed.
func (r *Renderer) Render(ctx context.Context, rawURL string, o Options) (*Result, error) {
	res, done, err := r.RenderThen(ctx, rawURL, o)
	done()
	return res, err
}

// RenderThen is Render, but returns as soon as the page is taken: the
// browser is then closed and killed, its profile directory removed and
// its proxy closed in the background, while the caller stores what was
// taken. done blocks until all that is over; the caller must call it
// (always, error or not; more than once is harmless), and before the
// process exits. The browser holds its place among Config.MaxBrowsers
// until it is gone.
func (r *Renderer) RenderThen(ctx context.Context, rawURL string, o Options) (res *Result, done func(), err error) {
	o.defaults()
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, func() {}, ctx.Err()
	}
	var td teardown
	gone := make(chan struct{})
	done = func() { <-gone }
	defer func() {
		go func() {
			td.run()
			<-r.slots
			close(gone)
		}()
	}()

	res = &Result{Rendering: verify.Rendering{
		Browser:  verify.Browser{Name: "Chromium"},
		Viewport: verify.Viewport{Width: o.Width, Height: o.Height, DeviceScaleFactor: 1},
		Wait: verify.Wait{Rule: verify.WaitPageQuiet, IdleMS: o.IdleTime.Milliseconds(), TimeoutMS: o.SettleTimeout.Milliseconds(),
			DelayMS: o.Delay.Milliseconds(), WaitFor: o.WaitFor,
			TimerMaxMS: o.TimerMax.Milliseconds(), DOMQuietMaxMS: o.DOMQuietMax.Milliseconds()},
	}}
	start := time.Now()
	res.Observed.StartedAt = verify.FormatTime(start)
	res.Observed.RequestedURL = rawURL
	err = r.render(ctx, rawURL, o, res, &td)
	res.Observed.DurationMS = time.Since(start).Milliseconds()
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, done, ctx.Err()
		}
		var f *failure
		reason := "other"
		if errors.As(err, &f) {
			reason = f.reason
		} else if errors.Is(err, context.DeadlineExceeded) {
			reason = ReasonTimeout
		}
		res.Failure = &verify.Failure{Reason: reason, Message: err.Error()}
		res.Screenshot, res.PDF, res.DOM, res.Body, res.WARC = nil, nil, nil, nil, nil
	}
	return res, done, nil
}

// teardown is what a render leaves to be undone once the page is taken
// (the browser, its profile, its proxy), run last in, first out, as
// defers would be, but after the render has returned its result.
type teardown []func()

func (t *teardown) add(f func()) { *t = append(*t, f) }

func (t teardown) run() {
	for i := len(t) - 1; i >= 0; i-- {
		t[i]()
	}
}

// render renders into res; what it starts that must be stopped (browser,
// profile directory, proxy, its context) it adds to td, not to defers.
func (r *Renderer) render(ctx context.Context, rawURL string, o Options, res *Result, td *teardown) error {
	bin := r.ExecPath()
	if bin == "" {
		return fail(ReasonUnavailable, "no browser: chromium is not on PATH nor at /usr/bin/chromium (install Debian's chromium package)")
	}
	// The profile directory's name holds this process's ID: a browser
	// left by it is found by its --user-data-dir, and a directory left by
	// a process that died (kill -9) is removed here by the next render.
	RemoveStaleProfiles()
	profile, err := os.MkdirTemp("", profilePrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return fmt.Errorf("making the browser's profile directory: %w", err)
	}
	td.add(func() { os.RemoveAll(profile) })

	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	td.add(cancel)
	// The proxy is closed after the browser is gone (td runs last in,
	// first out).
	var px *proxy
	if o.Control != nil {
		if px, err = startProxy(o.Control); err != nil {
			return fail(ReasonUnavailable, "%v", err)
		}
		td.add(func() {
			px.close()
			if proxyLog != nil {
				proxyLog(px.authorities())
			}
		})
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(o.Width, o.Height),
		chromedp.DisableGPU,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		// One renderer process for the page and its frames: with site
		// isolation a frame of another site is a target of its own,
		// whose network events (its document's loadingFinished, its
		// sub-resources) the page's session never sees, so its body
		// was missing from the WARC and it replayed empty. The browser
		// is the capture's alone, with a fresh profile and nothing of
		// another site to protect. The first two features are
		// chromedp's defaults, which the flag replaces.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,IsolateOrigins,site-per-process"),
		chromedp.Flag("disable-site-isolation-trials", true),
		// Chromium's popup blocker on (chromedp turns it off): a
		// window.open without a user's gesture, which no page of a
		// capture has, opens no window and returns null, as for a
		// reader whose browser blocks popups, so popups neither load
		// in the capture's browser nor hold up its wait.
		// (--block-new-web-contents is not honoured by Chromium's
		// headless mode: 50 popups loaded with it.)
		chromedp.Flag("disable-popup-blocking", false),
	)
	opts = append(opts, quietFlags...)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	if o.IgnoreCertErrors {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	if px != nil {
		opts = append(opts,
			chromedp.ProxyServer(px.URL()),
			// Chromium bypasses proxies for loopback unless told not to
			// (net/proxy_resolution/proxy_bypass_rules.h).
			chromedp.Flag("proxy-bypass-list", "<-loopback>"),
			// No UDP: no QUIC, and WebRTC only through the proxy (which
			// carries no UDP, so none).
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("force-webrtc-ip-handling-policy", "disable_non_proxied_udp"),
			chromedp.Flag("dns-prefetch-disable", true),
		)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	td.add(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	td.add(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("starting %s: %w", bin, ctx.Err())
		}
		return fail(ReasonUnavailable, "starting %s: %v", bin, err)
	}
	if v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{}); err == nil {
		name, version, _ := strings.Cut(v.Product, "/")
		res.Rendering.Browser = verify.Browser{Name: name, Version: version, UserAgent: v.UserAgent}
		res.Observed.UserAgent = v.UserAgent
	}

	w := &watch{maxBytes: o.MaxPageBytes, abort: make(chan error, 1), activity: time.Now(), bctx: bctx}
	// What was loaded up to a failure is recorded too.
	defer func() {
		w.mu.Lock()
		res.Rendering.Requests, res.Rendering.TransferBytes = len(w.requests), w.total
		w.mu.Unlock()
	}()
	if err := chromedp.Listen(bctx, w.event); err != nil {
		return fail(ReasonUnavailable, "opening a tab: %v", err)
	}
	// Before the page: no download (a page's link or script would
	// otherwise write to the user's Downloads directory), no print
	// dialog (window.print blocks the page until it is answered), and
	// the main frame's ID, to tell its navigations from its frames'.
	tree, err := chromedp.Call(bctx, page.GetFrameTree, cdp.Empty{})
	if err == nil {
		w.mainFrame = tree.FrameTree.Frame.ID
		_, err = chromedp.Call(bctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorDeny})
	}
	if err == nil {
		// The viewport the page sees is the one recorded: the window size
		// flag sizes the window, of which the headless browser's frame
		// takes part (innerHeight was 657 of 800), and the screen is its
		// own default (800x600). The override sets the layout viewport,
		// the screen and the scale factor alike.
		_, err = chromedp.Call(bctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: int64(o.Width), Height: int64(o.Height), DeviceScaleFactor: 1,
			ScreenWidth: int64(o.Width), ScreenHeight: int64(o.Height),
		})
	}
	if err == nil {
		_, err = chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: neutralise + quietScript(o.TimerMax)})
	}
	if err != nil {
		return fail(ReasonUnavailable, "preparing the tab: %v", err)
	}

	// Navigate: Page.navigate answers once the main document's response
	// has arrived (or failed); the wait comes after. The settle bound
	// counts from here, not from the browser's start.
	navStart := time.Now()
	w.mu.Lock()
	w.navStart = navStart
	w.mu.Unlock()
	nav, err := chromedp.Run(bctx, func(ctx context.Context, t *chromedp.Target) (page.NavigateResult, error) {
		return cdp.Call(ctx, t, page.Navigate, page.NavigateParams{URL: rawURL})
	})
	if err := w.aborted(); err != nil {
		return err
	}
	if err != nil {
		if ctx.Err() != nil {
			return fail(ReasonTimeout, "loading %s: no response within %v", rawURL, o.Timeout)
		}
		return fail(ReasonCrashed, "loading %s: %v", rawURL, err)
	}
	if nav.ErrorText != "" {
		w.mu.Lock()
		w.repeer(px)
		w.fillObserved(&res.Observed, nav.LoaderID)
		w.mu.Unlock()
		if px != nil {
			// The proxy's failure says more than the browser's
			// (ERR_TUNNEL_CONNECTION_FAILED, ERR_EMPTY_RESPONSE).
			last := cmp.Or(res.Observed.FinalURL, rawURL)
			if perr := px.refusal(authorityOf(last)); perr != nil {
				reason := "connect"
				if _, ok := errors.AsType[*net.DNSError](perr); ok {
					reason = "dns"
				}
				return fail(reason, "loading %s: %s: %v", rawURL, last, perr)
			}
		}
		return fail(netReason(nav.ErrorText), "loading %s: %s", rawURL, nav.ErrorText)
	}

	// Wait for the page to settle, within the bound (the rule
	// verify.WaitPageQuiet). Settled: the main frame's last document
	// fired its load event at least Delay ago and no request has been in
	// flight for IdleTime; then the page's own account (quietProbe): no
	// short timer pending, WaitFor (if set) matching, and no change to
	// the document for IdleTime, this last waited for at most
	// DOMQuietMax from the moment the rest held.
	settleBy := navStart.Add(o.SettleTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var calmSince time.Time // since when all but the document's quiet held
	var last quiet
	for settled := false; !settled; {
		select {
		case err := <-w.abort:
			return err
		case <-ctx.Done():
			return fail(ReasonTimeout, "loading %s: the page was not taken within %v", rawURL, o.Timeout)
		case now := <-tick.C:
			w.mu.Lock()
			idle := w.loaded && w.inflight() == 0 && now.Sub(w.activity) >= o.IdleTime && now.Sub(w.loadedAt) >= o.Delay
			pdfDone := w.pdfMain != nil && w.pdfMain.finished
			w.mu.Unlock()
			if pdfDone {
				// A PDF document: Chromium's PDF viewer shows it,
				// and gives the viewer's HTML page for its body (not
				// the document's bytes); its load event never comes.
				return fail("other", "loading %s: the main document is a PDF (application/pdf), which Chromium shows in its PDF viewer: the browser gives the viewer's page, not the document, so a browser capture cannot hold it; capture it without --browser", rawURL)
			}
			calm := false
			if idle {
				q, err := probeQuiet(bctx, o.WaitFor)
				if err != nil && strings.Contains(err.Error(), "SyntaxError") {
					return fail("other", "waiting for %q in %s: not a CSS selector: %v", o.WaitFor, rawURL, err)
				}
				if err == nil {
					last = q
					calm = q.Pending == 0 && (o.WaitFor == "" || q.Found)
				}
			}
			if !calm {
				calmSince = time.Time{}
			} else if calmSince.IsZero() {
				calmSince = now
			}
			switch {
			case calm && last.QuietMS >= float64(o.IdleTime.Milliseconds()):
				settled = true
				res.Rendering.Wait.Settled, res.Rendering.Wait.WaitForFound = true, o.WaitFor != ""
			case calm && now.Sub(calmSince) >= o.DOMQuietMax:
				settled = true
				res.Rendering.Wait.Settled, res.Rendering.Wait.WaitForFound = true, o.WaitFor != ""
				res.Rendering.Wait.DOMChanging = true
			case now.After(settleBy):
				settled = true
				if q, err := probeQuiet(bctx, o.WaitFor); err == nil {
					res.Rendering.Wait.TimersPending = q.Pending
					res.Rendering.Wait.DOMChanging = q.QuietMS < float64(o.IdleTime.Milliseconds())
				}
			}
		}
	}
	res.Rendering.Wait.WaitedMS = time.Since(navStart).Milliseconds()
	if !res.Rendering.Wait.Settled {
		// A main document still loading: what it has received so far
		// is read now, before loading is stopped (which discards it);
		// Network.getResponseBody has nothing of an unfinished body.
		w.mu.Lock()
		unfinished := w.documentOf(cmp.Or(w.mainLoader, nav.LoaderID))
		if unfinished != nil && (unfinished.finished || unfinished.resp == nil) {
			unfinished = nil
		}
		w.mu.Unlock()
		if unfinished != nil {
			if b, err := chromedp.Call(bctx, network.StreamResourceContent, network.StreamResourceContentParams{RequestID: unfinished.id}); err == nil {
				w.mu.Lock()
				if !unfinished.bodyRead {
					unfinished.body, unfinished.bodyCharset, unfinished.bodyRead, unfinished.partial = b.BufferedData, "", true, true
				}
				w.mu.Unlock()
			}
		}
		// Freeze a page taken unsettled: no more scripts, no navigation
		// under way (one that never ends, such as a script navigating
		// on every load, would otherwise replace the document while it
		// is taken).
		// A call may meet the page between two documents ("Not
		// attached to an active page"): it is tried again.
		var err error
		for range 20 {
			if _, err = chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err == nil {
				if _, err = chromedp.Call(bctx, page.StopLoading, cdp.Empty{}); err == nil {
					break
				}
			}
			if ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil && ctx.Err() == nil {
			return fail(ReasonCrashed, "stopping %s to take it: %v", rawURL, err)
		}
	}
	w.mu.Lock()
	res.Rendering.Navigations = w.navigations
	res.Rendering.DialogsDismissed = w.dialogs
	w.mu.Unlock()

	// Take the page. The DOM first, before printing can change it.
	take := func(what string, f func(ctx context.Context, t *chromedp.Target) ([]byte, error)) ([]byte, error) {
		b, err := chromedp.Run(bctx, f)
		if aerr := w.aborted(); aerr != nil {
			return nil, aerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fail(ReasonTimeout, "taking the %s of %s: the render ran out of its %v", what, rawURL, o.Timeout)
			}
			return nil, fail(ReasonCrashed, "taking the %s of %s: %v", what, rawURL, err)
		}
		return b, nil
	}
	if res.DOM, err = take("DOM", serializeDOM); err != nil {
		return err
	}
	if res.Screenshot, err = take("screenshot", func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		b, h, err := fullScreenshot(ctx, t)
		res.Rendering.PageHeight, res.Rendering.ScreenshotTruncated = h, h > MaxScreenshotHeight
		return b, err
	}); err != nil {
		return err
	}
	// The PDF prints while the exchanges are gathered and the WARC
	// written, which neither reads nor changes the layout; every way out
	// below waits for it first.
	pdfDone := make(chan error, 1)
	go func() {
		b, err := take("PDF", chromedp.PrintToPDF(func(p *page.PrintToPDFParams) {
			p.PrintBackground = ptr(true)
			p.TransferMode = page.PrintToPDFTransferModeReturnAsStream
		}))
		res.PDF = b
		pdfDone <- err
	}()
	waitPDF := sync.OnceValue(func() error { return <-pdfDone })
	defer waitPDF()

	// The main document is the main frame's last: a script or a meta
	// refresh may have replaced the first. Its body was read when it
	// finished loading (a document replaced later is gone from the
	// browser); one still loading is read now.
	w.mu.Lock()
	w.readsClosed = true // no read starts after Wait began
	w.mu.Unlock()
	w.reads.Wait()
	w.mu.Lock()
	w.repeer(px)
	loader := cmp.Or(w.mainLoader, nav.LoaderID)
	main := w.fillObserved(&res.Observed, loader)
	var mainBody []byte
	var mainCharset string
	var mainRead bool
	var mainPartial bool
	if main != nil {
		mainBody, mainCharset, mainRead, mainPartial = main.body, main.bodyCharset, main.bodyRead, main.partial
	}
	w.mu.Unlock()
	if main == nil {
		if len(res.Rendering.Navigations) > 0 {
			return fail(ReasonTimeout, "loading %s: the main frame was still navigating (%d client-side navigations, the last to %s) when the %v bound ran out", rawURL, len(res.Rendering.Navigations), res.Rendering.Navigations[len(res.Rendering.Navigations)-1].URL, o.SettleTimeout)
		}
		return fail("protocol", "loading %s: the browser reported no response for the main document", rawURL)
	}
	res.MediaType = headerValue(main.resp.Headers, "Content-Type")
	if res.MediaType == "" {
		res.MediaType = main.resp.MimeType
	}
	var mainOmitted string
	if !mainRead {
		body, err := chromedp.Call(bctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: main.id})
		switch {
		case err == nil:
			mainBody, mainCharset = receivedBody(main.resp, body)
		case len(res.Rendering.Navigations) > 0:
			return fail(ReasonTimeout, "loading %s: the main frame's document %s was still loading after %d client-side navigations when the %v bound ran out: %v", rawURL, main.url, len(res.Rendering.Navigations), o.SettleTimeout, err)
		case !res.Rendering.Wait.Settled:
			// Still loading when the bound ran out, and the browser
			// gave none of it: the page is taken as it rendered, its
			// body recorded as omitted.
			mainOmitted = "unfinished"
		default:
			mainOmitted = "unavailable: the browser no longer held the body"
		}
	}
	res.Body = mainBody
	if sd := main.resp.SecurityDetails; sd != nil {
		certs, err := chromedp.Run(bctx, func(ctx context.Context, t *chromedp.Target) (network.GetCertificateResult, error) {
			return cdp.Call(ctx, t, network.GetCertificate, network.GetCertificateParams{Origin: origin(res.Observed.FinalURL)})
		})
		if err == nil {
			var chain []byte
			for _, c := range certs.TableNames {
				der, err := base64.StdEncoding.DecodeString(c)
				if err != nil {
					continue
				}
				chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
			}
			res.CertChainPEM = chain
			res.Observed.TLS.Certificates = len(certs.TableNames)
		}
	}

	// Every exchange, with the bodies the browser still holds, within the
	// page-weight bound (counted here on the decoded bodies).
	w.mu.Lock()
	exs, fetch := w.snapshot(main.id)
	exs = append(exs, w.unanswered()...)
	sockets := w.sockets
	// The bodies of the main frame's earlier documents, read when they
	// finished loading.
	read := map[*exchange]*request{}
	for ex, id := range fetch {
		if r := w.requests[id]; r != nil && r.bodyRead {
			read[ex] = r
		}
	}
	w.mu.Unlock()
	used := int64(0)
	for _, ex := range exs {
		if ex.main {
			ex.body, ex.bodyCharset, ex.bodyOmitted, ex.partial = res.Body, mainCharset, mainOmitted, mainPartial
		} else if r, ok := read[ex]; ok {
			ex.body, ex.bodyCharset, ex.bodyOmitted = r.body, r.bodyCharset, ""
		} else if id, ok := fetch[ex]; ok {
			b, err := chromedp.Run(bctx, func(ctx context.Context, t *chromedp.Target) (network.GetResponseBodyResult, error) {
				return cdp.Call(ctx, t, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
			})
			if aerr := w.aborted(); aerr != nil {
				return aerr
			}
			if err != nil {
				if ctx.Err() != nil {
					return fail(ReasonTimeout, "recording the exchanges of %s: the render ran out of its %v", rawURL, o.Timeout)
				}
				ex.bodyOmitted = "unavailable: " + err.Error()
				continue
			}
			ex.body, ex.bodyCharset = receivedBody(ex.resp, b)
		}
		if used+int64(len(ex.body)) > o.MaxPageBytes {
			ex.body, ex.bodyOmitted = nil, "limit"
		}
		used += int64(len(ex.body))
	}
	res.WARC, err = buildWARC(warcInfo{
		software:     cmp.Or(o.Software, "exhibit"),
		browser:      res.Rendering.Browser.Name + "/" + res.Rendering.Browser.Version,
		userAgent:    res.Rendering.Browser.UserAgent,
		requestedURL: rawURL,
		startedAt:    res.Observed.StartedAt,
		policy:       policyOf(px),
		refused:      refusalsOf(px, exs, sockets),
	}, exs, res.CertChainPEM)
	if err != nil {
		waitPDF()
		return fail("other", "writing the WARC of %s: %v", rawURL, err)
	}
	return waitPDF()
}

// quietFlags keep the browser from connecting anywhere the page did not
// ask it to: Chromium's own services, which it contacts whatever the page
// (see the package doc). chromedp's DefaultExecAllocatorOptions, which a
// render starts from, already has --disable-background-networking,
// --disable-client-side-phishing-detection, --disable-default-apps,
// --disable-extensions, --disable-sync, --metrics-recording-only,
// --safebrowsing-disable-auto-update and --no-first-run. Chromium 156
// (Debian) asked, through a render's proxy, despite those and
// --disable-component-update:
//
//   - clients2.google.com:80, GET /time/1/current (network time):
//     NetworkTimeServiceQuerying;
//   - update.googleapis.com:443 and :80, POST /service/update2/json (the
//     component updater, still checking the components it registers
//     anyway): its update server set to a data: URL, which it cannot
//     fetch, so it makes no request;
//   - accounts.google.com:443, GET /ListAccounts, repeatedly (the Google
//     account cookie jar of sign-in): the Google accounts server set to
//     https://gaia.invalid:1/, a port Chromium refuses to connect to
//     (ERR_UNSAFE_PORT, before any name is resolved) on a name that
//     never resolves (RFC 6761), so it makes no connection. A page's own
//     requests to accounts.google.com go there as to any other site;
//   - optimizationguide-pa.googleapis.com:443 (page hints):
//     OptimizationHints and its fetching and model download.
//
// MediaRouter and DialMediaRouteProvider (discovery of cast devices on
// the local network, over UDP multicast, not through any proxy) and
// AutofillServerCommunication are off too. TestRenderNoBackgroundTraffic
// checks that a render asks its proxy for the page's host alone.
var quietFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.Flag("disable-component-extensions-with-background-pages", true),
	chromedp.Flag("disable-domain-reliability", true),
	chromedp.Flag("disable-sync", true),
	chromedp.Flag("no-first-run", true),
	chromedp.Flag("no-pings", true),
	chromedp.Flag("component-updater", "url-source=data:,"),
	chromedp.Flag("gaia-url", "https://gaia.invalid:1/"),
	// This replaces chromedp's list (Translate, BlinkGenPropertyTrees).
	chromedp.Flag("disable-features", strings.Join([]string{
		"Translate", "BlinkGenPropertyTrees",
		"NetworkTimeServiceQuerying",
		"OptimizationHints", "OptimizationHintsFetching", "OptimizationGuideModelDownloading", "OptimizationTargetPrediction",
		"MediaRouter", "DialMediaRouteProvider",
		"AutofillServerCommunication",
	}, ",")),
}

// proxyLog, set by tests only, is given every authority (host:port) the
// browser asked a render's proxy for, once the proxy is closed.
var proxyLog func(authorities []string)

// profilePrefix begins the name of a render's profile directory, which
// goes on with the rendering process's ID and a dash.
const profilePrefix = "exhibit-render-"

// RemoveStaleProfiles removes the profile directories, under
// os.TempDir(), of renders whose process is no longer running (one killed
// before it could remove its own). A render calls it before it starts;
// it needs no call of its own. Directories it cannot judge or remove are
// left.
func RemoveStaleProfiles() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), profilePrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		// Signal 0 checks that the process exists; ESRCH: it does not.
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
		}
	}
}

// serializeDOM is the document after scripts, as HTML: its doctype, then
// the document element's outer HTML as DOM.getOuterHTML gives it with
// includeShadowDOM: every shadow root of an element, open or closed
// (closed ones the page's scripts cannot reach), is written as declarative
// shadow DOM, a <template shadowrootmode="open|closed"> first in its
// host, nested roots inside their templates. The browser's own shadow
// roots (of <input>, <video>, <details>) are not written.
func serializeDOM(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	head, err := chromedp.Evaluate[string](`(() => {
	const d = document.doctype;
	return d ? '<!DOCTYPE ' + d.name + (d.publicId ? ' PUBLIC "' + d.publicId + '"' : '') + (d.systemId ? (d.publicId ? '' : ' SYSTEM') + ' "' + d.systemId + '"' : '') + '>\n' : '';
})()`)(ctx, t)
	if err != nil {
		return nil, err
	}
	el, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "document.documentElement", ObjectGroup: "exhibit-dom"})
	if err != nil {
		return nil, err
	}
	defer cdp.Call(ctx, t, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: "exhibit-dom"})
	if el.ExceptionDetails != nil {
		return nil, fmt.Errorf("reading document.documentElement: %s", el.ExceptionDetails.Text)
	}
	if el.Result == nil || el.Result.ObjectID == "" {
		return []byte(head), nil // no document element
	}
	h, err := cdp.Call(ctx, t, dom.GetOuterHTML, dom.GetOuterHTMLParams{ObjectID: el.Result.ObjectID, IncludeShadowDOM: ptr(true)})
	if err != nil {
		return nil, err
	}
	return []byte(head + h.OuterHTML), nil
}

// fullScreenshot shoots the whole page at the viewport's width, down to
// MaxScreenshotHeight, and returns the page's height (CSS pixels).
func fullScreenshot(ctx context.Context, t *chromedp.Target) ([]byte, int64, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, 0, err
	}
	w, h := m.CSSLayoutViewport.ClientWidth, m.CSSLayoutViewport.ClientHeight
	if cs := m.CSSContentSize; cs != nil {
		h = max(h, int64(math.Ceil(cs.Height)))
	}
	page_ := max(h, 1)
	h = min(page_, MaxScreenshotHeight)
	r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: ptr(true),
		FromSurface:           ptr(true),
		Clip:                  &page.Viewport{X: 0, Y: 0, Width: float64(w), Height: float64(h), Scale: 1},
	})
	if err != nil {
		return nil, 0, err
	}
	return r.Data, page_, nil
}

// neutralise runs in every document before its scripts: window.print
// would open a dialog that blocks the page.
const neutralise = `window.print = function () {};`

// quietKey is the symbol (Symbol.for) under which quietScript leaves its
// probe on the window: a non-enumerable property, absent from
// Object.keys and for-in, that a page finds only by asking for it.
const quietKey = "exhibit.quiet"

// quietScript runs in every document before its scripts and keeps the
// page's own account of what it still has to do, for the wait (rule
// verify.WaitPageQuiet):
//
//   - setTimeout is wrapped: a one-shot timer with a function callback
//     and a delay of at most timerMax, in a chain of timers (each set by
//     the callback of the one before, or with the same callback function,
//     as a poll that sets itself again after a fetch) begun at most
//     timerMax before it was set, is pending until its callback runs or
//     clearTimeout or clearInterval (which the HTML standard lets cancel
//     a timeout) removes it. The wrapper passes the page's arguments,
//     this, return value and exceptions through unchanged; a string
//     callback is not tracked. setInterval is not tracked: a ticker never ends.
//   - a <meta http-equiv="refresh"> of at most timerMax is pending until
//     a second after its delay has passed from the load event;
//   - a MutationObserver on the document notes the time of the last
//     change to its nodes or text (childList, characterData: not
//     attributes, which animations change for ever), and a tracked
//     timer's callback counts as a change.
//
// The probe, window[Symbol.for(quietKey)](selector), returns the number
// of pending timers, the milliseconds since the last change and whether
// selector (if not empty) matches.
func quietScript(timerMax time.Duration) string {
	return fmt.Sprintf(`(() => {
'use strict';
const key = Symbol.for(%q);
if (Object.prototype.hasOwnProperty.call(window, key)) return;
const bound = %d, apply = Reflect.apply, perf = performance, now = () => perf.now();
const setT = window.setTimeout, clearT = window.clearTimeout, clearI = window.clearInterval;
const pending = new Map(), first = new WeakMap();
let chain = -1, changed = 0;
const wrap = {
  setTimeout(handler, delay) {
    if (typeof handler !== 'function') return apply(setT, this, arguments);
    const d = +delay || 0, t = now();
    let start = first.has(handler) ? first.get(handler) : t;
    if (chain >= 0 && chain < start) start = chain;
    if (!first.has(handler)) first.set(handler, start);
    const track = d <= bound && t - start <= bound;
    let id;
    arguments[0] = function () {
      pending.delete(id);
      const outer = chain;
      chain = start;
      if (track) changed = now();
      try { return apply(handler, this, arguments); } finally { chain = outer; }
    };
    if (arguments.length > 1) arguments[1] = d;
    id = apply(setT, this, arguments);
    if (track) pending.set(id, start);
    return id;
  },
  clearTimeout(id) { pending.delete(id); return apply(clearT, this, arguments); },
  clearInterval(id) { pending.delete(id); return apply(clearI, this, arguments); },
};
for (const [name, length] of [['setTimeout', 1], ['clearTimeout', 0], ['clearInterval', 0]]) {
  Object.defineProperty(wrap[name], 'length', {value: length});
  window[name] = wrap[name];
}
new MutationObserver(() => { changed = now(); }).observe(document, {childList: true, subtree: true, characterData: true});
const refresh = () => {
  const m = document.querySelector('meta[http-equiv="refresh" i]');
  const s = m ? parseFloat(m.content) : NaN;
  if (!(s >= 0) || s * 1000 > bound) return 0;
  const nav = perf.getEntriesByType('navigation')[0], end = nav ? nav.loadEventEnd : 0;
  return !end || now() < end + s * 1000 + 1000 ? 1 : 0;
};
Object.defineProperty(window, key, {value: (sel) => ({
  pending: pending.size + refresh(),
  quiet: now() - changed,
  found: sel ? document.querySelector(sel) !== null : false,
})});
})();
`, quietKey, timerMax.Milliseconds())
}

// quiet is the page's answer to the probe of quietScript.
type quiet struct {
	Pending int     `json:"pending"`
	QuietMS float64 `json:"quiet"`
	Found   bool    `json:"found"`
}

// probeQuiet asks the main frame's document for its quiet (see
// quietScript) and whether waitFor, if set, matches. A document without
// the probe (one the script could not run in) has nothing pending and
// is quiet.
func probeQuiet(ctx context.Context, waitFor string) (quiet, error) {
	// A page between two documents may hold the call: it is asked again
	// at the next tick. (A busy machine's browser may take a second or
	// more to answer: the bound is not tight.)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	sel := strconv.Quote(waitFor)
	return chromedp.Run(ctx, chromedp.Evaluate[quiet](`((p) => p ? p(`+sel+`) : {pending: 0, quiet: 1e9, found: `+sel+` ? document.querySelector(`+sel+`) !== null : false})(window[Symbol.for(`+strconv.Quote(quietKey)+`)])`))
}

// navigationKind names a client-side navigation's reason as the
// rendering block records it (verify.Navigation.Kind).
func navigationKind(r page.ClientNavigationReason) string {
	switch r {
	case page.ClientNavigationReasonScriptInitiated:
		return "script"
	case page.ClientNavigationReasonMetaTagRefresh:
		return "meta-refresh"
	case page.ClientNavigationReasonHTTPHeaderRefresh:
		return "http-refresh"
	case page.ClientNavigationReasonFormSubmissionGet, page.ClientNavigationReasonFormSubmissionPost:
		return "form"
	case page.ClientNavigationReasonAnchorClick:
		return "link"
	case page.ClientNavigationReasonReload:
		return "reload"
	}
	return "other"
}

func ptr[T any](v T) *T { return &v }

// isPDF reports whether resp is a PDF document (application/pdf), which
// Chromium shows in its PDF viewer.
func isPDF(resp *network.Response) bool {
	if resp == nil {
		return false
	}
	mt, _, _ := strings.Cut(cmp.Or(headerValue(resp.Headers, "Content-Type"), resp.MimeType), ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/pdf")
}

// watch follows the page's network traffic from the browser's events. Its
// fields are guarded by mu: events arrive on chromedp's reading goroutine.
type watch struct {
	maxBytes int64
	abort    chan error

	bctx  context.Context // the tab, for reading bodies
	reads sync.WaitGroup  // body reads under way, started while !readsClosed

	mu          sync.Mutex
	readsClosed bool
	requests    map[network.RequestID]*request
	order       []*request
	// bytes counts the bytes received per request: the dataReceived
	// chunks while it loads, replaced by the loadingFinished total
	// (the encoded length, headers included) when it ends.
	bytes map[network.RequestID]int64
	total int64 // the sum of bytes
	// chunks sums, per request, the decoded and the encoded lengths of
	// the dataReceived events.
	chunks   map[network.RequestID][2]int64
	loaded   bool
	loadedAt time.Time
	activity time.Time
	navStart time.Time
	// mainFrame is the tab's main frame; mainLoader the loader of its
	// last document, navigations its client-side navigations.
	mainFrame   cdp.FrameID
	mainLoader  cdp.LoaderID
	navigations []verify.Navigation
	// sockets are the URLs of the WebSockets the page opened; opening
	// those whose handshake has not ended yet, each counted as a request
	// in flight.
	sockets []string
	opening map[network.RequestID]bool
	dialogs int
	// pdfMain is the main frame's document when it is a PDF, which
	// Chromium's PDF viewer shows.
	pdfMain *request
	done    bool // abort sent
	// The raw headers of the extra-info events, in the order of the
	// request's hops; they may come before or after the other events.
	reqExtra  map[network.RequestID][]network.Headers
	respExtra map[network.RequestID][]*network.EventResponseReceivedExtraInfo
}

type request struct {
	id       network.RequestID
	loader   cdp.LoaderID
	typ      network.ResourceType
	url      string
	hops     []verify.Hop
	frame    cdp.FrameID
	resp     *network.Response
	finished bool
	failed   bool
	// gone: the request's document was replaced (the main frame
	// committed a new one) or its frame detached. Chromium cancels such
	// a request without always reporting its end to the tab, so it no
	// longer counts as in flight; if it got no end, the WARC marks its
	// body unfinished.
	gone bool
	// browsers: the browser's own request, not the page's (the
	// favicon); it does not count as in flight either.
	browsers bool
	// body is a main-frame document's body, read when it finished
	// loading (bodyRead).
	body        []byte
	bodyCharset string // the value of HeaderBodyCharset for body
	bodyRead    bool
	// partial: body is what had arrived of a document still loading
	// when the page was taken.
	partial bool
	// exchanges are the request's hops, each redirect its own exchange.
	exchanges []*exchange
}

// networkPkg is the package of the Network domain's events.
var networkPkg = reflect.TypeFor[network.EventRequestWillBeSent]().PkgPath()

func (w *watch) inflight() int {
	n := len(w.opening)
	for _, r := range w.requests {
		if !r.finished && !r.gone && !r.browsers {
			n++
		}
	}
	return n
}

// aborted returns the error that aborted the render, if any.
func (w *watch) aborted() error {
	select {
	case err := <-w.abort:
		w.abort <- err
		return err
	default:
		return nil
	}
}

func (w *watch) stop(err error) {
	if !w.done {
		w.done = true
		w.abort <- err
	}
}

func (w *watch) event(ev any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.requests == nil {
		w.requests = map[network.RequestID]*request{}
		w.reqExtra = map[network.RequestID][]network.Headers{}
		w.respExtra = map[network.RequestID][]*network.EventResponseReceivedExtraInfo{}
		w.bytes = map[network.RequestID]int64{}
		w.chunks = map[network.RequestID][2]int64{}
	}
	// Only the network's events are activity: the page's lifecycle
	// events (networkIdle comes half a second after the network went
	// quiet), console messages and the like are not.
	if t := reflect.TypeOf(ev); t.Kind() == reflect.Pointer && t.Elem().PkgPath() == networkPkg {
		w.activity = time.Now()
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := w.requests[ev.RequestID]
		if r == nil {
			r = &request{id: ev.RequestID}
			w.requests[ev.RequestID] = r
			w.order = append(w.order, r)
		}
		if rr := ev.RedirectResponse; rr != nil {
			r.hops = append(r.hops, verify.Hop{URL: rr.URL, Status: int(rr.Status), Location: headerValue(rr.Headers, "Location")})
			if n := len(r.exchanges); n > 0 {
				r.exchanges[n-1].resp = rr
			}
		}
		r.exchanges = append(r.exchanges, &exchange{req: ev.Request, at: wallTime(ev.WallTime)})
		r.loader, r.typ, r.url, r.frame, r.finished = ev.LoaderID, ev.Type, ev.Request.URL, ev.FrameID, false
		// The browser's own requests in the tab (the favicon: type Other,
		// initiator other, Chromium 156) are recorded but are not the
		// page's: the page may settle while one is under way.
		r.browsers = ev.Type == network.ResourceTypeOther && ev.Initiator != nil && ev.Initiator.Type == network.InitiatorTypeOther
	case *network.EventResponseReceived:
		if r := w.requests[ev.RequestID]; r != nil {
			r.resp = ev.Response
			if r.typ == network.ResourceTypeDocument && r.frame == w.mainFrame && w.mainFrame != "" && isPDF(ev.Response) {
				w.pdfMain = r
			}
			if n := len(r.exchanges); n > 0 {
				r.exchanges[n-1].resp = ev.Response
			}
		}
	case *network.EventRequestWillBeSentExtraInfo:
		w.reqExtra[ev.RequestID] = append(w.reqExtra[ev.RequestID], ev.Headers)
	case *network.EventResponseReceivedExtraInfo:
		w.respExtra[ev.RequestID] = append(w.respExtra[ev.RequestID], ev)
	case *network.EventDataReceived:
		// Chromium reports the decoded chunks (encodedDataLength 0),
		// then, for some bodies, one event with the encoded length of
		// them all (dataLength 0): a request counts the larger of the
		// two sums, not both.
		c := w.chunks[ev.RequestID]
		c[0] += ev.DataLength
		c[1] += ev.EncodedDataLength
		w.chunks[ev.RequestID] = c
		n := max(c[0], c[1])
		w.total += n - w.bytes[ev.RequestID]
		w.bytes[ev.RequestID] = n
	case *network.EventLoadingFinished:
		// The total on the wire, redirects' responses included, replaces
		// the running count.
		n := int64(ev.EncodedDataLength)
		w.total += n - w.bytes[ev.RequestID]
		w.bytes[ev.RequestID] = n
		if r := w.requests[ev.RequestID]; r != nil {
			r.finished = true
			if r.typ == network.ResourceTypeDocument && r.frame == w.mainFrame && w.mainFrame != "" && !w.readsClosed {
				// Read a main-frame document's body now: a client-side
				// navigation would take it from the browser.
				w.reads.Add(1)
				go func() {
					defer w.reads.Done()
					b, err := chromedp.Call(w.bctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: r.id})
					if err == nil {
						w.mu.Lock()
						r.body, r.bodyCharset = receivedBody(r.resp, b)
						r.bodyRead = true
						w.mu.Unlock()
					}
				}()
			}
		}
	case *page.EventFrameRequestedNavigation:
		if ev.FrameID == w.mainFrame && ev.Disposition == page.ClientNavigationDispositionCurrentTab {
			w.loaded, w.pdfMain = false, nil
			if len(w.navigations) < verify.MaxNavigations {
				w.navigations = append(w.navigations, verify.Navigation{URL: ev.URL, Kind: navigationKind(ev.Reason), AtMS: max(time.Since(w.navStart).Milliseconds(), 0)})
			}
		}
	case *page.EventFrameNavigated:
		if f := ev.Frame; f != nil && f.ID == w.mainFrame && f.ParentID == "" {
			w.mainLoader = f.LoaderID
			// The main frame committed a new document: the requests of
			// the documents before it, and of their frames (which the
			// commit removed), are over. Chromium cancels them but may
			// send no loadingFailed for them, so they would otherwise
			// count as in flight until the settle bound.
			for _, r := range w.requests {
				if r.frame != w.mainFrame || (r.loader != "" && r.loader != f.LoaderID) {
					r.gone = true
				}
			}
		}
	case *page.EventFrameDetached:
		// A removed frame's requests are over (see above).
		for _, r := range w.requests {
			if r.frame == ev.FrameID {
				r.gone = true
			}
		}
	case *page.EventJavascriptDialogOpening:
		// A dialog blocks the page until it is answered: dismiss it (a
		// beforeunload dialog is accepted, so the navigation goes on).
		w.dialogs++
		accept := ev.Type == page.DialogTypeBeforeunload
		go chromedp.Call(w.bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
	case *network.EventWebSocketCreated:
		if len(w.sockets) < 1000 {
			w.sockets = append(w.sockets, ev.URL)
		}
		if w.opening == nil {
			w.opening = map[network.RequestID]bool{}
		}
		if len(w.opening) < 1000 {
			w.opening[ev.RequestID] = true
		}
	case *network.EventWebSocketHandshakeResponseReceived:
		delete(w.opening, ev.RequestID)
	case *network.EventWebSocketClosed:
		delete(w.opening, ev.RequestID)
	case *network.EventWebSocketFrameError:
		delete(w.opening, ev.RequestID)
	case *network.EventLoadingFailed:
		if r := w.requests[ev.RequestID]; r != nil {
			r.finished, r.failed = true, true
		}
	case *page.EventLoadEventFired:
		w.loaded, w.loadedAt = true, time.Now()
	case *inspector.EventTargetCrashed:
		w.stop(fail(ReasonCrashed, "the page's renderer crashed"))
	}
	if w.total > w.maxBytes {
		w.stop(fail(ReasonTooLarge, "the page loaded more than %d bytes", w.maxBytes))
	}
}

// documentOf returns the document request of loader (the first, if
// loader is empty), or nil. w.mu must be held.
func (w *watch) documentOf(loader cdp.LoaderID) *request {
	for _, r := range w.order {
		if r.typ == network.ResourceTypeDocument && (r.loader == loader || loader == "") {
			return r
		}
	}
	return nil
}

// fillObserved sets o from the main document's request (the document
// request of loader) and returns it, or nil if there was none. w.mu must
// be held.
func (w *watch) fillObserved(o *verify.Observation, loader cdp.LoaderID) *request {
	main := w.documentOf(loader)
	if main == nil {
		return nil
	}
	o.Redirects = main.hops
	o.FinalURL = main.url
	if len(main.hops) > 0 {
		o.Status = main.hops[len(main.hops)-1].Status
	}
	resp := main.resp
	if resp == nil {
		return nil
	}
	o.FinalURL = resp.URL
	o.Status = int(resp.Status)
	o.Protocol = protocolName(resp.Protocol)
	o.Headers = canonicalHeaders(resp.Headers)
	if resp.RemoteIPAddress != "" {
		o.PeerAddress = net.JoinHostPort(strings.Trim(resp.RemoteIPAddress, "[]"), strconv.FormatInt(resp.RemotePort, 10))
	}
	if sd := resp.SecurityDetails; sd != nil {
		o.TLS = &verify.TLS{
			Version:     sd.Protocol,
			CipherSuite: sd.Cipher,
			ServerName:  hostOf(resp.URL),
			// Chromium loads a page whose certificate does not verify
			// only when told to ignore certificate errors.
			Verified:    resp.SecurityState == "secure",
			LeafSubject: "CN=" + sd.SubjectName,
		}
	}
	return main
}

// repeer sets the peer address of every response the browser received
// through px (which it reports as px's own) to the address px connected
// to for the response URL's host and port, or to none if px made no
// connection for it. w.mu must be held.
func (w *watch) repeer(px *proxy) {
	if px == nil {
		return
	}
	set := func(resp *network.Response) {
		if resp == nil {
			return
		}
		resp.RemoteIPAddress, resp.RemotePort = "", 0
		if a, ok := px.peer(authorityOf(resp.URL)); ok {
			resp.RemoteIPAddress, resp.RemotePort = splitPeer(a)
		}
	}
	for _, r := range w.order {
		set(r.resp)
		for _, ex := range r.exchanges {
			set(ex.resp)
		}
	}
}

func policyOf(px *proxy) string {
	if px == nil {
		return ""
	}
	return "every connection through exhibit's proxy, which refuses the addresses the capture's policy names"
}

// refusalsOf lists the connections px did not make for the page's
// requests (exs) and WebSockets (the sockets' URLs): those for the
// browser's own traffic are left out.
func refusalsOf(px *proxy, exs []*exchange, sockets []string) []string {
	if px == nil {
		return nil
	}
	page := map[string]bool{}
	for _, ex := range exs {
		if ex.req != nil {
			page[authorityOf(ex.req.URL)] = true
		}
	}
	for _, u := range sockets {
		page[authorityOf(u)] = true
	}
	var out []string
	for a, err := range px.refusals() {
		if page[a] {
			out = append(out, a+": "+err.Error())
		}
	}
	sort.Strings(out)
	return out
}

// unanswered returns the page's exchanges that got no response (their
// resp nil), which the WARC leaves out but refusalsOf looks at. w.mu
// must be held.
func (w *watch) unanswered() []*exchange {
	var out []*exchange
	for _, r := range w.order {
		for _, e := range r.exchanges {
			if e.resp == nil && e.req != nil {
				out = append(out, e)
			}
		}
	}
	return out
}

// protocolName turns Chromium's protocol names ("http/1.1", "h2", "h3")
// into the form of Go's Response.Proto ("HTTP/1.1", "HTTP/2.0", "HTTP/3.0").
func protocolName(p string) string {
	switch strings.ToLower(p) {
	case "h2":
		return "HTTP/2.0"
	case "h3", "h3-29":
		return "HTTP/3.0"
	case "":
		return ""
	}
	return strings.ToUpper(p)
}

// canonicalHeaders converts the browser's headers (one value per name,
// repeated fields joined by newlines) into canonical names with their
// values in order.
func canonicalHeaders(h network.Headers) map[string][]string {
	if len(h) == 0 {
		return nil
	}
	out := map[string][]string{}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s, ok := h[k].(string)
		if !ok {
			s = fmt.Sprint(h[k])
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		out[ck] = append(out[ck], strings.Split(s, "\n")...)
	}
	return out
}

func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			first, _, _ := strings.Cut(s, "\n")
			return first
		}
	}
	return ""
}

func hostOf(raw string) string {
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		return ""
	}
	return req.URL.Hostname()
}

func origin(raw string) string {
	req, err := http.NewRequest(http.MethodGet, raw, nil)
	if err != nil {
		return raw
	}
	return req.URL.Scheme + "://" + req.URL.Host
}

// netReason maps a Chromium network error (net/base/net_error_list.h) to a
// failure reason of the capture predicate.
func netReason(text string) string {
	switch {
	case strings.Contains(text, "NAME_NOT_RESOLVED"), strings.Contains(text, "NAME_RESOLUTION_FAILED"):
		return "dns"
	case strings.Contains(text, "CONNECTION_REFUSED"), strings.Contains(text, "ADDRESS_UNREACHABLE"), strings.Contains(text, "CONNECTION_FAILED"):
		return "connect"
	case strings.Contains(text, "CONNECTION_RESET"), strings.Contains(text, "CONNECTION_CLOSED"), strings.Contains(text, "EMPTY_RESPONSE"):
		return "connection_reset"
	case strings.Contains(text, "TOO_MANY_REDIRECTS"):
		return "too_many_redirects"
	case strings.Contains(text, "CERT_"), strings.Contains(text, "SSL_"):
		return "tls"
	case strings.Contains(text, "TIMED_OUT"):
		return ReasonTimeout
	case strings.Contains(text, "INVALID_URL"), strings.Contains(text, "UNSAFE_PORT"):
		return "bad_url"
	case strings.Contains(text, "ABORTED"):
		return ReasonCrashed
	}
	return "other"
}
