package track_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestAnalyses analyses a provision, revises the analysis, checks that the
// history is kept, that every analysis proves and verifies offline and
// that changing any field of a logged analysis breaks its verification,
// that refused analyses log nothing, that the analysis needs review once
// the document changes the clause, and that reindex and audit cover
// analyses.
func TestAnalyses(t *testing.T) {
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	web := &pages{body: map[string]string{}}
	srv := httptest.NewServer(web)
	defer srv.Close()
	web.set("/p", "<p>We do not sell your personal data.</p><p>Disputes go to arbitration in Delaware.</p>")
	d, err := tr.Declare(ctx, track.Declaration{Entity: "Acme", Document: "Privacy", URL: srv.URL + "/p"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v1 := res.Version
	prov, _, err := tr.Quote(ctx, v1.ID, track.QuoteOptions{Exact: "We do not sell your personal data."})
	if err != nil {
		t.Fatal(err)
	}
	arb, _, err := tr.Quote(ctx, v1.ID, track.QuoteOptions{Exact: "Disputes go to arbitration in Delaware."})
	if err != nil {
		t.Fatal(err)
	}
	o := track.AnalysisOptions{Type: "data-sale", Severity: "low", Confidence: "high", Basis: "explicit",
		Regulations: []string{"CCPA@US-CA", "GDPR@EU"}, Why: "No sale.", Author: "Analyst"}

	size, _ := a.Index().Count(ctx)
	for name, bad := range map[string]func(o *track.AnalysisOptions){
		"unknown type":                  func(o *track.AnalysisOptions) { o.Type = "sale-of-data" },
		"bad regulation":                func(o *track.AnalysisOptions) { o.Regulations = []string{"GDPR/EU"} },
		"bad jurisdiction":              func(o *track.AnalysisOptions) { o.Regulations = []string{"GDPR@eu"} },
		"no such country":               func(o *track.AnalysisOptions) { o.Regulations = []string{"GDPR@EU", "Data Act@XX"} },
		"no such country's subdivision": func(o *track.AnalysisOptions) { o.Regulations = []string{"Privacy Act@ZZ-CA"} },
		"twice":                         func(o *track.AnalysisOptions) { o.Regulations = []string{"GDPR@EU", "GDPR@EU"} },
		"bad confidence":                func(o *track.AnalysisOptions) { o.Confidence = "" },
		"control in author":             func(o *track.AnalysisOptions) { o.Author = "A\u202eB" },
		"escape in note":                func(o *track.AnalysisOptions) { o.Note = "\x1b[2J" },
	} {
		bo := o
		bad(&bo)
		if _, err := tr.Analyze(ctx, prov.ID, bo); !errors.Is(err, archive.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
	if _, err := tr.Analyze(ctx, v1.ID, o); !errors.Is(err, track.ErrNotProvision) {
		t.Errorf("a version analysed: %v", err)
	}
	if _, err := tr.Analyze(ctx, "EXR-00000-00000-00000-00000", o); !errors.Is(err, archive.ErrNotFound) {
		t.Errorf("a missing provision analysed: %v", err)
	}
	if n, _ := a.Index().Count(ctx); n != size {
		t.Fatalf("refused analyses logged %d records", n-size)
	}

	a1, err := tr.Analyze(ctx, prov.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Kind != record.Analysis || a1.Ref != prov.ID || a1.DocumentID != d.DocumentID {
		t.Fatalf("analysis record: %+v", a1)
	}
	p1 := a1.Statement.Analysis.Predicate
	if p1.Revision != 1 || p1.Supersedes != "" || p1.Version != v1.ID || p1.Type != (verify.ClauseType{ID: "data-sale", Taxonomy: "exhibit", Version: "1"}) ||
		len(p1.Regulations) != 2 || p1.Regulations[0] != (verify.Regulation{Name: "CCPA", Jurisdiction: "US-CA"}) {
		t.Fatalf("analysis: %+v", p1)
	}
	o.Severity, o.Supersedes = "medium", a1.ID
	a2, err := tr.Analyze(ctx, prov.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	if p := a2.Statement.Analysis.Predicate; p.Revision != 2 || p.Supersedes != a1.ID {
		t.Fatalf("revision: %+v", p)
	}
	if _, err := tr.Analyze(ctx, prov.ID, o); !errors.Is(err, archive.ErrInput) {
		t.Errorf("a stale supersedes: %v", err)
	}
	o.Supersedes = ""
	o.Type, o.Severity = "arbitration", "high"
	if _, err := tr.Analyze(ctx, arb.ID, o); err != nil {
		t.Fatal(err)
	}

	// Each analysis proves and verifies; any field changed in the signed
	// statement fails verification.
	for _, r := range []*record.Record{a1, a2} {
		archivetest.Check(t, a, r, verify.Options{})
	}
	bundle := archivetest.Bundle(t, a, a2)
	var fields map[string]any
	json.Unmarshal(a2.Payload, &fields)
	for field := range fields["predicate"].(map[string]any) {
		t.Run("tampered/"+field, func(t *testing.T) {
			var st map[string]any
			json.Unmarshal(a2.Payload, &st)
			p := st["predicate"].(map[string]any)
			switch v := p[field].(type) {
			case string:
				p[field] = v + "x"
			case float64:
				p[field] = v + 1
			default:
				p[field] = nil
			}
			payload, _ := json.Marshal(st)
			var env map[string]any
			var b map[string]any
			json.Unmarshal(bundle, &b)
			entry, _ := base64.StdEncoding.DecodeString(b["entry"].(string))
			json.Unmarshal(entry, &env)
			env["payload"] = base64.StdEncoding.EncodeToString(payload)
			entry, _ = json.Marshal(env)
			b["entry"] = base64.StdEncoding.EncodeToString(entry)
			out, _ := json.Marshal(b)
			rep := verify.Check(out, a.Key(), verify.Options{RecordID: a2.ID})
			if rep.Verified {
				t.Fatalf("a bundle with %s changed verifies", field)
			}
		})
	}

	h, err := tr.Analyses(ctx, prov.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 2 || h[0].SupersededBy != a2.ID || h[1].SupersededBy != "" || h[1].Review != nil || h[0].Severity != "low" || h[1].VersionNumber != 1 {
		t.Fatalf("history: %+v %+v", h[0], h[1])
	}

	// The document changes one clause and drops the other.
	web.set("/p", "<p>We do not sell your personal data to advertisers.</p>")
	if res, err = tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{}); err != nil || res.Result != "change" {
		t.Fatalf("capture: %v %+v", err, res)
	}
	h, _ = tr.Analyses(ctx, prov.ID)
	if rv := h[1].Review; rv == nil || rv.Status != verify.ProvisionChanged || rv.Version != res.Version.ID || rv.VersionNumber != 2 {
		t.Fatalf("review after the change: %+v", rv)
	}
	if h[0].Review != nil {
		t.Error("a superseded analysis is flagged for review")
	}
	cur, err := tr.CurrentAnalyses(ctx)
	if err != nil || len(cur) != 2 || cur[0].RecordID != a2.ID || cur[1].Type.ID != "arbitration" || cur[1].Review == nil || cur[1].Review.Status != verify.ProvisionRemoved {
		t.Fatalf("current analyses: %v %+v", err, cur)
	}
	// The removed clause is analysed again only in a version it stands in.
	if _, err := tr.Analyze(ctx, arb.ID, o); !errors.Is(err, archive.ErrInput) {
		t.Errorf("a removed provision analysed at the newest version: %v", err)
	}
	o.Version = v1.ID
	a3, err := tr.Analyze(ctx, arb.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	if p := a3.Statement.Analysis.Predicate; p.Version != v1.ID || p.Revision != 2 {
		t.Fatalf("re-analysis at version 1: %+v", p)
	}
	// The analysis on the changed clause, at version 2, needs no review.
	o.Version, o.Type = "", "data-sale"
	a4, err := tr.Analyze(ctx, prov.ID, o)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ = tr.Analyses(ctx, prov.ID); len(h) != 3 || h[2].RecordID != a4.ID || h[2].Version != res.Version.ID || h[2].Review != nil {
		t.Fatalf("history after re-analysis: %+v", h[2])
	}

	archivetest.AuditOK(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if h, _ = tr.Analyses(ctx, prov.ID); len(h) != 3 {
		t.Fatalf("after reindex: %d analyses", len(h))
	}
}
