package api

// Provisions and their analyses over HTTP: the provision page, which
// gathers for one quoted clause everything exhibit holds about it (the
// clause with its W3C selectors, its signed analysis and the analysis'
// history, the regulations it names, the document, the evidence behind the
// quote, a citation, how other entities' provisions of the same type
// read, how many tracked entities have one, the document's other
// provisions and its recent changes), each fact linked to the record that
// proves it; and the comparison of one provision type across entities.
//
//	GET /api/v1/taxonomy                      {"extension", "types": [taxonomy.Type...]}
//	GET /api/v1/provisions/{record_id}        ProvisionPage
//	GET /api/v1/provisions/{record_id}/analyses  {"provision", "analyses": [track.AnalysisInfo...]}, oldest first
//	GET /api/v1/types                         {"tracked_entities", "types": [TypePage...]}, every type, by vocabulary order
//	GET /api/v1/types/{type_id}               TypePage
//	GET /provisions/{record_id}, GET /types, GET /types/{type_id}   HTML pages
//
// The page's verification panels re-check, in the reader's browser, the
// bundle of each record the page rests on (the provision, its current
// analysis, the version quoted and the snapshot it was extracted from),
// as record pages do.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/memento"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// excerptLength is the most code points of another provision's quote a
// page shows.
const excerptLength = 300

func (s *server) provisionRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/taxonomy", s.taxonomyJSON)
	mux.HandleFunc("GET /api/v1/provisions/{id}", s.provisionJSON)
	mux.HandleFunc("GET /api/v1/provisions/{id}/analyses", s.analysesJSON)
	mux.HandleFunc("GET /api/v1/types", s.typesJSON)
	mux.HandleFunc("GET /api/v1/types/{type}", s.typeJSON)
	mux.HandleFunc("GET /types", s.typesHTML)
	mux.HandleFunc("GET /provisions/{id}", s.provisionHTML)
	mux.HandleFunc("GET /types/{type}", s.typeHTML)
}

// ProvisionPage is everything the provision page shows, as JSON. Record
// IDs name the records that prove each part.
type ProvisionPage struct {
	RecordID  string               `json:"record_id"`
	Document  ProvisionDocument    `json:"document"`
	Provision *track.ProvisionInfo `json:"provision"`
	// Quoted is the version the provision quotes.
	Quoted   VersionRef `json:"quoted_version"`
	Evidence Evidence   `json:"evidence"`
	// Analysis is the current analysis (nil before any), Type its
	// provision type as the vocabulary in force defines it, History every
	// analysis of the provision, oldest first.
	Analysis    *track.AnalysisInfo   `json:"analysis,omitempty"`
	Type        *taxonomy.Type        `json:"type,omitempty"`
	Regulations []RegulationView      `json:"regulations,omitempty"`
	History     []*track.AnalysisInfo `json:"analysis_history"`
	Citation    Citation              `json:"citation"`
	// Comparison lists the current analyses of the same type at other
	// entities; Uniqueness counts the entities with one.
	Comparison      []Comparison     `json:"comparison"`
	Uniqueness      *Uniqueness      `json:"uniqueness,omitempty"`
	OtherProvisions []OtherProvision `json:"other_provisions"`
	// RecentChanges are the document's changes captured in the last 30
	// days, newest first.
	RecentChanges []VersionRef `json:"recent_changes"`
	// StatusRecord is the provision's latest status record (empty before
	// any newer version).
	StatusRecord string `json:"status_record,omitempty"`
	// Verified lists the records the page's verification panels check.
	Verified []VerifiedRecord `json:"verified_records"`
}

// ProvisionDocument is the document of a provision.
type ProvisionDocument struct {
	ID       string `json:"id"`
	Entity   string `json:"entity"`
	Title    string `json:"document"`
	URL      string `json:"url"`
	Page     string `json:"page"`
	Declared string `json:"declaration"`
	// FirstTracked is when it was first declared; LastVerified when a
	// capture last showed the current text, proved by LastVerifiedRecord;
	// LastChanged when the newest change was captured, proved by
	// LastChangedRecord (empty before any change).
	FirstTracked       string `json:"first_tracked"`
	LastVerified       string `json:"last_verified,omitempty"`
	LastVerifiedRecord string `json:"last_verified_record,omitempty"`
	LastChanged        string `json:"last_changed,omitempty"`
	LastChangedRecord  string `json:"last_changed_record,omitempty"`
}

