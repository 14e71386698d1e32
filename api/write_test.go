package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// writeFixture is an empty archive opened for writing and served with the
// write API.
type writeFixture struct {
	a      *archive.Archive
	srv    *httptest.Server
	tokens *api.Tokens
	token  string
}

// newWriteFixture serves a new archive opened for writing with options o;
// with token, it first creates a token and sets o.Tokens.
func newWriteFixture(t *testing.T, o api.Options, token bool) *writeFixture {
	t.Helper()
	a := archivetest.New(t, archive.InitOptions{Origin: "test.example/log"})
	f := &writeFixture{a: a, tokens: api.NewTokens(a.Dir())}
	if token {
		var err error
		if _, f.token, err = f.tokens.Create("test", time.Now()); err != nil {
			t.Fatal(err)
		}
		o.Tokens = f.tokens
	}
	o.TempDir = t.TempDir()
	f.srv = httptest.NewServer(api.New(a, o))
	t.Cleanup(f.srv.Close)
	return f
}

// post sends body to path with the fixture's token (auth "" sends none).
func (f *writeFixture) post(t *testing.T, path, contentType, auth string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (f *writeFixture) captureURL(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"url": u, "entity": "Example", "document": "Terms"})
	return f.post(t, "/api/v1/captures", "application/json", f.token, bytes.NewReader(b))
}

