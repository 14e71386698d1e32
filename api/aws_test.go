package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
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
