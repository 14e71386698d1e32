// Package rendertest holds what tests of browser captures share: the
// system's Chromium (or a skip, a failure under CI=true), a loopback site
// whose clause a script inserts after load, and a check that no browser a
// test started is left running.
package rendertest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Clause is the sentence the scripted page inserts after load.
const Clause = "Arbitration is mandatory for every dispute arising from these terms."

// AppJS is the script of the /exchanges page.
const AppJS = `addEventListener('load', async () => {
  const r = await fetch('/clause.json');
  const p = document.createElement('p');
  p.id = 'clause';
  p.textContent = (await r.json()).clause;
  document.body.append(p);
});
`

// ChainParts are the texts /chain appends, one every 300 ms.
var ChainParts = []string{"First part of the chain.", "Second part of the chain.", "Third part of the chain."}

func jsArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TallHeight is the height of /tall, in CSS pixels.
const TallHeight = 20000

// WeightSize is the size of /weight.js.
const WeightSize = 760 << 10

// ZerosSize is the decoded size of /zeros.txt.
const ZerosSize = 4 << 20

// ClauseDelay is how long after the load event the page asks for the
// clause.
const ClauseDelay = 300 * time.Millisecond

// Chromium returns the path of the system's Chromium, or skips the test
// (fails it when CI=true, where .ci/run installs it).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found; CI must install it (Debian: apt-get install chromium)")
	}
	t.Skip("chromium not found: install it (Debian: apt-get install chromium, or .ci/install-tools) to run the tests that use a browser")
	return ""
}

