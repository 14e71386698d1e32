package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/tlog"
	"k8s.io/klog/v2"
)

func init() { klog.SetSlogLogger(slog.New(slog.DiscardHandler)) }

// n is the number of records in the test log: more than one full tile, so
// that both full and partial tiles are served.
const n = 260

type fixture struct {
	a     *archive.Archive
	srv   *httptest.Server
	recs  []*record.Record
	files [][]byte
	logs  *bytes.Buffer
	logMu *sync.Mutex
}

// newFixture builds a real archive of n captured files (archived HTML
// holding a script), closes it, reopens it read-only and serves it.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	w := archivetest.New(t, archive.InitOptions{Origin: "test.example/log"})
	in := ingest.New(w)
	docs := t.TempDir()
	f := &fixture{recs: make([]*record.Record, n), files: make([][]byte, n), logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range n {
		f.files[i] = []byte(fmt.Sprintf("<html><body><script>alert(%d)</script>Policy version %d</body></html>\n", i, i))
		p := filepath.Join(docs, fmt.Sprintf("doc%d.html", i))
		os.WriteFile(p, f.files[i], 0o644)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := in.File(ctx, p, ingest.FileOptions{
				Entity: "Example", Document: "Privacy Policy",
				URL: "https://example.org/privacy", FetchedAt: time.Date(2026, 5, 8, 11, 13, 0, i, time.UTC),
			})
			if err != nil {
				t.Error(err)
				return
			}
			f.recs[i] = r
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	f.a = archivetest.Reopen(t, w, archive.OpenOptions{})
	logger := slog.New(slog.NewJSONHandler(lockedWriter{f.logMu, f.logs}, nil))
	f.srv = httptest.NewServer(api.New(f.a, api.Options{Logger: logger}))
	t.Cleanup(f.srv.Close)
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// get fetches path with optional request headers in pairs.
func (f *fixture) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
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

func (f *fixture) logFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.a.Ledger().Dir(), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keptFile returns the kept checkpoint of tree size size as stored in the
// archive's checkpoints/ directory (with suffix ".tsr", its token).
func keptFile(t *testing.T, a *archive.Archive, size uint64, suffix string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(a.Dir(), "checkpoints", filepath.FromSlash(ledger.CheckpointPath(size))+suffix))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantHeader(t *testing.T, resp *http.Response, name, want string) {
	t.Helper()
	if got := resp.Header.Get(name); got != want {
		t.Errorf("%s %s: %s = %q, want %q", resp.Request.Method, resp.Request.URL.Path, name, got, want)
	}
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d\n%s", resp.Request.URL, resp.StatusCode, want, body)
	}
}

// wantJSONError checks a JSON error response.
func wantJSONError(t *testing.T, resp *http.Response, body []byte, status int) {
	t.Helper()
	wantStatus(t, resp, body, status)
	wantHeader(t, resp, "Content-Type", "application/json")
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("GET %s: error body %q is not {\"error\": ...}", resp.Request.URL, body)
	}
}

func TestAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, cp, err := f.a.Ledger().Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != n {
		t.Fatalf("checkpoint size %d, want %d", cp.Size, n)
	}

	t.Run("healthz", func(t *testing.T) {
		resp, body := f.get(t, "/healthz")
		wantStatus(t, resp, body, 200)
		if strings.TrimSpace(string(body)) != "ok" {
			t.Errorf("healthz body %q", body)
		}
	})

	t.Run("checkpoint", func(t *testing.T) {
		resp, body := f.get(t, "/checkpoint")
		wantStatus(t, resp, body, 200)
		// The latest kept checkpoint, which, the log being at rest, is
		// also the one the log publishes.
		if want := keptFile(t, f.a, n, ""); !bytes.Equal(body, want) {
			t.Errorf("checkpoint body differs from the kept checkpoint:\n%s\nwant\n%s", body, want)
		}
		if want := f.logFile(t, layout.CheckpointPath); !bytes.Equal(body, want) {
			t.Errorf("checkpoint body differs from the log's file:\n%s\nwant\n%s", body, want)
		}
		got, err := verify.OpenCheckpoint(body, f.a.Key())
		if err != nil {
			t.Fatal(err)
		}
		if got.Size != n || !bytes.Equal(got.Hash, cp.Hash) {
			t.Errorf("served checkpoint %d %x, want %d %x", got.Size, got.Hash, n, cp.Hash)
		}
		wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
		wantHeader(t, resp, "Cache-Control", "public, max-age=2")
		wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
	})

	t.Run("kept checkpoints", func(t *testing.T) {
		kept, err := f.a.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(kept) == 0 || kept[len(kept)-1].Size != n {
			t.Fatalf("kept checkpoints %+v, want the last of size %d", kept, n)
		}
		// Every record's first checkpoint is kept and served, for good.
		firsts := map[uint64]bool{}
		for _, r := range f.recs {
			if r.Published <= r.Index || r.Published > n {
				t.Fatalf("record %s at index %d published with tree size %d", r.ID, r.Index, r.Published)
			}
			firsts[r.Published] = true
		}
		for _, k := range kept {
			delete(firsts, k.Size)
			if k.Timestamped {
				t.Errorf("checkpoint %d has a token in an archive without a TSA", k.Size)
			}
			p := "/checkpoints/" + ledger.CheckpointPath(k.Size)
			resp, body := f.get(t, p)
			wantStatus(t, resp, body, 200)
			if !bytes.Equal(body, keptFile(t, f.a, k.Size, "")) {
				t.Errorf("%s: served bytes differ from the kept checkpoint", p)
			}
			c, err := verify.OpenCheckpoint(body, f.a.Key())
			if err != nil || c.Size != k.Size {
				t.Errorf("%s: %v, size %v", p, err, c)
			}
			wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
			wantHeader(t, resp, "Cache-Control", "public, max-age=31536000, immutable")
			wantHeader(t, resp, "X-Content-Type-Options", "nosniff")
			wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
			// No TSA: no token.
			resp, body = f.get(t, p+".tsr")
			wantJSONError(t, resp, body, 404)
		}
		if len(firsts) > 0 {
			t.Errorf("records published with checkpoints that are not kept: %v", firsts)
		}
		resp, body := f.get(t, "/checkpoints/"+ledger.CheckpointPath(n), "Accept-Encoding", "gzip")
		wantStatus(t, resp, body, 200)
		wantHeader(t, resp, "Content-Encoding", "gzip")
		resp, body = f.get(t, "/checkpoints/"+ledger.CheckpointPath(n+1))
		wantJSONError(t, resp, body, 404)
	})

	full0, full0Path := layout.TilePath(0, 0, 0), "/"+layout.TilePath(0, 0, 0)
	partial := layout.TilePath(0, n/layout.TileWidth, n%layout.TileWidth)
	t.Run("tiles", func(t *testing.T) {
		for _, c := range []struct{ path, cache string }{
			{full0, "public, max-age=31536000, immutable"},
			{partial, "public, max-age=10"},
			{layout.TilePath(1, 0, 1), "public, max-age=10"},
			{layout.EntriesPath(0, 0), "public, max-age=31536000, immutable"},
			{layout.EntriesPath(n/layout.EntryBundleWidth, n%layout.EntryBundleWidth), "public, max-age=10"},
		} {
			resp, body := f.get(t, "/"+c.path)
			wantStatus(t, resp, body, 200)
			if !bytes.Equal(body, f.logFile(t, c.path)) {
				t.Errorf("%s: served bytes differ from the file", c.path)
			}
			wantHeader(t, resp, "Content-Type", "application/octet-stream")
			wantHeader(t, resp, "Cache-Control", c.cache)
			wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
			wantHeader(t, resp, "Vary", "Accept-Encoding")
		}
	})

	t.Run("gzip", func(t *testing.T) {
		// Hash tiles are incompressible hashes: served as they are, even
		// to a client that accepts gzip.
		resp, body := f.get(t, full0Path, "Accept-Encoding", "gzip")
		wantHeader(t, resp, "Content-Encoding", "")
		if !bytes.Equal(body, f.logFile(t, strings.TrimPrefix(full0Path, "/"))) {
			t.Errorf("%s: bytes differ from the file", full0Path)
		}
		for _, p := range []string{"/" + layout.EntriesPath(0, 0), "/checkpoint"} {
			resp, body := f.get(t, p, "Accept-Encoding", "gzip")
			wantStatus(t, resp, body, 200)
			wantHeader(t, resp, "Content-Encoding", "gzip")
			wantHeader(t, resp, "Vary", "Accept-Encoding")
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, f.logFile(t, strings.TrimPrefix(p, "/"))) {
				t.Errorf("%s: gunzipped bytes differ from the file", p)
			}
		}
		resp, _ = f.get(t, "/checkpoint", "Accept-Encoding", "gzip;q=0, identity")
		wantHeader(t, resp, "Content-Encoding", "")
	})

	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{
			"/" + layout.TilePath(0, 999, 0),
			// A partial width the log cannot have published: the tree never
			// held more than n = 260 entries (a partial of tile 0, such as
			// 000.p/5, may be left by whichever batches were sequenced).
			"/" + layout.TilePath(0, 1, 200),
			"/" + layout.EntriesPath(1, 200),
			"/" + layout.EntriesPath(999, 0),
			"/tile/../../exhibit.json",
			"/tile/0/../../exhibit.json",
			"/tile/0/%2e%2e/%2e%2e/exhibit.json",
			"/tile/entries/..%2f..%2fexhibit.json",
			"/tile/0/%2e%2e%2f%2e%2e%2fkey.pem",
			"/exhibit.json", "/key.pem", "/log/checkpoint",
			"/index.html", "/records/", "/static/", "/tile", "/tile/", "/tile/0", "/tile/0/", "/tile/entries/", "/tile/0/x001", "/tile/0/x000/000",
			"/tile/0/0", "/tile/0/0000", "/tile/0/+00", "/tile/00/000", "/tile/64/000", "/tile/0/000.p/0",
			"/tile/0/000.p/256", "/tile/0/000.p/04", "/tile/0/000/", "/checkpoint/",
			"/checkpoints/", "/checkpoints/1", "/checkpoints/0260", "/checkpoints/x000/260", "/checkpoints/260/",
			"/checkpoints/../exhibit.json", "/checkpoints/%2e%2e/key.pem", "/checkpoints/260.tsr/", "/checkpoints/260.json",
		} {
			resp, body := f.get(t, p)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404\n%.200s", p, resp.StatusCode, body)
			}
			if bytes.Contains(body, []byte("PRIVATE")) || bytes.Contains(body, []byte("vkey")) {
				t.Errorf("GET %s leaked a file: %.200s", p, body)
			}
		}
	})

	t.Run("tessera client", func(t *testing.T) {
		u, _ := url.Parse(f.srv.URL + "/")
		hf, err := client.NewHTTPFetcher(u, f.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		raw, err := hf.ReadCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, err := verify.OpenCheckpoint(raw, f.a.Key())
		if err != nil {
			t.Fatal(err)
		}
		pb, err := client.NewProofBuilder(ctx, c.Size, hf.ReadTile)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*record.Record{f.recs[0], f.recs[n-1], f.recs[n/2]} {
			_, b, err := f.a.Prove(ctx, r.ID, archive.ProveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p, err := pb.InclusionProof(ctx, r.Index)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, r.Index, c.Size, rfc6962.DefaultHasher.HashLeaf(b.Entry), p, c.Hash); err != nil {
				t.Errorf("inclusion proof for %d from served tiles: %v", r.Index, err)
			}
		}
	})

	t.Run("x/mod tlog", func(t *testing.T) {
		var root tlog.Hash
		copy(root[:], cp.Hash)
		tr := httpTileReader{f: f, t: t}
		hr := tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: root}, tr)
		got, err := tlog.TreeHash(int64(cp.Size), hr)
		if err != nil {
			t.Fatal(err)
		}
		if got != root {
			t.Errorf("x/mod tree hash %x, want %x", got, root)
		}
	})

	t.Run("log info", func(t *testing.T) {
		resp, body := f.get(t, "/api/v1/log")
		wantStatus(t, resp, body, 200)
		wantHeader(t, resp, "Content-Type", "application/json")
		wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
		var li api.LogInfo
		if err := json.Unmarshal(body, &li); err != nil {
			t.Fatal(err)
		}
		if want := (api.LogInfo{Origin: "test.example/log", Size: n, Root: hex.EncodeToString(cp.Hash), VKey: f.a.Key().VKey}); !reflect.DeepEqual(li, want) {
			t.Errorf("log info %+v, want %+v", li, want)
		}
	})

	t.Run("records", func(t *testing.T) {
		r := f.recs[3]
		for _, id := range []string{r.ID, strings.ToLower(r.ID), strings.ReplaceAll(strings.TrimPrefix(r.ID, "EXR-"), "-", "")} {
			resp, body := f.get(t, "/api/v1/records/"+id)
			wantStatus(t, resp, body, 200)
			wantHeader(t, resp, "Content-Type", "application/json")
			var got api.RecordInfo
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			// The record's fields, as the write path returned them.
			if got.Record == nil || got.ID != r.ID || got.Index != r.Index || got.Kind != record.Capture || got.Published != r.Published ||
				got.SHA256 != r.SHA256 || got.URL != r.URL || got.Entity != "Example" || got.CapturedAt != r.CapturedAt || !got.Claimed {
				t.Errorf("record %s for %+v", body, r)
			}
			// The citation is against the checkpoint it was first
			// published with.
			if c := got.Citation; c == nil || c.RecordID != r.ID || c.LogIndex != r.Index || c.SHA256 != r.SHA256 || c.CheckpointSize != r.Published {
				t.Errorf("citation %+v for %+v", c, r)
			}
			var st struct {
				Type      string `json:"_type"`
				Predicate struct {
					Entity string `json:"entity"`
				} `json:"predicate"`
			}
			if err := json.Unmarshal(got.Statement, &st); err != nil || st.Type == "" || st.Predicate.Entity != "Example" {
				t.Errorf("statement %s: %v", got.Statement, err)
			}
			// The statement exactly as logged.
			var compact bytes.Buffer
			if err := json.Compact(&compact, got.Statement); err != nil || !bytes.Equal(compact.Bytes(), r.Payload) {
				t.Errorf("statement %s, want the logged %s", compact.Bytes(), r.Payload)
			}
			if got.Bundle != "/api/v1/records/"+r.ID+"/bundle" || got.Page != "/records/"+r.ID {
				t.Errorf("bundle %q, page %q", got.Bundle, got.Page)
			}
		}
		resp, body := f.get(t, "/api/v1/records/not-an-id")
		wantJSONError(t, resp, body, 400)
		resp, body = f.get(t, "/api/v1/records/"+verify.RecordID([]byte("nothing logged")))
		wantJSONError(t, resp, body, 404)
		resp, body = f.get(t, "/api/v1/nothing")
		wantJSONError(t, resp, body, 404)
	})

	t.Run("bundle", func(t *testing.T) {
		r := f.recs[7]
		for _, q := range []string{"", "?checkpoint=first", "?format=json", "?format=json&checkpoint=first"} {
			resp, body := f.get(t, "/api/v1/records/"+r.ID+"/bundle"+q)
			wantStatus(t, resp, body, 200)
			wantHeader(t, resp, "Content-Type", verify.BundleMediaType)
			rep := verify.Check(body, f.a.Key(), verify.Options{RecordID: r.ID, Snapshot: bytes.NewReader(f.files[7])})
			if !rep.Verified {
				t.Errorf("bundle%s does not verify: %+v", q, rep.Failed())
			}
			// By default, against the checkpoint the record was first
			// published with: the very one the write path acknowledged.
			if rep.Checkpoint == nil || rep.Checkpoint.Size != r.Published {
				t.Errorf("bundle%s is not against the checkpoint the record was published with (%d)", q, r.Published)
			}
			if rep.Bundle == nil || rep.Bundle.Checkpoint != string(r.Checkpoint) {
				t.Errorf("bundle%s: checkpoint differs from the one the record was acknowledged with", q)
			}
		}
		resp, body := f.get(t, "/api/v1/records/"+r.ID+"/bundle?checkpoint=latest")
		wantStatus(t, resp, body, 200)
		wantHeader(t, resp, "Content-Type", verify.BundleMediaType)
		rep := verify.Check(body, f.a.Key(), verify.Options{RecordID: r.ID, Snapshot: bytes.NewReader(f.files[7])})
		if !rep.Verified {
			t.Errorf("latest bundle does not verify: %+v", rep.Failed())
		}
		if rep.Checkpoint == nil || rep.Checkpoint.Size != n {
			t.Errorf("?checkpoint=latest: bundle is not against the latest checkpoint")
		}
		for _, q := range []string{"?format=tlog-proof", "?format=tlog-proof&checkpoint=latest"} {
			resp, body = f.get(t, "/api/v1/records/"+r.ID+"/bundle"+q)
			wantStatus(t, resp, body, 200)
			wantHeader(t, resp, "Content-Type", "text/plain; charset=utf-8")
			if !bytes.HasPrefix(body, []byte(verify.ProofHeader+"\n")) {
				t.Errorf("tlog-proof starts %.40q", body)
			}
			rep := verify.Check(body, f.a.Key(), verify.Options{RecordID: r.ID})
			if !rep.Verified {
				t.Errorf("tlog-proof%s does not verify: %+v", q, rep.Failed())
			}
			if want := map[bool]uint64{false: r.Published, true: n}[strings.Contains(q, "latest")]; rep.Checkpoint == nil || rep.Checkpoint.Size != want {
				t.Errorf("tlog-proof%s: not against the checkpoint of size %d", q, want)
			}
		}
		for _, q := range []string{"?format=xml", "?checkpoint=newest", "?checkpoint=260", "?checkpoint="} {
			resp, body = f.get(t, "/api/v1/records/"+r.ID+"/bundle"+q)
			if q == "?checkpoint=" {
				// Empty is the default.
				wantStatus(t, resp, body, 200)
				continue
			}
			wantJSONError(t, resp, body, 400)
		}
		resp, body = f.get(t, "/api/v1/records/EXR-bad!/bundle")
		wantJSONError(t, resp, body, 400)
		resp, body = f.get(t, "/api/v1/records/"+verify.RecordID([]byte("nothing logged"))+"/bundle")
		wantJSONError(t, resp, body, 404)
	})

	t.Run("snapshot", func(t *testing.T) {
		data := f.files[5]
		sum := sha256.Sum256(data)
		digest := hex.EncodeToString(sum[:])
		if digest != f.recs[5].SHA256 {
			t.Fatalf("record digest %s, want %s", f.recs[5].SHA256, digest)
		}
		p := "/api/v1/snapshots/sha256/" + digest
		resp, body := f.get(t, p)
		wantStatus(t, resp, body, 200)
		if !bytes.Equal(body, data) {
			t.Errorf("snapshot bytes %q, want %q", body, data)
		}
		wantHeader(t, resp, "ETag", `"`+digest+`"`)
		wantHeader(t, resp, "Content-Security-Policy", "default-src 'none'; sandbox")
		wantHeader(t, resp, "X-Content-Type-Options", "nosniff")
		wantHeader(t, resp, "Content-Disposition", `attachment; filename="`+digest+`.html"`)
		wantHeader(t, resp, "Content-Type", "text/html; charset=utf-8")
		wantHeader(t, resp, "Access-Control-Allow-Origin", "*")

		resp, body = f.get(t, p, "Range", "bytes=6-11")
		wantStatus(t, resp, body, http.StatusPartialContent)
		if want := data[6:12]; !bytes.Equal(body, want) {
			t.Errorf("range bytes %q, want %q", body, want)
		}
		wantHeader(t, resp, "Content-Range", fmt.Sprintf("bytes 6-11/%d", len(data)))
		wantHeader(t, resp, "Content-Security-Policy", "default-src 'none'; sandbox")
		wantHeader(t, resp, "Content-Type", "text/html; charset=utf-8")

		resp, body = f.get(t, p, "If-None-Match", `"`+digest+`"`)
		wantStatus(t, resp, body, http.StatusNotModified)

		resp, body = f.get(t, "/api/v1/snapshots/sha256/"+strings.ToUpper(digest))
		wantJSONError(t, resp, body, 400)
		resp, body = f.get(t, "/api/v1/snapshots/sha256/..%2f..%2fexhibit.json")
		wantJSONError(t, resp, body, 400)
		resp, body = f.get(t, "/api/v1/snapshots/sha256/"+strings.Repeat("0", 64))
		wantJSONError(t, resp, body, 404)
	})

	t.Run("proofs", func(t *testing.T) {
		leaves := make(map[uint64][]byte)
		for _, r := range f.recs {
			_, b, err := f.a.Prove(ctx, r.ID, archive.ProveOptions{})
			if err != nil {
				t.Fatal(err)
			}
			leaves[r.Index] = rfc6962.DefaultHasher.HashLeaf(b.Entry)
		}
		for _, c := range []struct{ index, size uint64 }{{0, 1}, {0, n}, {n - 1, n}, {100, 256}, {255, 256}, {3, 200}} {
			resp, body := f.get(t, fmt.Sprintf("/api/v1/proofs/inclusion?index=%d&size=%d", c.index, c.size))
			wantStatus(t, resp, body, 200)
			var got api.Proof
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			// The root of a smaller tree, from the leaves.
			rootHash := merkleRoot(leaves, c.size)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, c.index, c.size, leaves[c.index], got.Proof, rootHash); err != nil {
				t.Errorf("inclusion %d in %d: %v", c.index, c.size, err)
			}
		}
		for _, c := range []struct{ from, to uint64 }{{1, n}, {1, 1}, {100, 256}, {256, n}, {n, n}, {7, 13}} {
			resp, body := f.get(t, fmt.Sprintf("/api/v1/proofs/consistency?from=%d&to=%d", c.from, c.to))
			wantStatus(t, resp, body, 200)
			var got api.Proof
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, c.from, c.to, got.Proof, merkleRoot(leaves, c.from), merkleRoot(leaves, c.to)); err != nil {
				t.Errorf("consistency %d to %d: %v", c.from, c.to, err)
			}
		}
		for _, q := range []string{
			"inclusion", "inclusion?index=0", "inclusion?size=1", "inclusion?index=1&size=1", "inclusion?index=0&size=0",
			fmt.Sprintf("inclusion?index=0&size=%d", n+1), "inclusion?index=-1&size=3", "inclusion?index=x&size=3",
			"inclusion?index=01&size=3", "inclusion?index=0&size=99999999999999999999",
			"consistency", "consistency?from=1", "consistency?from=0&to=3", "consistency?from=4&to=3",
			fmt.Sprintf("consistency?from=1&to=%d", n+1), "consistency?from=1.0&to=3", "consistency?from=+1&to=3",
		} {
			resp, body := f.get(t, "/api/v1/proofs/"+q)
			wantJSONError(t, resp, body, 400)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		route := `route="GET /api/v1/log"`
		_, before := f.get(t, "/metrics")
		for range 3 {
			f.get(t, "/api/v1/log")
		}
		f.get(t, "/tile/0/x999")         // matches a pattern, then 404
		f.get(t, "/no/such/path/x31337") // matches none
		resp, body := f.get(t, "/metrics")
		wantStatus(t, resp, body, 200)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("metrics Content-Type %q", ct)
		}
		counter := `exhibit_http_requests_total{code="200",` + route + `}`
		was, _ := sample(t, before, counter)
		if got, want := metricValue(t, body, counter), was+3; got != want {
			t.Errorf("%s = %v, want %v", counter, got, want)
		}
		if got := metricValue(t, body, `exhibit_http_request_duration_seconds_count{`+route+`}`); got < 3 {
			t.Errorf("latency histogram count for %s = %v, want >= 3", route, got)
		}
		if got := metricValue(t, body, `exhibit_http_requests_total{code="404",route="GET /tile/{level}/{index...}"}`); got < 1 {
			t.Errorf("404 on a tile route counted %v times", got)
		}
		if got := metricValue(t, body, `exhibit_http_requests_total{code="404",route="none"}`); got < 1 {
			t.Errorf("unmatched 404 counted %v times", got)
		}
		if bytes.Contains(body, []byte("x999")) || bytes.Contains(body, []byte("x31337")) {
			t.Errorf("a request path leaked into a metric label")
		}
		_, cp, err := f.a.Ledger().Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := metricValue(t, body, "exhibit_log_size"); got != float64(cp.Size) {
			t.Errorf("exhibit_log_size = %v, want %d", got, cp.Size)
		}
		fi, err := os.Stat(filepath.Join(f.a.Ledger().Dir(), "checkpoint"))
		if err != nil {
			t.Fatal(err)
		}
		if got, max := metricValue(t, body, "exhibit_log_checkpoint_age_seconds"), time.Since(fi.ModTime()).Seconds(); got < 0 || got > max {
			t.Errorf("exhibit_log_checkpoint_age_seconds = %v, want in [0, %v]", got, max)
		}
		metricValue(t, body, "go_goroutines")
		if runtime.GOOS == "linux" {
			metricValue(t, body, "process_start_time_seconds")
		}
	})

	t.Run("access log", func(t *testing.T) {
		f.get(t, "/healthz?probe=1")
		f.logMu.Lock()
		defer f.logMu.Unlock()
		found := false
		for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
			var l struct {
				Msg      string  `json:"msg"`
				Method   string  `json:"method"`
				Path     string  `json:"path"`
				Status   int     `json:"status"`
				Duration float64 `json:"duration"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("access log line %q: %v", line, err)
			}
			if l.Method == "GET" && l.Path == "/healthz" && l.Status == 200 {
				found = true
			}
		}
		if !found {
			t.Errorf("no access log line for GET /healthz:\n%s", f.logs)
		}
	})
}

// metricValue returns the value of the sample named series (name and
// labels, as the text exposition format spells them) in a /metrics body;
// it fails the test if there is none.
func metricValue(t *testing.T, body []byte, series string) float64 {
	t.Helper()
	v, ok := sample(t, body, series)
	if !ok {
		t.Fatalf("no metric %s in:\n%s", series, body)
	}
	return v
}

// sample returns the value of the sample named series in a /metrics body,
// and whether there is one.
func sample(t *testing.T, body []byte, series string) (float64, bool) {
	t.Helper()
	for _, line := range strings.Split(string(body), "\n") {
		v, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			t.Fatalf("metric %s: %q: %v", series, line, err)
		}
		return f, true
	}
	return 0, false
}

// merkleRoot computes the RFC 6962 root of the first size leaves.
func merkleRoot(leaves map[uint64][]byte, size uint64) []byte {
	var rec func(lo, hi uint64) []byte
	rec = func(lo, hi uint64) []byte {
		if hi-lo == 1 {
			return leaves[lo]
		}
		k := uint64(1)
		for k*2 < hi-lo {
			k *= 2
		}
		return rfc6962.DefaultHasher.HashChildren(rec(lo, lo+k), rec(lo+k, hi))
	}
	return rec(0, size)
}

// httpTileReader reads tiles over HTTP for x/mod's tlog, an implementation
// independent of Tessera's.
type httpTileReader struct {
	f *fixture
	t *testing.T
}

func (r httpTileReader) Height() int { return 8 }

func (r httpTileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, tl := range tiles {
		p := uint8(0)
		if tl.W < 1<<tl.H {
			p = uint8(tl.W)
		}
		resp, body := r.f.get(r.t, "/"+layout.TilePath(uint64(tl.L), uint64(tl.N), p))
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("tile %v: status %d", tl, resp.StatusCode)
		}
		out = append(out, body)
	}
	return out, nil
}

func (r httpTileReader) SaveTiles([]tlog.Tile, [][]byte) {}

// TestSnapshotMediaType checks the Content-Type of stored objects: a
// snapshot's is the media type its newest statement gives, parsed and
// re-formatted; anything else's is application/octet-stream.
func TestSnapshotMediaType(t *testing.T) {
	ctx := context.Background()
	w := archivetest.New(t, archive.InitOptions{Origin: "test.example/log"})
	in := ingest.New(w)
	docs := t.TempDir()
	capture := func(name, data, mediaType string) string {
		t.Helper()
		p := filepath.Join(docs, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := in.File(ctx, p, ingest.FileOptions{Entity: "Example", Document: name, MediaType: mediaType})
		if err != nil {
			t.Fatal(err)
		}
		return r.SHA256
	}
	html := capture("page.html", "<html><script>alert(1)</script></html>\n", "")
	pdf := capture("doc.pdf", "%PDF-1.7 not really\n", "")
	upper := capture("upper.txt", "upper case\n", "Text/Plain; Charset=UTF-8")
	bad := capture("bad.bin", "bad media type\n", "text/html; charset")
	// The same bytes captured twice: the newer statement wins.
	capture("again-1.txt", "captured twice\n", "text/plain")
	again := capture("again-2.txt", "captured twice\n", "text/markdown")
	// An object that no statement describes as a snapshot, such as a
	// certificate chain.
	chain := []byte("-----BEGIN CERTIFICATE-----\n")
	obj, err := w.Store().Put(ctx, bytes.NewReader(chain), int64(len(chain)), "")
	if err != nil {
		t.Fatal(err)
	}
	a := archivetest.Reopen(t, w, archive.OpenOptions{})
	srv := httptest.NewServer(api.New(a, api.Options{}))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		desc, digest, want, ext string
	}{
		{"html", html, "text/html; charset=utf-8", ".html"},
		{"pdf", pdf, "application/pdf", ".pdf"},
		{"re-formatted", upper, "text/plain; charset=UTF-8", ".txt"},
		{"malformed", bad, "application/octet-stream", ".bin"},
		{"newest statement", again, "text/markdown", ".md"},
		{"not a snapshot", obj.SHA256, "application/octet-stream", ".bin"},
	} {
		t.Run(c.desc, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + "/api/v1/snapshots/sha256/" + c.digest)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus(t, resp, body, 200)
			wantHeader(t, resp, "Content-Type", c.want)
			wantHeader(t, resp, "Content-Disposition", `attachment; filename="`+c.digest+c.ext+`"`)
			wantHeader(t, resp, "X-Content-Type-Options", "nosniff")
			wantHeader(t, resp, "Content-Security-Policy", "default-src 'none'; sandbox")
		})
	}

	t.Run("SnapshotInfo", func(t *testing.T) {
		if got, err := a.SnapshotInfo(ctx, html); err != nil || got != "text/html; charset=utf-8" {
			t.Errorf("SnapshotInfo(html) = %q, %v", got, err)
		}
		if _, err := a.SnapshotInfo(ctx, obj.SHA256); !errors.Is(err, archive.ErrNotFound) {
			t.Errorf("SnapshotInfo(certificate chain): %v, want ErrNotFound", err)
		}
		if _, err := a.SnapshotInfo(ctx, strings.ToUpper(html)); !errors.Is(err, store.ErrDigest) {
			t.Errorf("SnapshotInfo(upper case): %v, want ErrDigest", err)
		}
	})
}

func TestSearch(t *testing.T) {
	f := newFixture(t)
	var got struct {
		Records []struct {
			RecordID string `json:"record_id"`
			Index    uint64 `json:"index"`
			Kind     string `json:"kind"`
			URL      string `json:"url"`
			Record   string `json:"record"`
			Bundle   string `json:"bundle"`
		} `json:"records"`
		Next string `json:"next"`
	}
	// Page through every record of the document, newest first.
	seen := map[string]bool{}
	last := uint64(1 << 62)
	next := ""
	for pages := 0; ; pages++ {
		path := "/api/v1/search?url=" + url.QueryEscape("https://example.org/privacy") + "&limit=100"
		if next != "" {
			path += "&before=" + next
		}
		resp, body := f.get(t, path)
		wantStatus(t, resp, body, 200)
		got.Next = ""
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Records {
			if r.Index >= last || seen[r.RecordID] || r.URL != "https://example.org/privacy" {
				t.Fatalf("record %+v out of order or repeated", r)
			}
			if r.Kind != record.Capture || r.Record != "/api/v1/records/"+r.RecordID || r.Bundle != "/api/v1/records/"+r.RecordID+"/bundle" {
				t.Fatalf("record %+v: kind or paths", r)
			}
			last = r.Index
			seen[r.RecordID] = true
		}
		if got.Next == "" {
			break
		}
		next = got.Next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != len(f.recs) {
		t.Errorf("search found %d records, the archive has %d", len(seen), len(f.recs))
	}
	// By digest: the one record of that snapshot, whose bundle is served.
	r := f.recs[7]
	resp, body := f.get(t, "/api/v1/search?sha256="+r.SHA256)
	wantStatus(t, resp, body, 200)
	json.Unmarshal(body, &got)
	if len(got.Records) != 1 || got.Records[0].RecordID != r.ID {
		t.Fatalf("search by sha256: %s", body)
	}
	resp, body = f.get(t, got.Records[0].Bundle)
	wantStatus(t, resp, body, 200)
	if rep := verify.Check(body, f.a.Key(), verify.Options{RecordID: r.ID, Snapshot: bytes.NewReader(f.files[7])}); !rep.Verified {
		t.Errorf("the bundle a search links does not verify: %+v", rep.Failed())
	}
	resp, body = f.get(t, got.Records[0].Record)
	wantStatus(t, resp, body, 200)
	// No match is an empty list; bad queries are 400.
	resp, body = f.get(t, "/api/v1/search?entity=Nobody")
	wantStatus(t, resp, body, 200)
	if !strings.Contains(string(body), `"records": []`) {
		t.Errorf("no match: %s", body)
	}
	for _, q := range []string{"", "?limit=5", "?sha256=ABC", "?url=x&limit=0", "?url=x&limit=501", "?url=x&before=0", "?url=x&before=-1"} {
		resp, body := f.get(t, "/api/v1/search"+q)
		wantJSONError(t, resp, body, 400)
	}
}
