package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// stalledUpload opens a connection to the fixture's server and sends an
// upload's headers and the first byte of its body, then nothing: a client
// on a stalled link, or one holding the server on purpose. It returns the
// connection, open.
func (f *writeFixture) stalledUpload(t *testing.T, token string) net.Conn {
	t.Helper()
	u, _ := url.Parse(f.srv.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /api/v1/snapshots HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n-", u.Host, token)
	return c
}

// answered reads the status line the server sends on c, if any, within
// limit (0 if it sends none, or closes without one).
func answered(c net.Conn, limit time.Duration) int {
	c.SetReadDeadline(time.Now().Add(limit))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestWriteSlowUploadsHoldNoSlots: uploads that send a byte and stall do
// not take the capture slots (counted from when work starts, not while a
// body trickles in), so others' captures go through; and a body slower than
// the minimum rate is cut off (408) once the grace has passed.
func TestWriteSlowUploadsHoldNoSlots(t *testing.T) {
	tgt := target(t)
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, MaxCaptures: 2, MaxPerToken: 100,
		MinUploadRate: 1 << 10, UploadGrace: 2 * time.Second}, true)
	var stalled []net.Conn
	for range 8 {
		stalled = append(stalled, f.stalledUpload(t, f.token))
	}
	time.Sleep(200 * time.Millisecond) // the server has read their headers
	for i := range 3 {
		resp, b := f.captureURL(t, tgt.URL+fmt.Sprintf("/%d", i))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("capture %d beside 8 stalled uploads: status %d, want 201: %s", i, resp.StatusCode, b)
		}
	}
	// Each stalled upload is answered 408 within the grace and a second.
	start := time.Now()
	for i, c := range stalled {
		if code := answered(c, 10*time.Second); code != http.StatusRequestTimeout {
			t.Errorf("stalled upload %d: status %d, want 408 after the grace", i, code)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stalled uploads were cut off after %v, want about the 2s grace", d)
	}
}

// TestWriteUploadRate: an upload that keeps above the minimum rate is
// archived however long it takes; one that falls below it after the
// grace is cut off with 408, and nothing is logged for it.
func TestWriteUploadRate(t *testing.T) {
	f := newWriteFixture(t, api.Options{MinUploadRate: 1 << 10, UploadGrace: time.Second}, true)
	send := func(chunk int, every time.Duration, chunks int) (*http.Response, []byte) {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			mw.WriteField("url", "https://example.com/terms")
			fw, _ := mw.CreateFormFile("file", "terms.txt")
			for range chunks {
				if _, err := fw.Write(bytes.Repeat([]byte("t"), chunk)); err != nil {
					pw.CloseWithError(err)
					return
				}
				time.Sleep(every)
			}
			mw.Close()
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/snapshots", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			return nil, []byte(err.Error())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	// 2 KiB every 250ms (8 KiB/s) for 3s: above 1 KiB/s.
	resp, b := send(2<<10, 250*time.Millisecond, 12)
	if resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload above the minimum rate: %v %s", resp, b)
	}
	// 100 bytes every 500ms (200 B/s): below it.
	resp, b = send(100, 500*time.Millisecond, 20)
	if resp == nil || resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), "minimum") {
		t.Errorf("upload below the minimum rate: %v %s, want 408 naming the minimum rate", resp, b)
	}
	if n, err := f.a.Index().Count(t.Context()); err != nil || n != 1 {
		t.Errorf("%d records logged (%v), want 1", n, err)
	}
}

// TestWritePerToken: one token may hold MaxPerToken requests at once;
// more are answered 429, while another token is served.
func TestWritePerToken(t *testing.T) {
	tgt := target(t)
	f := newWriteFixture(t, api.Options{AllowPrivateTargets: true, MaxPerToken: 2, UploadGrace: time.Minute}, true)
	_, other, err := f.tokens.Create("other", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.stalledUpload(t, f.token), f.stalledUpload(t, f.token)
	time.Sleep(200 * time.Millisecond)
	resp, body := f.captureURL(t, tgt.URL)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "2 requests in progress") {
		t.Errorf("third request of a token: status %d, Retry-After %q: %s; want 429", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	bb, _ := json.Marshal(map[string]string{"url": tgt.URL + "/other"})
	resp, body = f.post(t, "/api/v1/captures", "application/json", other, bytes.NewReader(bb))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("another token's request: status %d, want 201: %s", resp.StatusCode, body)
	}
	// Once one of the token's requests ends, it is served again.
	a.Close()
	time.Sleep(200 * time.Millisecond)
	resp, body = f.captureURL(t, tgt.URL+"/again")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("after one request ended: status %d, want 201: %s", resp.StatusCode, body)
	}
	b.Close()
}

// TestWriteSlowUploadAnswered: an upload that takes longer than the
// server's WriteTimeout to arrive (at a rate above the minimum) is still
// answered: the time its body took does not count against writing the
// answer.
func TestWriteSlowUploadAnswered(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{Origin: "test.example/log"})
	tokens := api.NewTokens(a.Dir())
	_, token, err := tokens.Create("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(api.New(a, api.Options{Tokens: tokens, TempDir: t.TempDir(), MinUploadRate: 1 << 10, UploadGrace: time.Second}))
	srv.Config.WriteTimeout = 2 * time.Second
	srv.Start()
	defer srv.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("url", "https://example.com/slow")
		fw, _ := mw.CreateFormFile("file", "slow.txt")
		for range 14 { // 3.5s, at 4 KiB/s
			fw.Write(bytes.Repeat([]byte("s"), 1<<10))
			time.Sleep(250 * time.Millisecond)
		}
		mw.Close()
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/snapshots", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("an upload slower than WriteTimeout got no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("status %d, want 201: %s", resp.StatusCode, b)
	}
}

// TestWritePerTokenKeepsRate: a request refused (429) because its token
// already has MaxPerToken requests in progress does not use up one of the
// token's rate: with a rate of 2 a minute, one request in progress and
// three refused for it, the token's next request is still served, and only
// the one after it is refused for its rate.
func TestWritePerTokenKeepsRate(t *testing.T) {
	f := newWriteFixture(t, api.Options{RateLimit: 2, MaxPerToken: 1, UploadGrace: time.Minute}, true)
	stalled := f.stalledUpload(t, f.token) // the rate's first request
	time.Sleep(200 * time.Millisecond)
	for i := range 3 {
		resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader("{}"))
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "1 requests in progress") {
			t.Fatalf("request %d beside one in progress: status %d: %s; want 429, in progress", i, resp.StatusCode, b)
		}
	}
	stalled.Close()
	time.Sleep(200 * time.Millisecond)
	// {} passes the limits and is refused as bad input (400): the rate's
	// second request.
	if resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader("{}")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("after the request in progress ended: status %d, want 400 (served): %s", resp.StatusCode, b)
	}
	if resp, b := f.post(t, "/api/v1/captures", "application/json", f.token, strings.NewReader("{}")); resp.StatusCode != http.StatusTooManyRequests ||
		!strings.Contains(string(b), "rate limit") {
		t.Errorf("third request of the rate: status %d, want 429 for the rate: %s", resp.StatusCode, b)
	}
}
