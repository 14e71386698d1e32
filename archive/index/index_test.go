package index_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"github.com/exhibit-archive/exhibit/verify"
)

// capture returns the record of a capture statement built by hand: an
// upload of url, claimed fetched at, with content digest.
func capture(t *testing.T, idx uint64, url, entity, document string, at time.Time, digest string) *record.Record {
	t.Helper()
	st := verify.Statement{
		Type:          verify.StatementType,
		PredicateType: verify.CapturePredicateType,
		Subject:       []verify.Subject{{Name: url, Digest: map[string]string{"sha256": digest}}},
		Predicate: verify.Capture{
			Entity: entity, Document: document,
			Method: verify.MethodUpload, Outcome: verify.OutcomeCaptured,
			Snapshot: &verify.Snapshot{SHA256: digest, Size: 10, MediaType: "text/html"},
			Observed: &verify.Observation{StartedAt: verify.FormatTime(at.Add(time.Hour)), FileName: "doc.html"},
			Claimed:  &verify.Claim{URL: url, FetchedAt: verify.FormatTime(at)},
			Tool:     verify.Tool{Name: "exhibit", Version: "test"},
		},
	}
	return statement(t, idx, st)
}

// statement returns the record of a statement (any kind), with a made-up
// record ID.
func statement(t *testing.T, idx uint64, st any) *record.Record {
	t.Helper()
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	ent, err := verify.ParseEntryStatement(payload)
	if err != nil {
		t.Fatalf("statement %d: %v", idx, err)
	}
	return record.New(verify.RecordID(fmt.Appendf(nil, "entry %d", idx)), idx, ent, payload)
}

func digest(s string) string { return verify.SHA256Hex([]byte(s)) }

func open(t *testing.T, path string, o index.Options) *index.Index {
	t.Helper()
	x, err := index.Open(context.Background(), path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

// TestIndex runs the same test on an index in SQLite and one in a real
// MariaDB (see mariadbtest).
func TestIndex(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testIndex(t, filepath.Join(t.TempDir(), "index.db"), index.Options{}) })
	t.Run("mysql", func(t *testing.T) {
		db := mariadbtest.Start(t)
		testIndex(t, "", index.Options{MySQL: db.Config("exhibit_index")})
	})
}