// VersionRef names a version.
type VersionRef struct {
	RecordID   string `json:"record_id"`
	Number     int    `json:"number"`
	Kind       string `json:"kind"`
	CapturedAt string `json:"captured_at"`
	Snapshot   string `json:"snapshot"`
	// Summary is a change's word count summary (recent changes only).
	Summary string `json:"summary,omitempty"`
}

// Evidence is the provenance of the quoted version: the capture its text
// was extracted from.
type Evidence struct {
	// Snapshot is the capture's record ID; SourceURL the URL requested,
	// FinalURL where it led; SHA256 the snapshot's digest; CapturedAt its
	// citation time.
	Snapshot   string `json:"snapshot"`
	SourceURL  string `json:"source_url"`
	FinalURL   string `json:"final_url,omitempty"`
	SHA256     string `json:"sha256"`
	CapturedAt string `json:"captured_at"`
	// Stored: the snapshot is in the store; HashVerified: its bytes were
	// read and hash to SHA256, now, for this answer.
	Stored       bool `json:"stored"`
	HashVerified bool `json:"hash_verified"`
	// TextSHA256 is the quoted version's text digest (the provision
	// statement's subject).
	TextSHA256 string `json:"text_sha256"`
	// Corroborations are what other web archives held of the URL near
	// the capture time, each a logged corroboration record.
	Corroborations []CorroborationRef `json:"corroborations"`
	// ArchiveLookup is a link to look the URL up in the Internet
	// Archive's Wayback Machine near the capture time: a lookup, not
	// evidence exhibit checked.
	ArchiveLookup string `json:"archive_lookup"`
}

// CorroborationRef is a corroboration record of a capture.
type CorroborationRef struct {
	RecordID        string `json:"record_id"`
	TimeGate        string `json:"timegate"`
	Result          string `json:"result"`
	Memento         string `json:"memento,omitempty"`
	MementoDatetime string `json:"memento_datetime,omitempty"`
}

// RegulationView is a regulation with its jurisdiction's name.
type RegulationView struct {
	Name             string `json:"name"`
	Jurisdiction     string `json:"jurisdiction"`
	JurisdictionName string `json:"jurisdiction_name"`
}

// Citation is the provision's citation, as of Accessed (the date of the
// answer, UTC).
type Citation struct {
	Text     string `json:"text"`
	URL      string `json:"url"`
	Accessed string `json:"accessed"`
}

// Comparison is another entity's provision of the same type, as its
// current analysis classifies it.
type Comparison struct {
	Entity     string `json:"entity"`
	DocumentID string `json:"document_id"`
	Document   string `json:"document"`
	Provision  string `json:"provision"`
	Analysis   string `json:"analysis"`
	Excerpt    string `json:"excerpt"`
	Severity   string `json:"severity"`
	Confidence string `json:"confidence"`
	Basis      string `json:"basis"`
	// NeedsReview: a later version changed or removed the clause.
	NeedsReview bool   `json:"needs_review"`
	Page        string `json:"page"`
}

// Uniqueness counts the tracked entities whose provisions include one
// analysed as a type: With of Tracked entities (this one included);
// Unique when it is the only one.
type Uniqueness struct {
	With    int  `json:"entities_with_type"`
	Tracked int  `json:"tracked_entities"`
	Unique  bool `json:"unique"`
}

// OtherProvision is another provision of the same document.
type OtherProvision struct {
	RecordID string `json:"record_id"`
	Label    string `json:"label,omitempty"`
	Excerpt  string `json:"excerpt"`
	Status   string `json:"status"`
	// Type, TypeName, Severity and Analysis are those of its current
	// analysis, if any.
	Type     string `json:"type,omitempty"`
	TypeName string `json:"type_name,omitempty"`
	Severity string `json:"severity,omitempty"`
	Analysis string `json:"analysis,omitempty"`
	Page     string `json:"page"`
}

// VerifiedRecord is a record the page's verification panels check.
type VerifiedRecord struct {
	Fact     string `json:"fact"`
	RecordID string `json:"record_id"`
	Bundle   string `json:"bundle"`
}

