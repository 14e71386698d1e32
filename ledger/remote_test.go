package ledger_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// hostileStreamCap bounds what the hostile server sends, so that a client
// without bounds fails the test instead of exhausting the machine: far
// above every limit, and above what the test lets a client allocate.
const hostileStreamCap = 256 << 20

// stream writes zeros until the client stops reading, the request ends or
// hostileStreamCap bytes are sent.
func stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	buf := make([]byte, 64<<10)
	for sent := 0; sent < hostileStreamCap && r.Context().Err() == nil; sent += len(buf) {
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

// gzipBomb is a gzip stream that inflates to n zero bytes.
func gzipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for range n >> 20 {
		zw.Write(zero)
	}
	zw.Close()
	return b.Bytes()
}

// TestRemoteReadsBounded: a log server that answers a checkpoint, tile or
// entry bundle request with an endless stream, or a compressed bomb, makes
// CheckPublished, Follow and AuditPublished fail with an error naming the
// URL and the limit, having allocated a bounded amount of memory.
func TestRemoteReadsBounded(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	dir := t.TempDir()
	grow := func(first, n int) *verify.Checkpoint {
		w, err := ledger.OpenWriter(ctx, dir, s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		var pend []*ledger.Pending
		for i := range n {
			p, err := w.Add(ctx, []byte(fmt.Sprintf("entry %d", first+i)))
			if err != nil {
				t.Fatal(err)
			}
			pend = append(pend, p)
		}
		for _, p := range pend {
			if _, _, err := w.Wait(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		_, cp, err := ledger.NewReader(dir, s.PublicKey()).Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	old := grow(0, 5)
	latest := grow(5, 300)
	if old.Size != 5 || latest.Size != 305 {
		t.Fatalf("tree sizes %d, %d; want 5, 305", old.Size, latest.Size)
	}
	bomb := gzipBomb(t, 32<<20)
	files := http.FileServer(http.Dir(dir))

	for _, tc := range []struct {
		name  string
		match func(path string) bool
		serve http.HandlerFunc
		run   func(url string) error
		what  string
		limit int
	}{
		{"endless checkpoint", func(p string) bool { return p == "/checkpoint" }, stream,
			func(url string) error { _, _, err := ledger.Follow(ctx, url, s.PublicKey(), old, nil); return err },
			"checkpoint", ledger.MaxCheckpointSize},
		{"endless tile", func(p string) bool { return strings.HasPrefix(p, "/tile/0/") }, stream,
			func(url string) error { _, err := ledger.CheckPublished(ctx, url, s.PublicKey(), old, nil); return err },
			"tile", ledger.MaxTileSize},
		{"endless entry bundle", func(p string) bool { return strings.HasPrefix(p, "/tile/entries/") }, stream,
			func(url string) error {
				_, err := ledger.AuditPublished(ctx, url, s.PublicKey(), latest, nil, nil)
				return err
			},
			"entry bundle", ledger.MaxEntryBundleSize},
		{"gzip bomb entry bundle", func(p string) bool { return p == "/tile/entries/000" }, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(bomb)))
			w.Write(bomb)
		}, func(url string) error {
			_, err := ledger.AuditPublished(ctx, url, s.PublicKey(), latest, nil, nil)
			return err
		}, "entry bundle", ledger.MaxEntryBundleSize},
		{"huge Content-Length", func(p string) bool { return p == "/checkpoint" }, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(1<<40))
			w.WriteHeader(http.StatusOK)
			w.Write(make([]byte, 1<<10))
		}, func(url string) error { _, _, err := ledger.Follow(ctx, url, s.PublicKey(), old, nil); return err },
			"checkpoint", ledger.MaxCheckpointSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.match(r.URL.Path) {
					tc.serve(w, r)
					return
				}
				files.ServeHTTP(w, r)
			}))
			defer srv.Close()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := tc.run(srv.URL + "/")
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%v after %v, %d MiB allocated", err, time.Since(start).Round(time.Millisecond), alloc>>20)
			var tl *ledger.ResponseTooLargeError
			if !errors.As(err, &tl) {
				t.Fatalf("error %v, want a *ResponseTooLargeError", err)
			}
			if tl.What != tc.what || tl.Limit != int64(tc.limit) || !strings.HasPrefix(tl.URL, srv.URL+"/") {
				t.Errorf("refused %s %s at %d bytes, want a %s at %d", tl.What, tl.URL, tl.Limit, tc.what, tc.limit)
			}
			if msg := err.Error(); !strings.Contains(msg, tl.URL) || !strings.Contains(msg, strconv.Itoa(tc.limit)) {
				t.Errorf("error %q does not name the URL and the limit", msg)
			}
			// A bounded read allocates a few times the limit at most
			// (io.ReadAll grows its buffer by doubling), AuditPublished
			// reads up to 4 bundles at once, and the rest of the run
			// allocates little.
			if max := uint64(4*3*tc.limit + 16<<20); alloc > max {
				t.Errorf("%d bytes allocated, want at most %d", alloc, max)
			}
		})
	}
}
