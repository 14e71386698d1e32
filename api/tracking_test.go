package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// The tracked page, as its server serves it over time. Version 2 changes
// one word of the quoted clause and adds a paragraph with markup-looking
// text, which must reach every page as text.
const (
	trackedV1 = `<html><body><nav>Menu</nav><main>
<h1>Zoom Privacy Statement</h1>
<p>Zoom does not use audio, video, or chat Customer Content to train our artificial intelligence models without customer consent.</p>
<p>Account owners and administrators can choose to enable certain AI features.</p>
</main></body></html>`
	trackedV2 = `<html><body><nav>Menu</nav><main>
<h1>Zoom Privacy Statement</h1>
<p>Zoom does not use audio, video, or chat Customer Content to train our artificial intelligence models without customer notice.</p>
<p>Account owners and administrators can choose to enable certain AI features.</p>
<p>New: <code>&lt;script&gt;alert('diff')&lt;/script&gt;</code> is not a script.</p>
</main></body></html>`
	otherV1 = `<html><body><main><p>Example terms of service.</p></main></body></html>`

	quoted       = "Zoom does not use audio, video, or chat Customer Content to train our artificial intelligence models without customer consent."
	hostileInDoc = "<script>alert('diff')</script>"
)

type trackFixture struct {
	a   *archive.Archive
	srv *httptest.Server
	doc string // the tracked document with a change
	// v1, v2 are its versions, other's the other document's only version.
	v1, v2, other    *record.Record
	text1, text2     []byte
	provision        *record.Record
	confirm, capture *record.Record
}