// wantResult checks a 201 answer: its record, that its bundle verifies,
// and that both are what the read API serves for the record.
func (f *writeFixture) wantResult(t *testing.T, resp *http.Response, body []byte, snapshot []byte) *api.RecordInfo {
	t.Helper()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201: %s", resp.StatusCode, body)
	}
	var res api.WriteResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	rec := res.Record
	if rec == nil || rec.Record == nil {
		t.Fatalf("no record: %s", body)
	}
	if got, want := resp.Header.Get("Location"), "/api/v1/records/"+rec.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if got, want := rec.Bundle, "/api/v1/records/"+rec.ID+"/bundle"; got != want {
		t.Errorf("record.bundle = %q, want %q", got, want)
	}
	if got, want := rec.Page, "/records/"+rec.ID; got != want {
		t.Errorf("record.page = %q, want %q", got, want)
	}
	if rec.Kind != record.Capture || rec.Published <= rec.Index {
		t.Errorf("record kind %q, index %d, published %d", rec.Kind, rec.Index, rec.Published)
	}
	if c := rec.Citation; c == nil || c.RecordID != rec.ID || c.LogIndex != rec.Index || c.CheckpointSize != rec.Published || c.Outcome != rec.Outcome {
		t.Errorf("citation %+v", c)
	}
	vo := verify.Options{RecordID: rec.ID}
	if snapshot != nil {
		vo.Snapshot = bytes.NewReader(snapshot)
	}
	rep := verify.Check(res.Bundle, f.a.Key(), vo)
	if !rep.Verified {
		t.Errorf("bundle does not verify: %+v", rep)
	} else if rep.Checkpoint.Size != rec.Published {
		t.Errorf("bundle against tree size %d, want the record's checkpoint %d", rep.Checkpoint.Size, rec.Published)
	}
	// The statement in the record is the one the bundle's entry signs.
	var compact bytes.Buffer
	if err := json.Compact(&compact, rec.Statement); err != nil {
		t.Errorf("record.statement %s: %v", rec.Statement, err)
	}
	if rep.Bundle != nil {
		env, err := verify.ParseEnvelope(rep.Bundle.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), env.Payload) {
			t.Errorf("record.statement %s is not the logged statement %s", rec.Statement, env.Payload)
		}
	}
	// The read API serves the same record and the same bundle.
	r2, err := f.srv.Client().Get(f.srv.URL + resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	var got api.RecordInfo
	if err := json.Unmarshal(b2, &got); r2.StatusCode != 200 || err != nil {
		t.Fatalf("GET record: %d %v: %s", r2.StatusCode, err, b2)
	}
	var gotSt bytes.Buffer
	json.Compact(&gotSt, got.Statement)
	if !reflect.DeepEqual(got.Record, rec.Record) || !reflect.DeepEqual(got.Citation, rec.Citation) ||
		got.Bundle != rec.Bundle || got.Page != rec.Page || !bytes.Equal(gotSt.Bytes(), compact.Bytes()) {
		t.Errorf("GET record:\n%s\nwant the write answer's\n%s", b2, body)
	}
	r3, err := f.srv.Client().Get(f.srv.URL + rec.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	b3, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	var served, want bytes.Buffer
	json.Compact(&served, b3)
	json.Compact(&want, res.Bundle)
	if r3.StatusCode != 200 || served.Len() == 0 || !bytes.Equal(served.Bytes(), want.Bytes()) {
		t.Errorf("GET bundle: %d\n%s\nwant the write answer's\n%s", r3.StatusCode, b3, want.Bytes())
	}
	return rec
}

const page = "<html><body>Terms of service</body></html>\n"

func target(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWriteCapture(t *testing.T) {
	tgt := target(t)
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true}, true)
	resp, body := f.captureURL(t, tgt.URL+"/terms")
	rec := f.wantResult(t, resp, body, []byte(page))
	if rec.Outcome != "captured" || rec.Status != 200 || rec.URL != tgt.URL+"/terms" || rec.Entity != "Example" {
		t.Errorf("record = %+v", rec)
	}
	// The record is served by the read API too (wantResult checked it).
	r2, err := f.srv.Client().Get(f.srv.URL + "/api/v1/records/" + rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Errorf("GET record: %d", r2.StatusCode)
	}
	// The capture is counted in the metrics.
	m, err := f.srv.Client().Get(f.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(m.Body)
	m.Body.Close()
	if !strings.Contains(string(mb), `exhibit_captures_total{method="fetch",outcome="captured"} 1`) {
		t.Errorf("metrics lack the capture:\n%s", mb)
	}
}

// TestWriteCaptureRefusesLoopback: by default a loopback target is refused
// at connect time, and the refusal is logged as a failed capture.
func TestWriteCaptureRefusesLoopback(t *testing.T) {
	var hit atomic.Bool
	tgt := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer tgt.Close()
	f := newWriteFixture(t, api.Options{}, true)
	for _, u := range []string{tgt.URL, strings.Replace(tgt.URL, "127.0.0.1", "localhost", 1)} {
		resp, body := f.captureURL(t, u)
		rec := f.wantResult(t, resp, body, nil)
		if rec.Outcome != "failed" || rec.Failure == nil || rec.Failure.Reason != "connect" ||
			!strings.Contains(rec.Failure.Message, "not allowed") {
			t.Errorf("%s: record = %+v, failure %+v; want failed, connect, not allowed", u, rec, rec.Failure)
		}
	}
	if hit.Load() {
		t.Error("the loopback target was reached")
	}
}

func multipartBody(t *testing.T, fields map[string]string, name string, file []byte) (string, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

func TestWriteUpload(t *testing.T) {
	f := newWriteFixture(t, api.Options{MaxUploadBytes: 1 << 10}, true)
	doc := []byte("<html><body>Privacy policy, uploaded</body></html>\n")
	ct, body := multipartBody(t, map[string]string{
		"url": "https://example.org/privacy", "fetched_at": "2026-05-08T11:13:00Z",
		"entity": "Example", "document": "Privacy Policy",
	}, "privacy.html", doc)
	resp, b := f.post(t, "/api/v1/snapshots", ct, f.token, body)
	rec := f.wantResult(t, resp, b, doc)
	if rec.URL != "https://example.org/privacy" || rec.CapturedAt != verify.FormatTime(time.Date(2026, 5, 8, 11, 13, 0, 0, time.UTC)) || !rec.Claimed ||
		rec.Outcome != "captured" || rec.Document != "Privacy Policy" {
		t.Errorf("record = %+v", rec)
	}
	// The record's JSON holds the statement as logged ("statement"), and
	// none of the holder's own fields (parsed statement, payload, entry,
	// checkpoint).
	if got := rec.Record.Statement; got != nil {
		t.Errorf("the parsed statement leaked into JSON")
	}
	if rec.Payload != nil || rec.Entry != nil || rec.Checkpoint != nil {
		t.Errorf("payload, entry or checkpoint leaked into JSON")
	}
	var keys map[string]json.RawMessage
	json.Unmarshal(b, &keys)
	json.Unmarshal(keys["record"], &keys)
	for k := range keys {
		if strings.EqualFold(k, "payload") || strings.EqualFold(k, "entry") || strings.EqualFold(k, "checkpoint") {
			t.Errorf("record JSON has %q", k)
		}
	}
	if _, ok := keys["statement"]; !ok {
		t.Errorf("record JSON lacks the statement")
	}

	t.Run("oversize", func(t *testing.T) {
		ct, body := multipartBody(t, map[string]string{"url": "https://example.org/big"}, "big.bin", bytes.Repeat([]byte("x"), 1<<10+1))
		if resp, b := f.post(t, "/api/v1/snapshots", ct, f.token, body); resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413: %s", resp.StatusCode, b)
		}
	})
	for _, tc := range []struct {
		desc   string
		fields map[string]string
		file   []byte
	}{
		{"no file", map[string]string{"url": "https://example.org/x"}, nil},
		{"no url", map[string]string{}, doc},
		{"bad time", map[string]string{"url": "https://example.org/x", "fetched_at": "yesterday"}, doc},
		{"future time", map[string]string{"url": "https://example.org/x", "fetched_at": "2999-01-01T00:00:00Z"}, doc},
		{"unknown field", map[string]string{"url": "https://example.org/x", "sha": "1"}, doc},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ct, body := multipartBody(t, tc.fields, "d.html", tc.file)
			if resp, b := f.post(t, "/api/v1/snapshots", ct, f.token, body); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400: %s", resp.StatusCode, b)
			}
		})
	}
}

