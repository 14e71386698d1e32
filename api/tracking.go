package api

// Tracked documents over HTTP: their state, versions, texts, word diffs and
// changes as JSON, a change feed in Atom (RFC 4287,
// https://www.rfc-editor.org/rfc/rfc4287) and their pages.
//
//	GET /api/v1/documents                          {"documents": [DocumentSummary...]}
//	GET /api/v1/documents/{id}                     track.Document
//	GET /api/v1/documents/{id}/versions            {"document_id", "versions": [...]}, oldest first
//	GET /api/v1/versions/{record_id}/text          the version's text, text/markdown
//	GET /api/v1/diff?from=V1&to=V2                 {"document_id", "from", "to", "summary", "chunks"}
//	GET /api/v1/changes[?since=30d|RFC3339][&entity=E]  {"since", "changes": [...]}, newest first
//	GET /feeds/changes.atom                        the changes of the last 90 days
//	GET /documents, GET /documents/{id}            HTML pages
//
// Every text served is the one a logged version statement signs: the
// archive checks its SHA-256 against the statement before it is returned.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/textdiff"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

const (
	// recentWindow is the period of "changes in the last 30 days" and the
	// default since= of GET /api/v1/changes.
	recentWindow = 30 * 24 * time.Hour
	// feedWindow is the period the Atom feed covers.
	feedWindow = 90 * 24 * time.Hour
	// diffContextLines is the lines of unchanged text shown around each
	// change on a document page.
	diffContextLines = 2
)

// trackingRoutes registers the routes of tracked documents.
func (s *server) trackingRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/documents", s.documents)
	mux.HandleFunc("GET /api/v1/documents/{id}", s.document)
	mux.HandleFunc("GET /api/v1/documents/{id}/versions", s.versions)
	mux.HandleFunc("GET /api/v1/versions/{id}/text", s.versionText)
	mux.HandleFunc("GET /api/v1/diff", s.diff)
	mux.HandleFunc("GET /api/v1/changes", s.changes)
	mux.HandleFunc("GET /feeds/changes.atom", s.changesFeed)
	mux.HandleFunc("GET /documents", s.documentsHTML)
	mux.HandleFunc("GET /documents/{id}", s.documentHTML)
}

// DocumentSummary is one document in GET /api/v1/documents.
type DocumentSummary struct {
	ID           string `json:"id"`
	Entity       string `json:"entity"`
	Document     string `json:"document"`
	URL          string `json:"url"`
	FirstTracked string `json:"first_tracked"`
	LastVerified string `json:"last_verified,omitempty"`
	LastCapture  string `json:"last_capture,omitempty"`
	// Current is the current version; absent before the first.
	Current *VersionSummary `json:"current,omitempty"`
	// Versions is the number of versions; RecentChanges the versions of
	// kind "change" captured in the last 30 days.
	Versions      int `json:"versions"`
	RecentChanges int `json:"changes_last_30_days"`
	// API and Page are the paths of the document's JSON and HTML page.
	API  string `json:"api"`
	Page string `json:"page"`
}

// VersionSummary names a version.
type VersionSummary struct {
	RecordID string `json:"record_id"`
	Number   int    `json:"number"`
	Kind     string `json:"kind"`
	// CapturedAt is when the snapshot the version was extracted from was
	// captured; LastVerified when a snapshot last showed its text.
	CapturedAt   string      `json:"captured_at"`
	LastVerified string      `json:"last_verified"`
	Text         verify.Text `json:"text"`
	// TextPath is the API path of its text.
	TextPath string `json:"text_path"`
}

func summarizeVersion(v *track.VersionInfo) *VersionSummary {
	if v == nil {
		return nil
	}
	return &VersionSummary{RecordID: v.RecordID, Number: v.Number, Kind: v.Kind,
		CapturedAt: v.Snapshot.CapturedAt, LastVerified: v.LastVerified, Text: v.Text,
		TextPath: "/api/v1/versions/" + v.RecordID + "/text"}
}

