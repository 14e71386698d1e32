package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// captureJSON posts body to POST /api/v1/captures with the fixture's token.
func (f *writeFixture) captureJSON(t *testing.T, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return f.post(t, "/api/v1/captures", "application/json", f.token, bytes.NewReader(b))
}

// get fetches path from the fixture's server.
func (f *writeFixture) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// noLeftovers fails the test if a browser it started is still running.
func noLeftovers(t *testing.T) {
	t.Helper()
	if left := rendertest.Leftovers(); len(left) > 0 {
		t.Errorf("browsers left running: %v", left)
	}
}

// TestWriteBrowserRefusesLoopback: without AllowPrivateTargets a browser
// capture obeys the server's address policy as a fetch does: a loopback
// page (by address or by name) is a failed capture, reason "connect",
// its message naming the policy, answered 201, and the page is never
// reached.
func TestWriteBrowserRefusesLoopback(t *testing.T) {
	bin := rendertest.Chromium(t)
	var hits atomic.Int64
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer site.Close()
	f := newWriteFixture(t, api.Options{Browser: render.Config{ExecPath: bin}}, true)
	defer noLeftovers(t)
	for _, u := range []string{site.URL + "/terms", strings.Replace(site.URL, "127.0.0.1", "localhost", 1) + "/terms"} {
		resp, body := f.captureJSON(t, map[string]any{"url": u, "entity": "Intranet", "document": "Terms", "browser": true})
		rec := f.wantResult(t, resp, body, nil)
		if rec.Method != verify.MethodBrowser || rec.Outcome != verify.OutcomeFailed || rec.Failure == nil || rec.Failure.Reason != "connect" ||
			!strings.Contains(rec.Failure.Message, "not allowed") {
			t.Errorf("%s: method %q, outcome %q, failure %+v; want browser, failed, connect, not allowed", u, rec.Method, rec.Outcome, rec.Failure)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the loopback page, want 0", n)
	}
}

// TestWriteBrowserCapture: "browser": true over the write API renders the
// scripted page in the server's Chromium; the answer's record is a
// browser capture (method browser, predicate version 2) with the three
// artefacts, its bundle verifies with them, the DOM holds the clause the
// page's script inserted (the snapshot does not), the rendering route
// serves the screenshot, browser_wait_ms is the recorded wait bound, and
// the metrics count it with method="browser". No browser is left.
func TestWriteBrowserCapture(t *testing.T) {
	bin := rendertest.Chromium(t)
	site := httptest.NewServer(rendertest.ScriptedPage())
	defer site.Close()
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, Browser: render.Config{ExecPath: bin}}, true)
	defer noLeftovers(t)

	resp, body := f.captureJSON(t, map[string]any{
		"url": site.URL + "/terms", "entity": "Render Corp", "document": "Terms", "browser": true, "browser_wait_ms": 20000,
		"browser_delay_ms": 0, "browser_wait_for": "#clause",
	})
	rec := f.wantResult(t, resp, body, nil)
	if rec.Method != verify.MethodBrowser || rec.Outcome != verify.OutcomeCaptured || rec.Status != 200 || rec.Entity != "Render Corp" {
		t.Fatalf("record: method %q, outcome %q, status %d, entity %q; want browser, captured, 200: %s", rec.Method, rec.Outcome, rec.Status, rec.Entity, body)
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Predicate     struct {
			Method    string           `json:"method"`
			Rendering verify.Rendering `json:"rendering"`
		} `json:"predicate"`
	}
	if err := json.Unmarshal(rec.Statement, &st); err != nil {
		t.Fatal(err)
	}
	rd := st.Predicate.Rendering
	if st.PredicateType != verify.CapturePredicateTypeV2 || st.Predicate.Method != verify.MethodBrowser ||
		rd.Screenshot == nil || rd.PDF == nil || rd.DOM == nil {
		t.Fatalf("statement %s: want predicate v2, method browser, screenshot, pdf and dom", rec.Statement)
	}
	if rd.Wait.TimeoutMS != 20000 || !rd.Wait.Settled || rd.Wait.DelayMS != 0 || rd.Wait.WaitFor != "#clause" || !rd.Wait.WaitForFound {
		t.Errorf("wait %+v, want timeout_ms 20000 (browser_wait_ms), delay 0 (browser_delay_ms), wait_for #clause found, settled", rd.Wait)
	}

	// Each artefact is served by the rendering route, and verifies
	// against the bundle the write answered with.
	var res api.WriteResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	arts := map[string]io.Reader{}
	for _, tc := range []struct{ name, mediaType string }{
		{"screenshot", verify.MediaTypePNG}, {"pdf", verify.MediaTypePDF}, {"dom", verify.MediaTypeHTML},
	} {
		resp, b := f.get(t, "/api/v1/records/"+rec.ID+"/rendering/"+tc.name)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.mediaType ||
			verify.SHA256Hex(b) != rd.Artefact(tc.name).SHA256 {
			t.Errorf("GET rendering/%s: status %d, %s, SHA-256 %s; want 200, %s, %s", tc.name, resp.StatusCode,
				resp.Header.Get("Content-Type"), verify.SHA256Hex(b), tc.mediaType, rd.Artefact(tc.name).SHA256)
		}
		if tc.name == "screenshot" && !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("the screenshot is not a PNG: % x", b[:min(len(b), 8)])
		}
		if tc.name == "dom" && !bytes.Contains(b, []byte(rendertest.Clause)) {
			t.Errorf("the DOM lacks the clause the page's script inserted:\n%s", b)
		}
		arts[tc.name] = bytes.NewReader(b)
	}
	if rep := verify.Check(res.Bundle, f.a.Key(), verify.Options{RecordID: rec.ID, Artefacts: arts}); !rep.Verified {
		t.Errorf("bundle with its artefacts does not verify: %+v", rep)
	}
	if _, snap := f.get(t, "/api/v1/snapshots/sha256/"+rec.SHA256); bytes.Contains(snap, []byte(rendertest.Clause)) || len(snap) == 0 {
		t.Errorf("snapshot (%d bytes) holds the clause, or is empty: it must be the document as the server sent it", len(snap))
	}
	// A tampered artefact fails the same bundle.
	tampered := []byte("not the screenshot")
	if rep := verify.Check(res.Bundle, f.a.Key(), verify.Options{Artefacts: map[string]io.Reader{"screenshot": bytes.NewReader(tampered)}}); rep.Verified {
		t.Error("a wrong screenshot verifies")
	}

	_, m := f.get(t, "/metrics")
	if !strings.Contains(string(m), `exhibit_captures_total{method="browser",outcome="captured"} 1`) {
		t.Errorf("metrics lack the browser capture:\n%s", m)
	}
}

