package track_test

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// pages serves HTML pages that a test changes between captures.
type pages struct {
	mu   sync.Mutex
	body map[string]string
}

func (p *pages) set(path, main string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body[path] = "<html><body><main>" + main + "</main></body></html>"
}

func (p *pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	b, ok := p.body[r.URL.Path]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(b))
}

// span returns the code point span of the n-th occurrence (from 0) of s
// in text, or fails.
func span(t *testing.T, text, s string, n int) *verify.TextPositionSelector {
	t.Helper()
	off := 0
	for range n + 1 {
		i := strings.Index(text[off:], s)
		if i < 0 {
			t.Fatalf("%q is not %d times in %q", s, n+1, text)
		}
		off += i + len(s)
	}
	start := utf8.RuneCountInString(text[:off-len(s)])
	return &verify.TextPositionSelector{Type: "TextPositionSelector", Start: start, End: start + utf8.RuneCountInString(s)}
}

// TestTrackFollowsProvisions tracks a document whose quoted clauses are
// edited, deleted and shifted while like sentences stand elsewhere, and
// checks that each provision's status follows its own passage: a clause
// changed in its paragraph is changed there even though the same sentence
// stands in another; a clause deleted is removed though a similar one
// (there before) stands elsewhere, which is named as a note; clauses after
// inserted text (emoji and accents before them) are present at their new
// code point offsets; of a repeated sentence, the provision on the second
// is present where the second stands once the first is deleted. A second
// document whose earlier text is missing from the store falls back on the
// prefix given. Every status verifies.
func TestTrackFollowsProvisions(t *testing.T) {
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	web := &pages{body: map[string]string{}}
	srv := httptest.NewServer(web)
	defer srv.Close()
	for _, id := range []string{"terms", "logs"} {
		if _, err := tr.Declare(ctx, track.Declaration{ID: id, Entity: "Acme", Document: id, URL: srv.URL + "/" + id, Select: []string{"main"}}); err != nil {
			t.Fatal(err)
		}
	}
	capture := func(id string) (*track.TrackResult, string) {
		t.Helper()
		res, err := tr.Capture(ctx, id, ingest.CaptureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Version == nil {
			t.Fatalf("%s: %s, want a version", id, res.Result)
		}
		_, text, err := tr.VersionText(ctx, res.Version.ID)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(text)
	}
	quote := func(version string, o track.QuoteOptions) *record.Record {
		t.Helper()
		p, _, err := tr.Quote(ctx, version, o)
		if err != nil {
			t.Fatalf("Quote %q: %v", o.Exact, err)
		}
		return p
	}
	// status returns the status res made for provision p.
	status := func(res *track.TrackResult, p *record.Record) *verify.ProvisionStatus {
		t.Helper()
		for _, s := range res.Statuses {
			if ps := &s.Statement.ProvisionStatus.Predicate; ps.Provision == p.ID {
				checkTrackRecord(t, ctx, a, s.ID, nil)
				return ps
			}
		}
		t.Fatalf("no status for %s", p.ID)
		return nil
	}
	present := func(what string, ps *verify.ProvisionStatus, want *verify.TextPositionSelector) {
		t.Helper()
		if ps.Status != verify.ProvisionPresent || ps.Position == nil || *ps.Position != *want || ps.Elsewhere != nil {
			t.Errorf("%s: %+v at %+v, want present at %+v", what, ps, ps.Position, want)
		}
	}

	const logs = "We keep logs for 30 days."
	const sharing = "We share data with partners for advertising."
	const processors = "We share data with processors for hosting."
	const french = "Nous ne vendons pas vos données 🔒."
	web.set("/terms", "<h1>Terms</h1><p>"+logs+" Logs help us fix bugs.</p><h2>Retention</h2><p>Backups are kept apart. "+logs+
		" Nothing else is kept.</p><h2>Sharing</h2><p>"+sharing+"</p><p>"+processors+"</p><p>Café ☕ : "+french+"</p>")
	v1, text1 := capture("terms")
	retention := quote(v1.Version.ID, track.QuoteOptions{Exact: logs, Prefix: "apart. ", Label: "retention"})
	partners := quote(v1.Version.ID, track.QuoteOptions{Exact: sharing, Label: "partners"})
	kept := quote(v1.Version.ID, track.QuoteOptions{Exact: "Nothing else is kept.", Label: "kept"})
	données := quote(v1.Version.ID, track.QuoteOptions{Exact: french, Label: "données"})
	if p := retention.Statement.Provision.Predicate.Position; p != *span(t, text1, logs, 1) {
		t.Fatalf("quoted at %+v, want the second occurrence", p)
	}

	// Version 2: the retention clause edited in its paragraph, the
	// partners paragraph deleted, a paragraph with emoji inserted first.
	web.set("/terms", "<h1>Terms</h1><p>New: café ☕☕, thé 🫖 et 🍪🍪.</p><p>"+logs+" Logs help us fix bugs.</p><h2>Retention</h2><p>Backups are kept apart. We keep logs for 90 days."+
		" Nothing else is kept.</p><h2>Sharing</h2><p>"+processors+"</p><p>Café ☕ : "+french+"</p>")
	v2, text2 := capture("terms")
	if ps := status(v2, retention); ps.Status != verify.ProvisionChanged || ps.Closest != "We keep logs for 90 days." || *ps.Position != *span(t, text2, ps.Closest, 0) {
		t.Errorf("retention clause edited beside an identical sentence: %+v, want changed in its paragraph", ps)
	}
	if ps := status(v2, partners); ps.Status != verify.ProvisionRemoved || ps.Position != nil || ps.Closest != "" || ps.Elsewhere == nil ||
		ps.Elsewhere.Position != *span(t, text2, processors, 0) || ps.Elsewhere.Similarity < 0.5 {
		t.Errorf("partners clause deleted beside a similar sentence: %+v (elsewhere %+v), want removed with the other named", ps, ps.Elsewhere)
	}
	present("kept, after inserted text", status(v2, kept), span(t, text2, "Nothing else is kept.", 0))
	present("données, after emoji", status(v2, données), span(t, text2, french, 0))

	// Version 3: the first "We keep logs" paragraph deleted, the retention
	// clause back to 30 days: present at the one left, in its paragraph.
	web.set("/terms", "<h1>Terms</h1><p>New: café ☕☕, thé 🫖 et 🍪🍪.</p><h2>Retention</h2><p>Backups are kept apart. "+logs+
		" Nothing else is kept.</p><h2>Sharing</h2><p>"+processors+"</p><p>Café ☕ : "+french+"</p>")
	v3, text3 := capture("terms")
	present("retention, the first of two deleted", status(v3, retention), span(t, text3, logs, 0))
	if ps := status(v3, partners); ps.Status != verify.ProvisionRemoved || ps.Elsewhere == nil || ps.Elsewhere.Position != *span(t, text3, processors, 0) {
		t.Errorf("partners clause in version 3: %+v", ps)
	}
	present("données in version 3", status(v3, données), span(t, text3, french, 0))

	// Quoting version 1 now follows the clause through versions 2 and 3,
	// each from the one before.
	p, statuses, err := tr.Quote(ctx, v1.Version.ID, track.QuoteOptions{Exact: "Logs help us fix bugs."})
	if err != nil || len(statuses) != 2 {
		t.Fatalf("Quote of version 1: %v, %d statuses", err, len(statuses))
	}
	if ps := &statuses[0].Statement.ProvisionStatus.Predicate; ps.Provision != p.ID || ps.Version != v2.Version.ID {
		t.Errorf("first status %+v, want version 2's", ps)
	} else {
		present("a later quote, in version 2", ps, span(t, text2, "Logs help us fix bugs.", 0))
	}
	if ps := &statuses[1].Statement.ProvisionStatus.Predicate; ps.Version != v3.Version.ID || ps.Status != verify.ProvisionRemoved {
		t.Errorf("second status %+v, want removed in version 3", ps)
	}

	// The document's history folds the notes.
	doc, err := tr.Document(ctx, "terms")
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range doc.Provisions {
		if pi.RecordID != partners.ID {
			continue
		}
		if len(pi.History) != 2 || pi.History[0].Elsewhere == nil || pi.Status != verify.ProvisionRemoved {
			t.Errorf("partners history %+v", pi.History)
		}
	}

	// A document whose earlier text is gone from the store: the prefix
	// given tells the clause from the identical sentence before it.
	web.set("/logs", "<p>Intro here. "+logs+" More text.</p><h2>Retention</h2><p>Backups are kept apart. "+logs+" Nothing else.</p>")
	l1, _ := capture("logs")
	lp := quote(l1.Version.ID, track.QuoteOptions{Exact: logs, Prefix: "apart. "})
	archivetest.AuditOK(t, a) // (not after: a text will be missing)
	removeObject(t, a, l1.Version.Statement.Version.Predicate.Text.SHA256)
	web.set("/logs", "<p>Intro here. "+logs+" More text.</p><h2>Retention</h2><p>Backups are kept apart. We keep logs for 90 days. Nothing else.</p>")
	l2, ltext := capture("logs")
	if ps := status(l2, lp); ps.Status != verify.ProvisionChanged || *ps.Position != *span(t, ltext, "We keep logs for 90 days.", 0) {
		t.Errorf("without the earlier text: %+v, want changed at the Retention paragraph", ps)
	}
}

// removeObject deletes a stored object from the archive's file store, as
// an archive whose texts were lost would be.
func removeObject(t *testing.T, a *archive.Archive, digest string) {
	t.Helper()
	found := false
	err := filepath.WalkDir(a.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == digest {
			found = true
			return os.Remove(p)
		}
		return err
	})
	if err != nil || !found {
		t.Fatalf("removing %s: %v (found %v)", digest, err, found)
	}
	if _, err := a.Store().Stat(context.Background(), digest); err == nil {
		t.Fatalf("%s still stored", digest)
	}
}
