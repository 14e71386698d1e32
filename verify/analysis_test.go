package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validAnalysis() *AnalysisStatement {
	text := Text{SHA256: tSHA, Size: int64(len(tText)), MediaType: "text/markdown; charset=utf-8"}
	return &AnalysisStatement{Type: StatementType, PredicateType: AnalysisPredicateType, Subject: subj("acme-privacy", tSHA),
		Predicate: Analysis{Provision: tID1, Version: tID2, Text: text,
			Type:     ClauseType{ID: "ai-training-customer-content", Taxonomy: "exhibit", Version: "1"},
			Severity: LevelHigh, Confidence: LevelMedium, Basis: BasisExplicit,
			Regulations: []Regulation{{"GDPR", "EU"}, {"UK GDPR", "UK"}, {"CCPA", "US-CA"}},
			Why:         "It needs consent.\n\nOpt-in.", Impact: "Users\tdecide.", Note: "Scope unclear.",
			Author: "A. Analyst", Revision: 2, Supersedes: tID3, AnalyzedAt: tTime, Tool: tTool}}
}

func TestAnalysisStatement(t *testing.T) {
	b, _ := json.Marshal(validAnalysis())
	e, err := ParseEntryStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind() != "analysis" || e.DocumentID() != "acme-privacy" || e.SubjectDigest() != tSHA || e.Statement() != e.Analysis {
		t.Fatalf("entry: %s %s %s", e.Kind(), e.DocumentID(), e.SubjectDigest())
	}
	if _, err := NewEntry(validAnalysis()); err != nil {
		t.Fatalf("NewEntry: %v", err)
	}
	// Each field broken is rejected, with what is wrong.
	for _, c := range []struct {
		name, want string
		f          func(m map[string]any)
	}{
		{"subject is not the text", "differs from text.sha256", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": tSnap}
		}},
		{"two subjects", "2 subjects", func(m map[string]any) { m["subject"] = append(m["subject"].([]any), m["subject"].([]any)[0]) }},
		{"bad provision ID", "provision", func(m map[string]any) { pred(m)["provision"] = "EXR-nope" }},
		{"non-canonical version ID", "not in canonical form", func(m map[string]any) { pred(m)["version"] = strings.ToLower(tID2) }},
		{"bad supersedes", "supersedes", func(m map[string]any) { pred(m)["supersedes"] = "x" }},
		{"text digest", "text.sha256", func(m map[string]any) { pred(m)["text"].(map[string]any)["sha256"] = "ABC" }},
		{"no media type", "media_type", func(m map[string]any) { pred(m)["text"].(map[string]any)["media_type"] = "" }},
		{"type ID", "type.id", func(m map[string]any) { pred(m)["type"].(map[string]any)["id"] = "AI Training" }},
		{"long type ID", "longer than 64", func(m map[string]any) { pred(m)["type"].(map[string]any)["id"] = strings.Repeat("a", 65) }},
		{"no taxonomy", "type.taxonomy", func(m map[string]any) { pred(m)["type"].(map[string]any)["taxonomy"] = "" }},
		{"taxonomy version", "type.version", func(m map[string]any) { pred(m)["type"].(map[string]any)["version"] = "1 2" }},
		{"severity", `severity "severe"`, func(m map[string]any) { pred(m)["severity"] = "severe" }},
		{"confidence", `confidence "High"`, func(m map[string]any) { pred(m)["confidence"] = "High" }},
		{"basis", `basis "stated"`, func(m map[string]any) { pred(m)["basis"] = "stated" }},
		{"regulation jurisdiction", `jurisdiction "Europe"`, func(m map[string]any) {
			pred(m)["regulations"] = []any{map[string]any{"name": "GDPR", "jurisdiction": "Europe"}}
		}},
		{"regulation name", `regulation name ""`, func(m map[string]any) {
			pred(m)["regulations"] = []any{map[string]any{"name": "", "jurisdiction": "EU"}}
		}},
		{"regulation name with @", `regulation name "GDPR@EU"`, func(m map[string]any) {
			pred(m)["regulations"] = []any{map[string]any{"name": "GDPR@EU", "jurisdiction": "EU"}}
		}},
		{"regulation twice", "listed twice", func(m map[string]any) {
			r := map[string]any{"name": "GDPR", "jurisdiction": "EU"}
			pred(m)["regulations"] = []any{r, r}
		}},
		{"regulation unknown key", "unknown field", func(m map[string]any) {
			pred(m)["regulations"] = []any{map[string]any{"name": "GDPR", "jurisdiction": "EU", "article": "6"}}
		}},
		{"why too long", "why is 8001 bytes", func(m map[string]any) { pred(m)["why"] = strings.Repeat("x", 8001) }},
		{"escape in impact", "impact has a control", func(m map[string]any) { pred(m)["impact"] = "a\x1b[2Jb" }},
		{"bidi override in note", "note has a control", func(m map[string]any) { pred(m)["note"] = "a\u202eb" }},
		{"no author", "author", func(m map[string]any) { pred(m)["author"] = " " }},
		{"newline in author", "author", func(m map[string]any) { pred(m)["author"] = "A\nB" }},
		{"revision 0", "revision 0", func(m map[string]any) { pred(m)["revision"] = 0; delete(pred(m), "supersedes") }},
		{"revision 2 supersedes none", "only revision 1", func(m map[string]any) { delete(pred(m), "supersedes") }},
		{"revision 1 supersedes one", "only revision 1", func(m map[string]any) { pred(m)["revision"] = 1 }},
		{"time not UTC", "analyzed_at", func(m map[string]any) { pred(m)["analyzed_at"] = "2026-05-08T13:13:55.250+02:00" }},
		{"no tool", "tool", func(m map[string]any) { pred(m)["tool"] = map[string]any{"name": ""} }},
		{"unknown field", "unknown field", func(m map[string]any) { pred(m)["score"] = 3 }},
		{"missing analyzed_at", "analyzed_at", func(m map[string]any) { delete(pred(m), "analyzed_at") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := mutateJSON(t, validAnalysis(), c.f)
			_, err := ParseEntryStatement(b)
			if !errors.Is(err, ErrStatement) || !strings.Contains(err.Error(), "analysis: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want ErrStatement about the analysis naming %q", err, c.want)
			}
		})
	}
	// A field set to the same value in another form is not the same
	// statement: strict decoding refuses a duplicate key.
	b, _ = json.Marshal(validAnalysis())
	dup := strings.Replace(string(b), `"severity":"high"`, `"severity":"high","severity":"low"`, 1)
	if _, err := ParseEntryStatement([]byte(dup)); err == nil {
		t.Error("a duplicate severity key is accepted")
	}
}

func TestParseRegulation(t *testing.T) {
	for in, want := range map[string]Regulation{
		"GDPR@EU":                    {"GDPR", "EU"},
		"UK GDPR@UK":                 {"UK GDPR", "UK"},
		"CCPA@US-CA":                 {"CCPA", "US-CA"},
		"EU AI Act@EU":               {"EU AI Act", "EU"},
		"Loi n° 78-17@FR":            {"Loi n° 78-17", "FR"},
		"BDSG § 26@DE":               {"BDSG § 26", "DE"},
		"Directive (EU) 2019/770@EU": {"Directive (EU) 2019/770", "EU"},
	} {
		got, err := ParseRegulation(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("ParseRegulation(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"GDPR", "@EU", "GDPR@", "GDPR@eu", "GDPR@EUR", "GDPR@US-CALI", " GDPR@EU", "GDPR @EU", "GD\x00PR@EU", "GDPR@EU@FR"} {
		if r, err := ParseRegulation(in); err == nil {
			t.Errorf("ParseRegulation(%q) = %+v, want an error", in, r)
		}
	}
}
