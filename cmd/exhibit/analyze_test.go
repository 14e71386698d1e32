package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/track"
)

// logSize returns the number of entries in the archive's log, as audit
// reads it.
func logSize(t *testing.T) uint64 {
	t.Helper()
	r := exhibit(t, "audit", "-o", "json")
	r.want(t, 0)
	var rep struct {
		Entries uint64 `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Entries
}

// TestAnalyzeWorkflow quotes a clause, refuses bad analyses without
// logging anything, analyses it and revises the analysis twice, shows the
// history, proves and verifies an analysis offline, and flags the analysis
// for review once the document changes the clause.
func TestAnalyzeWorkflow(t *testing.T) {
	inTemp(t)
	ps := &policyServer{}
	ps.set(`<h1>Privacy</h1><p>We do not use customer audio to train AI models without consent.</p><p>We keep logs for 30 days.</p>`)
	hs := httptest.NewServer(ps)
	defer hs.Close()
	srv := hs.URL
	exhibit(t, "track", "add", srv+"/privacy", "--entity", "Acme", "--document", "Privacy Policy", "--select", "main#policy").want(t, 0)
	exhibit(t, "track", "run", "--once").want(t, 0, "version 1 (first)")
	var doc track.Document
	json.Unmarshal([]byte(exhibit(t, "history", "acme-privacy-policy", "-o", "json").stdout), &doc)
	v1 := doc.Versions[0].RecordID
	r := exhibit(t, "quote", v1, "--exact", "We do not use customer audio to train AI models without consent.", "-o", "json")
	r.want(t, 0)
	var q struct {
		Provision struct {
			ID string `json:"record_id"`
		} `json:"provision"`
	}
	json.Unmarshal([]byte(r.stdout), &q)
	prov := q.Provision.ID
	os.WriteFile("why.txt", []byte("Training on customer audio needs consent.\n\nIt is opt-in.\n"), 0o644)
	os.WriteFile("big.txt", []byte(strings.Repeat("x", 8001)), 0o644)

	ok := []string{"analyze", prov, "--type", "ai-training-customer-content", "--severity", "high", "--confidence", "medium", "--basis", "explicit",
		"--regulation", "GDPR@EU", "--regulation", "UK GDPR@UK", "--author", "A. Analyst", "--why", "why.txt"}
	with := func(flag, v string) []string {
		out := append([]string(nil), ok...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = v
				return out
			}
		}
		return append(out, flag, v)
	}
	before := logSize(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{with("--type", "ai-training"), `unknown provision type "ai-training" (exhibit taxonomy lists the types)`},
		{with("--regulation", "GDPR"), `regulation "GDPR": want NAME@JURISDICTION`},
		{with("--regulation", "GDPR@Europe"), `jurisdiction "Europe" of GDPR`},
		{with("--severity", "severe"), `severity "severe": want low, medium or high`},
		{with("--basis", "clear"), `basis "clear"`},
		{with("--author", " "), "needs an author"},
		{with("--why", "big.txt"), "longer than 8000 bytes"},
		{with("--why", "nofile.txt"), "nofile.txt"},
		{append([]string{"analyze", "EXR-00000-00000-00000-00000"}, ok[2:]...), "no such record"},
		{append([]string{"analyze", v1}, ok[2:]...), "is a version record"},
		{with("--version", "EXR-00000-00000-00000-00000"), "does not stand in EXR-00000-00000-00000-00000"},
		{with("--supersedes", v1), "has no analysis yet"},
	} {
		exhibit(t, tc.args...).want(t, 2, tc.want)
	}
	if after := logSize(t); after != before {
		t.Fatalf("refused analyses logged %d entries", after-before)
	}

	exhibit(t, ok...).want(t, 0, "revision 1", "ai-training-customer-content: severity high, confidence medium, basis explicit; version "+v1)
	var h struct {
		Analyses []*track.AnalysisInfo `json:"analyses"`
	}
	json.Unmarshal([]byte(exhibit(t, "analyses", prov, "-o", "json").stdout), &h)
	if len(h.Analyses) != 1 || h.Analyses[0].Why != "Training on customer audio needs consent.\n\nIt is opt-in." {
		t.Fatalf("history: %+v", h.Analyses)
	}
	a1 := h.Analyses[0].RecordID
	exhibit(t, append(with("--severity", "medium"), "--supersedes", a1)...).want(t, 0, "revision 2, supersedes "+a1)
	// Revising revision 1 again is refused: revision 2 came after it.
	exhibit(t, append(with("--severity", "low"), "--supersedes", a1)...).want(t, 2, "a revision supersedes the latest")
	exhibit(t, with("--confidence", "high")...).want(t, 0, "revision 3, supersedes")
	r = exhibit(t, "analyses", prov)
	r.want(t, 0, "revision 3", "revision 2", "revision 1", "superseded by", "current", "regulation UK GDPR@UK")
	if strings.Contains(r.stdout, "NEEDS REVIEW") {
		t.Error("flagged for review before any change")
	}
	json.Unmarshal([]byte(exhibit(t, "analyses", prov, "-o", "json").stdout), &h)
	if len(h.Analyses) != 3 || h.Analyses[2].Revision != 3 || h.Analyses[1].SupersededBy != h.Analyses[2].RecordID || h.Analyses[0].Severity != "high" || h.Analyses[1].Severity != "medium" {
		t.Fatalf("history after two revisions: %+v", h.Analyses)
	}
	a3 := h.Analyses[2].RecordID

	// Shown, proved and verified offline like every record.
	exhibit(t, "show", a3).want(t, 0, "analysis record "+a3, "analysis revision 3 of provision "+prov, "by A. Analyst")
	exhibit(t, "prove", a3, "-o", "a3.json").want(t, 0)
	exhibit(t, "verify", "a3.json", "--record-id", a3).want(t, 0, "ok   statement-signature", "analysis revision 3")
	exhibit(t, "export", a3, "-o", "a3.zip").want(t, 0, "wrote a3.zip: analysis record "+a3)
	exhibit(t, "verify", "a3.zip").want(t, 0, "analysis revision 3")
	exhibit(t, "taxonomy").want(t, 0, "ai-training-customer-content", "exhibit 1")

	// The document changes the clause: the current analysis needs review.
	ps.set(`<h1>Privacy</h1><p>We use customer audio to train AI models unless you opt out.</p><p>We keep logs for 30 days.</p>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 2 (change)")
	exhibit(t, "analyses", prov).want(t, 0, "NEEDS REVIEW: the provision is")
	exhibit(t, "provisions", "acme-privacy-policy").want(t, 0, "analyses (exhibit analyses PROVISION", a3, "NEEDS REVIEW (changed in version 2)")
	exhibit(t, "audit").want(t, 0)
	exhibit(t, "reindex").want(t, 0)
	exhibit(t, "analyses", prov).want(t, 0, "revision 3", "NEEDS REVIEW")
}