// TypePage compares the provisions analysed as one type across entities.
type TypePage struct {
	Type       *taxonomy.Type `json:"type"`
	Uniqueness Uniqueness     `json:"uniqueness"`
	Provisions []Comparison   `json:"provisions"`
}

// jurisdictions names the jurisdictions pages show by name; others are
// shown by their code.
var jurisdictions = map[string]string{
	"EU": "European Union", "UK": "United Kingdom", "GB": "United Kingdom", "US": "United States",
	"US-CA": "California, United States", "US-NY": "New York, United States", "US-TX": "Texas, United States",
	"US-VA": "Virginia, United States", "US-CO": "Colorado, United States", "CA": "Canada", "AU": "Australia",
	"BR": "Brazil", "CH": "Switzerland", "CN": "China", "DE": "Germany", "ES": "Spain", "FR": "France",
	"IE": "Ireland", "IN": "India", "IT": "Italy", "JP": "Japan", "KR": "South Korea", "NL": "Netherlands",
	"SG": "Singapore", "ZA": "South Africa",
}

func regulationViews(rs []verify.Regulation) []RegulationView {
	var out []RegulationView
	for _, r := range rs {
		n := jurisdictions[r.Jurisdiction]
		if n == "" {
			n = r.Jurisdiction
		}
		out = append(out, RegulationView{Name: r.Name, Jurisdiction: r.Jurisdiction, JurisdictionName: n})
	}
	return out
}

// errNoProvision is a page or API path naming a record that is not a
// provision.
var errNoProvision = errors.New("no such provision")

