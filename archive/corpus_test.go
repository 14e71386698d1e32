package archive_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
)

type corpusEntry struct {
	Entity, Document, URL string
	FetchedAt             string `json:"fetched_at"`
	File, SHA256          string
	Size                  int64
}

func readCorpus(t testing.TB, dir string) []corpusEntry {
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e corpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestCorpus runs the main job on real input: the policy corpus served from
// a loopback HTTP server is captured over HTTP (a sample), then the whole
// manifest is imported; every bundle verifies offline with its snapshot, the
// audit is clean, byte-identical snapshots share one object, and a second
// import skips everything.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	entries := readCorpus(t, dir)
	if len(entries) != 302 {
		t.Fatalf("corpus has %d entries, want 302", len(entries))
	}
	ctx := ctxTimeout(t, 5*time.Minute)
	a := newArchive(t)

	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	// Capture one snapshot of each document over HTTP.
	seen := map[string]bool{}
	var captured []*archive.Record
	for _, e := range entries {
		key := e.Entity + "/" + e.Document
		if seen[key] {
			continue
		}
		seen[key] = true
		rec, err := a.Capture(ctx, srv.URL+"/"+e.File, archive.CaptureOptions{Entity: e.Entity, Document: e.Document})
		if err != nil {
			t.Fatalf("Capture %s: %v", e.File, err)
		}
		if rec.Outcome != verify.OutcomeCaptured || rec.Status != 200 {
			t.Fatalf("Capture %s: outcome %s status %d", e.File, rec.Outcome, rec.Status)
		}
		if rec.SHA256 != e.SHA256 || rec.Size != e.Size {
			t.Errorf("Capture %s: sha256 %s size %d, manifest says %s %d", e.File, rec.SHA256, rec.Size, e.SHA256, e.Size)
		}
		st := rec.Statement.Predicate
		if st.Observed.PeerAddress != strings.TrimPrefix(srv.URL, "http://") {
			t.Errorf("peer address %q, want %q", st.Observed.PeerAddress, srv.URL)
		}
		if !strings.HasPrefix(st.Snapshot.MediaType, "text/html") {
			t.Errorf("media type %q", st.Snapshot.MediaType)
		}
		captured = append(captured, rec)
	}
	if len(captured) != 19 {
		t.Errorf("captured %d documents, want 19", len(captured))
	}

	manifest := filepath.Join(dir, "manifest.jsonl")
	me, err := archive.ReadManifest(manifest)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	var mu sync.Mutex
	var imported []*archive.Record
	sum, err := a.Import(ctx, me, archive.ImportOptions{OnRecord: func(e *archive.ManifestEntry, r *archive.Record, err error) {
		if err != nil {
			t.Errorf("import %s: %v", e.File, err)
			return
		}
		mu.Lock()
		imported = append(imported, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if sum.Imported != 302 || sum.Skipped != 0 || sum.Failed != 0 {
		t.Fatalf("import summary %+v, want 302 imported", sum)
	}

	// Every bundle verifies offline, with its snapshot.
	byDigest := map[string]bool{}
	for _, r := range append(captured, imported...) {
		rep := checkBundle(t, a, r)
		if _, err := verify.ParseTime(rep.Statement.Predicate.Observed.StartedAt); err != nil {
			t.Errorf("%s: started_at: %v", r.RecordID, err)
		}
		byDigest[r.SHA256] = true
	}
	for _, r := range imported {
		if !r.Claimed || r.Statement.Predicate.Method != verify.MethodUpload {
			t.Errorf("%s: imported record not marked as an upload with claims", r.RecordID)
		}
	}

	// Byte-identical snapshots share one object.
	unique := map[string]bool{}
	for _, e := range entries {
		unique[e.SHA256] = true
	}
	if len(unique) != 302-22 {
		t.Errorf("corpus has %d unique digests, its README says 280", len(unique))
	}
	rep := auditOK(t, a)
	if rep.Objects != len(unique) {
		t.Errorf("store holds %d objects, want %d (one per unique digest)", rep.Objects, len(unique))
	}
	if rep.LogSize != uint64(19+302) {
		t.Errorf("log size %d, want %d", rep.LogSize, 19+302)
	}

	// Re-running the import skips everything and logs nothing.
	sum, err = a.Import(ctx, me, archive.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 302 || sum.Imported != 0 {
		t.Errorf("second import %+v, want 302 skipped", sum)
	}
	if rep2 := auditOK(t, a); rep2.LogSize != rep.LogSize {
		t.Errorf("second import grew the log from %d to %d", rep.LogSize, rep2.LogSize)
	}
}

// TestImportRejects covers manifests and files that must store nothing.
func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	a := newArchive(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z","file":"a.html"}
not json
{"url":"https://x.example/","fetched_at":"yesterday","file":"a.html"}
{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z"}
`), 0o644)
	_, err := archive.ReadManifest(bad)
	if err == nil {
		t.Fatal("ReadManifest accepted a malformed manifest")
	}
	for _, want := range []string{"bad.jsonl:2:", "bad.jsonl:3: fetched_at", "bad.jsonl:4: missing file"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	// A wrong sha256 and a missing file fail, store nothing, log nothing.
	m := filepath.Join(dir, "m.jsonl")
	os.WriteFile(m, []byte(`{"url":"https://x.example/a","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","sha256":"`+strings.Repeat("0", 64)+`"}
{"url":"https://x.example/b","fetched_at":"2024-01-01T00:00:00Z","file":"missing.html"}
`), 0o644)
	me, err := archive.ReadManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	sum, err := a.Import(ctx, me, archive.ImportOptions{OnRecord: func(_ *archive.ManifestEntry, _ *archive.Record, err error) {
		errs = append(errs, err)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 2 || sum.Imported != 0 {
		t.Fatalf("summary %+v, want 2 failed", sum)
	}
	rep := auditOK(t, a)
	if rep.LogSize != 0 || rep.Objects != 0 {
		t.Errorf("failed imports left %d entries and %d objects", rep.LogSize, rep.Objects)
	}
}
