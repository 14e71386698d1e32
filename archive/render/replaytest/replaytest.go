// Package replaytest proves, in tests, that what a browser capture keeps
// opens in the web-archiving world's own tools, not only in exhibit:
//
//   - [Replay] loads a WACZ (https://specs.webrecorder.net/wacz/1.1.1/) in
//     ReplayWeb.page (the npm package replaywebpage, embedded as its
//     Embedding Guide says, https://replayweb.page/docs/embedding: the
//     <replay-web-page> element from ui.js, its service worker sw.js under
//     the replay base ./replay/), served on loopback and driven in the
//     system's headless Chromium, and waits until the replayed page's text
//     holds a given string; [ReplayVerification] then reads
//     ReplayWeb.page's own verification summary of the WACZ ("N hashes
//     verified, M invalid", see [Verification] for what it counts);
//   - [WARCRecords] reads a WARC (ISO 28500, WARC/1.1,
//     https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/)
//     with warcio.js's WARCParser under Node, and checks every record's
//     WARC-Block-Digest and WARC-Payload-Digest against its bytes.
//
// The npm packages are installed by .ci/install-tools (pinned in
// .ci/npm/package-lock.json) under $EXHIBIT_NPM_PREFIX, default
// /opt/exhibit-npm. Where they, Node or Chromium are missing the tests
// skip with the install hint; under CI=true they fail.
package replaytest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
)

// DefaultPrefix is where .ci/install-tools installs the npm packages when
// EXHIBIT_NPM_PREFIX is not set.
const DefaultPrefix = "/opt/exhibit-npm"

// Versions of the npm packages the tests are written against, as pinned
// in .ci/npm/package.json.
const (
	ReplayWebPageVersion = "2.5.3"
	WarcioVersion        = "2.4.11"
)

// missing skips the test, or fails it under CI=true, with the install
// hint.
func missing(t testing.TB, what string) {
	t.Helper()
	msg := what + "; install the replay tools with .ci/install-tools (npm packages replaywebpage@" +
		ReplayWebPageVersion + " and warcio@" + WarcioVersion + " into $EXHIBIT_NPM_PREFIX, default " + DefaultPrefix + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must install them")
	}
	t.Skip(msg)
}

// Prefix returns the npm prefix holding replaywebpage and warcio at their
// pinned versions ($EXHIBIT_NPM_PREFIX, default [DefaultPrefix]), or skips
// the test (fails it under CI=true).
func Prefix(t testing.TB) string {
	t.Helper()
	prefix := os.Getenv("EXHIBIT_NPM_PREFIX")
	if prefix == "" {
		prefix = DefaultPrefix
	}
	for _, p := range []struct{ name, version string }{{"replaywebpage", ReplayWebPageVersion}, {"warcio", WarcioVersion}} {
		b, err := os.ReadFile(filepath.Join(prefix, "node_modules", p.name, "package.json"))
		if err != nil {
			missing(t, fmt.Sprintf("npm package %s not found in %s", p.name, prefix))
			return ""
		}
		var pkg struct{ Version string }
		if err := json.Unmarshal(b, &pkg); err != nil || pkg.Version != p.version {
			missing(t, fmt.Sprintf("npm package %s in %s is version %q, not %s", p.name, prefix, pkg.Version, p.version))
			return ""
		}
	}
	return prefix
}

// Node returns the path of node, or skips the test (fails it under
// CI=true).
func Node(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not found in PATH (Debian: apt-get install nodejs)")
	}
	return p
}

// ReplayError is a replay that did not show the string looked for within
// its bound.
type ReplayError struct {
	URL  string // the page asked of the archive
	Want string // the string looked for
	// Frames are the replayed documents seen last (their address in the
	// replay and text, each cut to 2000 characters); none when the
	// archive's page was never shown.
	Frames []Frame
	// Documents are the addresses of every frame seen last in the
	// embedding page (ReplayWeb.page's own and the replayed ones).
	Documents []string
	// UI is the text ReplayWeb.page itself showed last (its messages,
	// such as a WACZ it could not load), cut to 2000 characters.
	UI string
	// Console holds what the pages logged as errors, and their uncaught
	// exceptions, up to 20 lines.
	Console []string
	Waited  time.Duration
	// Settled: the replayed page had loaded and its text had not changed
	// for [Settle] when Replay gave up, before its bound.
	Settled bool
	// NotArchived: ReplayWeb.page answered, for URL, its page "Archived
	// Page Not Found" (the WACZ did not load, or its index has no such
	// URL). Replay returns as soon as it says so twice in a row.
	NotArchived bool
}