// TestWriteBrowserBusy: with one browser, a second browser capture while
// the first renders is refused at once with 503 and Retry-After: 5, while
// a plain capture goes through; the first, whose page's server then
// closes the connection without an answer, is a failed capture answered
// 201, not an error.
func TestWriteBrowserBusy(t *testing.T) {
	bin := rendertest.Chromium(t)
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	pages := rendertest.ScriptedPage()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stall" {
			pages.ServeHTTP(w, r)
			return
		}
		once.Do(func() { close(arrived) })
		<-release
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	}))
	defer site.Close()
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, Browser: render.Config{ExecPath: bin, MaxBrowsers: 1}}, true)
	defer noLeftovers(t)

	first := make(chan []byte, 1)
	go func() {
		b, _ := json.Marshal(map[string]any{"url": site.URL + "/stall", "browser": true})
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/captures", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			first <- []byte(err.Error())
			return
		}
		defer resp.Body.Close()
		b, _ = io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			b = append([]byte(resp.Status+": "), b...)
		}
		first <- b
	}()
	select {
	case <-arrived:
	case <-time.After(60 * time.Second):
		t.Fatalf("the first browser capture never reached the page: %s", <-first)
	}
	start := time.Now()
	resp, b := f.captureJSON(t, map[string]any{"url": site.URL + "/terms", "browser": true})
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !strings.Contains(string(b), "browsers are busy") {
		t.Errorf("second browser capture: status %d, Retry-After %q: %s; want 503, 5, browsers busy", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the 503 took %v: it waited", d)
	}
	resp, b = f.captureJSON(t, map[string]any{"url": site.URL + "/terms"})
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("a plain capture beside a busy browser: status %d, want 201: %s", resp.StatusCode, b)
	}

	releaseOnce.Do(func() { close(release) })
	b = <-first
	var res api.WriteResult
	if err := json.Unmarshal(b, &res); err != nil || res.Record == nil {
		t.Fatalf("first browser capture: %s", b)
	}
	if rec := res.Record; rec.Method != verify.MethodBrowser || rec.Outcome != verify.OutcomeFailed || rec.Failure == nil || rec.Failure.Reason == "" {
		t.Errorf("first browser capture: method %q, outcome %q, failure %+v; want browser, failed with a reason", rec.Method, rec.Outcome, rec.Failure)
	}
}

