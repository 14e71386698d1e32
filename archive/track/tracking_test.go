package track_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/provision"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/go-pdf/fpdf"
)

type corpusDeclaration struct {
	Entity, Document, URL string
	Select, Remove        []string
}

func readDeclarations(t testing.TB) map[string]corpusDeclaration {
	b, err := os.ReadFile(filepath.Join("..", "extract", "testdata", "corpus-declarations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ds []corpusDeclaration
	if err := json.Unmarshal(b, &ds); err != nil {
		t.Fatal(err)
	}
	out := map[string]corpusDeclaration{}
	for _, d := range ds {
		out[track.DocumentIDFor(d.Entity, d.Document)] = d
	}
	return out
}

// timeMachine serves the policy corpus as it was over time: in round k,
// each document's path answers with its k-th snapshot (documents change
// independently, so their timelines are replayed side by side).
type timeMachine struct {
	mu    sync.Mutex
	round int
	docs  map[string][]archivetest.CorpusEntry // document ID -> snapshots, oldest first
	dir   string
	base  string // the server's URL
}

func (tm *timeMachine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tm.mu.Lock()
	k := tm.round
	tm.mu.Unlock()
	snaps := tm.docs[strings.Trim(r.URL.Path, "/")]
	if k >= len(snaps) {
		http.NotFound(w, r)
		return
	}
	b, err := os.ReadFile(filepath.Join(tm.dir, snaps[k].File))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.Write(b)
}

// TestTrackCorpus tracks all 19 corpus documents through their history,
// replayed by a loopback time machine, and checks that a version is
// recorded exactly where the document's text changed (against an
// independent computation), that byte-identical and markup-only changes
// only confirm the current version, that provisions quoted from early
// versions are carried through later ones with the right statuses, and
// that every record verifies and the audit is clean.
func TestTrackCorpus(t *testing.T) {
	dir := archivetest.Corpus(t, "policies")
	decls := readDeclarations(t)
	ctx := archivetest.Context(t, 10*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)

	tm := &timeMachine{docs: map[string][]archivetest.CorpusEntry{}, dir: dir}
	rounds := 0
	for _, e := range archivetest.ReadCorpus(t, dir) {
		id := track.DocumentIDFor(e.Entity, e.Document)
		tm.docs[id] = append(tm.docs[id], e)
		rounds = max(rounds, len(tm.docs[id]))
	}
	if len(tm.docs) != 19 || len(decls) != 19 {
		t.Fatalf("%d documents in the corpus, %d declared; want 19", len(tm.docs), len(decls))
	}
	srv := httptest.NewServer(tm)
	defer srv.Close()
	tm.base = srv.URL

	// The expected versions: one wherever the text extracted from a
	// snapshot differs from the previous snapshot's, computed here from
	// the extractor directly (that the extractor's text changes exactly
	// when the page's visible text, headings and link targets do, against
	// an independent goquery reference, is archive/extract's TestCorpus).
	// A snapshot in which the declared part is missing (the corpus has
	// redirect pages) must make a failed extraction and keep the version.
	want, wantFailed := map[string]int{}, map[string]int{}
	wantKinds := map[string][]string{}
	for id, snaps := range tm.docs {
		prev := ""
		for _, e := range snaps {
			b, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			res, err := extract.ExtractURL(b, "text/html", srv.URL+"/"+id, extract.Rules{Select: decls[id].Select, Remove: decls[id].Remove})
			switch {
			case err != nil:
				wantFailed[id]++
			case res.Text != prev:
				kind := verify.VersionChange
				switch {
				case prev == "":
					kind = verify.VersionFirst
				case extract.WithoutLinkTargets(prev) == extract.WithoutLinkTargets(res.Text):
					kind = verify.VersionLinks
				}
				wantKinds[id] = append(wantKinds[id], kind)
				want[id]++
				prev = res.Text
			}
		}
	}
	total, totalChanges := 0, 0
	for id, n := range want {
		total += n
		for _, k := range wantKinds[id] {
			if k == verify.VersionChange {
				totalChanges++
			}
		}
	}
	t.Logf("expected: %d versions, %d of them changes", total, totalChanges)
	// archive/extract's TestCorpus finds 74 versions with links left
	// relative; served from loopback, uptimerobot's pages without a <base
	// href> resolve their links to the loopback server, those with one to
	// uptimerobot.com, which makes 2 more.
	if total != 76 {
		t.Errorf("the extractor gives %d versions for the corpus; want 76", total)
	}

	for id, d := range decls {
		if _, err := tr.Declare(ctx, track.Declaration{ID: id, Entity: d.Entity, Document: d.Document,
			URL: srv.URL + "/" + id, Select: d.Select, Remove: d.Remove, Every: time.Hour}); err != nil {
			t.Fatalf("Declare %s: %v", id, err)
		}
	}

	// Replay: in round k, capture every document's k-th snapshot.
	// Provisions are quoted from the first version of three documents as
	// soon as it exists.
	quoted := map[string]*provisionCases{}
	start := time.Now()
	for k := range rounds {
		tm.mu.Lock()
		tm.round = k
		tm.mu.Unlock()
		var due []string
		for id, snaps := range tm.docs {
			if k < len(snaps) {
				due = append(due, id)
			}
		}
		rep, err := tr.Run(ctx, track.RunOptions{All: true, Only: due, HostDelay: -1, Retries: -1, Concurrency: 8})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Errors) > 0 || len(rep.Results) != len(due) {
			t.Fatalf("round %d: %d results for %d due, errors %v", k, len(rep.Results), len(due), rep.Errors)
		}
		for _, res := range rep.Results {
			if res.Result == "capture_failed" || res.Result == "failed" && !strings.HasPrefix(res.Reason, "no_match") {
				t.Fatalf("%s round %d: %s (%s)", res.Document, k, res.Result, res.Reason)
			}
			if res.Result == verify.VersionFirst && len(quoted) < 3 && strings.HasPrefix(res.Document, "github-") {
				quoted[res.Document] = quoteCases(t, ctx, tr, res.Version.ID, tm, dir, decls[res.Document])
			}
		}
	}
	t.Logf("tracked 19 documents through 302 snapshots in %d rounds in %s", rounds, time.Since(start).Round(time.Millisecond))

	for id, snaps := range tm.docs {
		doc, err := tr.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		confirmations := 0
		changes := 0
		for i, v := range doc.Versions {
			confirmations += len(v.Confirmations)
			wantKind := "?"
			if i < len(wantKinds[id]) {
				wantKind = wantKinds[id][i]
			}
			if v.Number != i+1 || v.Kind != wantKind {
				t.Errorf("%s version %d: number %d kind %s, want %s", id, i+1, v.Number, v.Kind, wantKind)
			}
			if v.Kind == verify.VersionChange {
				changes++
			}
		}
		t.Logf("%-45s %2d snapshots, %2d versions (want %2d), %2d confirmations, %d failed extractions", id, len(snaps), len(doc.Versions), want[id], confirmations, len(doc.Failures))
		if len(doc.Versions) != want[id] || len(doc.Failures) != wantFailed[id] {
			t.Errorf("%s: %d versions and %d failed extractions, want %d and %d (where the independent text changes or is missing)", id, len(doc.Versions), len(doc.Failures), want[id], wantFailed[id])
		}
		if len(doc.Versions)+confirmations+len(doc.Failures) != len(snaps) {
			t.Errorf("%s: %d versions + %d confirmations + %d failures for %d snapshots", id, len(doc.Versions), confirmations, len(doc.Failures), len(snaps))
		}
		if doc.Changes != changes || doc.FirstTracked == "" || doc.LastVerified == "" {
			t.Errorf("%s: changes %d, first tracked %q, last verified %q", id, doc.Changes, doc.FirstTracked, doc.LastVerified)
		}
	}

	// Provisions: the statuses logged through later versions.
	for id, pc := range quoted {
		doc, err := tr.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range doc.Provisions {
			c := pc.byRecord[p.RecordID]
			if c == nil {
				t.Fatalf("%s: unexpected provision %s", id, p.RecordID)
			}
			if len(p.History) != len(doc.Versions)-1 {
				t.Errorf("%s provision %q: %d statuses for %d later versions", id, c.name, len(p.History), len(doc.Versions)-1)
			}
			if p.Status != c.final {
				t.Errorf("%s provision %q: final status %s, want %s", id, c.name, p.Status, c.final)
			}
			for _, h := range p.History {
				_, text, err := tr.VersionText(ctx, h.Version)
				if err != nil {
					t.Fatal(err)
				}
				in := strings.Contains(string(text), p.Quote.Exact)
				if (h.Status == verify.ProvisionPresent) != in {
					t.Errorf("%s provision %q in %s: status %s, but the quote is in the text: %v", id, c.name, h.Version, h.Status, in)
				}
				if h.Position != nil {
					got := string([]rune(string(text))[h.Position.Start:h.Position.End])
					if h.Status == verify.ProvisionPresent && got != p.Quote.Exact || h.Status == verify.ProvisionChanged && got != h.Closest {
						t.Errorf("%s provision %q: position [%d,%d) holds %q", id, c.name, h.Position.Start, h.Position.End, got)
					}
				}
			}
		}
		t.Logf("%s: provisions %s", id, pc)
	}

	// Records of every kind prove, against the checkpoint each was first
	// published with, and verify; the audit is clean; a reindex gives the
	// same state.
	for id := range tm.docs {
		doc, err := tr.Document(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		checkTrackRecord(t, ctx, a, doc.Declaration, nil)
		for _, v := range doc.Versions {
			checkTrackRecord(t, ctx, a, v.RecordID, nil)
			for _, c := range v.Confirmations {
				checkTrackRecord(t, ctx, a, c.RecordID, nil)
			}
		}
		for _, f := range doc.Failures {
			checkTrackRecord(t, ctx, a, f.RecordID, nil)
		}
		for _, p := range doc.Provisions {
			_, text, err := tr.VersionText(ctx, p.Version)
			if err != nil {
				t.Fatal(err)
			}
			checkTrackRecord(t, ctx, a, p.RecordID, text)
			for _, h := range p.History {
				checkTrackRecord(t, ctx, a, h.RecordID, nil)
			}
		}
	}
	archivetest.AuditOK(t, a)
	before, err := tr.Document(ctx, "github-privacy-policy")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	after, err := tr.Document(ctx, "github-privacy-policy")
	if err != nil {
		t.Fatal(err)
	}
	bj, _ := json.Marshal(before)
	aj, _ := json.Marshal(after)
	if !bytes.Equal(bj, aj) {
		t.Errorf("the document's state differs after reindex")
	}
	// Re-running the same snapshots records nothing new.
	changes, err := tr.Changes(ctx, time.Now().Add(-time.Hour), "")
	if err != nil || len(changes) != totalChanges {
		t.Errorf("Changes: %d, want %d (%v)", len(changes), totalChanges, err)
	}
}

type provisionCase struct {
	name  string
	final string
}

type provisionCases struct {
	byRecord map[string]*provisionCase
}

func (p *provisionCases) String() string {
	var s []string
	for _, c := range p.byRecord {
		s = append(s, c.name+"→"+c.final)
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// quoteCases quotes, from a document's first version, one paragraph that
// stays verbatim in its last snapshot's text and one that does not, and
// returns the final status each should reach. The final texts are
// extracted here, through the archive's own extractor, only to choose the
// paragraphs.
func quoteCases(t *testing.T, ctx context.Context, tr *track.Tracker, versionID string, tm *timeMachine, dir string, d corpusDeclaration) *provisionCases {
	v, text, err := tr.VersionText(ctx, versionID)
	if err != nil {
		t.Fatal(err)
	}
	snaps := tm.docs[v.DocumentID]
	last, err := os.ReadFile(filepath.Join(dir, snaps[len(snaps)-1].File))
	if err != nil {
		t.Fatal(err)
	}
	final := extractFor(t, last, d, tm.base+"/"+v.DocumentID)
	pc := &provisionCases{byRecord: map[string]*provisionCase{}}
	var keep, gone string
	for _, para := range strings.Split(string(text), "\n\n") {
		para = strings.TrimSpace(para)
		if len([]rune(para)) < 80 || strings.Count(string(text), para) != 1 {
			continue
		}
		switch {
		case keep == "" && strings.Contains(final, para):
			keep = para
		case gone == "" && !strings.Contains(final, para):
			gone = para
		}
	}
	for name, q := range map[string]string{"kept": keep, "gone": gone} {
		if q == "" {
			continue
		}
		p, statuses, err := tr.Quote(ctx, versionID, track.QuoteOptions{Exact: q, Label: name})
		if err != nil {
			t.Fatalf("Quote %s: %v", name, err)
		}
		if len(statuses) != 0 {
			t.Errorf("quote of the current version made %d statuses", len(statuses))
		}
		c := &provisionCase{name: name, final: verify.ProvisionPresent}
		if name == "gone" {
			// Changed or removed, as the closest passage in the final text
			// decides.
			c.final = provision.Locate(final, provision.Quote{Exact: q}).Status
			if c.final == verify.ProvisionPresent {
				t.Fatalf("a paragraph absent from the final text is located as present")
			}
		}
		pc.byRecord[p.ID] = c
	}
	if len(pc.byRecord) == 0 {
		t.Fatalf("%s: no paragraph to quote", v.DocumentID)
	}
	return pc
}

// checkTrackRecord checks that the tracking record id proves against the
// checkpoint it was first published with (what its bundle file used to
// be), and that the bundle verifies offline; text, if set, is the
// version's text of a provision, whose quote is then checked in it.
func checkTrackRecord(t *testing.T, ctx context.Context, a *archive.Archive, id string, text []byte) {
	t.Helper()
	r, err := a.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind == record.Capture || r.DocumentID == "" {
		t.Fatalf("%s: a %s record of document %q, want a tracking record", id, r.Kind, r.DocumentID)
	}
	if r.Published <= r.Index {
		t.Fatalf("%s %s at index %d: first published with tree size %d", r.Kind, id, r.Index, r.Published)
	}
	b, rep := archivetest.Check(t, a, r, verify.Options{Text: text})
	if b.Index != r.Index || rep.Checkpoint == nil || rep.Checkpoint.Size != r.Published {
		t.Fatalf("bundle of %s %s: index %d, checkpoint %+v; want index %d against tree size %d", r.Kind, id, b.Index, rep.Checkpoint, r.Index, r.Published)
	}
	if text != nil && rep.Checks[len(rep.Checks)-1].Name != verify.CheckProvisionQuote {
		t.Fatalf("provision-quote not checked for %s", id)
	}
}

// extractFor extracts a snapshot as the tracker does when it is served
// from pageURL.
func extractFor(t *testing.T, body []byte, d corpusDeclaration, pageURL string) string {
	t.Helper()
	res, err := extract.ExtractURL(body, "text/html", pageURL, extract.Rules{Select: d.Select, Remove: d.Remove})
	if err != nil {
		t.Fatal(err)
	}
	return res.Text
}

// BenchmarkTrackCorpus tracks the 19 corpus documents once, end to end:
// capture over loopback HTTP (each document's newest snapshot), store,
// extract, and log the capture and its version, all published and
// indexed. It reports seconds per round of 19 documents ("s/round"), at
// the default concurrency of exhibit track run (4).
func BenchmarkTrackCorpus(b *testing.B) {
	dir := archivetest.Corpus(b, "policies")
	decls := readDeclarations(b)
	latest := map[string]archivetest.CorpusEntry{}
	for _, e := range archivetest.ReadCorpus(b, dir) {
		latest[track.DocumentIDFor(e.Entity, e.Document)] = e
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, ok := latest[strings.Trim(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(dir, e.File))
	}))
	defer srv.Close()
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		a := archivetest.New(b, archive.InitOptions{})
		tr := track.New(a)
		for id, d := range decls {
			if _, err := tr.Declare(ctx, track.Declaration{ID: id, Entity: d.Entity, Document: d.Document,
				URL: srv.URL + "/" + id, Select: d.Select, Remove: d.Remove}); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		rep, err := tr.Run(ctx, track.RunOptions{All: true, HostDelay: -1})
		total += time.Since(start)
		if err != nil || len(rep.Results) != 19 || len(rep.Errors) > 0 {
			b.Fatalf("Run: %v, %d results, errors %v", err, len(rep.Results), rep.Errors)
		}
		b.StopTimer()
		a.Close(ctx)
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/round")
	b.ReportMetric(0, "ns/op")
}

// TestTrackBadInput tracks pages that are hard to extract: broken HTML and
// windows-1252 text with and without a correct charset still make versions;
// a PDF with text makes a plain-text version; a PDF without text, a page
// over the extractor's limit and a selector that matches nothing make
// failed extractions that keep the current version; an HTTP error is
// recorded as such; a transient failure is retried.
func TestTrackBadInput(t *testing.T) {
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	var mu sync.Mutex
	pages := map[string]struct {
		ctype string
		body  []byte
	}{}
	set := func(path, ctype string, body []byte) {
		mu.Lock()
		pages[path] = struct {
			ctype string
			body  []byte
		}{ctype, body}
		mu.Unlock()
	}
	fails := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		p, ok := pages[r.URL.Path]
		if r.URL.Path == "/flaky" && fails < 2 {
			fails++
			mu.Unlock()
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", p.ctype)
		w.Write(p.body)
	}))
	defer srv.Close()

	latin1 := []byte("<html><head><meta charset=\"windows-1252\"></head><body><main><p>Donn\xe9es personnelles \x96 conserv\xe9es 30 jours.</p></main></body></html>")
	set("/broken", "text/html", []byte("<html><body><main><p>Unclosed <b>bold <i>and italic<p>Second para</main></table></div>"))
	set("/latin1", "text/html", latin1)
	set("/latin1-noheader", "", latin1)
	set("/pdf", "application/pdf", makePDF(t, "Terms of Service. We keep logs for 30 days."))
	set("/pdf-empty", "application/pdf", makePDF(t, ""))
	set("/huge", "text/html", []byte("<html><body><main>"+strings.Repeat("<p>lorem ipsum dolor sit amet</p>", (extract.MaxInput/32)+1000)+"</main></body></html>"))
	set("/nomatch", "text/html", []byte("<html><body><p>Moved to /new</p></body></html>"))
	set("/flaky", "text/html", []byte("<html><body><main><p>Finally there.</p></main></body></html>"))

	for _, p := range []string{"broken", "latin1", "latin1-noheader", "pdf", "pdf-empty", "huge", "nomatch", "gone", "flaky"} {
		if _, err := tr.Declare(ctx, track.Declaration{ID: p, Entity: "Test", Document: p, URL: srv.URL + "/" + p, Select: []string{"main"}}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := tr.Run(ctx, track.RunOptions{All: true, HostDelay: -1, RetryDelay: 10 * time.Millisecond})
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("Run: %v %v", err, rep.Errors)
	}
	got := map[string]*track.TrackResult{}
	for _, r := range rep.Results {
		got[r.Document] = r
	}
	for doc, want := range map[string]string{
		"broken": "first", "latin1": "first", "latin1-noheader": "first", "pdf": "first", "flaky": "first",
		"pdf-empty": "failed", "huge": "failed", "nomatch": "failed", "gone": "failed",
	} {
		r := got[doc]
		if r == nil || r.Result != want {
			t.Errorf("%s: %+v, want %s", doc, r, want)
		}
	}
	for doc, reason := range map[string]string{"pdf-empty": "no_text", "huge": "too_large", "nomatch": "no_match", "gone": "http_error"} {
		if r := got[doc]; r == nil || !strings.HasPrefix(r.Reason, reason) {
			t.Errorf("%s: %+v, want reason %s", doc, r, reason)
		}
	}
	if r := got["flaky"]; r == nil || r.Attempts != 3 {
		t.Errorf("flaky: %+v, want 3 attempts", r)
	}
	for doc, want := range map[string]string{
		"broken":          "Second para",
		"latin1":          "Données personnelles – conservées 30 jours.",
		"latin1-noheader": "Données personnelles – conservées 30 jours.",
		"pdf":             "We keep logs for 30 days.",
	} {
		d, err := tr.Document(ctx, doc)
		if err != nil {
			t.Fatal(err)
		}
		_, text, err := tr.VersionText(ctx, d.Current.RecordID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), want) {
			t.Errorf("%s: text %q lacks %q", doc, text, want)
		}
	}
	if d, err := tr.Document(ctx, "pdf"); err != nil {
		t.Error(err)
	} else if d.Current.Text.MediaType != "text/plain; charset=utf-8" {
		t.Errorf("a PDF's text is signed as %s", d.Current.Text.MediaType)
	}
	// A failed extraction after a version keeps the version current.
	set("/broken", "text/html", []byte("<html><body><p>no main here</p></body></html>"))
	if _, err := tr.Capture(ctx, "broken", ingest.CaptureOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Document(ctx, "broken")
	if err != nil || len(d.Versions) != 1 || len(d.Failures) != 1 || d.Current == nil || d.LastVerified != d.Versions[0].LastVerified {
		t.Errorf("after a failed extraction: %+v %v", d, err)
	}
	archivetest.AuditOK(t, a)
}

// makePDF returns a one-page PDF holding text, or no text at all.
func makePDF(t *testing.T, text string) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.AddPage()
	if text != "" {
		p.SetFont("Helvetica", "", 12)
		p.Cell(40, 10, text)
	} else {
		p.Rect(10, 10, 50, 50, "F")
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTrackRecoversUnreadSnapshot: a capture of a tracked document logged
// by a process that died before logging what its text did is processed by
// the next run, even though the document is not due.
func TestTrackRecoversUnreadSnapshot(t *testing.T) {
	ctx := archivetest.Context(t, time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><main><p>Policy text.</p></main></body></html>")
	}))
	defer srv.Close()
	if _, err := tr.Declare(ctx, track.Declaration{ID: "acme", Entity: "Acme", Document: "Policy", URL: srv.URL, Select: []string{"main"}}); err != nil {
		t.Fatal(err)
	}
	// The capture alone, as a killed track run would leave it.
	rec, err := ingest.New(a).Capture(ctx, srv.URL, ingest.CaptureOptions{Entity: "Acme", Document: "Policy"})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tr.Run(ctx, track.RunOptions{HostDelay: -1})
	if err != nil || rep.Due != 0 || len(rep.Errors) > 0 {
		t.Fatalf("Run: %v, %+v", err, rep)
	}
	d, err := tr.Document(ctx, "acme")
	if err != nil || len(d.Versions) != 1 || d.Versions[0].Snapshot.RecordID != rec.ID {
		t.Fatalf("the unread snapshot made no version: %+v %v", d, err)
	}
	// Run again: nothing more.
	if _, err := tr.Run(ctx, track.RunOptions{HostDelay: -1}); err != nil {
		t.Fatal(err)
	}
	if d, err := tr.Document(ctx, "acme"); err != nil || len(d.Versions) != 1 || len(d.Versions[0].Confirmations) != 0 || len(d.Failures) != 0 {
		t.Errorf("processed twice: %+v %v", d, err)
	}
}