// newTrackFixture tracks two documents from a live HTTP server whose page
// changes: zoom-privacy-statement gets a first version, a confirmation, a
// provision quoted from version 1 and a change; example-terms one version.
// The archive is then closed, reopened read-only and served.
func newTrackFixture(t *testing.T) *trackFixture {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	pages := map[string]string{"/privacy": trackedV1, "/terms": otherV1}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body, ok := pages[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, body)
	}))
	t.Cleanup(origin.Close)

	w := archivetest.New(t, archive.InitOptions{Origin: "tracking.example/log"})
	tr := track.New(w)
	f := &trackFixture{}
	d, err := tr.Declare(ctx, track.Declaration{Entity: "Zoom", Document: "Zoom Privacy Statement", URL: origin.URL + "/privacy", Select: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Kind != record.Declaration {
		t.Fatalf("declaration record of kind %q", d.Kind)
	}
	f.doc = d.DocumentID
	if _, err := tr.Declare(ctx, track.Declaration{Entity: "Example", Document: "Terms", URL: origin.URL + "/terms"}); err != nil {
		t.Fatal(err)
	}
	capture := func(id, want string) *track.TrackResult {
		t.Helper()
		res, err := tr.Capture(ctx, id, ingest.CaptureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Result != want {
			t.Fatalf("capture of %s: result %q (%s), want %q", id, res.Result, res.Reason, want)
		}
		return res
	}
	f.v1 = capture(f.doc, "first").Version
	f.confirm = capture(f.doc, "confirmed").Capture
	f.other = capture("example-terms", "first").Version
	f.provision, _, err = tr.Quote(ctx, f.v1.ID, track.QuoteOptions{Exact: quoted, Label: "AI model training"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	pages["/privacy"] = trackedV2
	mu.Unlock()
	res := capture(f.doc, "change")
	f.v2, f.capture = res.Version, res.Capture
	if len(res.Statuses) != 1 || res.Statuses[0].Statement.ProvisionStatus.Predicate.Status != verify.ProvisionChanged {
		t.Fatalf("provision statuses after the change: %+v", res.Statuses)
	}
	if _, f.text1, err = tr.VersionText(ctx, f.v1.ID); err != nil {
		t.Fatal(err)
	}
	if _, f.text2, err = tr.VersionText(ctx, f.v2.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(f.text2), hostileInDoc) {
		t.Fatalf("version 2's text does not hold %q:\n%s", hostileInDoc, f.text2)
	}
	f.a = archivetest.Reopen(t, w, archive.OpenOptions{})
	f.srv = httptest.NewServer(api.New(f.a, api.Options{}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *trackFixture) get(t *testing.T, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return (&fixture{srv: f.srv}).get(t, path, hdr...)
}

// getJSON fetches path, wants 200 JSON with CORS, and decodes it into v.
func (f *trackFixture) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, body := f.get(t, path)
	wantStatus(t, resp, body, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/json")
	wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
	wantHeader(t, resp, "Cache-Control", "no-cache")
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

func TestDocumentsAPI(t *testing.T) {
	f := newTrackFixture(t)

	t.Run("list", func(t *testing.T) {
		var got struct {
			Documents []api.DocumentSummary `json:"documents"`
		}
		f.getJSON(t, "/api/v1/documents", &got)
		if len(got.Documents) != 2 {
			t.Fatalf("%d documents, want 2: %+v", len(got.Documents), got.Documents)
		}
		z := got.Documents[0]
		if z.ID != f.doc || z.Entity != "Zoom" || z.Document != "Zoom Privacy Statement" || !strings.HasSuffix(z.URL, "/privacy") {
			t.Errorf("first document %+v", z)
		}
		if z.Versions != 2 || z.RecentChanges != 1 || z.Current == nil || z.Current.RecordID != f.v2.ID || z.Current.Kind != "change" || z.Current.Number != 2 {
			t.Errorf("versions %d, recent changes %d, current %+v", z.Versions, z.RecentChanges, z.Current)
		}
		if z.FirstTracked == "" || z.LastVerified == "" || z.LastCapture == "" {
			t.Errorf("first tracked %q, last verified %q, last capture %q", z.FirstTracked, z.LastVerified, z.LastCapture)
		}
		if z.Page != "/documents/"+f.doc || z.API != "/api/v1/documents/"+f.doc || z.Current.TextPath != "/api/v1/versions/"+f.v2.ID+"/text" {
			t.Errorf("links %q %q %q", z.Page, z.API, z.Current.TextPath)
		}
		if o := got.Documents[1]; o.ID != "example-terms" || o.Versions != 1 || o.RecentChanges != 0 {
			t.Errorf("second document %+v", o)
		}
	})

	t.Run("document", func(t *testing.T) {
		var d track.Document
		f.getJSON(t, "/api/v1/documents/"+f.doc, &d)
		if len(d.Versions) != 2 || d.Versions[0].RecordID != f.v1.ID || d.Versions[1].RecordID != f.v2.ID {
			t.Fatalf("versions %+v", d.Versions)
		}
		if len(d.Versions[0].Confirmations) != 1 || d.Versions[0].Confirmations[0].Snapshot.RecordID != f.confirm.ID {
			t.Errorf("version 1 confirmations %+v", d.Versions[0].Confirmations)
		}
		if d.Changes != 1 || d.Current == nil || d.Current.RecordID != f.v2.ID {
			t.Errorf("changes %d, current %+v", d.Changes, d.Current)
		}
		if len(d.Provisions) != 1 {
			t.Fatalf("provisions %+v", d.Provisions)
		}
		p := d.Provisions[0]
		if p.RecordID != f.provision.ID || p.Status != "changed" || p.StatusVersion != f.v2.ID || len(p.History) != 1 || p.Label != "AI model training" {
			t.Errorf("provision %+v", p)
		}
	})

	t.Run("versions", func(t *testing.T) {
		var got struct {
			Document string               `json:"document_id"`
			Versions []*track.VersionInfo `json:"versions"`
		}
		f.getJSON(t, "/api/v1/documents/"+f.doc+"/versions", &got)
		if got.Document != f.doc || len(got.Versions) != 2 || got.Versions[0].Number != 1 || got.Versions[1].Number != 2 || got.Versions[1].Kind != "change" {
			t.Errorf("versions of %s: %+v", got.Document, got.Versions)
		}
	})

	t.Run("text", func(t *testing.T) {
		resp, body := f.get(t, "/api/v1/versions/"+f.v2.ID+"/text")
		wantStatus(t, resp, body, http.StatusOK)
		sum := sha256.Sum256(body)
		if string(body) != string(f.text2) || hex.EncodeToString(sum[:]) != f.v2.Statement.Version.Predicate.Text.SHA256 {
			t.Errorf("text %q, want version 2's", body)
		}
		wantHeader(t, resp, "Content-Type", "text/markdown; charset=utf-8")
		wantHeader(t, resp, "ETag", `"`+hex.EncodeToString(sum[:])+`"`)
		wantHeader(t, resp, "X-Content-Type-Options", "nosniff")
		wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
		resp, body = f.get(t, "/api/v1/versions/"+f.v2.ID+"/text", "If-None-Match", resp.Header.Get("ETag"))
		wantStatus(t, resp, body, http.StatusNotModified)
	})

	t.Run("diff", func(t *testing.T) {
		var d api.Diff
		f.getJSON(t, "/api/v1/diff?from="+f.v1.ID+"&to="+f.v2.ID, &d)
		if d.Document != f.doc || d.From.RecordID != f.v1.ID || d.To.RecordID != f.v2.ID || d.From.Number != 1 || d.To.Number != 2 {
			t.Errorf("diff header %+v", d)
		}
		var older, newer strings.Builder
		ops := map[string]int{}
		for _, c := range d.Chunks {
			ops[c.Op]++
			if c.Op != "insert" {
				older.WriteString(c.Text)
			}
			if c.Op != "delete" {
				newer.WriteString(c.Text)
			}
		}
		if older.String() != string(f.text1) || newer.String() != string(f.text2) {
			t.Errorf("chunks do not rebuild the two texts: %+v", d.Chunks)
		}
		if ops["insert"] == 0 || ops["delete"] == 0 || d.Inserted == 0 || d.Deleted != 1 || !strings.HasSuffix(d.Summary, "words") {
			t.Errorf("ops %v, inserted %d, deleted %d, summary %q", ops, d.Inserted, d.Deleted, d.Summary)
		}
	})

	t.Run("changes", func(t *testing.T) {
		type changes struct {
			Since   string           `json:"since"`
			Changes []api.ChangeInfo `json:"changes"`
		}
		for _, q := range []string{"", "?since=30d", "?since=720h", "?entity=Zoom", "?since=" + time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)} {
			var got changes
			f.getJSON(t, "/api/v1/changes"+q, &got)
			if len(got.Changes) != 1 {
				t.Fatalf("changes%s: %+v", q, got.Changes)
			}
			c := got.Changes[0]
			if c.Version != f.v2.ID || c.Previous != f.v1.ID || c.Document != f.doc || c.Entity != "Zoom" || c.Number != 2 || c.Snapshot != f.capture.ID {
				t.Errorf("changes%s: %+v", q, c.Change)
			}
			if c.Summary == "" || c.Diff != "/api/v1/diff?from="+f.v1.ID+"&to="+f.v2.ID || c.Page != "/documents/"+f.doc {
				t.Errorf("changes%s: summary %q, diff %q, page %q", q, c.Summary, c.Diff, c.Page)
			}
		}
		for _, q := range []string{"?entity=Example", "?since=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)} {
			var got changes
			f.getJSON(t, "/api/v1/changes"+q, &got)
			if got.Changes == nil || len(got.Changes) != 0 {
				t.Errorf("changes%s: %+v, want []", q, got.Changes)
			}
		}
	})

	t.Run("records", func(t *testing.T) {
		// Every kind of record answers in the one shape: the record's
		// fields, its statement as logged, and its paths.
		for _, c := range []struct {
			rec  *record.Record
			kind string
			ref  string
		}{
			{f.v2, record.Version, f.capture.ID},
			{f.provision, record.Provision, f.v1.ID},
		} {
			var got api.RecordInfo
			f.getJSON(t, "/api/v1/records/"+c.rec.ID, &got)
			if got.Record == nil || got.ID != c.rec.ID || got.Kind != c.kind || got.DocumentID != f.doc || got.Index != c.rec.Index ||
				got.Published != c.rec.Published || got.Published <= got.Index || got.Ref != c.ref || got.SHA256 != c.rec.SHA256 {
				t.Errorf("record %+v, want %+v", got.Record, c.rec)
			}
			var st map[string]any
			if err := json.Unmarshal(got.Statement, &st); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{record.Version: verify.VersionPredicateType, record.Provision: verify.ProvisionPredicateType}[c.kind]
			if st["predicateType"] != want {
				t.Errorf("%s statement %s", c.kind, got.Statement)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, got.Statement); err != nil || !bytes.Equal(compact.Bytes(), c.rec.Payload) {
				t.Errorf("%s statement %s, want the logged %s", c.kind, compact.Bytes(), c.rec.Payload)
			}
			if got.Citation != nil {
				t.Errorf("a %s record has a citation: %+v", c.kind, got.Citation)
			}
			if got.Bundle != "/api/v1/records/"+c.rec.ID+"/bundle" || got.Page != "/documents/"+f.doc {
				t.Errorf("bundle path %q, page %q", got.Bundle, got.Page)
			}
		}
		// A capture answers with its citation too.
		var rec api.RecordInfo
		f.getJSON(t, "/api/v1/records/"+f.capture.ID, &rec)
		if rec.Record == nil || rec.Kind != record.Capture || rec.Citation == nil || rec.Citation.RecordID != f.capture.ID ||
			rec.Citation.CheckpointSize != f.capture.Published || rec.Page != "/records/"+f.capture.ID {
			t.Errorf("capture record %+v", rec)
		}
	})

	t.Run("bundles", func(t *testing.T) {
		// A version's text is checked as its subject (Options.Snapshot);
		// a provision's quote against the quoted version's text
		// (Options.Text).
		for _, c := range []struct {
			name string
			rec  *record.Record
			opts func() verify.Options
		}{
			{"version", f.v2, func() verify.Options { return verify.Options{Snapshot: bytes.NewReader(f.text2)} }},
			{"provision", f.provision, func() verify.Options { return verify.Options{Text: f.text1} }},
			{"other-version", f.other, func() verify.Options { return verify.Options{} }},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body := f.get(t, "/api/v1/records/"+c.rec.ID+"/bundle")
				wantStatus(t, resp, body, http.StatusOK)
				wantHeader(t, resp, "Content-Type", api.BundleMediaType)
				o := c.opts()
				o.RecordID = c.rec.ID
				rep := verify.Check(body, f.a.Key(), o)
				if !rep.Verified {
					t.Fatalf("bundle does not verify: %+v", rep.Checks)
				}
				// The text checks must run: another text fails them.
				switch c.name {
				case "version":
					if rep := verify.Check(body, f.a.Key(), verify.Options{Snapshot: bytes.NewReader(f.text1)}); rep.Verified {
						t.Errorf("version 2's bundle verifies with version 1's text")
					}
				case "provision":
					if rep := verify.Check(body, f.a.Key(), verify.Options{Text: f.text2}); rep.Verified {
						t.Errorf("the provision's bundle verifies against version 2's text")
					}
				}
				resp, body = f.get(t, "/api/v1/records/"+c.rec.ID+"/bundle?format=tlog-proof")
				wantStatus(t, resp, body, http.StatusOK)
				o = c.opts()
				o.RecordID = c.rec.ID
				if rep := verify.Check(body, f.a.Key(), o); !rep.Verified {
					t.Fatalf("tlog-proof does not verify: %+v", rep.Checks)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		unknown := verify.RecordID([]byte("no such entry"))
		for _, c := range []struct {
			path   string
			status int
			want   string // in the message
		}{
			{"/api/v1/documents/no-such-document", 404, "no such tracked document"},
			{"/api/v1/documents/Not_An_ID", 404, "no such tracked document"},
			{"/api/v1/documents/no-such-document/versions", 404, ""},
			{"/api/v1/versions/" + unknown + "/text", 404, ""},
			{"/api/v1/versions/" + f.provision.ID + "/text", 404, "not a version"},
			{"/api/v1/versions/" + f.capture.ID + "/text", 404, ""},
			{"/api/v1/versions/nonsense/text", 400, ""},
			{"/api/v1/diff?from=" + f.v1.ID, 400, "missing query parameter"},
			{"/api/v1/diff?from=" + f.v1.ID + "&to=" + f.other.ID, 400, "same document"},
			{"/api/v1/diff?from=" + f.provision.ID + "&to=" + f.v2.ID, 400, "not a version"},
			{"/api/v1/diff?from=" + unknown + "&to=" + f.v2.ID, 404, ""},
			{"/api/v1/changes?since=yesterday", 400, "since="},
			{"/api/v1/changes?since=-5d", 400, "since="},
			{"/api/v1/changes?since=2026-13-01", 400, "RFC 3339"},
			{"/api/v1/records/" + unknown, 404, ""},
			{"/api/v1/records/" + unknown + "/bundle", 404, ""},
		} {
			resp, body := f.get(t, c.path)
			wantJSONError(t, resp, body, c.status)
			wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
			if !strings.Contains(string(body), c.want) {
				t.Errorf("GET %s: %s, want a message with %q", c.path, body, c.want)
			}
		}
	})
}

// atom is what the test reads of an Atom feed.
type atom struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"http://www.w3.org/2005/Atom id"`
	Title   string   `xml:"http://www.w3.org/2005/Atom title"`
	Updated string   `xml:"http://www.w3.org/2005/Atom updated"`
	Author  struct {
		Name string `xml:"http://www.w3.org/2005/Atom name"`
	} `xml:"http://www.w3.org/2005/Atom author"`
	Links   []atomLink `xml:"http://www.w3.org/2005/Atom link"`
	Entries []struct {
		ID      string     `xml:"http://www.w3.org/2005/Atom id"`
		Title   string     `xml:"http://www.w3.org/2005/Atom title"`
		Updated string     `xml:"http://www.w3.org/2005/Atom updated"`
		Summary string     `xml:"http://www.w3.org/2005/Atom summary"`
		Links   []atomLink `xml:"http://www.w3.org/2005/Atom link"`
	} `xml:"http://www.w3.org/2005/Atom entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
}

func TestChangesFeed(t *testing.T) {
	f := newTrackFixture(t)
	resp, body := f.get(t, "/feeds/changes.atom")
	wantStatus(t, resp, body, http.StatusOK)
	wantHeader(t, resp, "Content-Type", "application/atom+xml; charset=utf-8")
	wantHeader(t, resp, "Access-Control-Allow-Origin", "*")
	var feed atom
	if err := xml.Unmarshal(body, &feed); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, body)
	}
	// RFC 4287 4.1.1: a feed has an id, title and updated, and an author
	// unless every entry has one.
	if !strings.HasPrefix(feed.ID, "urn:") || feed.Title == "" || feed.Author.Name == "" {
		t.Errorf("feed id %q, title %q, author %q", feed.ID, feed.Title, feed.Author.Name)
	}
	if _, err := time.Parse(time.RFC3339, feed.Updated); err != nil {
		t.Errorf("feed updated %q: %v", feed.Updated, err)
	}
	self := false
	for _, l := range feed.Links {
		self = self || (l.Rel == "self" && l.Href == "/feeds/changes.atom")
	}
	if !self {
		t.Errorf("no self link: %+v", feed.Links)
	}
	if len(feed.Entries) != 1 {
		t.Fatalf("%d entries, want 1:\n%s", len(feed.Entries), body)
	}
	e := feed.Entries[0]
	capturedAt := f.v2.Statement.Version.Predicate.Snapshot.CapturedAt
	if e.ID != "urn:exhibit:record:"+f.v2.ID || e.Title != "Zoom Zoom Privacy Statement changed" || e.Updated != capturedAt || e.Updated != feed.Updated {
		t.Errorf("entry id %q, title %q, updated %q (captured %q)", e.ID, e.Title, e.Updated, capturedAt)
	}
	if !strings.Contains(e.Summary, "words") || !strings.Contains(e.Summary, f.v2.ID) {
		t.Errorf("entry summary %q", e.Summary)
	}
	alt := false
	for _, l := range e.Links {
		alt = alt || (l.Rel == "alternate" && l.Href == "/documents/"+f.doc)
	}
	if !alt {
		t.Errorf("entry links %+v, want an alternate to the document page", e.Links)
	}
}

func TestDocumentPages(t *testing.T) {
	f := newTrackFixture(t)
	pf := &pageFixture{srv: f.srv}

	t.Run("list", func(t *testing.T) {
		resp, body := pf.get(t, "/documents")
		checkPageHeaders(t, resp, "text/html; charset=utf-8")
		for _, want := range []string{`href="/documents/` + f.doc + `"`, "Zoom Privacy Statement", `href="/documents/example-terms"`, "/feeds/changes.atom"} {
			if !strings.Contains(body, want) {
				t.Errorf("/documents lacks %q", want)
			}
		}
		_, body = pf.get(t, "/")
		if !strings.Contains(body, `href="/documents"`) {
			t.Errorf("the index page does not link to /documents")
		}
	})

	t.Run("document", func(t *testing.T) {
		resp, body := pf.get(t, "/documents/"+f.doc)
		checkPageHeaders(t, resp, "text/html; charset=utf-8")
		for _, want := range []string{
			"Zoom recorded 1 documented change in the last 30 days.",
			"First tracked", "Last verified",
			`href="/records/` + f.v1.ID + `"`, `href="/records/` + f.v2.ID + `"`,
			`href="/records/` + f.capture.ID + `"`, `href="/records/` + f.provision.ID + `"`,
			"Version 2", "Version 1", "first version",
			"<del>consent</del>", "<ins>notice</ins>",
			"&lt;script&gt;alert(&#39;diff&#39;)&lt;/script&gt;",
			"AI model training", "changed as of version 2", quoted,
			"/api/v1/diff?from=" + f.v1.ID + "&amp;to=" + f.v2.ID,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("document page lacks %q", want)
			}
		}
		if strings.Contains(body, hostileInDoc) {
			t.Errorf("the document's text reached the page as markup")
		}
		if m := inlineCode.FindString(body); m != "" {
			t.Errorf("document page has inline code the CSP blocks: %q", m)
		}
		// Newest first.
		if i, j := strings.Index(body, "Version 2"), strings.Index(body, "Version 1"); i > j {
			t.Errorf("version 2 is listed after version 1")
		}
	})

	t.Run("tracking-record", func(t *testing.T) {
		for _, r := range []*record.Record{f.v2, f.provision} {
			resp, body := pf.get(t, "/records/"+r.ID)
			checkPageHeaders(t, resp, "text/html; charset=utf-8")
			for _, want := range []string{r.ID, `href="/documents/` + f.doc + `"`, `data-bundle="/api/v1/records/` + r.ID + `/bundle"`, r.Kind} {
				if !strings.Contains(body, want) {
					t.Errorf("record page of %s lacks %q", r.Kind, want)
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		for _, path := range []string{"/documents/no-such-document", "/documents/Bad_ID", "/records/" + verify.RecordID([]byte("none"))} {
			resp, body := pf.get(t, path)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: status %d, want 404\n%s", path, resp.StatusCode, body)
			}
		}
	})
}

// TestTrackingPagesBrowser renders a document page and a version's record
// page in headless Chromium: the diff is marked up, and the version's
// bundle verifies in the browser.
func TestTrackingPagesBrowser(t *testing.T) {
	bin := rendertest.Chromium(t)
	f := newTrackFixture(t)
	dom := dumpDOM(t, bin, f.srv.URL+"/documents/"+f.doc)
	for _, want := range []string{"<del>consent</del>", "<ins>notice</ins>", "&lt;script&gt;alert('diff')&lt;/script&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("document page DOM lacks %q", want)
		}
	}
	for _, r := range []*record.Record{f.v2, f.provision} {
		t.Run(r.Kind, func(t *testing.T) {
			dom := dumpDOM(t, bin, f.srv.URL+"/records/"+r.ID)
			m := resultRE.FindStringSubmatch(dom)
			if m == nil || m[1] != "ok" {
				t.Fatalf("verify result %v; steps %v", m, panelSteps(dom))
			}
			if got := panelSteps(dom)["record-id"]; got[0] != "ok" {
				t.Errorf("record-id step %v", got)
			}
		})
	}
}