// Frame is a document shown in the replay.
type Frame struct {
	Href  string `json:"href"`
	Text  string `json:"text"`
	Ready string `json:"ready"` // its document.readyState
}

func (e *ReplayError) Error() string {
	var b strings.Builder
	switch {
	case e.NotArchived:
		fmt.Fprintf(&b, "replaywebpage found no archived page %s (it did not show %q; after %v)", e.URL, e.Want, e.Waited.Round(time.Millisecond))
	case e.Settled:
		fmt.Fprintf(&b, "replaywebpage replayed %s, which settled without %q (after %v)", e.URL, e.Want, e.Waited.Round(time.Millisecond))
	default:
		fmt.Fprintf(&b, "replaywebpage did not show %q for %s within %v", e.Want, e.URL, e.Waited.Round(time.Millisecond))
	}
	if len(e.Frames) == 0 {
		b.WriteString("; no replayed page was shown")
	}
	for _, f := range e.Frames {
		fmt.Fprintf(&b, "; replayed %s: %q", f.Href, f.Text)
	}
	if len(e.Frames) == 0 && len(e.Documents) > 0 {
		fmt.Fprintf(&b, "; frames: %s", strings.Join(e.Documents, " "))
	}
	if e.UI != "" {
		fmt.Fprintf(&b, "; ReplayWeb.page said: %q", e.UI)
	}
	if len(e.Console) > 0 {
		fmt.Fprintf(&b, "; console: %s", strings.Join(e.Console, " | "))
	}
	return b.String()
}

// replayPage is the embedding page: ReplayWeb.page's element, its UI
// script, and the replay base ./replay/ where sw.js is served (the
// service worker's scope).
const replayPage = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>replay</title>
<script src="./replay/ui.js"></script></head>
<body style="margin:0">
<replay-web-page style="display:block;width:100%%;height:100vh" source="./capture.wacz" url="%s" embed="replayonly" replaybase="./replay/"></replay-web-page>
</body></html>
`

// walkFrames is evaluated in the embedding page: it walks the documents
// and shadow roots reachable from it (ReplayWeb.page's element holds, in
// its shadow root, an iframe of the replay app, whose shadow DOM holds
// the iframe of the archived page at
// ./replay/w/<collection>/[:<hash>/]<ts>mp_/<url>), and returns the
// replayed documents' text, the page's first, and the app's own. The
// replayed documents are that page's and every frame's inside it, known
// by nesting, not by address: wabac.js replays the page's iframes under
// the modifier if_ (src/rewrite/html.ts), and the wombat.js it injects
// makes a frame's location read as the archived URL.
const walkFrames = `(() => {
  const frames = [], ui = [], docs = [];
  const seen = new Set();
  const walk = (root, replayed) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot && !seen.has(el.shadowRoot)) {
        seen.add(el.shadowRoot);
        for (const c of el.shadowRoot.children) {
          if (c.tagName !== 'STYLE' && c.tagName !== 'SCRIPT' && c.innerText) ui.push(c.innerText);
        }
        walk(el.shadowRoot, replayed);
      }
      if (el.tagName === 'IFRAME' || el.tagName === 'FRAME') {
        let d = null;
        try { d = el.contentDocument; } catch (e) {}
        if (!d || seen.has(d)) continue;
        seen.add(d);
        const href = String(d.location.href);
        docs.push(href);
        const r = replayed || /\/w\/.+?\/[0-9]*mp_\//.test(href);
        if (r) {
          frames.push({href, text: d.body ? d.body.innerText : '', ready: d.readyState});
        }
        walk(d, r);
      }
    }
  };
  walk(document, false);
  return {frames, docs, ui: ui.join(' ').replace(/\s+/g, ' ').trim()};
})()`

// Replay serves wacz on loopback in a page embedding ReplayWeb.page,
// opens it in a fresh headless Chromium, asks the archive for pageURL,
// and waits, up to within, until the text of the replayed page, or of an
// iframe or frame replayed in it (a document of its own, whose text is
// not in the page's), contains want. It returns that text; otherwise a
// *ReplayError with what was shown, as soon as ReplayWeb.page answers that
// the archive has no such page, or the replayed page has loaded and not
// changed for [Settle], or at the bound. It skips the test (fails it under
// CI=true) when Chromium or the npm packages are missing. The browser
// resolves no host name (a page's links to the live web go nowhere) and is
// killed before it returns; its profile directory is named as
// archive/render names its own ($TMPDIR/exhibit-render-<pid>-…), so that
// rendertest.Leftovers sees a browser left behind.
func Replay(t testing.TB, wacz []byte, pageURL, want string, within time.Duration) (string, error) {
	t.Helper()
	text, _, err := replay(t, wacz, pageURL, want, within, false)
	return text, err
}

// Verification is ReplayWeb.page's verification summary of a WACZ: what
// its Archive Info tab ("Hashes verified") shows, as wabac.js's
// MultiWACZ.getVerifyInfo returns it
// (node_modules/@webrecorder/wabac/src/wacz/multiwacz.ts) through its API
// ./replay/w/api/c/<collection>.
//
// What the numbers mean, from wabac.js 2.27.3's source (the version
// ReplayWeb.page 2.5.3 bundles), in src/wacz/:
//   - "verified" counts a "signature" record whatever its outcome
//     (multiwacz.ts getVerifyInfo: `else if (res.id === "signature")
//     numValid++`, before `matched` is looked at; certutils.ts
//     verifyWACZSignature records {id: "signature", matched: sigValid}),
//     so a WACZ with an altered signature shows the same "1 hashes
//     verified";
//   - "invalid" counts records whose matched is false. loadLeafWACZPackage
//     (waczimporter.ts) records pages/pages.jsonl and every *.cdx or *.idx
//     resource of datapackage.json up front with no computed hash, hence
//     matched false; they are updated only where a hash was computed,
//     which ziprangereader.ts does only when the service worker was
//     registered with ?useHashCheck=1 (swmain.ts), which ReplayWeb.page's
//     app and embed never do (appmain.ts, embed.ts); and loadCDX looks up
//     the expected hash without the WACZ-name prefix it was stored under
//     (multiwacz.ts), so a CDX index is never matched even then.
//
// So for any WACZ with pages/pages.jsonl and a CDX index, exhibit's
// included, ReplayWeb.page 2.5.3 shows "1 hashes verified, 2 invalid":
// the numbers say nothing about the files. [verify.CheckWACZ] (exhibit
// verify) hashes every file and checks the signature.
type Verification struct {
	NumValid   int `json:"numValid"`
	NumInvalid int `json:"numInvalid"`
	// DatapackageHash and PublicKey are what it showed of the signature
	// ("sha256:…" and the base64 SubjectPublicKeyInfo); Software and
	// Created are signedData's.
	DatapackageHash string `json:"datapackageHash"`
	PublicKey       string `json:"publicKey"`
	Software        string `json:"software"`
	Created         string `json:"created"`
}