// recentChanges counts a document's versions of kind "change" captured at
// or after since.
func recentChanges(d *track.Document, since time.Time) int {
	n := 0
	for _, v := range d.Versions {
		if v.Kind != verify.VersionChange {
			continue
		}
		if t, err := verify.ParseTime(v.Snapshot.CapturedAt); err == nil && !t.Before(since) {
			n++
		}
	}
	return n
}

func (s *server) documents(w http.ResponseWriter, r *http.Request) {
	docs, err := s.tr.Documents(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	since := time.Now().Add(-recentWindow)
	out := struct {
		Documents []DocumentSummary `json:"documents"`
	}{Documents: []DocumentSummary{}}
	for _, d := range docs {
		out.Documents = append(out.Documents, DocumentSummary{
			ID: d.ID, Entity: d.Entity, Document: d.Document, URL: d.URL,
			FirstTracked: d.FirstTracked, LastVerified: d.LastVerified, LastCapture: d.LastCapture,
			Current: summarizeVersion(d.Current), Versions: len(d.Versions), RecentChanges: recentChanges(d, since),
			API: "/api/v1/documents/" + d.ID, Page: "/documents/" + d.ID,
		})
	}
	writeJSON(w, out)
}

// lookupDocument returns the document the request's {id} names; on failure
// it has written the error.
func (s *server) lookupDocument(w http.ResponseWriter, r *http.Request) (*track.Document, bool) {
	id := r.PathValue("id")
	if err := verify.CheckDocumentID(id); err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s: %s", track.ErrNoDocument, err))
		return nil, false
	}
	d, err := s.tr.Document(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return d, true
}

func (s *server) document(w http.ResponseWriter, r *http.Request) {
	if d, ok := s.lookupDocument(w, r); ok {
		if d.Versions == nil {
			d.Versions = []*track.VersionInfo{}
		}
		writeJSON(w, d)
	}
}

func (s *server) versions(w http.ResponseWriter, r *http.Request) {
	d, ok := s.lookupDocument(w, r)
	if !ok {
		return
	}
	out := struct {
		Document string               `json:"document_id"`
		Versions []*track.VersionInfo `json:"versions"`
	}{d.ID, d.Versions}
	if out.Versions == nil {
		out.Versions = []*track.VersionInfo{}
	}
	writeJSON(w, out)
}

// version returns a version record and its text, checked against the
// digest the version signs.
func (s *server) version(r *http.Request, id string) (*record.Record, []byte, error) {
	return s.tr.VersionText(r.Context(), id)
}

// versionText serves a version's text. Its bytes never change (the version
// signs their SHA-256, the ETag), so it is cached as immutable.
func (s *server) versionText(w http.ResponseWriter, r *http.Request) {
	v, text, err := s.version(r, r.PathValue("id"))
	if errors.Is(err, track.ErrNotVersion) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", v.Statement.Version.Predicate.Text.MediaType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Cache-Control", cacheImmutable)
	h.Set("ETag", `"`+v.Statement.Version.Predicate.Text.SHA256+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(text))
}

// DiffVersion names one side of a diff.
type DiffVersion struct {
	RecordID   string `json:"record_id"`
	Number     int    `json:"number"`
	Kind       string `json:"kind"`
	CapturedAt string `json:"captured_at"`
	SHA256     string `json:"sha256"`
}

// Diff is the body of GET /api/v1/diff: the word diff of version From
// (older) to version To. Concatenating the equal and delete chunks gives
// From's text; the equal and insert chunks give To's.
type Diff struct {
	Document string           `json:"document_id"`
	From     DiffVersion      `json:"from"`
	To       DiffVersion      `json:"to"`
	Summary  string           `json:"summary"`
	Inserted int              `json:"inserted_words"`
	Deleted  int              `json:"deleted_words"`
	Chunks   []textdiff.Chunk `json:"chunks"`
}

func diffVersion(v *record.Record) DiffVersion {
	p := &v.Statement.Version.Predicate
	return DiffVersion{RecordID: v.ID, Number: p.Number, Kind: p.Kind, CapturedAt: p.Snapshot.CapturedAt, SHA256: p.Text.SHA256}
}

