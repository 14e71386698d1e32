package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
)

// TestServeWriteLimitFlags: the write API's limits reach the server from
// exhibit serve's flags: with --max-per-token 1, a second request of a
// token while its first (an upload that stalls) is in progress is answered
// 429; with --min-upload-rate and --upload-grace 1s, the stalled upload is
// cut off with 408 a second or so after it began; with --browser-path
// naming no browser, a browser capture is logged as failed
// (browser_unavailable), and serve warns at start; --track renders its
// documents with the same browser (so also fails browser_unavailable).
// Limits out of range are usage errors.
func TestServeWriteLimitFlags(t *testing.T) {
	dir := inTemp(t)
	exhibit(t, "init", "--origin", "serve.test/log").want(t, 0)
	r := exhibit(t, "token", "create", "--name", "flags")
	r.want(t, 0)
	token := strings.TrimSpace(r.stdout)

	for _, args := range [][]string{
		{"--max-per-token", "0"}, {"--max-captures", "0"}, {"--min-upload-rate", "0"},
		{"--upload-grace", "0s"}, {"--max-browsers", "0"}, {"--max-browsers", "-1"},
	} {
		exhibit(t, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...).want(t, 2, "must be positive")
	}

	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<p>terms</p>") }))
	defer site.Close()
	exhibit(t, "track", "add", site.URL+"/tracked", "--entity", "Flags", "--document", "Terms", "--render").want(t, 0)

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	var stderr lockedBuffer
	cmd := exec.Command("exhibit", "--archive", filepath.Join(dir, "exhibit-archive"), "serve", "--listen", addr,
		"--track", "--track-interval", "1s",
		"--max-per-token", "1", "--min-upload-rate", "1024", "--upload-grace", "1s",
		"--allow-private-targets", "--browser-path", filepath.Join(dir, "no-chromium"), "--max-browsers", "1")
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	defer func() { cmd.Process.Signal(os.Interrupt); <-done }()
	base := "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-done:
			t.Fatalf("exhibit serve exited at start: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("exhibit serve does not answer: %s", stderr.String())
		}
	}
	post := func(body string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/v1/captures", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	// An upload that sends its headers and one byte, then stalls.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /api/v1/snapshots HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n-", addr, token)
	time.Sleep(200 * time.Millisecond)
	if resp, b := post(`{"url": "https://example.org/"}`); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "1 requests in progress") {
		t.Errorf("a second request beside one in progress: status %d: %s; want 429 (--max-per-token 1)", resp.StatusCode, b)
	}
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the stalled upload got no answer: %v", err)
	}
	resp.Body.Close()
	if took := time.Since(start); resp.StatusCode != http.StatusRequestTimeout || took > 8*time.Second {
		t.Errorf("the stalled upload: status %d after %v; want 408 after about --upload-grace 1s", resp.StatusCode, took)
	}

	// A browser capture with no browser is a failed capture.
	resp, b := post(`{"url": "` + site.URL + `/terms", "browser": true}`)
	var res api.WriteResult
	if err := json.Unmarshal(b, &res); err != nil || resp.StatusCode != http.StatusCreated || res.Record == nil {
		t.Fatalf("browser capture: status %d: %s", resp.StatusCode, b)
	}
	if rec := res.Record; rec.Method != "browser" || rec.Outcome != "failed" || rec.Failure == nil || rec.Failure.Reason != "browser_unavailable" {
		t.Errorf("browser capture: method %q, outcome %q, failure %+v; want browser, failed, browser_unavailable", rec.Method, rec.Outcome, rec.Failure)
	}
	if !strings.Contains(stderr.String(), "browser captures will be logged as failed (browser_unavailable)") {
		t.Errorf("serve did not warn that its browser is missing:\n%s", stderr.String())
	}

	// The tracked document, rendered by tracking with --browser-path.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err := http.Get(base + "/api/v1/search?url=" + url.QueryEscape(site.URL+"/tracked"))
		if err != nil {
			t.Fatal(err)
		}
		var page struct{ Records []*record.Record }
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Records) > 0 {
			rec := page.Records[0]
			if rec.Method != "browser" || rec.Failure == nil || rec.Failure.Reason != "browser_unavailable" {
				t.Errorf("tracked capture: method %q, failure %+v; want browser, browser_unavailable (--browser-path)", rec.Method, rec.Failure)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve --track did not capture the tracked document:\n%s", stderr.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer written by a child process's output
// copier and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServeTrackPolicyRender: serve --track captures tracked documents
// under the write API's address policy: a tracked document on loopback,
// fetched and rendered (--render), is a failed capture, reason connect,
// naming the policy, and the site sees no request; with
// --allow-private-targets both are captured.
func TestServeTrackPolicyRender(t *testing.T) {
	rendertest.Chromium(t)
	var hits atomic.Int64
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!DOCTYPE html><p>Tracked terms.</p>")
	}))
	defer site.Close()
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allow-private-targets=%v", allow), func(t *testing.T) {
			dir := inTemp(t)
			exhibit(t, "init", "--origin", "serve.test/log").want(t, 0)
			exhibit(t, "track", "add", site.URL+"/fetched", "--entity", "Policy", "--document", "Fetched").want(t, 0)
			exhibit(t, "track", "add", site.URL+"/rendered", "--entity", "Policy", "--document", "Rendered", "--render").want(t, 0)
			before := hits.Load()
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			args := []string{"--archive", filepath.Join(dir, "exhibit-archive"), "serve", "--listen", addr, "--track", "--track-interval", "1s"}
			if allow {
				args = append(args, "--allow-private-targets")
			}
			var stderr lockedBuffer
			cmd := exec.Command("exhibit", args...)
			cmd.Stdout, cmd.Stderr = io.Discard, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			defer func() { cmd.Process.Signal(os.Interrupt); <-done }()
			got := map[string]*record.Record{}
			for deadline := time.Now().Add(120 * time.Second); len(got) < 2; time.Sleep(200 * time.Millisecond) {
				for _, p := range []string{"/fetched", "/rendered"} {
					resp, err := http.Get("http://" + addr + "/api/v1/search?url=" + url.QueryEscape(site.URL+p))
					if err != nil {
						continue // not listening yet
					}
					var page struct{ Records []*record.Record }
					err = json.NewDecoder(resp.Body).Decode(&page)
					resp.Body.Close()
					if err == nil && len(page.Records) > 0 {
						got[p] = page.Records[0]
					}
				}
				select {
				case <-done:
					t.Fatalf("exhibit serve exited: %s", stderr.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve --track captured %d of the 2 tracked documents:\n%s", len(got), stderr.String())
				}
			}
			for p, rec := range got {
				wantMethod := "fetch"
				if p == "/rendered" {
					wantMethod = "browser"
				}
				if rec.Method != wantMethod {
					t.Errorf("%s: method %q, want %q", p, rec.Method, wantMethod)
				}
				switch {
				case allow && rec.Outcome != "captured":
					t.Errorf("%s: outcome %q, failure %+v; want captured with --allow-private-targets", p, rec.Outcome, rec.Failure)
				case !allow && (rec.Failure == nil || rec.Failure.Reason != "connect" || !strings.Contains(rec.Failure.Message, capture.ErrTargetRefused.Error())):
					t.Errorf("%s: outcome %q, failure %+v; want failed, reason connect, naming the address policy", p, rec.Outcome, rec.Failure)
				}
			}
			if n := hits.Load() - before; !allow && n != 0 {
				t.Errorf("the refused site got %d requests", n)
			}
		})
	}
}
