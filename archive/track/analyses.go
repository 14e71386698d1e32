package track

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/exhibit-archive/exhibit/verify"
)

// Analyses of provisions.
//
// An analysis statement (verify.Analysis, docs/FORMATS.md section 2.8)
// classifies a provision as a type of the archive's vocabulary (package
// taxonomy), with a severity, a confidence, a basis, the regulations that
// apply and why it matters, signed with its author and time, and names
// the version of the document it analyses. The analyses of one provision
// form one chain: each revision supersedes the one before, which stays in
// the log and in the history. An analysis needs review when a later
// version of the document changed or removed the provision: that is read
// from the provision-status records, themselves signed, never written
// into the analysis.

// ErrNotProvision is returned (wrapped with archive.ErrInput) for a record
// that is not a provision where a provision is wanted.
var ErrNotProvision = fmt.Errorf("%w: not a provision record", archive.ErrInput)

// AnalysisOptions are what Analyze records.
type AnalysisOptions struct {
	// Type is a provision type ID of the archive's vocabulary.
	Type string
	// Severity and Confidence are low, medium or high; Basis explicit,
	// implied or absent.
	Severity, Confidence, Basis string
	// Regulations, each NAME@JURISDICTION ("GDPR@EU").
	Regulations []string
	// Why, Impact and Note are the analysis' texts, each optional.
	Why, Impact, Note string
	// Author is required.
	Author string
	// Version is the record ID of the version analysed; default the
	// newest version the provision stands in (present or changed).
	Version string
	// Supersedes, if set, must be the provision's latest analysis (a
	// revision always supersedes the latest; naming it guards against
	// revising an analysis someone else revised meanwhile).
	Supersedes string
	// Taxonomy is the vocabulary; nil reads the archive's (taxonomy.Load).
	Taxonomy *taxonomy.Taxonomy
}

// check reads and checks the options into a predicate (without the
// provision, version and revision).
func (o *AnalysisOptions) check(tx *taxonomy.Taxonomy) (*verify.Analysis, error) {
	in := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", archive.ErrInput, fmt.Sprintf(format, args...))
	}
	ty, ok := tx.Lookup(o.Type)
	if !ok {
		return nil, in("unknown provision type %q (exhibit taxonomy lists the types)", o.Type)
	}
	p := &verify.Analysis{
		Type:     verify.ClauseType{ID: ty.ID, Taxonomy: ty.Taxonomy, Version: ty.Version},
		Severity: o.Severity, Confidence: o.Confidence, Basis: o.Basis,
		Why: o.Why, Impact: o.Impact, Note: o.Note,
		Author: strings.TrimSpace(o.Author),
	}
	for name, v := range map[string]string{"severity": o.Severity, "confidence": o.Confidence} {
		switch v {
		case verify.LevelLow, verify.LevelMedium, verify.LevelHigh:
		default:
			return nil, in("%s %q: want low, medium or high", name, v)
		}
	}
	switch o.Basis {
	case verify.BasisExplicit, verify.BasisImplied, verify.BasisAbsent:
	default:
		return nil, in("basis %q: want explicit, implied or absent", o.Basis)
	}
	if len(o.Regulations) > verify.MaxRegulations {
		return nil, in("%d regulations, at most %d", len(o.Regulations), verify.MaxRegulations)
	}
	seen := map[verify.Regulation]bool{}
	for _, s := range o.Regulations {
		r, err := verify.ParseRegulation(s)
		if err != nil {
			return nil, in("%v", err)
		}
		if err := taxonomy.CheckJurisdiction(r.Jurisdiction); err != nil {
			return nil, in("regulation %q: %v", s, err)
		}
		if seen[r] {
			return nil, in("regulation %s is given twice", r)
		}
		seen[r] = true
		p.Regulations = append(p.Regulations, r)
	}
	for name, v := range map[string]string{"why": o.Why, "impact": o.Impact, "note": o.Note} {
		if err := verify.CheckAnalysisText(name, v); err != nil {
			return nil, in("%v", err)
		}
	}
	if p.Author == "" {
		return nil, in("an analysis needs an author")
	}
	if err := archive.CheckText(map[string]string{"author": p.Author}); err != nil {
		return nil, err
	}
	if len(p.Author) > verify.MaxAnalysisAuthor {
		return nil, in("author is %d bytes, at most %d", len(p.Author), verify.MaxAnalysisAuthor)
	}
	return p, nil
}

