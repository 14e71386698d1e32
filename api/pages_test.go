package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// Hostile text in a record's entity and document: it must reach the page as
// text, never as markup.
const (
	hostileEntity   = `<script>alert("entity")</script> & "Co" <img src=x onerror=alert(1)>`
	hostileDocument = `Terms</dd><script>alert('doc')</script><a href="javascript:alert(2)">x</a>`
)

const wantCSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

type pageFixture struct {
	a       *archive.Archive
	srv     *httptest.Server
	fetched *record.Record   // a fetch over TLS through one redirect, hostile entity and document
	upload  *record.Record   // an upload with a stated URL and fetch time
	all     []*record.Record // every record, oldest first
	mu      sync.Mutex
	// tamper, when set, rewrites the JSON bundle the server sends.
	tamper func(b []byte) []byte
	// latest, when set, has a page's bundle (its path without a query)
	// proved against the latest checkpoint rather than the record's
	// first.
	latest bool
}

func (f *pageFixture) setLatest(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest = v
}

func (f *pageFixture) setTamper(fn func(b []byte) []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tamper = fn
}

// newPageFixture builds an archive with a fetched record (through a 302 to
// a TLS server the test trusts) and a few uploads, and serves it, with a
// hook to tamper with bundles on their way out.
func newPageFixture(t *testing.T) *pageFixture {
	t.Helper()
	ctx := context.Background()
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/start" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><script>alert('archived')</script>Terms</html>\n")
	}))
	t.Cleanup(origin.Close)
	pool := origin.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	w := archivetest.New(t, archive.InitOptions{Origin: "pages.example/log"})
	in := ingest.New(w)
	f := &pageFixture{}
	var err error
	f.fetched, err = in.Capture(ctx, origin.URL+"/start", ingest.CaptureOptions{
		Entity: hostileEntity, Document: hostileDocument, Fetch: capture.Options{RootCAs: pool},
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.fetched.Outcome != "captured" {
		t.Fatalf("fetch outcome %q, failure %+v", f.fetched.Outcome, f.fetched.Failure)
	}
	f.all = append(f.all, f.fetched)
	docs := t.TempDir()
	for i := range 4 {
		p := filepath.Join(docs, fmt.Sprintf("doc%d.html", i))
		os.WriteFile(p, []byte(fmt.Sprintf("<p>Privacy policy v%d</p>\n", i)), 0o644)
		r, err := in.File(ctx, p, ingest.FileOptions{
			Entity: "Zoom", Document: "Zoom Privacy Statement",
			URL: "https://zoom.example/privacy", FetchedAt: time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC),
		})
		if err != nil {
			t.Fatal(err)
		}
		f.upload = r
		f.all = append(f.all, r)
	}
	f.a = archivetest.Reopen(t, w, archive.OpenOptions{})
	h := api.New(f.a, api.Options{})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		tamper, latest := f.tamper, f.latest
		f.mu.Unlock()
		query := r.URL.RawQuery
		if latest && strings.HasSuffix(r.URL.Path, "/bundle") && query == "" {
			r.URL.RawQuery = "checkpoint=latest"
		}
		if tamper == nil || !strings.HasSuffix(r.URL.Path, "/bundle") || query != "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		b := tamper(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(b)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *pageFixture) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func checkPageHeaders(t *testing.T, resp *http.Response, wantType string) {
	t.Helper()
	if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
		t.Errorf("Content-Security-Policy = %q, want %q", got, wantCSP)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	if got := resp.Header.Get("Content-Type"); got != wantType {
		t.Errorf("Content-Type = %q, want %q", got, wantType)
	}
}

// inlineCode finds what the CSP would block: inline scripts, inline styles
// and event-handler attributes.
var inlineCode = regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|<[a-z][^>]*\s(style|on[a-z]+)=`)

// vkeyAttr finds the log keys the page gives the verification script.
var vkeyAttr = regexp.MustCompile(`data-vkeys="([^"]*)"`)

