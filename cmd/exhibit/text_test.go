package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// rawServer serves one page with the given Content-Type, byte for byte.
type rawServer struct {
	mu          sync.Mutex
	contentType string
	body        string
}

func (s *rawServer) set(contentType, body string) {
	s.mu.Lock()
	s.contentType, s.body = contentType, body
	s.mu.Unlock()
}

func (s *rawServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", s.contentType)
	w.Write([]byte(s.body))
}

func history(t *testing.T, id string) *track.Document {
	t.Helper()
	r := exhibit(t, "history", id, "-o", "json")
	r.want(t, 0)
	var d track.Document
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

// TestTrackTextQuality follows the text-quality cases of issue 13 through
// the CLI: a UTF-8 page declaring nothing, a version differing only in
// link targets, a declaration edit that makes the next capture an
// upgrade, bytes lost in decoding said in history, exhibit text, the
// quote hint, and track add after an earlier capture of the same page.
func TestTrackTextQuality(t *testing.T) {
	inTemp(t)
	s := &rawServer{}
	pad := strings.Repeat("<!-- padding -->", 100)
	page := func(links, extra string) string {
		return `<!doctype html><html><head><title>Politique</title>` + pad + `</head><body><main>` +
			`<h1>Données “personnelles”</h1><p>Nous n’utilisons pas vos données &gt; 30 jours. ` + links + `</p>` + extra + `</main></body></html>`
	}
	s.set("text/html", page(`<a href="/cgu?date=2026-12-04">CGU</a> <a href="mailto:DPO@Example.fr">DPO</a>`, ""))
	srv := httptest.NewServer(s)
	defer srv.Close()

	// An earlier capture of the page, under the titles tracking uses.
	exhibit(t, "capture", srv.URL+"/p", "--entity", "Exemple", "--document", "Politique").want(t, 0)
	exhibit(t, "track", "add", srv.URL+"/p", "--entity", "Exemple", "--document", "Politique", "--every", "1h").
		want(t, 0, "tracking exemple-politique", "the next track run starts from an earlier capture of this URL")
	exhibit(t, "track", "run", "--once").want(t, 0, "(an earlier capture, ", "version 1 (first)")
	d := history(t, "exemple-politique")
	v1 := d.Versions[0]
	if dec := v1.Decoding; dec == nil || dec.Charset != "utf-8" || dec.From != verify.DecodedFromUTF8 || dec.Replaced != 0 {
		t.Errorf("decoding %+v, want utf-8 from the bytes", dec)
	}
	r := exhibit(t, "text", v1.RecordID)
	r.want(t, 0, "# Données “personnelles”", "Nous n’utilisons pas vos données > 30 jours.", "]("+srv.URL+"/cgu)", "(mailto:dpo@example.fr)")
	exhibit(t, "text", v1.RecordID, "-o", "json").want(t, 0, `"decoding": {`, `"charset": "utf-8"`, `"text": "# Données`)
	exhibit(t, "text", v1.Snapshot.RecordID).want(t, 2, "not a version record")
	exhibit(t, "quote", v1.RecordID, "--exact", "vos données &gt; 30").want(t, 2, "exhibit text "+v1.RecordID)
	exhibit(t, "quote", v1.RecordID, "--exact", "pas vos donne\u0301es > 30 jours").want(t, 0, "provision EXR-") // NFD, as some systems copy it

	// Only a link target changes: a version of its own kind, no change.
	s.set("text/html", page(`<a href="/cgu-2027">CGU</a> <a href="mailto:dpo@example.fr">DPO</a>`, ""))
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 2 (links)")
	exhibit(t, "history", "exemple-politique").want(t, 0, "2 versions, 0 changes", "v2   links")
	exhibit(t, "changes", "--since", "1h").want(t, 0, "0 changes since")

	// A declaration edit: the next capture of the same page is an
	// upgrade, not a change of the document.
	exhibit(t, "track", "edit", "exemple-politique", "--remove", "h1").want(t, 0, "declaration revision 2")
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 3 (upgrade)")
	exhibit(t, "changes", "--since", "1h").want(t, 0, "0 changes since")

	// Declared UTF-8, but two bytes are not: a change whose lost bytes
	// history says.
	s.set("text/html; charset=utf-8", strings.Replace(page(`<a href="/cgu-2027">CGU</a>`, "<p>Fin \xe9t\xe9.</p>"), "“personnelles”", "personnelles", 1))
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 4 (change)")
	d = history(t, "exemple-politique")
	if dec := d.Versions[3].Decoding; dec == nil || dec.Replaced != 2 || dec.From != verify.DecodedFromHeader {
		t.Errorf("decoding %+v, want 2 replaced, from the header", dec)
	}
	exhibit(t, "history", "exemple-politique").want(t, 0, "WARNING: 2 byte sequences not valid utf-8", "4 versions, 1 change")
	exhibit(t, "prove", d.Versions[3].RecordID, "-o", "v4.json").want(t, 0)
	exhibit(t, "verify", "v4.json").want(t, 0, "version 4 (change)")
	exhibit(t, "audit").want(t, 0)
}

// TestTrackRanges declares a document by an Open Terms Archive range
// selector and a :has(> ...) selector.
func TestTrackRanges(t *testing.T) {
	inTemp(t)
	s := &rawServer{}
	s.set("text/html; charset=utf-8", `<html><body><main><h1>Terms</h1><p>Intro.</p><h2 id="ai">AI</h2><p>We do not train on your data.</p>
<h2 id="law">Law</h2><p>French law.</p></main><section><h3>Cookies</h3><p>Cookie text.</p></section></body></html>`)
	srv := httptest.NewServer(s)
	defer srv.Close()
	exhibit(t, "track", "add", srv.URL, "--entity", "X", "--document", "T", "--select-range", `{"startBefore":"#ai"}`).
		want(t, 2, "one of endBefore and endAfter")
	exhibit(t, "track", "add", srv.URL, "--entity", "X", "--document", "T", "--select-range", `{"startBefore":"#ai","endBefore":"#law","x":1}`).
		want(t, 2, "unknown field")
	exhibit(t, "track", "add", srv.URL, "--entity", "X", "--document", "T", "--select", "section:has(+ p)").
		want(t, 2, "not supported")
	exhibit(t, "track", "add", srv.URL, "--entity", "X", "--document", "T",
		"--select-range", `{"startBefore":"#ai","endBefore":"#law"}`, "--select", "section:has(> h3)").want(t, 0, "tracking x-t")
	exhibit(t, "track", "run", "--once").want(t, 0, "version 1 (first)")
	d := history(t, "x-t")
	if len(d.SelectRanges) != 1 || d.SelectRanges[0].StartBefore != "#ai" {
		t.Errorf("select ranges %+v", d.SelectRanges)
	}
	exhibit(t, "text", d.Versions[0].RecordID).want(t, 0, "## AI\n\nWe do not train on your data.\n\n### Cookies\n\nCookie text.\n")
	r := exhibit(t, "text", d.Versions[0].RecordID)
	if strings.Contains(r.stdout, "Intro.") || strings.Contains(r.stdout, "French law.") {
		t.Errorf("text outside the range:\n%s", r.stdout)
	}
	exhibit(t, "track", "edit", "x-t", "--no-select", "--select-range", `{"startAfter":"#ai","endAfter":"#law"}`).want(t, 2, "--no-select goes without")
	exhibit(t, "track", "edit", "x-t", "--select-range", `{"startAfter":"#ai","endAfter":"#law"}`).want(t, 0, "declaration revision 2")
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 2 (upgrade)")
	exhibit(t, "audit").want(t, 0)
}

// TestReextractRedesign: a redesigned page the old selectors do not match
// holds new words; after the declaration edit, reextract records them as a
// change, not as a technical upgrade.
func TestReextractRedesign(t *testing.T) {
	inTemp(t)
	s := &rawServer{}
	s.set("text/html; charset=utf-8", `<html><body><div id="content"><p>We do not sell your personal data.</p></div></body></html>`)
	srv := httptest.NewServer(s)
	defer srv.Close()
	exhibit(t, "track", "add", srv.URL, "--entity", "R", "--document", "D", "--select", "#content").want(t, 0)
	exhibit(t, "track", "run", "--once").want(t, 0, "version 1 (first)")
	s.set("text/html; charset=utf-8", `<html><body><main id="main"><p>We may sell your personal data to advertisers.</p></main></body></html>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 1, "no_match")
	exhibit(t, "track", "edit", "r-d", "--select", "#main").want(t, 0)
	exhibit(t, "reextract", "r-d").want(t, 0, "recorded version 2 (change)")
	exhibit(t, "changes", "--since", "1h").want(t, 0, "1 change since")
	// An edit that reads the same text records nothing; one that reads
	// none is a failed extraction, and the version stays.
	exhibit(t, "track", "edit", "r-d", "--select", "main#main p").want(t, 0)
	exhibit(t, "reextract", "r-d").want(t, 0, "nothing recorded")
	exhibit(t, "track", "edit", "r-d", "--select", "main#main", "--remove", "p").want(t, 0)
	exhibit(t, "track", "run", "--once", "--all").want(t, 1, "no_text")
}