// Analyze records an analysis of a provision: revision 1, or a revision
// that supersedes the provision's latest analysis. It refuses with an
// error wrapping archive.ErrInput an unknown type, a bad level, basis,
// regulation or text, a record that is not a provision (ErrNotProvision),
// a version the provision does not stand in, and a Supersedes that is not
// the latest analysis; a record ID the archive does not hold is
// archive.ErrNotFound. Nothing is logged when it refuses.
func (t *Tracker) Analyze(ctx context.Context, provisionID string, o AnalysisOptions) (*record.Record, error) {
	if err := t.a.Writable(); err != nil {
		return nil, err
	}
	tx := o.Taxonomy
	if tx == nil {
		var err error
		if tx, err = taxonomy.Load(t.a.Dir()); err != nil {
			return nil, err
		}
	}
	p, err := o.check(tx)
	if err != nil {
		return nil, err
	}
	prov, err := t.provisionRecord(ctx, provisionID)
	if err != nil {
		return nil, err
	}
	defer t.docs.Lock(prov.DocumentID)()
	d, err := t.Document(ctx, prov.DocumentID)
	if err != nil {
		return nil, err
	}
	pi := d.ProvisionByID(prov.ID)
	if pi == nil {
		return nil, fmt.Errorf("provision %s is not among %s's", prov.ID, d.ID)
	}
	v, err := analysedVersion(d, pi, o.Version)
	if err != nil {
		return nil, err
	}
	chain, err := t.records(ctx, index.TrackingQuery{Document: d.ID, Kinds: []string{record.Analysis}, Ref: prov.ID})
	if err != nil {
		return nil, err
	}
	p.Revision = 1
	if n := len(chain); n > 0 {
		latest := chain[n-1]
		p.Revision, p.Supersedes = latest.Statement.Analysis.Predicate.Revision+1, latest.ID
	}
	if o.Supersedes != "" {
		canon, err := verify.ParseRecordID(o.Supersedes)
		if err != nil {
			return nil, fmt.Errorf("%w: supersedes: %w", archive.ErrInput, err)
		}
		if canon != p.Supersedes {
			if p.Supersedes == "" {
				return nil, fmt.Errorf("%w: supersedes %s, but provision %s has no analysis yet", archive.ErrInput, canon, prov.ID)
			}
			return nil, fmt.Errorf("%w: supersedes %s, but the latest analysis of provision %s is %s (revision %d): a revision supersedes the latest", archive.ErrInput, canon, prov.ID, p.Supersedes, p.Revision-1)
		}
	}
	p.Provision, p.Version, p.Text = prov.ID, v.RecordID, v.Text
	p.AnalyzedAt, p.Tool = verify.FormatTime(time.Now()), archive.Tool()
	return t.logOne(ctx, &verify.AnalysisStatement{
		Type: verify.StatementType, PredicateType: verify.AnalysisPredicateType,
		Subject:   []verify.Subject{{Name: d.ID, Digest: map[string]string{"sha256": v.Text.SHA256}}},
		Predicate: *p,
	})
}

// provisionRecord returns the provision record with the given ID.
func (t *Tracker) provisionRecord(ctx context.Context, id string) (*record.Record, error) {
	r, err := t.a.Get(ctx, id)
	if err != nil {
		if errors.Is(err, archive.ErrNotFound) {
			return nil, fmt.Errorf("%w (no such provision: exhibit provisions DOCUMENT lists a document's)", err)
		}
		return nil, err
	}
	if r.Statement.Provision == nil {
		return nil, fmt.Errorf("%w: %s is %s record", ErrNotProvision, r.ID, record.KindWithArticle(r.Kind))
	}
	return r, nil
}

// ProvisionByID returns the document's provision with the given record ID,
// or nil.
func (d *Document) ProvisionByID(id string) *ProvisionInfo {
	for _, p := range d.Provisions {
		if p.RecordID == id {
			return p
		}
	}
	return nil
}

// VersionByID returns the document's version with the given record ID, or
// nil.
func (d *Document) VersionByID(id string) *VersionInfo {
	for _, v := range d.Versions {
		if v.RecordID == id {
			return v
		}
	}
	return nil
}