func (s *server) diff(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var recs [2]*record.Record
	var texts [2][]byte
	for i, name := range []string{"from", "to"} {
		id := q.Get(name)
		if id == "" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("missing query parameter %q (a version record ID)", name))
			return
		}
		v, text, err := s.version(r, id)
		if errors.Is(err, track.ErrNotVersion) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%s: %v", name, id, err))
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		recs[i], texts[i] = v, text
	}
	if recs[0].DocumentID != recs[1].DocumentID {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("from is a version of %s, to of %s: both must be versions of the same document", recs[0].DocumentID, recs[1].DocumentID))
		return
	}
	chunks, err := s.diffs.words(r.Context(), recs[0], recs[1], texts[0], texts[1])
	if errors.Is(err, textdiff.ErrTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error()+": fetch both texts from /api/v1/versions/{id}/text")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ins, del := textdiff.Stats(chunks)
	writeJSON(w, Diff{Document: recs[0].DocumentID, From: diffVersion(recs[0]), To: diffVersion(recs[1]),
		Summary: textdiff.Summary(chunks), Inserted: ins, Deleted: del, Chunks: chunks})
}

// parseSince reads a since= value (see track.ParseSince); empty means
// def before now.
func parseSince(v string, now time.Time, def time.Duration) (time.Time, error) {
	if v == "" {
		return now.Add(-def), nil
	}
	t, err := track.ParseSince(v, now)
	if err != nil {
		return time.Time{}, fmt.Errorf("since=%w", err)
	}
	return t, nil
}

// ChangeInfo is one change in GET /api/v1/changes.
type ChangeInfo struct {
	*track.Change
	// Summary counts the words the change inserted and deleted.
	Summary string `json:"summary"`
	// Diff, Text and Page are the paths of the change's diff against the
	// previous version, its text and the document's page.
	Diff string `json:"diff"`
	Text string `json:"text"`
	Page string `json:"page"`
}

// changeInfos adds to each change its diff summary and links.
func (s *server) changeInfos(r *http.Request, changes []*track.Change) ([]ChangeInfo, error) {
	out := make([]ChangeInfo, 0, len(changes))
	for _, c := range changes {
		summary, err := s.diffs.summary(r, s, c.Previous, c.Version)
		if err != nil {
			return nil, err
		}
		out = append(out, ChangeInfo{Change: c,
			Summary: summary,
			Diff:    "/api/v1/diff?from=" + c.Previous + "&to=" + c.Version,
			Text:    "/api/v1/versions/" + c.Version + "/text",
			Page:    "/documents/" + c.Document,
		})
	}
	return out, nil
}

func (s *server) changes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"), time.Now(), recentWindow)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	cs, err := s.tr.Changes(r.Context(), since, q.Get("entity"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	infos, err := s.changeInfos(r, cs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, struct {
		Since   string       `json:"since"`
		Changes []ChangeInfo `json:"changes"`
	}{verify.FormatTime(since), infos})
}

// Atom (RFC 4287) elements of the change feed.
type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Subtitle  string      `xml:"subtitle,omitempty"`
	Updated   string      `xml:"updated"`
	Author    atomPerson  `xml:"author"`
	Generator string      `xml:"generator"`
	Links     []atomLink  `xml:"link"`
	Entries   []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string     `xml:"id"`
	Title   string     `xml:"title"`
	Updated string     `xml:"updated"`
	Links   []atomLink `xml:"link"`
	Summary string     `xml:"summary"`
}