func TestRecordPage(t *testing.T) {
	f := newPageFixture(t)
	ctx := context.Background()

	t.Run("fetch", func(t *testing.T) {
		// The citation of the record, against the checkpoint it was first
		// published with.
		rec, b, err := f.a.Prove(ctx, f.fetched.ID, archive.ProveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cp, err := verify.OpenCheckpoint([]byte(b.Checkpoint), f.a.Key())
		if err != nil {
			t.Fatal(err)
		}
		c := cite.New(rec, cp, f.a.Key().VKey)
		if c.RecordID != f.fetched.ID || c.CheckpointSize != f.fetched.Published {
			t.Fatalf("citation %+v of %+v", c, f.fetched)
		}
		resp, body := f.get(t, "/records/"+f.fetched.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		checkPageHeaders(t, resp, "text/html; charset=utf-8")
		obs := f.fetched.Statement.Capture.Predicate.Observed
		for _, want := range []string{
			html.EscapeString(hostileEntity),
			html.EscapeString(hostileDocument),
			c.RecordID, c.SHA256, c.LogOrigin,
			fmt.Sprintf("index <span id=\"f-log-index\">%d</span>", c.LogIndex),
			fmt.Sprintf(`tree size <span id="f-checkpoint-size">%d</span>`, c.CheckpointSize),
			c.CheckpointRoot,
			cite.HumanTime(mustTime(t, c.CapturedAt)),
			html.EscapeString(c.Text),
			html.EscapeString(obs.RequestedURL),
			"<td>302</td><td class=\"url\">/final</td>",
			html.EscapeString(obs.FinalURL),
			obs.PeerAddress,
			obs.TLS.Version, obs.TLS.CipherSuite, "verified against the system roots",
			`href="/api/v1/snapshots/sha256/` + c.SHA256 + `"`,
			`href="/api/v1/records/` + c.RecordID + `/bundle"`,
			`href="/api/v1/records/` + c.RecordID + `/bundle?format=tlog-proof"`,
			`<script src="/static/verify.js"></script>`,
			`id="copy-citation" hidden`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(body, "(claimed)") || strings.Contains(body, "stated as fetched") {
			t.Error("a fetch is labelled as claimed")
		}
		// The hostile text never appears as markup.
		for _, bad := range []string{`<script>alert(`, `<img src=x`, `href="javascript:`, `</dd><script>`} {
			if strings.Contains(body, bad) {
				t.Errorf("page contains unescaped %q", bad)
			}
		}
		if m := vkeyAttr.FindStringSubmatch(body); m == nil || html.UnescapeString(m[1]) != c.LogKey {
			t.Errorf("data-vkeys %q, want %q", m, c.LogKey)
		}
		if m := inlineCode.FindString(body); m != "" {
			t.Errorf("page has inline code %q, which the CSP blocks", m)
		}
	})

	t.Run("upload", func(t *testing.T) {
		resp, body := f.get(t, "/records/"+f.upload.ID)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		for _, want := range []string{
			"copy supplied to exhibit", "stated as fetched", "8 May 2026, 11:13:55 UTC",
			`URL <span class="claim">(claimed)</span>`, "https://zoom.example/privacy",
			"Claimed by the supplier", "Zoom Privacy Statement",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("upload page lacks %q", want)
			}
		}
		if strings.Contains(body, "Redirect chain") {
			t.Error("upload page shows a redirect chain")
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			path       string
			wantStatus int
			wantText   string
		}{
			{"/records/EXR-00000-00000-00000-00000", http.StatusNotFound, "404 Not found"},
			{"/records/not-a-record", http.StatusBadRequest, "400 Bad request"},
			{"/records/" + url.PathEscape(`EXR-<b>x</b>`), http.StatusBadRequest, "&lt;b&gt;x&lt;/b&gt;"},
			{"/static/nope.js", http.StatusNotFound, "404 Not found"},
			{"/static/record.html", http.StatusNotFound, "404 Not found"},
			{"/?before=x", http.StatusBadRequest, "400 Bad request"},
		} {
			t.Run(tc.path, func(t *testing.T) {
				resp, body := f.get(t, tc.path)
				if resp.StatusCode != tc.wantStatus {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
				}
				checkPageHeaders(t, resp, "text/html; charset=utf-8")
				if !strings.Contains(body, tc.wantText) {
					t.Errorf("body lacks %q:\n%s", tc.wantText, body)
				}
			})
		}
	})

	t.Run("canonical redirect", func(t *testing.T) {
		lower := strings.ToLower(strings.ReplaceAll(f.upload.ID, "-", ""))
		resp, _ := f.get(t, "/records/"+lower)
		if got, want := resp.StatusCode, http.StatusMovedPermanently; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Location"), "/records/"+f.upload.ID; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
	})

	t.Run("static", func(t *testing.T) {
		for path, typ := range map[string]string{
			"/static/verify.js": "text/javascript; charset=utf-8",
			"/static/style.css": "text/css; charset=utf-8",
		} {
			resp, body := f.get(t, path)
			if resp.StatusCode != http.StatusOK || body == "" {
				t.Errorf("%s: status %d, %d bytes", path, resp.StatusCode, len(body))
			}
			checkPageHeaders(t, resp, typ)
		}
	})

	t.Run("API unchanged", func(t *testing.T) {
		resp, body := f.get(t, "/api/v1/records/not-a-record")
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("API error: status %d, body %s", resp.StatusCode, body)
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestIndexPage(t *testing.T) {
	f := newPageFixture(t)
	rids := regexp.MustCompile(`<a class="rid" href="/records/(EXR-[0-9A-Z-]+)">`)
	ids := func(body string) []string {
		var out []string
		for _, m := range rids.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	sha := f.fetched.SHA256
	for _, tc := range []struct {
		q       string
		wantIDs int
		first   string
	}{
		{"", 5, f.upload.ID},
		{"Zoom", 4, f.upload.ID},
		{"Zoom Privacy Statement", 4, f.upload.ID}, // 20 Crockford letters, yet a title
		{hostileEntity, 1, f.fetched.ID},
		{sha, 1, f.fetched.ID},
		{strings.ToUpper(sha), 1, f.fetched.ID},
		{"https://zoom.example/privacy", 4, f.upload.ID},
		{"nobody", 0, ""},
	} {
		t.Run(tc.q, func(t *testing.T) {
			resp, body := f.get(t, "/?q="+url.QueryEscape(tc.q))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			checkPageHeaders(t, resp, "text/html; charset=utf-8")
			got := ids(body)
			if len(got) != tc.wantIDs {
				t.Fatalf("%d records listed, want %d", len(got), tc.wantIDs)
			}
			if len(got) > 0 && got[0] != tc.first {
				t.Errorf("first record %s, want %s (newest first)", got[0], tc.first)
			}
			if strings.Contains(body, "<script>alert(") {
				t.Error("unescaped hostile text")
			}
			if !strings.Contains(body, `<form class="search" method="get" action="/">`) {
				t.Error("no search form")
			}
		})
	}
	t.Run("record ID", func(t *testing.T) {
		resp, _ := f.get(t, "/?q="+strings.ToLower(f.fetched.ID))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/records/"+f.fetched.ID {
			t.Errorf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// dumpDOM loads url in headless Chromium and returns the DOM after scripts
// ran.
func dumpDOM(t *testing.T, bin, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\nstderr:\n%s", err, stderr.String())
	}
	return stdout.String()
}

// stepRE matches a step the panel reported.
var stepRE = regexp.MustCompile(`<li data-step="([a-z-]+)" class="([a-z]+)"><strong>[^<]*</strong><span class="detail">([^<]*)</span></li>`)

func panelSteps(dom string) map[string][2]string {
	out := map[string][2]string{}
	for _, m := range stepRE.FindAllStringSubmatch(dom, -1) {
		out[m[1]] = [2]string{m[2], html.UnescapeString(m[3])}
	}
	return out
}

var resultRE = regexp.MustCompile(`<p id="verify-result" class="([a-z]+)"[^>]*>([^<]*)</p>`)

func TestRecordPageBrowserVerify(t *testing.T) {
	bin := rendertest.Chromium(t)
	f := newPageFixture(t)
	allSteps := []string{"bundle-parse", "checkpoint-signature", "checkpoint-body", "statement-signature", "leaf-hash", "record-id", "inclusion-proof"}

	// Every record against the checkpoint it was first published with
	// (each the last leaf of its tree, the uploads being sequential), and
	// every leaf of the 5-leaf tree against the latest: proofs that take
	// the left, right and last-node branches of the RFC 9162 fold.
	for _, latest := range []bool{false, true} {
		for _, rec := range f.all {
			t.Run(fmt.Sprintf("ok/latest=%v/index-%d", latest, rec.Index), func(t *testing.T) {
				f.setLatest(latest)
				defer f.setLatest(false)
				dom := dumpDOM(t, bin, f.srv.URL+"/records/"+rec.ID)
				m := resultRE.FindStringSubmatch(dom)
				if m == nil {
					t.Fatalf("no verification result in the DOM:\n%s", dom)
				}
				if m[1] != "ok" || !strings.HasPrefix(m[2], "verified") {
					t.Errorf("result %q %q, want verified", m[1], m[2])
				}
				steps := panelSteps(dom)
				for _, name := range allSteps {
					if s, ok := steps[name]; !ok || s[0] != "ok" {
						t.Errorf("step %s: %v, want ok", name, s)
					}
				}
				if len(steps) != len(allSteps) {
					t.Errorf("%d steps reported, want %d: %v", len(steps), len(allSteps), steps)
				}
				want := rec.Published
				if latest {
					want = uint64(len(f.all))
				}
				if s := steps["checkpoint-body"]; !strings.Contains(s[1], fmt.Sprintf("tree size %d,", want)) {
					t.Errorf("checkpoint-body %q, want tree size %d", s[1], want)
				}
				if !strings.Contains(dom, `id="copy-citation">`) {
					t.Error("copy button still hidden with JavaScript on")
				}
			})
		}
	}

	key := f.a.Keys()[0]
	for _, tc := range []struct {
		name     string
		tamper   func(b map[string]any)
		wantFail []string
	}{
		{"proof hash", func(b map[string]any) {
			p := b["inclusion_proof"].([]any)
			h, _ := base64.StdEncoding.DecodeString(p[0].(string))
			h[0] ^= 1
			p[0] = base64.StdEncoding.EncodeToString(h)
		}, []string{"inclusion-proof"}},
		{"index", func(b map[string]any) { b["index"] = b["index"].(float64) + 1 }, []string{"inclusion-proof"}},
		{"checkpoint root", func(b map[string]any) {
			cp := b["checkpoint"].(string)
			lines := strings.SplitN(cp, "\n", 4)
			r, _ := base64.StdEncoding.DecodeString(lines[2])
			r[31] ^= 0x80
			lines[2] = base64.StdEncoding.EncodeToString(r)
			b["checkpoint"] = strings.Join(lines, "\n")
		}, []string{"checkpoint-signature", "inclusion-proof"}},
		{"entry", func(b map[string]any) {
			e, _ := base64.StdEncoding.DecodeString(b["entry"].(string))
			e = bytes.Replace(e, []byte(`"signatures":[{`), []byte(`"signatures":[{ `), 1)
			b["entry"] = base64.StdEncoding.EncodeToString(e)
		}, []string{"record-id", "inclusion-proof"}},
		{"statement signature", func(b map[string]any) {
			e, _ := base64.StdEncoding.DecodeString(b["entry"].(string))
			var env map[string]any
			json.Unmarshal(e, &env)
			s := env["signatures"].([]any)[0].(map[string]any)
			sig, _ := base64.StdEncoding.DecodeString(s["sig"].(string))
			sig[10] ^= 1
			s["sig"] = base64.StdEncoding.EncodeToString(sig)
			e, _ = json.Marshal(env)
			b["entry"] = base64.StdEncoding.EncodeToString(e)
		}, []string{"statement-signature", "record-id", "inclusion-proof"}},
		// Signature leniency (issue 15): a garbage line by the log's key
		// after or before its valid one, or the valid one in non-canonical
		// base64, fails here as in exhibit verify.
		{"garbage signature line after the log's", func(b map[string]any) {
			before, line, after := logSigLine(t, b["checkpoint"].(string), key)
			b["checkpoint"] = before + line + garbageSigLine(key) + after
		}, []string{"checkpoint-signature", "inclusion-proof"}},
		{"garbage signature line before the log's", func(b map[string]any) {
			before, line, after := logSigLine(t, b["checkpoint"].(string), key)
			b["checkpoint"] = before + garbageSigLine(key) + line + after
		}, []string{"checkpoint-signature", "inclusion-proof"}},
		{"non-canonical signature base64", func(b map[string]any) {
			before, line, after := logSigLine(t, b["checkpoint"].(string), key)
			b["checkpoint"] = before + nonCanonicalSigLine(t, line) + after
		}, []string{"checkpoint-signature", "inclusion-proof"}},
	} {
		t.Run("tampered/"+tc.name, func(t *testing.T) {
			var sent []byte
			f.setTamper(func(raw []byte) []byte {
				var b map[string]any
				if err := json.Unmarshal(raw, &b); err != nil {
					t.Errorf("bundle: %v", err)
					return raw
				}
				tc.tamper(b)
				out, _ := json.Marshal(b)
				f.mu.Lock()
				sent = out
				f.mu.Unlock()
				return out
			})
			defer f.setTamper(nil)
			dom := dumpDOM(t, bin, f.srv.URL+"/records/"+f.upload.ID)
			m := resultRE.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no verification result in the DOM:\n%s", dom)
			}
			if want := "NOT verified: failed " + strings.Join(tc.wantFail, ", "); m[1] != "fail" || m[2] != want {
				t.Errorf("result %q %q, want fail %q", m[1], m[2], want)
			}
			steps := panelSteps(dom)
			for _, name := range tc.wantFail {
				if s := steps[name]; s[0] != "fail" {
					t.Errorf("step %s: %v, want fail", name, s)
				} else {
					t.Logf("%s: %s", name, s[1])
				}
			}
			// exhibit verify agrees with the browser.
			f.mu.Lock()
			out := sent
			f.mu.Unlock()
			if rep := verify.Check(out, key, verify.Options{Keys: f.a.Keys()[1:]}); rep.Verified {
				t.Error("exhibit verify (verify.Check) accepts the bundle the browser refuses")
			} else {
				t.Logf("verify.Check: %s: %s", rep.Failed().Name, rep.Failed().Detail)
			}
		})
	}
}

// logSigLine splits a signed checkpoint around its signature line by key.
func logSigLine(t *testing.T, cp string, key *verify.PublicKey) (before, line, after string) {
	t.Helper()
	i := strings.Index(cp, "\n\n\u2014 "+key.Name+" ")
	if i < 0 {
		t.Fatalf("no signature line by %s in %q", key.Name, cp)
	}
	i += 2
	j := i + strings.IndexByte(cp[i:], '\n') + 1
	return cp[:i], cp[i:j], cp[j:]
}

// garbageSigLine is a signature line with key's name and key ID over 64
// bytes of garbage.
func garbageSigLine(key *verify.PublicKey) string {
	sig := binary.BigEndian.AppendUint32(nil, key.Hash)
	sig = append(sig, bytes.Repeat([]byte{0x5a}, 64)...)
	return "\u2014 " + key.Name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// nonCanonicalSigLine re-spells a signature line's base64 with non-zero
// padding bits (the same bytes to a lenient decoder).
func nonCanonicalSigLine(t *testing.T, line string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	body := strings.TrimSuffix(line, "\n")
	last := len(body) - strings.Count(body, "=") - 1
	if last == len(body)-1 {
		t.Fatalf("signature line %q has no padding", line)
	}
	c := alphabet[strings.IndexByte(alphabet, body[last])+1]
	return body[:last] + string(c) + body[last+1:] + "\n"
}
