package api

// The HTML pages of exhibit serve: the list of recent records with a search
// form (GET /), a record's citation page (GET /records/{id}; for a tracking
// record, its statement), the tracked documents (GET /documents, GET
// /documents/{id}, see tracking.go) and the static files they use (GET
// /static/{name}). Pages are rendered with html/template
// (contextual auto-escaping) from templates embedded in the binary, and read
// in full without JavaScript. The one script, /static/verify.js, adds a
// verification panel that re-checks the record in the reader's browser with
// WebCrypto (docs/FORMATS.md sections 4, 5 and 7), and a copy button.

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"github.com/exhibit-archive/exhibit/archive/render"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/memento"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

//go:embed web/*.html web/*.js web/*.css
var webFS embed.FS

// pageCSP is the Content-Security-Policy of every page and static file:
// scripts and styles from this origin only, no inline code, no plugins, no
// <base>, no framing.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// recentRecords is how many records GET / lists per page.
const recentRecords = 20

var pageTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	// maxShot is the screenshot's height bound (render.MaxScreenshotHeight).
	"maxShot": func() int { return render.MaxScreenshotHeight },
	"human": func(s string) string {
		t, err := verify.ParseTime(s)
		if err != nil {
			return s
		}
		return cite.HumanTime(t)
	},
	// redirection says how a record's document came from another URL
	// (cite.Redirection).
	"redirection": cite.Redirection,
	// pct turns a similarity in [0, 1] into a percentage.
	"pct": func(f float64) float64 { return f * 100 },
	// shown makes text from a document safe to display: control
	// characters other than newline and tab, and the text-direction marks
	// that could make it read otherwise (verify.IsControl), are written as
	// visible code points, e.g. ⟨U+202E⟩.
	"shown": shown,
}).ParseFS(webFS, "web/*.html"))

// staticTypes are the media types of the files under /static/.
var staticTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
}

// setPageHeaders sets the security headers every page and static file gets.
func setPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// renderPage executes the named template into a buffer first, so that a
// template error becomes a 500 rather than half a page.
func (s *server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.LogAttrs(r.Context(), slog.LevelError, "rendering page",
			slog.String("template", name), slog.Any("error", err))
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		buf.WriteString("internal error\n")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
	}
	setPageHeaders(w)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// errorPage is the data of error.html.
type errorPage struct {
	Status  int
	Title   string
	Message string
}

// failPage is fail for pages: the same mapping of errors to 400, 404 and
// 500, as an HTML page.
func (s *server) failPage(w http.ResponseWriter, r *http.Request, err error) {
	p := errorPage{Status: http.StatusInternalServerError, Title: "Internal error", Message: "The archive could not answer this request."}
	switch {
	case errors.Is(err, verify.ErrRecordID), errors.Is(err, store.ErrDigest), errors.Is(err, archive.ErrInput):
		p = errorPage{Status: http.StatusBadRequest, Title: "Bad request", Message: err.Error()}
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, track.ErrNoDocument), errors.Is(err, store.ErrNotFound), errors.Is(err, ledger.ErrNoCheckpoint):
		p = errorPage{Status: http.StatusNotFound, Title: "Not found", Message: err.Error()}
	default:
		if ue := s.unavailable(r, err); ue != nil {
			w.Header().Set("Retry-After", retryUnavailable)
			p = errorPage{Status: http.StatusServiceUnavailable, Title: "Service unavailable", Message: ue.Error() + "; try again later."}
			break
		}
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	s.renderPage(w, r, p.Status, "error.html", p)
}

// pageArtefact is a rendering artefact as record.html links it.
type pageArtefact struct {
	verify.NamedArtefact
	Href, Label string
}

// artefactLabels describe the rendering artefacts on the record page; an
// artefact without one is shown by its name.
var artefactLabels = map[string]string{
	"pdf":  "PDF of the rendering",
	"dom":  "DOM after scripts (HTML; downloaded, never rendered here)",
	"wacz": "Web archive (WACZ, replayable: open it in ReplayWeb.page)",
	"warc": "WARC of every HTTP exchange of the page, with the TLS certificate chain (WARC/1.1, gzip per record; replay it in ReplayWeb.page or pywb)",
}

// recordPage is the data of record.html.
type recordPage struct {
	C        *cite.Citation
	Observed *verify.Observation
	Claimed  *verify.Claim
	// Snapshot, Bundle and Proof are the API paths of the snapshot (empty
	// for a failed capture), the JSON bundle and the tlog-proof.
	Snapshot, Bundle, Proof string
	// Rendering is a browser capture's rendering block, Screenshot the API
	// path of its screenshot (empty when it has none), and Artefacts its
	// other artefacts, in the order of verify.ArtefactKinds, as links.
	Rendering  *verify.Rendering
	Screenshot string
	Artefacts  []pageArtefact
	// WaitOutcome and WaitRule word the rendering's wait
	// (cite.WaitOutcome, cite.WaitRule); SettledMeaning is
	// cite.SettledMeaning.
	WaitOutcome, WaitRule, SettledMeaning string
	// ArtefactArgs are exhibit verify's --artefact arguments for every
	// artefact of the rendering block, screenshot included, each file
	// named as an evidence package names it (verify.RenderingFile):
	// " --artefact screenshot=screenshot.png --artefact pdf=page.pdf …";
	// empty for a capture without one.
	ArtefactArgs string
	// VKeys are the log's keys, current first then earlier ones, space
	// separated: the page's verification panel accepts any of them.
	VKeys string
	// Corroborations are what other web archives held of the capture's
	// URL (corroboration records, see package memento).
	Corroborations []*record.Record
}