// changesFeed serves GET /feeds/changes.atom: one entry per change captured
// in the last 90 days, newest first. Its ID is a URN derived from the log's
// origin (not its key, which may rotate), each entry's from the version's
// record ID, so both are stable wherever the archive is served; links are
// relative to the feed.
func (s *server) changesFeed(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	cs, err := s.tr.Changes(r.Context(), now.Add(-feedWindow), "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	infos, err := s.changeInfos(r, cs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := sha256.Sum256([]byte(s.a.Config().Origin)) // stable across key rotations
	f := atomFeed{
		ID:        "urn:exhibit:feed:" + hex.EncodeToString(key[:16]) + ":changes",
		Title:     "Changes to tracked documents",
		Subtitle:  "Each change is a logged version statement; its record page links the evidence bundle.",
		Updated:   verify.FormatTime(now),
		Author:    atomPerson{Name: "exhibit"},
		Generator: "exhibit",
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: "/feeds/changes.atom"},
			{Rel: "alternate", Type: "text/html", Href: "/documents"},
		},
	}
	if len(infos) > 0 {
		f.Updated = infos[0].CapturedAt
	}
	for _, c := range infos {
		f.Entries = append(f.Entries, atomEntry{
			ID:      "urn:exhibit:record:" + c.Version,
			Title:   c.Entity + " " + c.Title + " changed",
			Updated: c.CapturedAt,
			Links: []atomLink{
				{Rel: "alternate", Type: "text/html", Href: c.Page},
				{Rel: "related", Type: "text/html", Href: "/records/" + c.Version},
			},
			Summary: fmt.Sprintf("%s (version %d, record %s)", c.Summary, c.Number, c.Version),
		})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		s.fail(w, r, err)
		return
	}
	buf.WriteByte('\n')
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// The pages.

// documentsPage is the data of documents.html.
type documentsPage struct {
	Documents []DocumentSummary
}

func (s *server) documentsHTML(w http.ResponseWriter, r *http.Request) {
	docs, err := s.tr.Documents(r.Context())
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	since := time.Now().Add(-recentWindow)
	p := documentsPage{}
	for _, d := range docs {
		p.Documents = append(p.Documents, DocumentSummary{
			ID: d.ID, Entity: d.Entity, Document: d.Document, URL: d.URL,
			FirstTracked: d.FirstTracked, LastVerified: d.LastVerified, LastCapture: d.LastCapture,
			Current: summarizeVersion(d.Current), Versions: len(d.Versions), RecentChanges: recentChanges(d, since),
		})
	}
	s.renderPage(w, r, http.StatusOK, "documents.html", p)
}

// documentPage is the data of document.html.
type documentPage struct {
	D *track.Document
	// Recent is the changes in the last 30 days.
	Recent int
	// Timeline is the versions, newest first.
	Timeline []timelineVersion
	// Numbers maps a version's record ID to its number.
	Numbers map[string]int
	// Analyses maps a provision's record ID to its current analysis.
	Analyses map[string]*track.AnalysisInfo
}

// timelineVersion is a version on a document page, with its diff against
// the version before it.
type timelineVersion struct {
	V         *track.VersionInfo
	Previous  *track.VersionInfo
	Diff      []textdiff.Chunk
	Summary   string
	TextPath  string
	DiffPath  string
	Confirmed int
}

// documentHTML serves GET /documents/{id}: the document's timeline, each
// change with its word diff, and its provisions.
func (s *server) documentHTML(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := verify.CheckDocumentID(id); err != nil {
		s.failPage(w, r, fmt.Errorf("%w: %s", track.ErrNoDocument, err))
		return
	}
	d, err := s.tr.Document(r.Context(), id)
	if err != nil {
		s.failPage(w, r, err)
		return
	}
	p := documentPage{D: d, Recent: recentChanges(d, time.Now().Add(-recentWindow)), Numbers: map[string]int{}}
	if p.Analyses, err = s.tr.CurrentAnalysesOf(r.Context(), d); err != nil {
		s.failPage(w, r, err)
		return
	}
	var prevText []byte
	var prev *track.VersionInfo
	var prevRec *record.Record
	for _, v := range d.Versions {
		p.Numbers[v.RecordID] = v.Number
		vr, text, err := s.version(r, v.RecordID)
		if err != nil {
			s.failPage(w, r, err)
			return
		}
		tv := timelineVersion{V: v, Previous: prev, TextPath: "/api/v1/versions/" + v.RecordID + "/text", Confirmed: len(v.Confirmations)}
		if prev != nil {
			tv.DiffPath = "/api/v1/diff?from=" + prev.RecordID + "&to=" + v.RecordID
			chunks, err := s.diffs.words(r.Context(), prevRec, vr, prevText, text)
			switch {
			case errors.Is(err, textdiff.ErrTooLarge):
				tv.Summary = "texts too large to compare here"
			case err != nil:
				s.failPage(w, r, err)
				return
			default:
				tv.Summary = textdiff.Summary(chunks)
				tv.Diff = textdiff.Elide(chunks, diffContextLines)
			}
		}
		p.Timeline = append(p.Timeline, tv)
		prev, prevRec, prevText = v, vr, text
	}
	sort.SliceStable(p.Timeline, func(i, j int) bool { return p.Timeline[i].V.Number > p.Timeline[j].V.Number })
	s.renderPage(w, r, http.StatusOK, "document.html", p)
}