// Summary is the line ReplayWeb.page's Archive Info shows (item-info.ts).
func (v Verification) Summary() string {
	s := fmt.Sprintf("%d hashes verified", v.NumValid)
	if v.NumInvalid > 0 {
		s += fmt.Sprintf(", %d invalid", v.NumInvalid)
	}
	return s
}

// ReplayVerification replays wacz as [Replay] does and, once the page
// shows want, reads ReplayWeb.page's verification summary of it, until it
// is the same twice, 500 ms apart (wabac.js records some checks without
// awaiting them), or the bound.
func ReplayVerification(t testing.TB, wacz []byte, pageURL, want string, within time.Duration) (Verification, error) {
	t.Helper()
	_, v, err := replay(t, wacz, pageURL, want, within, true)
	if err != nil {
		return Verification{}, err
	}
	return *v, nil
}

// readVerification is evaluated in the embedding page: it finds the
// replay app's frame (a document under ./replay/, which the service
// worker controls) and the collection in the replayed page's address,
// and fetches the collection's API record from within that frame.
const readVerification = `(async () => {
  let app = null, coll = null;
  const seen = new Set();
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.shadowRoot && !seen.has(el.shadowRoot)) { seen.add(el.shadowRoot); walk(el.shadowRoot); }
      if (el.tagName === 'IFRAME') {
        let d = null;
        try { d = el.contentDocument; } catch (e) {}
        if (!d || seen.has(d)) continue;
        seen.add(d);
        const href = String(d.location.href);
        const m = /\/replay\/w\/([^\/]+)\/(?::[0-9a-f]+\/)?[0-9]*mp_\//.exec(href);
        if (m) coll = m[1];
        else if (!app && href.includes('/replay/')) app = el.contentWindow;
        walk(d);
      }
    }
  };
  walk(document);
  if (!app || !coll) return null;
  const r = await app.fetch('/replay/w/api/c/' + coll + '?all=1');
  const j = await r.json();
  return j.verify || null;
})()`

