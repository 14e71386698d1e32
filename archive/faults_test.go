package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCaptureFaults captures from misbehaving loopback servers. Each gives
// its documented outcome; failures are logged as failed-capture records
// that verify; the archive stays sound throughout.
func TestCaptureFaults(t *testing.T) {
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	page := bytes.Repeat([]byte("<p>The policy text.</p>\n"), 200)

	mux := http.NewServeMux()
	mux.HandleFunc("/loop/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/b", http.StatusFound) })
	mux.HandleFunc("/loop/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop/a", http.StatusFound) })
	mux.HandleFunc("/self", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/self", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/hop/", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/hop/"), "%d", &n)
		if n == 0 {
			w.Write(page)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(page); i += 1000 {
			w.Write(page[i:min(i+1000, len(page))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		zw := gzip.NewWriter(w)
		zw.Write(page)
		zw.Close()
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 64<<10)) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone fishing", http.StatusNotFound) })
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) { w.Write(page) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()

	// A server that resets every connection after reading the request.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 4096))
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()

	for _, tc := range []struct {
		name        string
		url         string
		opts        capture.Options
		wantOutcome string
		wantReason  string
		wantStatus  int
		wantSHA     string
		wantHops    int
	}{
		{name: "redirect loop", url: srv.URL + "/loop/a", wantOutcome: verify.OutcomeFailed, wantReason: "redirect_loop", wantStatus: 302, wantHops: 2},
		{name: "redirect to itself", url: srv.URL + "/self", wantOutcome: verify.OutcomeFailed, wantReason: "redirect_loop", wantStatus: 301, wantHops: 1},
		{name: "ten redirects", url: srv.URL + "/hop/10", wantOutcome: verify.OutcomeCaptured, wantStatus: 200, wantSHA: archivetest.SHA256(page), wantHops: 10},
		{name: "eleven redirects", url: srv.URL + "/hop/11", wantOutcome: verify.OutcomeFailed, wantReason: "too_many_redirects", wantStatus: 307, wantHops: 11},
		{name: "chunked", url: srv.URL + "/chunked", wantOutcome: verify.OutcomeCaptured, wantStatus: 200, wantSHA: archivetest.SHA256(page)},
		{name: "gzip", url: srv.URL + "/gzip", wantOutcome: verify.OutcomeCaptured, wantStatus: 200, wantSHA: archivetest.SHA256(page)},
		{name: "body over the limit", url: srv.URL + "/big", opts: capture.Options{MaxBodyBytes: 32 << 10}, wantOutcome: verify.OutcomeFailed, wantReason: "body_too_large", wantStatus: 200},
		{name: "slower than the timeout", url: srv.URL + "/slow", opts: capture.Options{Timeout: 300 * time.Millisecond}, wantOutcome: verify.OutcomeFailed, wantReason: "timeout"},
		{name: "404", url: srv.URL + "/missing", wantOutcome: verify.OutcomeHTTPError, wantStatus: 404, wantSHA: archivetest.SHA256([]byte("gone fishing\n"))},
		{name: "reset connection", url: "http://" + ln.Addr().String() + "/", wantOutcome: verify.OutcomeFailed, wantReason: "connection_reset"},
		{name: "self-signed TLS", url: tlsSrv.URL + "/page", wantOutcome: verify.OutcomeFailed, wantReason: "tls"},
		{name: "self-signed TLS, insecure", url: tlsSrv.URL + "/page", opts: capture.Options{InsecureSkipVerify: true}, wantOutcome: verify.OutcomeCaptured, wantStatus: 200, wantSHA: archivetest.SHA256(page)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _, err := a.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := in.Capture(ctx, tc.url, ingest.CaptureOptions{Entity: "Test", Document: tc.name, Fetch: tc.opts})
			if err != nil {
				t.Fatalf("Capture: %v", err)
			}
			if rec.Outcome != tc.wantOutcome {
				t.Fatalf("outcome %s (%+v), want %s", rec.Outcome, rec.Failure, tc.wantOutcome)
			}
			if tc.wantReason != "" && (rec.Failure == nil || rec.Failure.Reason != tc.wantReason) {
				t.Errorf("failure %+v, want reason %s", rec.Failure, tc.wantReason)
			}
			if rec.Status != tc.wantStatus {
				t.Errorf("status %d, want %d", rec.Status, tc.wantStatus)
			}
			if rec.SHA256 != tc.wantSHA {
				t.Errorf("sha256 %s, want %s", rec.SHA256, tc.wantSHA)
			}
			if tc.wantHops > 0 && len(rec.Statement.Capture.Predicate.Observed.Redirects) != tc.wantHops {
				t.Errorf("%d redirect hops recorded, want %d", len(rec.Statement.Capture.Predicate.Observed.Redirects), tc.wantHops)
			}
			_, rep := archivetest.Check(t, a, rec, verify.Options{})
			if rec.Outcome == verify.OutcomeFailed {
				if rec.SHA256 != "" || rep.Statement.Predicate.Snapshot != nil {
					t.Error("a failed capture has a snapshot")
				}
				if got := rep.Statement.SubjectDigest(); got != archivetest.SHA256([]byte(tc.url)) {
					t.Errorf("failed capture's subject digest %s is not SHA-256 of its URL", got)
				}
			}
			if after, _, _ := a.Checkpoint(ctx); bytes.Equal(before, after) {
				t.Error("the log did not grow")
			}
		})
	}

	// The insecure TLS capture kept the certificate chain beside the snapshot.
	rec, err := in.Capture(ctx, tlsSrv.URL+"/page", ingest.CaptureOptions{Fetch: capture.Options{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	tl := rec.Statement.Capture.Predicate.Observed.TLS
	if tl == nil || tl.Verified || tl.Certificates < 1 || tl.CertificateChainSHA256 == "" {
		t.Fatalf("TLS provenance %+v", tl)
	}
	rc, err := a.Store().Get(ctx, tl.CertificateChainSHA256)
	if err != nil {
		t.Fatalf("certificate chain object: %v", err)
	}
	chain, _ := io.ReadAll(rc)
	rc.Close()
	blk, _ := pem.Decode(chain)
	if blk == nil {
		t.Fatal("certificate chain object is not PEM")
	}
	if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
		t.Fatalf("certificate chain object: %v", err)
	}

	archivetest.AuditOK(t, a)
}

// TestConcurrentCaptures runs 50 captures at once in one process.
func TestConcurrentCaptures(t *testing.T) {
	ctx := archivetest.Context(t, time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html>document %s</html>", r.URL.Path)
	}))
	defer srv.Close()
	var wg sync.WaitGroup
	recs := make([]*record.Record, 50)
	for i := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := in.Capture(ctx, fmt.Sprintf("%s/doc/%d", srv.URL, i), ingest.CaptureOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			recs[i] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	indices := map[uint64]bool{}
	for i, r := range recs {
		if r.Outcome != verify.OutcomeCaptured {
			t.Errorf("capture %d: %s", i, r.Outcome)
		}
		if want := archivetest.SHA256([]byte(fmt.Sprintf("<html>document /doc/%d</html>", i))); r.SHA256 != want {
			t.Errorf("capture %d: sha256 %s, want %s", i, r.SHA256, want)
		}
		indices[r.Index] = true
		archivetest.Check(t, a, r, verify.Options{})
	}
	if len(indices) != 50 {
		t.Errorf("%d distinct leaf indices, want 50", len(indices))
	}
	if rep := archivetest.AuditOK(t, a); rep.LogSize != 50 {
		t.Errorf("log size %d", rep.LogSize)
	}
}

// TestSecondWriter: a second writer of the same archive is refused, with a
// clear error, and reading still works meanwhile.
func TestSecondWriter(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	_, err := archive.Open(ctx, a.Dir(), archive.OpenOptions{Write: true})
	if !errors.Is(err, archive.ErrLocked) {
		t.Fatalf("second Open for writing: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "pid") {
		t.Errorf("error %q does not name the holder", err)
	}
	r, err := archive.Open(ctx, a.Dir(), archive.OpenOptions{})
	if err != nil {
		t.Fatalf("read-only Open while locked: %v", err)
	}
	r.Close(ctx)
	// After the writer closes, another may open.
	a.Close(ctx)
	b, err := archive.Open(ctx, a.Dir(), archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	b.Close(ctx)
}

// TestInitRefuses: an existing archive is never overwritten.
func TestInitRefuses(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	cfg := a.Config()
	_, err := archive.Init(ctx, a.Dir(), archive.InitOptions{})
	if !errors.Is(err, archive.ErrExists) {
		t.Fatalf("Init over an archive: %v, want ErrExists", err)
	}
	again, err := archive.ReadConfig(a.Dir())
	if err != nil || again.VKey != cfg.VKey {
		t.Fatalf("config changed: %v", err)
	}
	for _, bad := range []string{"https://example.org/log", "has space", "a+b", ""} {
		if bad == "" {
			continue
		}
		if _, err := archive.Init(ctx, filepath.Join(t.TempDir(), "x"), archive.InitOptions{Origin: bad}); err == nil {
			t.Errorf("Init accepted origin %q", bad)
		}
	}
}

// TestReindex rebuilds the index from the log alone, and a writer catches
// up an index that missed entries (a crash between log and index).
func TestReindex(t *testing.T) {
	ctx := context.Background()
	a, recs, _ := archivetest.SmallLog(t, 5)
	dir := a.Dir()
	a.Close(ctx)
	// A reader opened before the index is deleted reads the one the
	// writer rebuilds, once there is one.
	ro := archivetest.Open(t, dir, archive.OpenOptions{})
	defer ro.Close(ctx)
	os.Remove(filepath.Join(dir, "index.db"))
	os.Remove(filepath.Join(dir, "index.db-wal"))
	os.Remove(filepath.Join(dir, "index.db-shm"))

	b, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	// Open for writing caught up the empty index from the log.
	for _, r := range recs {
		got, err := b.Get(ctx, r.ID)
		if err != nil {
			t.Fatalf("after catch-up, Get(%s): %v", r.ID, err)
		}
		if got.Index != r.Index || got.SHA256 != r.SHA256 || got.URL != r.URL {
			t.Errorf("after catch-up %+v, want %+v", got, r)
		}
	}
	n, err := b.Reindex(ctx, nil)
	if err != nil || n != 5 {
		t.Fatalf("Reindex = %d, %v; want 5", n, err)
	}
	for _, r := range recs {
		if _, err := b.Get(ctx, r.ID); err != nil {
			t.Errorf("after Reindex, Get(%s): %v", r.ID, err)
		}
	}
	if _, err := b.Get(ctx, "EXR-00000-00000-00000-00000"); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("Get of an unknown ID: %v, want ErrNotFound", err)
	}

	// Reindex while records are written: the index ends with every one.
	in := ingest.New(b)
	docs := t.TempDir()
	var wg sync.WaitGroup
	var more []*record.Record
	var mu sync.Mutex
	for i := range 200 {
		wg.Go(func() {
			f := filepath.Join(docs, fmt.Sprintf("doc%d.html", i))
			os.WriteFile(f, []byte(fmt.Sprintf("<html>written during a reindex %d</html>", i)), 0o644)
			r, err := in.File(ctx, f, ingest.FileOptions{})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			more = append(more, r)
			mu.Unlock()
		})
	}
	written := make(chan struct{})
	go func() { wg.Wait(); close(written) }()
	// Meanwhile a reader never misses a record: each rebuild is whole
	// before it replaces the index.
	var missed atomic.Int64
	var reading sync.WaitGroup
	reading.Go(func() {
		for {
			select {
			case <-written:
				return
			default:
			}
			for _, r := range recs {
				if _, err := ro.Get(ctx, r.ID); err != nil {
					missed.Add(1)
				}
			}
		}
	})
	defer func() {
		reading.Wait()
		if n := missed.Load(); n > 0 {
			t.Errorf("a reader missed records %d times during the reindexes", n)
		}
	}()
	for reindexed := 0; ; reindexed++ {
		select {
		case <-written:
		default:
			if _, err := b.Reindex(ctx, nil); err != nil {
				t.Fatalf("Reindex during writes: %v", err)
			}
			continue
		}
		t.Logf("%d reindexes during the writes", reindexed)
		break
	}
	for _, r := range append(recs, more...) {
		for _, a := range []*archive.Archive{b, ro} {
			if got, err := a.Get(ctx, r.ID); err != nil || got.Index != r.Index {
				t.Errorf("after Reindex during writes, Get(%s): %v", r.ID, err)
			}
		}
	}
	archivetest.AuditOK(t, b)
}

// TestRedirectCredentials: credentials a server hands out in a redirect
// are neither followed nor recorded.
func TestRedirectCredentials(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/login" {
			http.Redirect(w, r, strings.Replace(srv.URL, "http://", "http://admin:hunter2@", 1)+"/page", http.StatusFound)
			return
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("credentials were sent")
		}
		w.Write([]byte("page"))
	}))
	defer srv.Close()
	rec, err := in.Capture(ctx, srv.URL+"/login", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != verify.OutcomeFailed || rec.Failure.Reason != "bad_url" {
		t.Fatalf("outcome %s %+v, want failed bad_url", rec.Outcome, rec.Failure)
	}
	if bytes.Contains(rec.Entry, []byte("hunter2")) || bytes.Contains(rec.Entry, []byte("admin")) {
		t.Errorf("the logged entry holds the credentials: %s", rec.Entry)
	}
	if loc := rec.Statement.Capture.Predicate.Observed.Redirects[0].Location; !strings.Contains(loc, "redacted@") {
		t.Errorf("hop location %q", loc)
	}
	// Bad text in the archivist's own fields is refused before anything is stored.
	f := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(f, []byte("doc"), 0o644)
	for _, o := range []ingest.FileOptions{
		{Entity: "Caf\xe9"},
		{Document: "a\x1b[31mred"},
		{Document: "c1\u0085"},
		{URL: "not a url"},
		{URL: "https://u:p@example.org/"},
		{URL: "https://example.org/a b"},
		{Document: "Terms \u202Eevil"},
		{FetchedAt: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
		{FetchedAt: time.Now().Add(72 * time.Hour)},
	} {
		if _, err := in.File(ctx, f, o); !errors.Is(err, archive.ErrInput) {
			t.Errorf("CaptureFile(%+v) = %v, want ErrInput", o, err)
		}
	}
	if rep := archivetest.AuditOK(t, a); rep.LogSize != 1 || rep.Objects != 0 {
		t.Errorf("log size %d and %d objects, want 1 and 0", rep.LogSize, rep.Objects)
	}
}