func testIndex(t *testing.T, path string, o index.Options) {
	ctx := context.Background()
	ro := o
	ro.ReadOnly = true
	if _, err := index.Open(ctx, path, ro); !errors.Is(err, index.ErrMissing) {
		t.Fatalf("read-only Open of a missing index: %v, want ErrMissing", err)
	}
	x := open(t, path, o)
	at := time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC)
	recs := []*record.Record{
		capture(t, 0, "https://example.org/privacy", "Example", "Privacy", at, digest("a")),
		capture(t, 1, "https://example.org/terms", "Example", "Terms", at, digest("b")),
		capture(t, 2, "https://example.org/privacy", "Example", "Privacy", at.Add(24*time.Hour), digest("c")),
		statement(t, 3, &verify.DeclarationStatement{
			Type: verify.StatementType, PredicateType: verify.DeclarationPredicateType,
			Subject: []verify.Subject{{Name: "example-privacy", Digest: map[string]string{"sha256": digest("example-privacy")}}},
			Predicate: verify.Declaration{Entity: "Example", Document: "Privacy", URL: "https://example.org/privacy",
				EverySeconds: 86400, Revision: 1, DeclaredAt: verify.FormatTime(at), Tool: verify.Tool{Name: "exhibit", Version: "test"}},
		}),
	}
	if err := x.Add(ctx, index.Round{Records: recs[:2], Checkpoints: []index.Checkpoint{{Size: 0}, {Size: 2}}, Size: 2}); err != nil {
		t.Fatal(err)
	}
	// Adding again is a no-op, so that replaying the log is safe.
	if err := x.Add(ctx, index.Round{Records: recs, Checkpoints: []index.Checkpoint{{Size: 4}, {Size: 2, Timestamped: true}}, Size: 4}); err != nil {
		t.Fatal(err)
	}
	if n, err := x.Count(ctx); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4", n, err)
	}
	if n, err := x.Size(ctx); err != nil || n != 4 {
		t.Errorf("Size = %d, %v; want 4", n, err)
	}

	for _, tc := range []struct {
		idx       uint64
		published uint64
	}{{0, 2}, {1, 2}, {2, 4}, {3, 4}} {
		r, err := x.Get(ctx, recs[tc.idx].ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", recs[tc.idx].ID, err)
		}
		if r.Index != tc.idx || r.Published != tc.published || r.Kind != recs[tc.idx].Kind || string(r.Payload) != string(recs[tc.idx].Payload) {
			t.Errorf("Get(entry %d) = index %d published %d kind %s; want published %d", tc.idx, r.Index, r.Published, r.Kind, tc.published)
		}
	}
	if _, err := x.Get(ctx, "EXR-00000-00000-00000-00000"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Get of an unknown ID: %v", err)
	}

	// Search finds captures only, newest first, by exact fields, paged.
	for _, tc := range []struct {
		name string
		q    index.SearchQuery
		want []uint64
	}{
		{"url", index.SearchQuery{URL: "https://example.org/privacy"}, []uint64{2, 0}},
		{"entity", index.SearchQuery{Entity: "Example"}, []uint64{2, 1, 0}},
		{"entity and document", index.SearchQuery{Entity: "Example", Document: "Terms"}, []uint64{1}},
		{"sha256", index.SearchQuery{SHA256: digest("c")}, []uint64{2}},
		{"page", index.SearchQuery{Entity: "Example", Limit: 2}, []uint64{2, 1}},
		{"next page", index.SearchQuery{Entity: "Example", Limit: 2, Before: 1}, []uint64{0}},
		{"nothing", index.SearchQuery{URL: "https://example.org/nothing"}, nil},
		// Byte for byte, as in SQLite: no case folding (MySQL's default
		// collations fold case and trailing spaces).
		{"case", index.SearchQuery{URL: "https://EXAMPLE.org/privacy"}, nil},
		{"trailing space", index.SearchQuery{Entity: "Example "}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := x.Search(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var idx []uint64
			for _, r := range got {
				idx = append(idx, r.Index)
			}
			if fmt.Sprint(idx) != fmt.Sprint(tc.want) {
				t.Errorf("Search(%+v) = %v, want %v", tc.q, idx, tc.want)
			}
		})
	}
	if r, err := x.FindImported(ctx, "https://example.org/privacy", verify.FormatTime(at), digest("a")); err != nil || r.Index != 0 {
		t.Errorf("FindImported = %v, %v; want entry 0", r, err)
	}
	if _, err := x.FindImported(ctx, "https://example.org/privacy", verify.FormatTime(at), digest("b")); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("FindImported of another digest: %v, want ErrNotFound", err)
	}
	if r, err := x.BySHA256(ctx, digest("b")); err != nil || r.Index != 1 {
		t.Errorf("BySHA256 = %v, %v", r, err)
	}
	tr, err := x.Tracking(ctx, index.TrackingQuery{Document: "example-privacy", Kinds: []string{record.Declaration}})
	if err != nil || len(tr) != 1 || tr[0].Index != 3 {
		t.Errorf("Tracking = %v, %v", tr, err)
	}
	if tr, err := x.Tracking(ctx, index.TrackingQuery{Kinds: []string{record.Version}}); err != nil || len(tr) != 0 {
		t.Errorf("Tracking of versions = %v, %v", tr, err)
	}

	// Checkpoints.
	if n, err := x.FirstCheckpoint(ctx, 3); err != nil || n != 4 {
		t.Errorf("FirstCheckpoint(3) = %d, %v", n, err)
	}
	if _, err := x.FirstCheckpoint(ctx, 4); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("FirstCheckpoint beyond the kept: %v", err)
	}
	if c, err := x.LatestCheckpoint(ctx); err != nil || c.Size != 4 || c.Timestamped {
		t.Errorf("LatestCheckpoint = %+v, %v", c, err)
	}
	if cs, err := x.Checkpoints(ctx, true); err != nil || fmt.Sprint(cs) != "[{0 false} {4 false}]" {
		t.Errorf("Checkpoints without a token = %v, %v", cs, err)
	}
	if bad, err := x.CheckColumns(ctx); err != nil || len(bad) != 0 {
		t.Errorf("CheckColumns = %v, %v", bad, err)
	}

	// A reader sees what the writer committed; it cannot write.
	r := open(t, path, ro)
	if n, err := r.Count(ctx); err != nil || n != 4 {
		t.Errorf("reader Count = %d, %v", n, err)
	}
	if err := r.Add(ctx, index.Round{Size: 5}); err == nil {
		t.Error("a read-only index accepted a write")
	}

	// Rebuild builds a new index aside: while it is filled, and when the
	// fill fails, readers read the index as it was; then the writer and
	// the reader (another Index on the file) read the new one.
	boom := errors.New("boom")
	if err := x.Rebuild(ctx, func(nx *index.Index) error {
		if err := nx.Add(ctx, index.Round{Records: recs[:1], Size: 1}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Rebuild with a failing fill: %v", err)
	}
	if n, err := r.Count(ctx); err != nil || n != 4 {
		t.Errorf("after a failed Rebuild, reader Count = %d, %v", n, err)
	}
	if err := x.Rebuild(ctx, func(nx *index.Index) error {
		if n, err := r.Count(ctx); err != nil || n != 4 {
			t.Errorf("during Rebuild, reader Count = %d, %v", n, err)
		}
		return nx.Add(ctx, index.Round{Records: recs[:1], Size: 1})
	}); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []*index.Index{x, r} {
		if n, err := ix.Count(ctx); err != nil || n != 1 {
			t.Errorf("after Rebuild, Count = %d, %v; want 1", n, err)
		}
		if _, err := ix.LatestCheckpoint(ctx); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("LatestCheckpoint after Rebuild: %v", err)
		}
	}
	if err := x.Add(ctx, index.Round{Records: recs[1:2], Size: 2}); err != nil {
		t.Fatalf("Add after Rebuild: %v", err)
	}
	if n, err := r.Count(ctx); err != nil || n != 2 {
		t.Errorf("reader Count after Rebuild and Add = %d, %v; want 2", n, err)
	}
}

