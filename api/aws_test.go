package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/api/layout"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestAWSLogServed serves an archive whose log is on S3 and MariaDB: the
// checkpoint, tiles and entry bundles served are the bucket's, with the
// same cache lifetimes as a log in a directory, and the checkpoint age
// metric reads the kept checkpoint in the bucket.
func TestAWSLogServed(t *testing.T) {
	ctx := archivetest.Context(t, 3*time.Minute)
	o, _, _ := archivetest.AWS(t, "aws.test/log")
	w := archivetest.New(t, o)
	in := ingest.New(w)
	docs := t.TempDir()
	const m = 300 // more than a full tile
	errs := make(chan error, m)
	for i := range m {
		p := filepath.Join(docs, fmt.Sprintf("doc%d.html", i))
		os.WriteFile(p, fmt.Appendf(nil, "<html>document %d</html>", i), 0o644)
		go func() {
			_, err := in.File(ctx, p, ingest.FileOptions{})
			errs <- err
		}()
	}
	for range m {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	a := archivetest.Reopen(t, w, archive.OpenOptions{})
	srv := httptest.NewServer(api.New(a, api.Options{}))
	t.Cleanup(srv.Close)
	f := &fixture{a: a, srv: srv}

	resp, body := f.get(t, "/checkpoint")
	wantStatus(t, resp, body, 200)
	cp, err := verify.OpenCheckpoint(body, a.Key())
	if err != nil || cp.Size != m {
		t.Fatalf("served checkpoint %v (%v), want size %d", cp, err, m)
	}
	fetch := a.Ledger().Fetcher()
	for _, tc := range []struct {
		path, cache string
		read        func(context.Context) ([]byte, error)
	}{
		{"/" + layout.TilePath(0, 0, 0), "immutable", func(ctx context.Context) ([]byte, error) { return fetch.ReadTile(ctx, 0, 0, 0) }},
		{"/" + layout.TilePath(0, 1, m%256), "max-age", func(ctx context.Context) ([]byte, error) { return fetch.ReadTile(ctx, 0, 1, m%256) }},
		{"/" + layout.EntriesPath(0, 0), "immutable", func(ctx context.Context) ([]byte, error) { return fetch.ReadEntryBundle(ctx, 0, 0) }},
		{"/" + layout.EntriesPath(1, m%256), "max-age", func(ctx context.Context) ([]byte, error) { return fetch.ReadEntryBundle(ctx, 1, m%256) }},
	} {
		resp, body := f.get(t, tc.path)
		wantStatus(t, resp, body, 200)
		want, err := tc.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, want) {
			t.Errorf("GET %s: not the bucket's object", tc.path)
		}
		if cc := resp.Header.Get("Cache-Control"); !bytes.Contains([]byte(cc), []byte(tc.cache)) {
			t.Errorf("GET %s: Cache-Control %q, want %s", tc.path, cc, tc.cache)
		}
	}
	resp, body = f.get(t, "/"+layout.TilePath(0, 9, 0))
	wantStatus(t, resp, body, 404)

	resp, body = f.get(t, "/metrics")
	wantStatus(t, resp, body, 200)
	if age := metricValue(t, body, "exhibit_log_checkpoint_age_seconds"); age < 0 || age > 300 {
		t.Errorf("checkpoint age %v s", age)
	}
}

// TestAWSDatabaseDown stops the database of a shared archive while it is
// served with the write API: the health check and uploads answer 503 with
// Retry-After, nothing acknowledged is lost, and service resumes when the
// database is back.
func TestAWSDatabaseDown(t *testing.T) {
	o, db, _ := archivetest.AWS(t, "down.test/log")
	a := archivetest.New(t, o)
	tokens := api.NewTokens(a.Dir())
	_, token, err := tokens.Create("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(a, api.Options{Tokens: tokens, TempDir: t.TempDir()}))
	t.Cleanup(srv.Close)
	f := &writeFixture{a: a, srv: srv, tokens: tokens, token: token}
	upload := func(i int) (*http.Response, []byte) {
		ct, body := multipartBody(t, map[string]string{
			"url": fmt.Sprintf("https://example.org/doc%d", i), "fetched_at": "2026-05-08T11:13:00Z",
		}, "doc.html", fmt.Appendf(nil, "<html>document %d</html>", i))
		return f.post(t, "/api/v1/snapshots", ct, f.token, body)
	}
	var acked []*api.RecordInfo
	ack := func(resp *http.Response, b []byte) {
		t.Helper()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("status %d, want 201: %s", resp.StatusCode, b)
		}
		var res api.WriteResult
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		acked = append(acked, res.Record)
	}
	ack(upload(0))

	db.Kill()
	resp, body := (&fixture{srv: srv}).get(t, "/healthz")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "database unavailable") {
		t.Errorf("healthz with the database down: %d, Retry-After %q, %q", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = upload(1)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "database unavailable") {
		t.Errorf("upload with the database down: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	db.Restart()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, body = (&fixture{srv: srv}).get(t, "/healthz")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz after the database is back: %d %s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ack(upload(2))
	resp, body = (&fixture{srv: srv}).get(t, "/metrics")
	if lag := metricValue(t, body, "exhibit_log_sequencing_lag_entries"); lag != 0 {
		t.Errorf("sequencing lag %v with every write acknowledged, want 0", lag)
	}
	for _, r := range acked {
		got, err := a.Get(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("acknowledged record %s: %v", r.ID, err)
		}
		archivetest.Check(t, a, got, verify.Options{})
	}
}
