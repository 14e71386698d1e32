package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCorpus runs the main job on real input: the policy corpus served from
// a loopback HTTP server is captured over HTTP (a sample), then the whole
// manifest is imported; every record proves, against the checkpoint it was
// first published with, and its bundle verifies offline with its snapshot;
// the audit is clean, byte-identical snapshots share one object, and a
// second import skips everything, naming the records of the first.
func TestCorpus(t *testing.T) {
	dir := archivetest.Corpus(t, "policies")
	entries := archivetest.ReadCorpus(t, dir)
	if len(entries) != 302 {
		t.Fatalf("corpus has %d entries, want 302", len(entries))
	}
	ctx := archivetest.Context(t, 5*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)

	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	// Capture one snapshot of each document over HTTP.
	seen := map[string]bool{}
	var captured []*record.Record
	for _, e := range entries {
		key := e.Entity + "/" + e.Document
		if seen[key] {
			continue
		}
		seen[key] = true
		rec, err := in.Capture(ctx, srv.URL+"/"+e.File, ingest.CaptureOptions{Entity: e.Entity, Document: e.Document})
		if err != nil {
			t.Fatalf("Capture %s: %v", e.File, err)
		}
		if rec.Outcome != verify.OutcomeCaptured || rec.Status != 200 {
			t.Fatalf("Capture %s: outcome %s status %d", e.File, rec.Outcome, rec.Status)
		}
		if rec.SHA256 != e.SHA256 || rec.Size != e.Size {
			t.Errorf("Capture %s: sha256 %s size %d, manifest says %s %d", e.File, rec.SHA256, rec.Size, e.SHA256, e.Size)
		}
		st := rec.Statement.Capture.Predicate
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
	me, err := ingest.ReadManifest(manifest)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	var mu sync.Mutex
	var imported []*record.Record
	byLine := map[int]*record.Record{}
	sum, err := in.Import(ctx, me, ingest.ImportOptions{OnResult: func(res ingest.ImportResult) {
		if res.Err != nil || res.Skipped || res.Record == nil {
			t.Errorf("import %s: %+v", res.Entry.File, res)
			return
		}
		mu.Lock()
		imported = append(imported, res.Record)
		byLine[res.Entry.Line()] = res.Record
		mu.Unlock()
	}})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if sum.Imported != 302 || sum.Skipped != 0 || sum.Failed != 0 {
		t.Fatalf("import summary %+v, want 302 imported", sum)
	}

	// Every record proves against the checkpoint it was acknowledged
	// with, and its bundle verifies offline, with its snapshot.
	byDigest := map[string]bool{}
	for _, r := range append(captured, imported...) {
		if r.Published <= r.Index || r.Checkpoint == nil || r.Entry == nil {
			t.Fatalf("%s at index %d: acknowledged with tree size %d, checkpoint %q, entry of %d bytes", r.ID, r.Index, r.Published, r.Checkpoint, len(r.Entry))
		}
		b, rep := archivetest.Check(t, a, r, verify.Options{})
		if b.Checkpoint != string(r.Checkpoint) || b.Index != r.Index || !bytes.Equal(b.Entry, r.Entry) {
			t.Errorf("%s: proved at index %d against %q, but acknowledged at index %d with %q", r.ID, b.Index, b.Checkpoint, r.Index, r.Checkpoint)
		}
		if _, err := verify.ParseTime(rep.Statement.Predicate.Observed.StartedAt); err != nil {
			t.Errorf("%s: started_at: %v", r.ID, err)
		}
		byDigest[r.SHA256] = true
	}
	for _, r := range imported {
		if !r.Claimed || r.Statement.Capture.Predicate.Method != verify.MethodUpload {
			t.Errorf("%s: imported record not marked as an upload with claims", r.ID)
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
	rep := archivetest.AuditOK(t, a)
	if rep.Objects != len(unique) {
		t.Errorf("store holds %d objects, want %d (one per unique digest)", rep.Objects, len(unique))
	}
	if rep.LogSize != uint64(19+302) {
		t.Errorf("log size %d, want %d", rep.LogSize, 19+302)
	}

	// Re-running the import skips everything and logs nothing: each
	// document is reported with the record of the first import, which
	// proves, as handed back, against the checkpoint it was first
	// published with.
	var skipped []ingest.ImportResult
	sum, err = in.Import(ctx, me, ingest.ImportOptions{OnResult: func(res ingest.ImportResult) {
		skipped = append(skipped, res)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range skipped {
		first := byLine[res.Entry.Line()]
		if res.Err != nil || !res.Skipped || res.Record == nil || first == nil || res.Record.ID != first.ID {
			t.Errorf("second import of %s: %+v, want skipped, with the record of the first import (%+v)", res.Entry.File, res, first)
			continue
		}
		if res.Record.Published != first.Published {
			t.Errorf("second import of %s: record %s first published with tree size %d, want %d", res.Entry.File, res.Record.ID, res.Record.Published, first.Published)
		}
		b, err := a.Bundle(ctx, res.Record, archive.ProveOptions{})
		if err != nil {
			t.Fatalf("bundle of skipped %s: %v", res.Record.ID, err)
		}
		if b.Checkpoint != string(first.Checkpoint) || !bytes.Equal(b.Entry, first.Entry) {
			t.Errorf("skipped %s proves against %q, want the checkpoint it was first published with, %q", res.Record.ID, b.Checkpoint, first.Checkpoint)
		}
	}
	if sum.Skipped != 302 || sum.Imported != 0 {
		t.Errorf("second import %+v, want 302 skipped", sum)
	}
	if rep2 := archivetest.AuditOK(t, a); rep2.LogSize != rep.LogSize {
		t.Errorf("second import grew the log from %d to %d", rep.LogSize, rep2.LogSize)
	}
}

// TestImportRejects covers manifests and files that must store nothing.
func TestImportRejects(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z","file":"a.html"}
not json
{"url":"https://x.example/","fetched_at":"yesterday","file":"a.html"}
{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z"}
{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","url":"https://other.example/"}
{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","FILE":"b.html"}
{"url":"https://x.example/","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","note":1,"note":2}
`), 0o644)
	_, err := ingest.ReadManifest(bad)
	if err == nil {
		t.Fatal("ReadManifest accepted a malformed manifest")
	}
	for _, want := range []string{"bad.jsonl:2:", "bad.jsonl:3: fetched_at", "bad.jsonl:4: missing file",
		`bad.jsonl:5: duplicate key "url"`, `bad.jsonl:6: duplicate key: "file" and "FILE"`, `bad.jsonl:7: duplicate key "note"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	// A wrong sha256 and a missing file fail, store nothing, log nothing.
	m := filepath.Join(dir, "m.jsonl")
	os.WriteFile(m, []byte(`{"url":"https://x.example/a","fetched_at":"2024-01-01T00:00:00Z","file":"a.html","sha256":"`+strings.Repeat("0", 64)+`"}
{"url":"https://x.example/b","fetched_at":"2024-01-01T00:00:00Z","file":"missing.html"}
`), 0o644)
	me, err := ingest.ReadManifest(m)
	if err != nil {
		t.Fatal(err)
	}
	var results []ingest.ImportResult
	sum, err := in.Import(ctx, me, ingest.ImportOptions{OnResult: func(res ingest.ImportResult) {
		results = append(results, res)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 2 || sum.Imported != 0 {
		t.Fatalf("summary %+v, want 2 failed", sum)
	}
	if len(results) != 2 {
		t.Fatalf("%d results, want 2", len(results))
	}
	for _, res := range results {
		if res.Err == nil || res.Record != nil || res.Skipped {
			t.Errorf("%s: %+v, want an error and no record", res.Entry.File, res)
		}
	}
	rep := archivetest.AuditOK(t, a)
	if rep.LogSize != 0 || rep.Objects != 0 {
		t.Errorf("failed imports left %d entries and %d objects", rep.LogSize, rep.Objects)
	}
}