// TestWriteBrowserUnavailable: a server whose browser is missing logs a
// browser capture as failed, reason browser_unavailable, and answers 201
// with it (no Chromium needed).
func TestWriteBrowserUnavailable(t *testing.T) {
	tgt := target(t)
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, Browser: render.Config{ExecPath: filepath.Join(t.TempDir(), "no-chromium")}}, true)
	resp, body := f.captureJSON(t, map[string]any{"url": tgt.URL + "/terms", "browser": true})
	rec := f.wantResult(t, resp, body, nil)
	if rec.Method != verify.MethodBrowser || rec.Outcome != verify.OutcomeFailed || rec.Failure == nil || rec.Failure.Reason != render.ReasonUnavailable {
		t.Errorf("method %q, outcome %q, failure %+v; want browser, failed, browser_unavailable", rec.Method, rec.Outcome, rec.Failure)
	}
	// Its record page says the capture failed and nothing was taken,
	// not that a bound ran out on a page never loaded.
	_, page := f.get(t, "/records/"+rec.ID)
	if want := "the capture FAILED (browser_unavailable) before any page was loaded: nothing was taken"; !strings.Contains(string(page), want) ||
		strings.Contains(string(page), "bound ran out") || strings.Contains(string(page), "settled") {
		t.Errorf("the record page of a capture with no browser lacks %q, or speaks of settling:\n%s", want, page)
	}
	_, m := f.get(t, "/metrics")
	if !strings.Contains(string(m), `exhibit_captures_total{method="browser",outcome="failed"} 1`) {
		t.Errorf("metrics lack the failed browser capture:\n%s", m)
	}
}

// TestWriteBrowserBadRequests: a browser field of the wrong type, a wait
// out of bounds or without "browser", and a browser capture on a server
// that refuses private targets are refused before anything is logged.
func TestWriteBrowserBadRequests(t *testing.T) {
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, Browser: render.Config{ExecPath: filepath.Join(t.TempDir(), "no-chromium")}}, true)
	const u = `"url": "https://example.org/terms"`
	for _, tc := range []struct {
		desc, body string
		f          *writeFixture
		want       int
	}{
		{"browser a string", `{` + u + `, "browser": "yes"}`, f, http.StatusBadRequest},
		{"browser a number", `{` + u + `, "browser": 1}`, f, http.StatusBadRequest},
		{"wait a string", `{` + u + `, "browser": true, "browser_wait_ms": "15s"}`, f, http.StatusBadRequest},
		{"wait a fraction", `{` + u + `, "browser": true, "browser_wait_ms": 1.5}`, f, http.StatusBadRequest},
		{"wait zero", `{` + u + `, "browser": true, "browser_wait_ms": 0}`, f, http.StatusBadRequest},
		{"wait negative", `{` + u + `, "browser": true, "browser_wait_ms": -1}`, f, http.StatusBadRequest},
		{"wait over the render's limit", `{` + u + `, "browser": true, "browser_wait_ms": 60001}`, f, http.StatusBadRequest},
		{"wait without browser", `{` + u + `, "browser_wait_ms": 1000}`, f, http.StatusBadRequest},
		{"wait with browser false", `{` + u + `, "browser": false, "browser_wait_ms": 1000}`, f, http.StatusBadRequest},
		{"delay negative", `{` + u + `, "browser": true, "browser_delay_ms": -1}`, f, http.StatusBadRequest},
		{"delay a string", `{` + u + `, "browser": true, "browser_delay_ms": "2s"}`, f, http.StatusBadRequest},
		{"delay over the render's limit", `{` + u + `, "browser": true, "browser_delay_ms": 60001}`, f, http.StatusBadRequest},
		{"delay without browser", `{` + u + `, "browser_delay_ms": 1000}`, f, http.StatusBadRequest},
		{"wait_for without browser", `{` + u + `, "browser_wait_for": "#clause"}`, f, http.StatusBadRequest},
		{"wait_for a number", `{` + u + `, "browser": true, "browser_wait_for": 1}`, f, http.StatusBadRequest},
		{"wait_for with a control character", `{` + u + `, "browser": true, "browser_wait_for": "#a\u0007"}`, f, http.StatusBadRequest},
		{"wait_for too long", `{` + u + `, "browser": true, "browser_wait_for": "` + strings.Repeat("p", 1025) + `"}`, f, http.StatusBadRequest},
		{"not http", `{"url": "file:///etc/passwd", "browser": true}`, f, http.StatusBadRequest},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, b := tc.f.post(t, "/api/v1/captures", "application/json", tc.f.token, strings.NewReader(tc.body))
			if resp.StatusCode != tc.want || !strings.Contains(string(b), `"error"`) {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
		})
	}
	if n, err := f.a.Index().Count(t.Context()); err != nil || n != 0 {
		t.Errorf("%d records logged (%v), want none", n, err)
	}
}