// analysedVersion returns the version an analysis of pi is about: want,
// which the provision must stand in (the version quoted, or one where its
// status is present or changed), or by default the newest such.
func analysedVersion(d *Document, pi *ProvisionInfo, want string) (*VersionInfo, error) {
	stands := []string{pi.Version}
	removedIn := ""
	for _, h := range pi.History {
		if h.Status == verify.ProvisionRemoved {
			removedIn = h.Version
			continue
		}
		stands = append(stands, h.Version)
		removedIn = ""
	}
	if want == "" {
		if removedIn != "" {
			n := 0
			if v := d.VersionByID(removedIn); v != nil {
				n = v.Number
			}
			return nil, fmt.Errorf("%w: provision %s was removed in version %d of %s (%s): give --version of a version it stands in to analyse it there", archive.ErrInput, pi.RecordID, n, d.ID, removedIn)
		}
		want = stands[len(stands)-1]
	}
	canon, err := verify.ParseRecordID(want)
	if err != nil {
		return nil, fmt.Errorf("%w: version: %w", archive.ErrInput, err)
	}
	for _, s := range stands {
		if s == canon {
			if v := d.VersionByID(s); v != nil {
				return v, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: provision %s does not stand in %s (it stands in %s)", archive.ErrInput, pi.RecordID, canon, strings.Join(stands, ", "))
}

// AnalysisInfo is one analysis of a provision, with what became of it.
type AnalysisInfo struct {
	RecordID   string `json:"record_id"`
	DocumentID string `json:"document_id"`
	*verify.Analysis
	// VersionNumber is the number of the version analysed.
	VersionNumber int `json:"version_number"`
	// SupersededBy is the record ID of the next revision; empty for the
	// current analysis.
	SupersededBy string `json:"superseded_by,omitempty"`
	// Review, when set, says why the current analysis needs review.
	Review *Review `json:"review,omitempty"`
}

// Review says that a later version changed or removed the provision an
// analysis is about.
type Review struct {
	// Status is "changed" or "removed"; Version and VersionNumber the
	// version where it became so; StatusRecord the provision-status
	// record that says so.
	Status        string `json:"status"`
	Version       string `json:"version"`
	VersionNumber int    `json:"version_number"`
	StatusRecord  string `json:"status_record"`
}

// Analyses returns the analyses of a provision, oldest first: the last is
// the current one, the others superseded. The current one has a Review
// when the provision changed or was removed in a version after the one it
// analyses.
func (t *Tracker) Analyses(ctx context.Context, provisionID string) ([]*AnalysisInfo, error) {
	prov, err := t.provisionRecord(ctx, provisionID)
	if err != nil {
		return nil, err
	}
	d, err := t.Document(ctx, prov.DocumentID)
	if err != nil {
		return nil, err
	}
	return t.analysesOf(ctx, d, prov.ID)
}

func (t *Tracker) analysesOf(ctx context.Context, d *Document, provisionID string) ([]*AnalysisInfo, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Document: d.ID, Kinds: []string{record.Analysis}, Ref: provisionID})
	if err != nil {
		return nil, err
	}
	return foldAnalyses(d, recs), nil
}

// foldAnalyses turns the analysis records of one provision of d, in log
// order, into its history.
func foldAnalyses(d *Document, recs []*record.Record) []*AnalysisInfo {
	out := make([]*AnalysisInfo, 0, len(recs))
	for i, r := range recs {
		ai := &AnalysisInfo{RecordID: r.ID, DocumentID: r.DocumentID, Analysis: &r.Statement.Analysis.Predicate}
		if v := d.VersionByID(ai.Version); v != nil {
			ai.VersionNumber = v.Number
		}
		if i > 0 {
			out[i-1].SupersededBy = r.ID
		}
		out = append(out, ai)
	}
	if n := len(out); n > 0 {
		out[n-1].Review = review(d, d.ProvisionByID(out[n-1].Provision), out[n-1].VersionNumber)
	}
	return out
}

// review returns the first status of pi after version number n that
// changed or removed it, or nil.
func review(d *Document, pi *ProvisionInfo, n int) *Review {
	if pi == nil {
		return nil
	}
	for _, h := range pi.History {
		v := d.VersionByID(h.Version)
		if v == nil || v.Number <= n || (h.Status != verify.ProvisionChanged && h.Status != verify.ProvisionRemoved) {
			continue
		}
		return &Review{Status: h.Status, Version: h.Version, VersionNumber: v.Number, StatusRecord: h.RecordID}
	}
	return nil
}

// CurrentAnalyses returns the current analysis of every analysed
// provision of every tracked document, in the order the provisions were
// first analysed.
func (t *Tracker) CurrentAnalyses(ctx context.Context) ([]*AnalysisInfo, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Kinds: []string{record.Analysis}})
	if err != nil {
		return nil, err
	}
	byProv := map[string][]*record.Record{}
	var order []string
	for _, r := range recs {
		p := r.Ref
		if _, ok := byProv[p]; !ok {
			order = append(order, p)
		}
		byProv[p] = append(byProv[p], r)
	}
	docs := map[string]*Document{}
	var out []*AnalysisInfo
	for _, p := range order {
		chain := byProv[p]
		id := chain[0].DocumentID
		d, ok := docs[id]
		if !ok {
			if d, err = t.Document(ctx, id); err != nil {
				return nil, err
			}
			docs[id] = d
		}
		h := foldAnalyses(d, chain)
		out = append(out, h[len(h)-1])
	}
	return out, nil
}

// CurrentAnalysesOf returns the current analysis of each analysed
// provision of document d, by provision record ID, from one query.
func (t *Tracker) CurrentAnalysesOf(ctx context.Context, d *Document) (map[string]*AnalysisInfo, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Document: d.ID, Kinds: []string{record.Analysis}})
	if err != nil {
		return nil, err
	}
	byProv := map[string][]*record.Record{}
	for _, r := range recs {
		byProv[r.Ref] = append(byProv[r.Ref], r)
	}
	out := map[string]*AnalysisInfo{}
	for p, chain := range byProv {
		h := foldAnalyses(d, chain)
		out[p] = h[len(h)-1]
	}
	return out, nil
}
