package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// TestHealthCheckpoint serves an archive read-only: /healthz answers 200
// while /checkpoint serves a checkpoint that verifies, a fresh archive's
// included, and 503 naming the checkpoint once the kept checkpoint no
// longer verifies under the archive's key (so /checkpoint fails): a load
// balancer stops sending it readers.
func TestHealthCheckpoint(t *testing.T) {
	get := func(t *testing.T, srv *httptest.Server, path string) (*http.Response, []byte) {
		t.Helper()
		return (&fixture{srv: srv}).get(t, path)
	}
	t.Run("fresh", func(t *testing.T) {
		a := archivetest.Open(t, archivetest.Init(t, archive.InitOptions{}), archive.OpenOptions{})
		srv := httptest.NewServer(api.New(a, api.Options{}))
		t.Cleanup(srv.Close)
		if resp, body := get(t, srv, "/healthz"); resp.StatusCode != 200 {
			t.Errorf("/healthz of a fresh archive: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("broken", func(t *testing.T) {
		w, _, _ := archivetest.SmallLog(t, 3)
		a := archivetest.Reopen(t, w, archive.OpenOptions{})
		srv := httptest.NewServer(api.New(a, api.Options{}))
		t.Cleanup(srv.Close)
		resp, body := get(t, srv, "/healthz")
		if resp.StatusCode != 200 || string(body) != "ok\n" {
			t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
		}
		_, cp, err := a.Checkpoint(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// The kept checkpoint's signature broken, as a failing disk or an
		// attacker would.
		path := a.CheckpointFile(cp.Size)
		b := archivetest.ReadFile(t, path)
		sig := bytes.LastIndex(b, []byte(" ")) + 5
		b[sig] ^= 1
		archivetest.Rewrite(t, path, b)
		if resp, body := get(t, srv, "/checkpoint"); resp.StatusCode != 500 {
			t.Fatalf("/checkpoint of a broken checkpoint: %d %s, want 500", resp.StatusCode, body)
		}
		resp, body = get(t, srv, "/healthz")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "checkpoint unservable") {
			t.Errorf("/healthz with /checkpoint failing: %d %q, want 503 naming the checkpoint", resp.StatusCode, body)
		}
	})
}

// TestAWSReadsDatabaseDown takes away the database of a shared archive
// served read-only, stopped (SIGTERM, as an operator or systemd would) or
// hung (SIGSTOP: connections accepted, never answered): what comes from
// the index (search, records, their bundles, the pages, tracked documents)
// answers 503 with Retry-After naming the database, never 500 and never a
// hang; the log (checkpoint, tiles) goes on from the bucket; and every
// read answers 200 again once the database is back, without a restart.
func TestAWSReadsDatabaseDown(t *testing.T) {
	for _, c := range []struct {
		name       string
		down, back func(*mariadbtest.Server)
	}{
		{"stopped", (*mariadbtest.Server).Stop, (*mariadbtest.Server).Restart},
		{"hung", (*mariadbtest.Server).Pause, (*mariadbtest.Server).Resume},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := archivetest.Context(t, 3*time.Minute)
			o, db, _ := archivetest.AWS(t, "readsdown.test/log")
			w := archivetest.New(t, o)
			doc := filepath.Join(t.TempDir(), "doc.html")
			os.WriteFile(doc, []byte("<html>a document</html>"), 0o644)
			rec, err := ingest.New(w).File(ctx, doc, ingest.FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			a := archivetest.Reopen(t, w, archive.OpenOptions{})
			srv := httptest.NewServer(api.New(a, api.Options{}))
			t.Cleanup(srv.Close)
			// A read that hangs fails the test, not the run.
			srv.Client().Timeout = 30 * time.Second
			f := &fixture{a: a, srv: srv}
			fromIndex := []string{
				"/api/v1/search?sha256=" + rec.SHA256,
				"/api/v1/records/" + rec.ID,
				"/api/v1/records/" + rec.ID + "/bundle",
				"/records/" + rec.ID,
				"/",
				"/api/v1/documents",
			}
			fromLog := []string{"/checkpoint", "/tile/0/000.p/1"}
			for _, p := range append(fromIndex, fromLog...) {
				resp, body := f.get(t, p)
				wantStatus(t, resp, body, 200)
			}

			c.down(db)
			for range 2 { // the second time, known down
				for _, p := range fromIndex {
					resp, body := f.get(t, p)
					if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "database unavailable") {
						t.Errorf("GET %s with the database %s: %d, Retry-After %q, %.300s; want 503 with Retry-After naming the database", p, c.name, resp.StatusCode, resp.Header.Get("Retry-After"), body)
					}
				}
			}
			for _, p := range fromLog {
				resp, body := f.get(t, p)
				wantStatus(t, resp, body, 200)
			}
			c.back(db)
			for _, p := range fromIndex {
				deadline := time.Now().Add(time.Minute)
				for {
					resp, body := f.get(t, p)
					if resp.StatusCode == 200 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("GET %s after the database is back: %d %s", p, resp.StatusCode, body)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
}