// provisionPage gathers a provision's page.
func (s *server) provisionPage(r *http.Request, id string) (*ProvisionPage, error) {
	ctx := r.Context()
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	rec, err := s.a.Get(ctx, canon)
	if err != nil {
		return nil, err
	}
	if rec.Statement.Provision == nil {
		return nil, fmt.Errorf("%w: %s is %s record (its page is /records/%s)", errNoProvision, rec.ID, record.KindWithArticle(rec.Kind), rec.ID)
	}
	tx, err := taxonomy.Load(s.a.Dir())
	if err != nil {
		return nil, err
	}
	docs, err := s.tr.Documents(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*track.Document{}
	entities := map[string]bool{}
	for _, d := range docs {
		byID[d.ID] = d
		entities[d.Entity] = true
	}
	d := byID[rec.DocumentID]
	if d == nil {
		return nil, fmt.Errorf("%w: %s", track.ErrNoDocument, rec.DocumentID)
	}
	pi := d.ProvisionByID(rec.ID)
	if pi == nil {
		return nil, fmt.Errorf("%w: %s is not among %s's provisions", errNoProvision, rec.ID, d.ID)
	}
	p := &ProvisionPage{RecordID: rec.ID, Provision: pi, Comparison: []Comparison{}, OtherProvisions: []OtherProvision{}, RecentChanges: []VersionRef{}}
	p.Document = ProvisionDocument{ID: d.ID, Entity: d.Entity, Title: d.Document, URL: d.URL, Page: "/documents/" + d.ID,
		Declared: d.Declaration, FirstTracked: d.FirstTracked, LastVerified: d.LastVerified}
	since := time.Now().Add(-recentWindow)
	var prev *track.VersionInfo
	for _, v := range d.Versions {
		if v.Kind == verify.VersionChange {
			p.Document.LastChanged, p.Document.LastChangedRecord = v.Snapshot.CapturedAt, v.RecordID
			if t, err := verify.ParseTime(v.Snapshot.CapturedAt); err == nil && !t.Before(since) {
				ref := versionRef(v)
				if prev != nil {
					if ref.Summary, err = s.diffs.summary(r, s, prev.RecordID, v.RecordID); err != nil {
						return nil, err
					}
				}
				p.RecentChanges = append([]VersionRef{ref}, p.RecentChanges...)
			}
		}
		prev = v
	}
	if c := d.Current; c != nil {
		p.Document.LastVerifiedRecord = lastVerifiedRecord(c)
	}
	qv := d.VersionByID(pi.Version)
	if qv == nil {
		return nil, fmt.Errorf("version %s of provision %s is not among %s's", pi.Version, rec.ID, d.ID)
	}
	p.Quoted = versionRef(qv)
	if p.Evidence, err = s.evidence(r, qv); err != nil {
		return nil, err
	}
	p.Evidence.TextSHA256 = qv.Text.SHA256

	current, err := s.tr.CurrentAnalyses(ctx)
	if err != nil {
		return nil, err
	}
	if p.History, err = s.tr.Analyses(ctx, rec.ID); err != nil {
		return nil, err
	}
	if n := len(p.History); n > 0 {
		p.Analysis = p.History[n-1]
		if ty, ok := tx.Lookup(p.Analysis.Type.ID); ok {
			p.Type = ty
		}
		p.Regulations = regulationViews(p.Analysis.Regulations)
		u := uniqueness(current, byID, p.Analysis.Type.ID, len(entities))
		p.Uniqueness = &u
		for _, c := range comparisons(current, byID, p.Analysis.Type.ID) {
			if c.Entity != d.Entity {
				p.Comparison = append(p.Comparison, c)
			}
		}
	}
	currentOf := map[string]*track.AnalysisInfo{}
	for _, ai := range current {
		currentOf[ai.Provision] = ai
	}
	for _, op := range d.Provisions {
		if op.RecordID == rec.ID {
			continue
		}
		o := OtherProvision{RecordID: op.RecordID, Label: op.Label, Excerpt: excerpt(op.Quote.Exact), Status: op.Status, Page: "/provisions/" + op.RecordID}
		if ai := currentOf[op.RecordID]; ai != nil {
			o.Type, o.Severity, o.Analysis = ai.Type.ID, ai.Severity, ai.RecordID
			if ty, ok := tx.Lookup(ai.Type.ID); ok {
				o.TypeName = ty.Name
			}
		}
		p.OtherProvisions = append(p.OtherProvisions, o)
	}

	accessed := time.Now().UTC()
	p.Citation = Citation{URL: pageURL(r, "/provisions/"+rec.ID), Accessed: accessed.Format(time.DateOnly)}
	label := pi.Label
	if p.Type != nil && label == "" {
		label = p.Type.Name
	}
	if label == "" {
		label = "provision"
	}
	p.Citation.Text = fmt.Sprintf("%s, %s, %q (exhibit provision %s), version %d, captured %s, SHA-256 %s, %s, accessed %s.",
		d.Entity, d.Document, label, rec.ID, qv.Number, cite.HumanTime(mustTime(qv.Snapshot.CapturedAt)), p.Evidence.SHA256,
		p.Citation.URL, accessed.Format("2 January 2006"))

	bundle := func(id string) string { return "/api/v1/records/" + id + "/bundle" }
	p.Verified = []VerifiedRecord{{"provision", rec.ID, bundle(rec.ID)}}
	if p.Analysis != nil {
		p.Verified = append(p.Verified, VerifiedRecord{"analysis", p.Analysis.RecordID, bundle(p.Analysis.RecordID)})
	}
	p.Verified = append(p.Verified, VerifiedRecord{"version", qv.RecordID, bundle(qv.RecordID)},
		VerifiedRecord{"snapshot", qv.Snapshot.RecordID, bundle(qv.Snapshot.RecordID)})
	if n := len(pi.History); n > 0 {
		p.StatusRecord = pi.History[n-1].RecordID
		p.Verified = append(p.Verified, VerifiedRecord{"status", pi.History[n-1].RecordID, bundle(pi.History[n-1].RecordID)})
	}
	return p, nil
}

func mustTime(s string) time.Time {
	t, _ := verify.ParseTime(s)
	return t
}

func versionRef(v *track.VersionInfo) VersionRef {
	return VersionRef{RecordID: v.RecordID, Number: v.Number, Kind: v.Kind, CapturedAt: v.Snapshot.CapturedAt, Snapshot: v.Snapshot.RecordID}
}

// lastVerifiedRecord returns the record that last showed v's text: its
// newest confirmation, or v itself.
func lastVerifiedRecord(v *track.VersionInfo) string {
	id, at := v.RecordID, v.Snapshot.CapturedAt
	for _, c := range v.Confirmations {
		if c.Snapshot.CapturedAt >= at {
			id, at = c.RecordID, c.Snapshot.CapturedAt
		}
	}
	return id
}

// evidence returns the provenance of version v: its snapshot's capture,
// with the snapshot re-hashed from the store.
func (s *server) evidence(r *http.Request, v *track.VersionInfo) (Evidence, error) {
	ctx := r.Context()
	e := Evidence{Snapshot: v.Snapshot.RecordID, SHA256: v.Snapshot.SHA256, CapturedAt: v.Snapshot.CapturedAt}
	c, err := s.a.Get(ctx, v.Snapshot.RecordID)
	if err != nil {
		return e, err
	}
	e.SourceURL, e.FinalURL = c.URL, c.FinalURL
	cs, err := memento.Of(ctx, s.a, c.ID)
	if err != nil {
		return e, err
	}
	e.Corroborations = []CorroborationRef{}
	for _, r := range cs {
		p := &r.Statement.Corroboration.Predicate
		e.Corroborations = append(e.Corroborations, CorroborationRef{r.ID, p.TimeGate, p.Result, p.Memento, p.MementoDatetime})
	}
	rc, err := s.a.Store().Get(ctx, v.Snapshot.SHA256)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return e, err
	default:
		e.Stored = true
		h := sha256.New()
		_, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return e, err
		}
		e.HashVerified = hex.EncodeToString(h.Sum(nil)) == v.Snapshot.SHA256
	}
	if t, err := verify.ParseTime(v.Snapshot.CapturedAt); err == nil && e.SourceURL != "" {
		e.ArchiveLookup = "https://web.archive.org/web/" + t.UTC().Format("20060102150405") + "/" + e.SourceURL
	}
	return e, nil
}