func replay(t testing.TB, wacz []byte, pageURL, want string, within time.Duration, verification bool) (string, *Verification, error) {
	t.Helper()
	bin := rendertest.Chromium(t)
	prefix := Prefix(t)

	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, replayPage, html.EscapeString(pageURL))
	})
	// ui.js and sw.js (and ui.js again, for the replay app's own page,
	// which the service worker serves as ./replay/index.html).
	mux.Handle("/replay/", http.StripPrefix("/replay/", http.FileServer(http.Dir(filepath.Join(prefix, "node_modules", "replaywebpage")))))
	mux.HandleFunc("/capture.wacz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wacz+zip")
		// ServeContent answers the range requests ReplayWeb.page reads
		// the zip with.
		http.ServeContent(w, r, "capture.wacz", time.Time{}, bytes.NewReader(wacz))
	})
	// 127.0.0.1 is a secure context: a service worker may register there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("replay: listening on loopback: %v", err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/"

	profile, err := os.MkdirTemp("", "exhibit-render-"+strconv.Itoa(os.Getpid())+"-replay-")
	if err != nil {
		t.Fatalf("replay: making the browser's profile directory: %v", err)
	}
	defer os.RemoveAll(profile)

	// The bound covers the browser's start too.
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		// Nothing but loopback resolves: what replays comes from the
		// WACZ, and the test reaches no network.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil {
		return "", nil, fmt.Errorf("replay: starting %s: %w", bin, err)
	}
	var console consoleLog
	if err := chromedp.Listen(bctx, console.event); err != nil {
		return "", nil, fmt.Errorf("replay: opening a tab: %w", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Navigate(base)); err != nil {
		return "", nil, fmt.Errorf("replay: loading the embedding page %s: %w", base, err)
	}

	rerr := &ReplayError{URL: pageURL, Want: want}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last string
	var since time.Time
	for notFound := 0; ; {
		// An evaluation cut by the bound keeps what was seen before.
		s, err := chromedp.Run(bctx, chromedp.Evaluate[struct {
			Frames []Frame  `json:"frames"`
			Docs   []string `json:"docs"`
			UI     string   `json:"ui"`
		}](walkFrames))
		if err == nil {
			for _, f := range s.Frames {
				if strings.Contains(f.Text, want) {
					t.Logf("replay: %q shown in %s after %v; ReplayWeb.page said: %q", want, f.Href, time.Since(start).Round(time.Millisecond), cut(s.UI))
					if !verification {
						return f.Text, nil, nil
					}
					v, err := readSummary(ctx, bctx)
					return f.Text, v, err
				}
			}
			rerr.Frames, rerr.Documents, rerr.UI = s.Frames, s.Docs, cut(s.UI)
			for i := range rerr.Frames {
				rerr.Frames[i].Text = cut(rerr.Frames[i].Text)
			}
			if len(s.Frames) > 0 && strings.Contains(s.Frames[0].Text, notArchived) {
				notFound++
			} else {
				notFound = 0
			}
			if notFound == 2 {
				rerr.NotArchived = true
				rerr.Waited = time.Since(start)
				rerr.Console = console.lines()
				return "", nil, rerr
			}
			// The replayed documents' text and state, to see it settle.
			var now strings.Builder
			loaded := len(s.Frames) > 0
			for _, f := range s.Frames {
				loaded = loaded && f.Ready == "complete"
				fmt.Fprintf(&now, "%s\x00%s\x00%s\x00", f.Href, f.Ready, f.Text)
			}
			if !loaded || now.String() != last {
				last, since = now.String(), time.Now()
			} else if time.Since(since) >= Settle {
				rerr.Settled = true
				rerr.Waited = time.Since(start)
				rerr.Console = console.lines()
				return "", nil, rerr
			}
		}
		select {
		case <-ctx.Done():
			rerr.Waited = time.Since(start)
			rerr.Console = console.lines()
			return "", nil, rerr
		case <-tick.C:
		}
	}
}