// ScriptedPage serves:
//
//	/terms        an HTML page 2000 px high, header X-Test: main, whose
//	              script fetches /clause.json ClauseDelay after load and
//	              inserts Clause in a <p id="clause">
//	/clause.json  {"clause": Clause}
//	/old          301 to /terms
//	/hang         never answers (until the client goes away)
//	/busy         a page that fetches /tick every 200 ms, for ever
//	/tick         an empty answer after 100 ms
//	/big          a page with an image of 50 MB (/big.png)
//	/loop.png     a redirect to itself
//	/redirects    a page with the image /loop.png
//	/exchanges    a page with the script /app.js (served gzip-encoded to a
//	              client that accepts it), the image /pixel.png (through
//	              the redirect /pixel), and a fetch() of /clause.json
//	              after load, which sets <p id="clause">
//	/compressed   a page that fetches /zeros.txt: ZerosSize zero bytes,
//	              gzip-encoded (a few KiB on the wire)
//	/js-redirect  a page that sets location.href = '/terms' 300 ms after
//	              load
//	/meta-refresh a page with <meta http-equiv="refresh" content="1; url=/terms">
//	/js-loop      a page that navigates to itself with a new query right
//	              after load, for ever
//	/late         a page that fetches Clause 1500 ms after load into
//	              <p id="late">, showing "loading…" until then (and
//	              gives it class "ready")
//	/chain        a page whose setTimeout(300) chain appends ChainParts,
//	              one a turn, three turns after load
//	/ticker       a page whose setInterval(100) rewrites a clock's text
//	              for ever
//	/poll         a page that fetches /clause.json, then sets a timer of
//	              700 ms to do it again, for ever
//	/long-timer   a page with a setTimeout of 60 s that would insert
//	              "too late"
//	/static       a page of text, no script
//	/dialogs      a page that calls alert, confirm, prompt and print on load
//	/download     a page whose script clicks a link to /file.bin (a
//	              100 KiB attachment)
//	/weight       a page with the script /weight.js of WeightSize bytes
//	/tall         a page TallHeight px high
func ScriptedPage() http.Handler {
	mux := http.NewServeMux()
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<!DOCTYPE html><html><head><title>Test</title></head><body style=\"margin:0\">"+body+"</body></html>")
		}
	}
	mux.Handle("/js-redirect", html(`<p>Moving.</p><script>addEventListener('load', () => setTimeout(() => { location.href = '/terms' }, 300))</script>`))
	mux.Handle("/meta-refresh", html(`<meta http-equiv="refresh" content="1; url=/terms"><p>Moving in a second.</p>`))
	mux.Handle("/js-loop", html(`<p>Again.</p><script>addEventListener('load', () => { location.href = '/js-loop?' + Date.now() })</script>`))
	mux.Handle("/late", html(`<h1>Late</h1><p id="late">loading…</p><script>addEventListener('load', () => setTimeout(async () => {
  const r = await fetch('/clause.json');
  const p = document.getElementById('late');
  p.textContent = (await r.json()).clause;
  p.className = 'ready';
}, 1500))</script>`))
	mux.Handle("/chain", html(`<h1>Chain</h1><script>addEventListener('load', () => {
  const parts = `+jsArray(ChainParts)+`;
  const next = (i) => setTimeout(() => {
    const p = document.createElement('p');
    p.textContent = parts[i];
    document.body.append(p);
    if (i + 1 < parts.length) next(i + 1);
  }, 300);
  next(0);
})</script>`))
	mux.Handle("/ticker", html(`<h1>Ticker</h1><p id="clock">0</p><script>let n = 0; setInterval(() => { document.getElementById('clock').textContent = String(++n) }, 100)</script>`))
	mux.Handle("/poll", html(`<h1>Poll</h1><p id="n">0</p><script>let n = 0; async function poll() { await fetch('/clause.json?' + n); document.getElementById('n').textContent = String(++n); setTimeout(poll, 700) } poll()</script>`))
	mux.Handle("/long-timer", html(`<h1>Long timer</h1><script>setTimeout(() => document.body.append('too late'), 60000)</script>`))
	mux.Handle("/static", html(`<h1>Static</h1><p>Nothing moves here.</p>`))
	mux.Handle("/dialogs", html(`<p>Dialogs.</p><script>addEventListener('load', () => { alert('a'); confirm('c'); prompt('p'); print(); document.body.append('after the dialogs') })</script>`))
	mux.Handle("/viewport", html(`<p id="vp"></p><script>document.getElementById('vp').textContent = 'viewport ' + innerWidth + 'x' + innerHeight + ' screen ' + screen.width + 'x' + screen.height + ' dpr ' + devicePixelRatio</script>`))
	mux.Handle("/popups", html(`<p>Popups.</p><script>addEventListener('load', () => { for (let i = 0; i < 50; i++) window.open('/static?' + i, '_blank'); alert('a'); confirm('c'); print(); document.body.append('after the popups') })</script>`))
	mux.Handle("/stalled", html(`<p>Stalled.</p><iframe src="/forever"></iframe>`))
	mux.HandleFunc("/forever", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<html><body><p>Loading forever")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.Handle("/download", html(`<a id="d" href="/file.bin" download>file</a><script>addEventListener('load', () => document.getElementById('d').click())</script>`))
	mux.HandleFunc("/file.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="file.bin"`)
		w.Write(make([]byte, 100<<10))
	})
	mux.Handle("/tall", html(fmt.Sprintf(`<div style="height:%dpx">Tall.</div>`, TallHeight)))
	mux.Handle("/weight", html(`<p>Weighed.</p><script src="/weight.js"></script>`))
	mux.HandleFunc("/weight.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Content-Length", strconv.Itoa(WeightSize))
		b := bytes.Repeat([]byte("/"), WeightSize)
		b[WeightSize-1] = '\n'
		w.Write(b)
	})
	mux.HandleFunc("/compressed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p>Compressed.</p><script>fetch('/zeros.txt').then(r => r.text())</script></body></html>`)
	})
	mux.HandleFunc("/zeros.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		z := gzip.NewWriter(w)
		z.Write(make([]byte, ZerosSize))
		z.Close()
	})
	mux.HandleFunc("/exchanges", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html>
<html><head><title>Exchanges</title><script src="/app.js"></script></head>
<body><h1>Exchanges</h1><img src="/pixel" alt="pixel"></body></html>
`)
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		var body io.Writer = w
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			z := gzip.NewWriter(w)
			defer z.Close()
			body = z
		}
		io.WriteString(body, AppJS)
	})
	mux.Handle("/pixel", http.RedirectHandler("/pixel.png", http.StatusFound))
	mux.HandleFunc("/pixel.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		writeBigPNG(w, 1)
	})
	mux.HandleFunc("/terms", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Test", "main")
		fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><title>Terms of Service</title></head>
<body style="margin:0;font:16px serif">
<div style="height:2000px">
<h1>Terms of Service</h1>
<p>These terms govern your use of the service.</p>
</div>
<script>
addEventListener('load', () => setTimeout(async () => {
  const r = await fetch('/clause.json');
  const p = document.createElement('p');
  p.id = 'clause';
  p.textContent = (await r.json()).clause;
  document.querySelector('h1').after(p);
}, %d));
</script>
</body></html>
`, ClauseDelay.Milliseconds())
	})
	mux.HandleFunc("/clause.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"clause": %q}`, Clause)
	})
	mux.Handle("/old", http.RedirectHandler("/terms", http.StatusMovedPermanently))
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/busy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p>Busy page.</p><script>setInterval(() => fetch('/tick?' + Date.now()), 200)</script></body></html>`)
	})
	mux.HandleFunc("/tick", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p>A heavy page.</p><img src="/big.png"></body></html>`)
	})
	mux.HandleFunc("/big.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		writeBigPNG(w, 4096)
	})
	mux.Handle("/loop.png", http.RedirectHandler("/loop.png", http.StatusFound))
	mux.HandleFunc("/redirects", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html><html><body><p>A page with a looping image.</p><img src="/loop.png"></body></html>`)
	})
	return mux
}

// writeBigPNG writes a valid black PNG of side x side RGB pixels, stored
// without compression (50 MB for 4096), in IDAT chunks of 64 KiB.
func writeBigPNG(w io.Writer, side int) {
	io.WriteString(w, "\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(side))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(side))
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, no interlace
	writeChunk(w, "IHDR", ihdr)
	bw := bufio.NewWriterSize(chunkWriter{w}, 1<<16)
	z, _ := zlib.NewWriterLevel(bw, zlib.NoCompression)
	row := make([]byte, 1+3*side)
	for y := 0; y < side; y++ {
		if _, err := z.Write(row); err != nil {
			return
		}
	}
	z.Close()
	bw.Flush()
	writeChunk(w, "IEND", nil)
}

type chunkWriter struct{ w io.Writer }

func (c chunkWriter) Write(p []byte) (int, error) {
	if err := writeChunk(c.w, "IDAT", p); err != nil {
		return 0, err
	}
	return len(p), nil
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
	_, err := w.Write(b)
	return err
}

// Leftovers returns the processes still running with a profile directory
// of a render of this process, after giving them up to 5 s to go (a
// killed process shows in /proc until it is reaped).
func Leftovers() []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := LeftoversOf(os.Getpid())
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// LeftoversOf returns the processes still running with a profile directory
// of a render of the process pid (render names them
// $TMPDIR/exhibit-render-<pid>-*).
func LeftoversOf(pid int) []string {
	want := "--user-data-dir=" + filepath.Join(os.TempDir(), "exhibit-render-"+strconv.Itoa(pid)+"-")
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte(want)) {
			left = append(left, e.Name()+" "+strings.ReplaceAll(string(b[:min(len(b), 80)]), "\x00", " "))
		}
	}
	return left
}