// vkeys returns the archive's verifier keys, current first, space
// separated (for the verification panel).
func (s *server) vkeys() string {
	var v []string
	for _, k := range s.a.Keys() {
		v = append(v, k.VKey)
	}
	return strings.Join(v, " ")
}

// recordHTML serves GET /records/{id}: the citation record of one record.
// A record ID in a non-canonical spelling is redirected to the canonical
// one.
func (s *server) recordHTML(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if canon != id {
		http.Redirect(w, r, "/records/"+canon, http.StatusMovedPermanently)
		return
	}
	rec, b, err := s.a.Prove(ctx, id, archive.ProveOptions{})
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	if rec.Statement.Capture == nil {
		s.trackingRecordHTML(w, r, rec)
		return
	}
	cp, _, err := s.a.Keys().OpenCheckpoint([]byte(b.Checkpoint))
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	c := cite.New(rec, cp, s.a.Key().VKey)
	s.setResponseHeaders(ctx, c, rec)
	p := recordPage{VKeys: s.vkeys(),
		C:        c,
		Observed: rec.Statement.Capture.Predicate.Observed,
		Claimed:  rec.Statement.Capture.Predicate.Claimed,
		Bundle:   "/api/v1/records/" + c.RecordID + "/bundle",
	}
	p.Proof = p.Bundle + "?format=tlog-proof"
	if p.Corroborations, err = memento.Of(ctx, s.a, c.RecordID); err != nil {
		s.failPage(w, r, err)
		return
	}
	if c.SHA256 != "" {
		p.Snapshot = "/api/v1/snapshots/sha256/" + c.SHA256
	}
	if rd := rec.Statement.Capture.Predicate.Rendering; rd != nil {
		p.Rendering = rd
		p.WaitOutcome, p.WaitRule, p.SettledMeaning = cite.WaitOutcome(&rec.Statement.Capture.Predicate), cite.WaitRule(rd.Wait), cite.SettledMeaning
		base := "/api/v1/records/" + c.RecordID + "/rendering/"
		for _, a := range rd.Artefacts() {
			p.ArtefactArgs += " --artefact " + a.Name + "=" + path.Base(verify.RenderingFile(a.Name))
			if a.Name == "screenshot" {
				p.Screenshot = base + a.Name
				continue
			}
			p.Artefacts = append(p.Artefacts, pageArtefact{NamedArtefact: a, Href: base + a.Name, Label: cmp.Or(artefactLabels[a.Name], a.Name)})
		}
	}
	s.renderPage(w, r, http.StatusOK, "record.html", p)
}

// indexPage is the data of index.html.
type indexPage struct {
	Query string
	// Field is what Query was matched against: "", "url", "sha256",
	// "entity" or "document".
	Field   string
	Records []*record.Record
	// Older is the link to the next page of older records; empty on the
	// last.
	Older string
}

// indexHTML serves GET /[?q=...][&before=N]: the newest records, or those
// matching q as archive.SearchText reads it (a SHA-256, a URL, an entity
// or a document title; exact matches). A q that starts with EXR and
// parses as a record ID redirects to its page.
func (s *server) indexHTML(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	sq := archive.SearchQuery{Limit: recentRecords}
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			s.renderPage(w, r, http.StatusBadRequest, "error.html", errorPage{
				Status: http.StatusBadRequest, Title: "Bad request", Message: "before=" + strconv.Quote(v) + ": want a positive integer"})
			return
		}
		sq.Before = n
	}
	p := indexPage{Query: q}
	// Only a q that starts with the prefix is taken for a record ID: a
	// title such as "Zoom Privacy Statement" has 20 Crockford letters too.
	if id, err := verify.ParseRecordID(q); err == nil && strings.HasPrefix(strings.ToUpper(q), "EXR") {
		http.Redirect(w, r, "/records/"+id, http.StatusSeeOther)
		return
	}
	recs, field, err := s.a.SearchText(ctx, q, sq)
	p.Field = field
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	p.Records = recs
	if len(recs) == sq.Limit && recs[len(recs)-1].Index > 0 {
		v := url.Values{"before": {strconv.FormatUint(recs[len(recs)-1].Index, 10)}}
		if q != "" {
			v.Set("q", q)
		}
		p.Older = "/?" + v.Encode()
	}
	s.renderPage(w, r, http.StatusOK, "index.html", p)
}

// static serves the embedded scripts and style sheets.
func (s *server) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	i := strings.LastIndexByte(name, '.')
	typ, ok := "", false
	if i >= 0 {
		typ, ok = staticTypes[name[i:]]
	}
	var b []byte
	var err error
	if ok && !strings.ContainsAny(name, "/\\") {
		b, err = fs.ReadFile(webFS, "web/"+name)
	}
	if !ok || err != nil {
		s.renderPage(w, r, http.StatusNotFound, "error.html", errorPage{
			Status: http.StatusNotFound, Title: "Not found", Message: "no such file"})
		return
	}
	setPageHeaders(w)
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// shown writes control characters (but newline and tab) and text-direction
// marks as visible code points.
func shown(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r != '\n' && r != '\t' && verify.IsControl(r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if r != '\n' && r != '\t' && verify.IsControl(r) {
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