// readSummary reads ReplayWeb.page's verification summary until it is
// the same twice in a row, 500 ms apart, or ctx ends.
func readSummary(ctx, bctx context.Context) (*Verification, error) {
	var last *Verification
	for {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[*Verification](readVerification, chromedp.EvalAwaitPromise))
		switch {
		case err != nil && ctx.Err() != nil:
			if last != nil {
				return last, nil
			}
			return nil, fmt.Errorf("replay: reading ReplayWeb.page's verification summary: %w", err)
		case err != nil:
		case v != nil && last != nil && *v == *last:
			return v, nil
		default:
			last = v
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return last, nil
			}
			return nil, fmt.Errorf("replay: ReplayWeb.page gave no verification summary: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Settle is how long a replayed page that has loaded (its readyState
// "complete") must keep the same text for [Replay] to stop waiting for
// the string it looks for before its bound: long enough for a script
// that adds text after load on a loaded machine.
const Settle = 10 * time.Second

// notArchived heads ReplayWeb.page's answer for a URL its archive does
// not hold.
const notArchived = "Archived Page Not Found"

func cut(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// WARCRecord is a WARC record as warcio.js's WARCParser read it.
type WARCRecord struct {
	Type      string `json:"type"`      // WARC-Type
	TargetURI string `json:"targetURI"` // WARC-Target-URI, if any
	RecordID  string `json:"recordID"`  // WARC-Record-ID
	// ConcurrentTo is WARC-Concurrent-To (the first, if repeated).
	ConcurrentTo string `json:"concurrentTo"`
	ContentType  string `json:"contentType"`   // the record's Content-Type
	Length       int64  `json:"length"`        // Content-Length: the block's bytes
	HTTPStatus   int    `json:"httpStatus"`    // of a response (or revisit) record's HTTP response; 0 otherwise
	BlockDigest  string `json:"blockDigest"`   // WARC-Block-Digest, as written ("sha256:…"), if any
	BlockOK      bool   `json:"blockOK"`       // BlockDigest is present and matches the block
	Payload      string `json:"payloadDigest"` // WARC-Payload-Digest, as written, if any
	// PayloadOK: the payload digest is present and matches the payload
	// (the block after its HTTP headers for an application/http record,
	// the whole block otherwise). A revisit record's payload digest names
	// the payload of the record it refers to, so it is not checked here
	// and PayloadOK is false.
	PayloadOK bool `json:"payloadOK"`
	// Computed are the digests of the block and payload in the algorithm
	// and encoding of the written ones, for messages.
	ComputedBlock   string `json:"computedBlock"`
	ComputedPayload string `json:"computedPayload"`
}

//go:embed warcrecords.mjs
var warcRecordsScript []byte

// CheckDigests reports, as errors of t, every record whose block digest,
// or payload digest (all but warcinfo), does not match its content, and
// returns the target URIs of the responses with HTTP status 200.
func CheckDigests(t testing.TB, recs []WARCRecord) (ok200 []string) {
	t.Helper()
	for i, r := range recs {
		if !r.BlockOK {
			t.Errorf("record %d (%s %s): block digest %q, computed %q", i, r.Type, r.TargetURI, r.BlockDigest, r.ComputedBlock)
		}
		if r.Type != "warcinfo" && !r.PayloadOK {
			t.Errorf("record %d (%s %s): payload digest %q, computed %q", i, r.Type, r.TargetURI, r.Payload, r.ComputedPayload)
		}
		if r.Type == "response" && r.HTTPStatus == 200 {
			ok200 = append(ok200, r.TargetURI)
		}
	}
	return ok200
}

// WARCRecords reads warc (a WARC file, its records gzip-compressed or
// not) with warcio.js's WARCParser under Node and returns its records in
// order. It fails with the parser's error (Node's standard error) when
// warcio cannot read it. It skips the test (fails it under CI=true) when
// Node or warcio is missing. Node runs with a 60 s bound.
func WARCRecords(t testing.TB, warc []byte) ([]WARCRecord, error) {
	t.Helper()
	node := Node(t)
	prefix := Prefix(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "warcrecords.mjs")
	file := filepath.Join(dir, "data.warc")
	if err := os.WriteFile(script, warcRecordsScript, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, warc, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, filepath.Join(prefix, "node_modules", "warcio", "dist", "index.js"), file)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("warcio: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var recs []WARCRecord
	dec := json.NewDecoder(&stdout)
	for {
		var r WARCRecord
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return recs, nil
			}
			return nil, fmt.Errorf("warcio: reading the script's output: %w", err)
		}
		recs = append(recs, r)
	}
}

// consoleLog keeps the first errors the pages logged or threw.
type consoleLog struct {
	mu  sync.Mutex
	log []string
}

func (c *consoleLog) event(ev any) {
	var line string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if a.Value != nil {
				args = append(args, string(a.Value))
			} else if a.Description != "" {
				args = append(args, a.Description)
			}
		}
		line = "error: " + strings.Join(args, " ")
	case *runtime.EventExceptionThrown:
		line = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil && ev.ExceptionDetails.Exception.Description != "" {
			line += " " + ev.ExceptionDetails.Exception.Description
		}
	default:
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.log) < 20 {
		c.log = append(c.log, cut(line))
	}
}

func (c *consoleLog) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}