// pageURL returns the absolute URL of path on the host the request came
// to.
func pageURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: path}).String()
}

// excerpt shortens a quote for a list.
func excerpt(s string) string {
	r := []rune(s)
	if len(r) <= excerptLength {
		return s
	}
	return string(r[:excerptLength]) + " …"
}

// comparisons returns the current analyses of one type, as comparison
// rows, by entity then document.
func comparisons(current []*track.AnalysisInfo, docs map[string]*track.Document, typeID string) []Comparison {
	out := []Comparison{}
	for _, ai := range current {
		d := docs[ai.DocumentID]
		if ai.Type.ID != typeID || d == nil {
			continue
		}
		c := Comparison{Entity: d.Entity, DocumentID: d.ID, Document: d.Document, Provision: ai.Provision, Analysis: ai.RecordID,
			Severity: ai.Severity, Confidence: ai.Confidence, Basis: ai.Basis, NeedsReview: ai.Review != nil, Page: "/provisions/" + ai.Provision}
		if pi := d.ProvisionByID(ai.Provision); pi != nil {
			c.Excerpt = excerpt(pi.Quote.Exact)
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Entity != out[j].Entity {
			return out[i].Entity < out[j].Entity
		}
		return out[i].Document < out[j].Document
	})
	return out
}

func uniqueness(current []*track.AnalysisInfo, docs map[string]*track.Document, typeID string, tracked int) Uniqueness {
	with := map[string]bool{}
	for _, c := range comparisons(current, docs, typeID) {
		with[c.Entity] = true
	}
	return Uniqueness{With: len(with), Tracked: tracked, Unique: len(with) == 1}
}

// typePages gathers the comparison of one provision type, or of every
// type ("").
func (s *server) typePages(r *http.Request, typeID string) ([]*TypePage, int, error) {
	tx, err := taxonomy.Load(s.a.Dir())
	if err != nil {
		return nil, 0, err
	}
	types := tx.Types()
	if typeID != "" {
		ty, ok := tx.Lookup(typeID)
		if !ok {
			return nil, 0, fmt.Errorf("%w: no provision type %q (GET /api/v1/taxonomy lists them)", errNoProvision, typeID)
		}
		types = []*taxonomy.Type{ty}
	}
	docs, err := s.tr.Documents(r.Context())
	if err != nil {
		return nil, 0, err
	}
	byID := map[string]*track.Document{}
	entities := map[string]bool{}
	for _, d := range docs {
		byID[d.ID] = d
		entities[d.Entity] = true
	}
	current, err := s.tr.CurrentAnalyses(r.Context())
	if err != nil {
		return nil, 0, err
	}
	var out []*TypePage
	for _, ty := range types {
		out = append(out, &TypePage{Type: ty, Uniqueness: uniqueness(current, byID, ty.ID, len(entities)), Provisions: comparisons(current, byID, ty.ID)})
	}
	return out, len(entities), nil
}

