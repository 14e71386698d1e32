// Package archivetest holds the fixtures the tests of exhibit's packages
// share: archives in temporary directories, plain or with real witnesses
// (omniwitness, package witnesstest) and a real time-stamping authority
// (sigstore's timestamp-server, package tsatest), the real-input corpus,
// and checks that every test makes the same way (a record's bundle
// verifies; an audit is clean).
package archivetest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/ledger/witnesstest"
	"github.com/exhibit-archive/exhibit/verify"
)

// Corpus returns a collection of the shared corpus ("policies" or
// "genai"), read in place from ../shared/corpus beside the repository.
// When it is missing the test fails under CI=true and is skipped
// elsewhere.
func Corpus(t testing.TB, collection string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", collection)
	if _, err := os.Stat(filepath.Join(dir, "manifest.jsonl")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the corpus is missing at %s (CI=true): %v", dir, err)
		}
		t.Skipf("the corpus is missing at %s; skipping (it lives in ../shared/corpus beside the repository)", dir)
	}
	return dir
}

// CorpusEntry is one line of a corpus collection's manifest.jsonl.
type CorpusEntry struct {
	Entity, Document, URL string
	FetchedAt             string `json:"fetched_at"`
	File, SHA256          string
	Size                  int64
}

// ReadCorpus reads the manifest of the corpus collection in dir (see
// Corpus), in its order.
func ReadCorpus(t testing.TB, dir string) []CorpusEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []CorpusEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e CorpusEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ReadFile returns the contents of the file at path, failing the test if
// it cannot be read.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Rewrite replaces a file of an archive, read-only ones too (an object, a
// kept checkpoint, a token), behind exhibit's back, as an attacker or a
// failing disk would.
func Rewrite(t testing.TB, path string, b []byte) {
	t.Helper()
	os.Chmod(path, 0o644)
	if err := os.WriteFile(path, b, 0o444); err != nil {
		t.Fatal(err)
	}
}

// Context returns a context cancelled after d or when the test ends.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Init creates an archive in a new temporary directory and returns the
// directory. The origin defaults to "test.example/log".
func Init(t testing.TB, o archive.InitOptions) string {
	t.Helper()
	if o.Origin == "" {
		o.Origin = "test.example/log"
	}
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(context.Background(), dir, o); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return dir
}

// Open opens the archive in dir, closing it when the test ends.
func Open(t testing.TB, dir string, o archive.OpenOptions) *archive.Archive {
	t.Helper()
	a, err := archive.Open(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		// Close waits for a checkpoint a missing quorum may hold back.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return a
}

// New creates an archive in a temporary directory and opens it for
// writing.
func New(t testing.TB, o archive.InitOptions) *archive.Archive {
	t.Helper()
	return Open(t, Init(t, o), archive.OpenOptions{Write: true})
}

// Reopen closes a and opens its archive again with o.
func Reopen(t testing.TB, a *archive.Archive, o archive.OpenOptions) *archive.Archive {
	t.Helper()
	if err := a.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return Open(t, a.Dir(), o)
}

var uploads atomic.Int64

// Upload archives a new, unique small document as a supplied file and
// returns its record.
func Upload(t testing.TB, a *archive.Archive) *record.Record {
	t.Helper()
	rec, err := UploadErr(t, a)
	if err != nil {
		t.Fatalf("capturing a file: %v", err)
	}
	return rec
}

// UploadErr is Upload, returning the error.
func UploadErr(t testing.TB, a *archive.Archive) (*record.Record, error) {
	t.Helper()
	n := uploads.Add(1)
	p := filepath.Join(t.TempDir(), fmt.Sprintf("doc%d.txt", n))
	if err := os.WriteFile(p, fmt.Appendf(nil, "document %d at %d", n, time.Now().UnixNano()), 0o644); err != nil {
		t.Fatal(err)
	}
	return ingest.New(a).File(context.Background(), p, ingest.FileOptions{Entity: "Example"})
}

// Check proves a record (against the checkpoint it was first published
// with) and verifies the bundle offline with the archive's keys and the
// record's snapshot, failing the test on any failed check. opts may add a
// policy, TSA roots or a version's text.
func Check(t testing.TB, a *archive.Archive, rec *record.Record, opts verify.Options) (*verify.Bundle, *verify.Report) {
	t.Helper()
	ctx := context.Background()
	_, b, err := a.Prove(ctx, rec.ID, archive.ProveOptions{})
	if err != nil {
		t.Fatalf("proving %s: %v", rec.ID, err)
	}
	if opts.Snapshot == nil && rec.Kind == record.Capture && rec.SHA256 != "" {
		rc, err := a.Store().Get(ctx, rec.SHA256)
		if err != nil {
			t.Fatalf("snapshot of %s: %v", rec.ID, err)
		}
		defer rc.Close()
		opts.Snapshot = rc
	}
	opts.RecordID = rec.ID
	opts.Keys = a.Keys()[1:]
	rep := verify.Check(b.Marshal(), a.Key(), opts)
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("bundle of %s does not verify: %s: %s", rec.ID, f.Name, f.Detail)
	}
	return b, rep
}

// AuditOK audits the archive and fails the test on any problem.
func AuditOK(t testing.TB, a *archive.Archive) *audit.Report {
	t.Helper()
	rep, err := audit.Run(context.Background(), a, audit.Options{})
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if !rep.OK {
		t.Fatalf("audit found problems: %+v", rep.Problems)
	}
	if rep.TreeRoot != rep.Root {
		t.Fatalf("audit: tree root %s, checkpoint root %s", rep.TreeRoot, rep.Root)
	}
	return rep
}