// trackingRecordPage is the data of tracking.html.
type trackingRecordPage struct {
	T *record.Record
	E *verify.Entry
	// Statement is the statement, indented JSON.
	Statement string
	// VKey is the log's current key; VKeys all its keys (see recordPage).
	VKey, VKeys string
	Bundle      string
	Proof       string
}

// trackingRecordHTML serves the page of a tracking record.
func (s *server) trackingRecordHTML(w http.ResponseWriter, r *http.Request, t *record.Record) {
	st := verify.IndentStatement(t.Payload)
	p := trackingRecordPage{T: t, E: t.Statement, Statement: string(st), VKey: s.a.Key().VKey, VKeys: s.vkeys(),
		Bundle: "/api/v1/records/" + t.ID + "/bundle"}
	p.Proof = p.Bundle + "?format=tlog-proof"
	s.renderPage(w, r, http.StatusOK, "tracking.html", p)
}

// differ computes word diffs of version texts for the API and the pages,
// at most two at a time (a diff's memory grows with the texts), and keeps
// recent results: versions never change, so a diff of two of them never
// does either. The cache holds at most cacheBytes of chunk text and is
// emptied when full.
type differ struct {
	sem chan struct{}

	mu    sync.Mutex
	cache map[[2]string]diffEntry
	bytes int
}

type diffEntry struct {
	chunks  []textdiff.Chunk
	summary string
	err     error
}

const diffCacheBytes = 64 << 20

func newDiffer() *differ {
	return &differ{sem: make(chan struct{}, 2), cache: map[[2]string]diffEntry{}}
}

// words returns the word diff of two versions' texts, or an error wrapping
// textdiff.ErrTooLarge.
func (d *differ) words(ctx context.Context, from, to *record.Record, a, b []byte) ([]textdiff.Chunk, error) {
	e, err := d.get(ctx, from.ID, to.ID, func() ([]byte, []byte, error) { return a, b, nil })
	if err != nil {
		return nil, err
	}
	return e.chunks, e.err
}

// summary returns a diff's one-line summary, reading the texts only when
// it is not cached.
func (d *differ) summary(r *http.Request, s *server, from, to string) (string, error) {
	e, err := d.get(r.Context(), from, to, func() ([]byte, []byte, error) {
		_, a, err := s.version(r, from)
		if err != nil {
			return nil, nil, err
		}
		_, b, err := s.version(r, to)
		return a, b, err
	})
	if err != nil {
		return "", err
	}
	if errors.Is(e.err, textdiff.ErrTooLarge) {
		return "texts too large to compare here", nil
	}
	return e.summary, e.err
}

func (d *differ) get(ctx context.Context, from, to string, texts func() ([]byte, []byte, error)) (diffEntry, error) {
	key := [2]string{from, to}
	d.mu.Lock()
	e, ok := d.cache[key]
	d.mu.Unlock()
	if ok {
		return e, nil
	}
	a, b, err := texts()
	if err != nil {
		return diffEntry{}, err
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return diffEntry{}, ctx.Err()
	}
	e.chunks, e.err = textdiff.Words(string(a), string(b))
	<-d.sem
	n := 0
	if e.err == nil {
		e.summary = textdiff.Summary(e.chunks)
		for _, c := range e.chunks {
			n += len(c.Text)
		}
	}
	d.mu.Lock()
	if d.bytes+n > diffCacheBytes {
		d.cache, d.bytes = map[[2]string]diffEntry{}, 0
	}
	if n <= diffCacheBytes {
		d.cache[key] = e
		d.bytes += n
	}
	d.mu.Unlock()
	return e, nil
}