func (s *server) typePage(r *http.Request, typeID string) (*TypePage, error) {
	ps, _, err := s.typePages(r, typeID)
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// TypesPage is the comparison of every provision type.
type TypesPage struct {
	Tracked int         `json:"tracked_entities"`
	Types   []*TypePage `json:"types"`
	// Analysed counts the types with at least one provision.
	Analysed int `json:"types_analysed"`
}

func (s *server) typesPage(r *http.Request) (*TypesPage, error) {
	ps, n, err := s.typePages(r, "")
	if err != nil {
		return nil, err
	}
	p := &TypesPage{Tracked: n, Types: ps}
	for _, t := range ps {
		if len(t.Provisions) > 0 {
			p.Analysed++
		}
	}
	return p, nil
}

func (s *server) typesJSON(w http.ResponseWriter, r *http.Request) {
	p, err := s.typesPage(r)
	if err != nil {
		s.provisionFail(w, r, err, false)
		return
	}
	writeJSON(w, p)
}

func (s *server) typesHTML(w http.ResponseWriter, r *http.Request) {
	p, err := s.typesPage(r)
	if err != nil {
		s.provisionFail(w, r, err, true)
		return
	}
	s.renderPage(w, r, http.StatusOK, "types.html", p)
}

// provisionFail maps the errors of the provision routes.
func (s *server) provisionFail(w http.ResponseWriter, r *http.Request, err error, page bool) {
	if errors.Is(err, errNoProvision) || errors.Is(err, track.ErrNotProvision) {
		if page {
			s.renderPage(w, r, http.StatusNotFound, "error.html", errorPage{Status: http.StatusNotFound, Title: "Not found", Message: err.Error()})
		} else {
			writeError(w, http.StatusNotFound, err.Error())
		}
		return
	}
	if errors.Is(err, taxonomy.ErrFile) {
		err = fmt.Errorf("%w (the archive's taxonomy file)", err)
	}
	if page {
		s.failPage(w, r, err)
	} else {
		s.fail(w, r, err)
	}
}

func (s *server) taxonomyJSON(w http.ResponseWriter, r *http.Request) {
	tx, err := taxonomy.Load(s.a.Dir())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, struct {
		Extension bool             `json:"extended"`
		Types     []*taxonomy.Type `json:"types"`
	}{tx.Extension != "", tx.Types()})
}

func (s *server) provisionJSON(w http.ResponseWriter, r *http.Request) {
	p, err := s.provisionPage(r, r.PathValue("id"))
	if err != nil {
		s.provisionFail(w, r, err, false)
		return
	}
	writeJSON(w, p)
}

func (s *server) analysesJSON(w http.ResponseWriter, r *http.Request) {
	id, err := verify.ParseRecordID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h, err := s.tr.Analyses(r.Context(), id)
	if err != nil {
		s.provisionFail(w, r, err, false)
		return
	}
	writeJSON(w, struct {
		Provision string                `json:"provision"`
		Analyses  []*track.AnalysisInfo `json:"analyses"`
	}{id, h})
}

func (s *server) typeJSON(w http.ResponseWriter, r *http.Request) {
	p, err := s.typePage(r, r.PathValue("type"))
	if err != nil {
		s.provisionFail(w, r, err, false)
		return
	}
	writeJSON(w, p)
}

// provisionHTMLPage is the data of provision.html.
type provisionHTMLPage struct {
	*ProvisionPage
	VKey, VKeys string
	// Levels are the severity, confidence and basis, for the badges.
	Severity, Confidence, Basis string
}

func (s *server) provisionHTML(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if canon, err := verify.ParseRecordID(id); err == nil && canon != id {
		http.Redirect(w, r, "/provisions/"+canon, http.StatusMovedPermanently)
		return
	}
	p, err := s.provisionPage(r, id)
	if err != nil {
		s.provisionFail(w, r, err, true)
		return
	}
	s.renderPage(w, r, http.StatusOK, "provision.html", provisionHTMLPage{ProvisionPage: p, VKey: s.a.Key().VKey, VKeys: s.vkeys()})
}

func (s *server) typeHTML(w http.ResponseWriter, r *http.Request) {
	p, err := s.typePage(r, r.PathValue("type"))
	if err != nil {
		s.provisionFail(w, r, err, true)
		return
	}
	s.renderPage(w, r, http.StatusOK, "type.html", p)
}