// SHA256 returns the lowercase hex SHA-256 of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Trusted is an archive with three real omniwitness witnesses under a
// 2-of-3 policy and, optionally, a real timestamp-server behind a proxy
// that can play dead (TSAOff).
type Trusted struct {
	Dir    string
	KeyPEM []byte
	A      *archive.Archive
	// Witnesses are W1, W2, W3; PolicyText is the policy the archive
	// stores (with its "log" line), Policy the same parsed.
	Witnesses  []*witnesstest.Witness
	PolicyText []byte
	Policy     *verify.Policy
	TSA        *tsatest.TSA
	// TSAOff, set, has the TSA's proxy answer 503.
	TSAOff atomic.Bool
	// TSARequests counts the requests the TSA's proxy received.
	TSARequests atomic.Int64
	// Verify are a verifier's options: the policy and the TSA's roots.
	Verify verify.Options
	// Open are the options the archive was opened with.
	Open archive.OpenOptions
}

// TrustOptions configure NewTrusted.
type TrustOptions struct {
	// Origin defaults to "trust.example/log".
	Origin   string
	FailOpen bool
	TSA      bool
}

// NewTrusted creates and opens (for writing) an archive with witnesses
// and, with o.TSA, a time-stamping authority. Its witnesses time out
// after a second, and a record waits at most 4 s for their quorum; the
// TSA's retry loop is left to the test (RetryTimestamps).
func NewTrusted(t testing.TB, o TrustOptions) *Trusted {
	t.Helper()
	ctx := context.Background()
	if o.Origin == "" {
		o.Origin = "trust.example/log"
	}
	keyPEM, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(keyPEM, o.Origin)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trusted{Dir: filepath.Join(t.TempDir(), "archive"), KeyPEM: keyPEM}
	tr.Witnesses = witnesstest.Start(t, 3, s.PublicKey())
	ws := tr.Witnesses
	// No "log" line: Init adds the archive's.
	policy := "# two of three\n" + ws[0].PolicyLine() + ws[1].PolicyLine() + ws[2].PolicyLine() +
		"group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"
	opts := archive.InitOptions{Origin: o.Origin, KeyPEM: keyPEM, WitnessPolicy: []byte(policy), WitnessFailOpen: o.FailOpen}
	if o.TSA {
		tr.TSA = tsatest.Start(t)
		target, _ := url.Parse(tr.TSA.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tr.TSARequests.Add(1)
			if tr.TSAOff.Load() {
				http.Error(w, "down for the test", http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		opts.TSAURL = srv.URL + "/api/v1/timestamp"
		opts.TSARootsPEM = tr.TSA.ChainPEM
	}
	if _, err := archive.Init(ctx, tr.Dir, opts); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if tr.PolicyText, err = os.ReadFile(filepath.Join(tr.Dir, "witness-policy.txt")); err != nil {
		t.Fatal(err)
	}
	if tr.Policy, err = verify.ParsePolicy(tr.PolicyText); err != nil {
		t.Fatal(err)
	}
	tr.Verify.Policy = tr.Policy
	if o.TSA {
		to := tr.TSA.Options()
		tr.Verify.Timestamps = &to
	}
	tr.Open = archive.OpenOptions{
		Write:            true,
		Ledger:           ledger.Config{WitnessTimeout: time.Second},
		WitnessWait:      4 * time.Second,
		TSATimeout:       2 * time.Second,
		TSARetryInterval: time.Hour, // the test calls RetryTimestamps itself
	}
	tr.A = Open(t, tr.Dir, tr.Open)
	return tr
}

// Check is the package's Check with the verifier's policy and TSA roots.
// It does not fail the test on a failed check: it returns the report.
func (tr *Trusted) Check(t testing.TB, rec *record.Record) (*verify.Bundle, *verify.Report) {
	t.Helper()
	_, b, err := tr.A.Prove(context.Background(), rec.ID, archive.ProveOptions{})
	if err != nil {
		t.Fatalf("proving %s: %v", rec.ID, err)
	}
	return b, verify.Check(b.Marshal(), tr.A.Key(), tr.Verify)
}

// SmallLog creates an archive and archives n small HTML documents into it,
// concurrently, as supplied copies of https://example.org/privacy fetched
// one second apart. It returns the archive (open for writing), the records
// by log index, and the documents' files in the same order.
func SmallLog(t testing.TB, n int) (*archive.Archive, []*record.Record, []string) {
	t.Helper()
	ctx := context.Background()
	a := New(t, archive.InitOptions{})
	in := ingest.New(a)
	dir := t.TempDir()
	recs := make([]*record.Record, n)
	files := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range n {
		files[i] = filepath.Join(dir, fmt.Sprintf("doc%d.html", i))
		os.WriteFile(files[i], []byte(fmt.Sprintf("<html><body>Policy version %d</body></html>\n", i)), 0o644)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := in.File(ctx, files[i], ingest.FileOptions{
				Entity: "Example", Document: "Privacy Policy",
				URL: "https://example.org/privacy", FetchedAt: time.Date(2026, 5, 8, 11, 13, i, 0, time.UTC),
			})
			if err != nil {
				t.Error(err)
				return
			}
			recs[i] = r
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return recs[order[x]].Index < recs[order[y]].Index })
	sr, sf := make([]*record.Record, n), make([]string, n)
	for i, j := range order {
		sr[i], sf[i] = recs[j], files[j]
	}
	return a, sr, sf
}

// Bundle returns a record's bundle, JSON, against the checkpoint it was
// first published with, made from what the record holds (as the write
// path returned it).
func Bundle(t testing.TB, a *archive.Archive, rec *record.Record) []byte {
	t.Helper()
	b, err := a.Bundle(context.Background(), rec, archive.ProveOptions{})
	if err != nil {
		t.Fatalf("bundle of %s: %v", rec.ID, err)
	}
	return b.Marshal()
}