func TestWriteAuth(t *testing.T) {
	f := newWriteFixture(t, api.Options{}, true)
	body := `{"url": "https://example.org/"}`
	for _, tc := range []struct{ desc, auth string }{
		{"none", ""},
		{"wrong", api.TokenPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"prefix of the right one", f.token[:len(f.token)-1]},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, b := f.post(t, "/api/v1/captures", "application/json", tc.auth, strings.NewReader(body))
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("status %d, want 401: %s", resp.StatusCode, b)
			}
			if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
	t.Run("revoked", func(t *testing.T) {
		if _, err := f.tokens.Revoke("test"); err != nil {
			t.Fatal(err)
		}
		// With no token left the write API is off.
		resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader(body))
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d, want 403: %s", resp.StatusCode, b)
		}
		_, other, err := f.tokens.Create("other", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader(body)); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("revoked token: status %d, want 401: %s", resp.StatusCode, b)
		}
		if resp, b := f.post(t, "/api/v1/captures", "application/json", other, strings.NewReader("{")); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("new token, bad JSON: status %d, want 400: %s", resp.StatusCode, b)
		}
	})
}

func TestWriteDisabled(t *testing.T) {
	f := newWriteFixture(t, api.Options{}, false)
	for _, path := range []string{"/api/v1/captures", "/api/v1/snapshots"} {
		resp, b := f.post(t, path, "application/json", "whatever", strings.NewReader("{}"))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "write API disabled: no tokens") {
			t.Errorf("%s: status %d, want 403: %s", path, resp.StatusCode, b)
		}
	}
}

func TestWriteBadRequests(t *testing.T) {
	f := newWriteFixture(t, api.Options{}, true)
	for _, tc := range []struct {
		desc, body string
		want       int
	}{
		{"oversize", `{"url": "https://example.org/", "entity": "` + strings.Repeat("x", 64<<10) + `"}`, http.StatusRequestEntityTooLarge},
		{"unknown field", `{"url": "https://example.org/", "x": 1}`, http.StatusBadRequest},
		{"two objects", `{"url": "https://example.org/"} {}`, http.StatusBadRequest},
		{"no url", `{}`, http.StatusBadRequest},
		{"not http", `{"url": "file:///etc/passwd"}`, http.StatusBadRequest},
		{"credentials", `{"url": "https://u:p@example.org/"}`, http.StatusBadRequest},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader(tc.body))
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.want, b)
			}
		})
	}
}

func TestWriteRateLimit(t *testing.T) {
	f := newWriteFixture(t, api.Options{RateLimit: 2}, true)
	for i := range 3 {
		resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader("{}"))
		want := http.StatusBadRequest
		if i == 2 {
			want = http.StatusTooManyRequests
		}
		if resp.StatusCode != want {
			t.Fatalf("request %d: status %d, want %d: %s", i, resp.StatusCode, want, b)
		}
		if i == 2 {
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 30 {
				t.Errorf("Retry-After = %q, want 1 to 30 seconds", resp.Header.Get("Retry-After"))
			}
		}
	}
}

// TestWriteBusy holds one capture open on a slow target with MaxCaptures
// 1: a second request is refused at once with 503.
func TestWriteBusy(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		io.WriteString(w, "slow\n")
	}))
	defer slow.Close()
	defer close(release)
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, MaxCaptures: 1}, true)
	done := make(chan int, 1)
	go func() {
		b, _ := json.Marshal(map[string]string{"url": slow.URL})
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/captures", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the first capture never reached the target")
	}
	start := time.Now()
	resp, b := f.captureURL(t, slow.URL)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("status %d, Retry-After %q; want 503, 1: %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("503 took %v: it waited", d)
	}
	release <- struct{}{}
	if code := <-done; code != http.StatusCreated {
		t.Errorf("first capture: status %d, want 201", code)
	}
}

func TestTokens(t *testing.T) {
	tk := api.NewTokens(t.TempDir())
	if l, err := tk.List(); err != nil || len(l) != 0 {
		t.Fatalf("List of a missing file = %v, %v", l, err)
	}
	k, s, err := tk.Create("ci", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, api.TokenPrefix) || len(s) != len(api.TokenPrefix)+43 || !strings.HasPrefix(k.ID, "tok_") {
		t.Errorf("token %q, ID %q", s, k.ID)
	}
	if _, _, err := tk.Create("ci", time.Now()); err == nil {
		t.Error("a second token named ci was created")
	}
	if got, ok, err := tk.Verify(s); err != nil || !ok || got.ID != k.ID {
		t.Errorf("Verify(token) = %v, %v, %v", got, ok, err)
	}
	if _, ok, _ := tk.Verify(s + "x"); ok {
		t.Error("Verify accepted a wrong token")
	}
	b, _ := os.ReadFile(tk.Path())
	if strings.Contains(string(b), s) || strings.Contains(string(b), s[len(api.TokenPrefix):]) {
		t.Error("the token is stored in the clear")
	}
	if fi, err := os.Stat(tk.Path()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if _, err := tk.Revoke(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := tk.Verify(s); ok {
		t.Error("a revoked token verifies")
	}
	if _, err := tk.Revoke("ci"); err == nil {
		t.Error("revoking a missing token succeeded")
	}
}