// TestIndexMySQL checks what only an index in MySQL has to: several
// writers (frontends) add the same rows without conflict, the log size
// recorded only grows, and values longer than an index prefix are kept
// whole.
func TestIndexMySQL(t *testing.T) {
	ctx := context.Background()
	db := mariadbtest.Start(t)
	o := index.Options{MySQL: db.Config("exhibit_index")}
	a, b := open(t, "", o), open(t, "", o)
	at := time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC)
	long := "https://example.org/" + strings.Repeat("p", 3000)
	recs := []*record.Record{
		capture(t, 0, long, "Example", "Privacy", at, digest("a")),
		capture(t, 1, "https://example.org/terms", "Example", "Terms", at, digest("b")),
	}
	if err := a.Add(ctx, index.Round{Records: recs, Checkpoints: []index.Checkpoint{{Size: 2}}, Size: 2}); err != nil {
		t.Fatal(err)
	}
	// A writer behind the other adds what it has: nothing is lost, and
	// the size stays.
	if err := b.Add(ctx, index.Round{Records: recs[:1], Checkpoints: []index.Checkpoint{{Size: 1}}, Size: 1}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Size(ctx); err != nil || n != 2 {
		t.Errorf("Size = %d, %v after a writer behind added; want 2", n, err)
	}
	if n, err := b.Count(ctx); err != nil || n != 2 {
		t.Errorf("Count = %d, %v; want 2", n, err)
	}
	got, err := b.Search(ctx, index.SearchQuery{URL: long})
	if err != nil || len(got) != 1 || got[0].URL != long {
		t.Errorf("Search of a %d-byte URL: %d results, %v", len(long), len(got), err)
	}
	if got, _ := b.Search(ctx, index.SearchQuery{URL: long[:len(long)-1]}); len(got) != 0 {
		t.Error("a URL matched its own prefix")
	}
	if bad, err := b.CheckColumns(ctx); err != nil || len(bad) != 0 {
		t.Errorf("CheckColumns = %v, %v", bad, err)
	}

	// Leases: one holder at a time, until released or expired.
	lease := func(x *index.Index, holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := x.TryLease(ctx, "track/doc", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lease(a, "A", time.Minute) {
		t.Fatal("a free lease was refused")
	}
	if lease(b, "B", time.Minute) {
		t.Error("a lease held by A was given to B")
	}
	if !lease(a, "A", time.Minute) {
		t.Error("A could not renew its own lease")
	}
	if err := a.ReleaseLease(ctx, "track/doc", "B"); err != nil {
		t.Fatal(err)
	}
	if lease(b, "B", time.Minute) {
		t.Error("B released A's lease")
	}
	if err := a.ReleaseLease(ctx, "track/doc", "A"); err != nil {
		t.Fatal(err)
	}
	if !lease(b, "B", 200*time.Millisecond) {
		t.Error("a released lease was refused")
	}
	if lease(a, "A", time.Minute) {
		t.Error("A took B's lease before it expired")
	}
	time.Sleep(300 * time.Millisecond)
	if !lease(a, "A", time.Minute) {
		t.Error("A could not take B's expired lease")
	}
}

// TestIndexSchema: an index of format 1 (an entry BLOB per record, a
// tracking table, no schema version) is dropped and recreated by a writer,
// and refused by a reader.
func TestIndexSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE records (record_id TEXT PRIMARY KEY, leaf_index INTEGER, entry BLOB);
		CREATE TABLE tracking (record_id TEXT PRIMARY KEY);
		CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
		INSERT INTO records VALUES ('EXR-X', 0, x'00');
		INSERT INTO meta VALUES ('log_size', '1');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := index.Open(ctx, path, index.Options{ReadOnly: true}); !errors.Is(err, index.ErrSchema) {
		t.Fatalf("read-only Open of a format-1 index: %v, want ErrSchema", err)
	}
	x := open(t, path, index.Options{})
	if n, err := x.Size(ctx); err != nil || n != 0 {
		t.Errorf("a rebuilt index covers %d entries (%v), want 0", n, err)
	}
	if err := x.Add(ctx, index.Round{Records: []*record.Record{capture(t, 0, "https://example.org/", "E", "D", time.Now(), digest("x"))}, Size: 1}); err != nil {
		t.Fatal(err)
	}
	x.Close()
	r := open(t, path, index.Options{ReadOnly: true})
	if n, err := r.Count(ctx); err != nil || n != 1 {
		t.Errorf("reader Count = %d, %v", n, err)
	}
}

// TestIndexDamaged: an index file that is not a database, or is cut
// short, is refused by a reader with an error that says so and how to
// rebuild it, and dropped and started again by a writer (the log rebuilds
// it).
func TestIndexDamaged(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		damage func(path string)
	}{
		{"not a database", func(path string) {
			os.WriteFile(path, bytes.Repeat([]byte("not SQLite "), 500), 0o644)
		}},
		{"cut short", func(path string) { os.Truncate(path, 8192) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "index.db")
			x := open(t, path, index.Options{})
			var recs []*record.Record
			for i := range 200 {
				recs = append(recs, capture(t, uint64(i), fmt.Sprintf("https://example.org/%d", i), "E", "D", time.Now(), digest(strings.Repeat("x", i))))
			}
			if err := x.Add(ctx, index.Round{Records: recs, Size: 200}); err != nil {
				t.Fatal(err)
			}
			x.Close()
			c.damage(path)
			_, err := index.Open(ctx, path, index.Options{ReadOnly: true})
			if !index.IsDamaged(err) || !strings.Contains(err.Error(), "exhibit reindex") {
				t.Fatalf("read-only Open of a damaged index: %v", err)
			}
			w := open(t, path, index.Options{})
			if !index.IsDamaged(w.Damaged()) {
				t.Errorf("Damaged() = %v after a rebuild", w.Damaged())
			}
			if n, err := w.Size(ctx); err != nil || n != 0 {
				t.Errorf("a restarted index covers %d entries (%v), want 0", n, err)
			}
			if err := w.Add(ctx, index.Round{Records: recs[:1], Size: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestIndexColumns: a column changed behind exhibit's back is found.
func TestIndexColumns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	x := open(t, path, index.Options{})
	rec := capture(t, 0, "https://example.org/", "E", "D", time.Now(), digest("x"))
	if err := x.Add(ctx, index.Round{Records: []*record.Record{rec}, Size: 1}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE records SET url = 'https://evil.example/', claimed = 0`); err != nil {
		t.Fatal(err)
	}
	bad, err := x.CheckColumns(ctx)
	if err != nil || len(bad) != 1 || bad[0].RecordID != rec.ID || fmt.Sprint(bad[0].Columns) != "[url claimed]" {
		t.Errorf("CheckColumns = %+v, %v", bad, err)
	}
}
