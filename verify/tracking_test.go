package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	tID1 = "EXR-0000A-0000B-0000C-0000D"
	tID2 = "EXR-1111A-1111B-1111C-1111D"
	tID3 = "EXR-2222A-2222B-2222C-2222D"
)

var (
	tText = "We do not use customer audio to train AI models.\n"
	tSHA  = SHA256Hex([]byte(tText))
	tSnap = strings.Repeat("ab", 32)
	tTool = Tool{Name: "exhibit", Version: "test"}
	tTime = "2026-05-08T11:13:55.250Z"
)

func subj(name, digest string) []Subject {
	return []Subject{{Name: name, Digest: map[string]string{"sha256": digest}}}
}

// validTracking returns one valid statement of each tracking kind.
func validTracking() map[string]any {
	text := Text{SHA256: tSHA, Size: int64(len(tText)), MediaType: "text/markdown; charset=utf-8"}
	snap := SnapshotRef{RecordID: tID2, SHA256: tSnap, CapturedAt: tTime}
	ex := Extractor{Name: "exhibit-extract", Version: "1"}
	return map[string]any{
		"declaration": &DeclarationStatement{Type: StatementType, PredicateType: DeclarationPredicateType, Subject: subj("acme-privacy", SHA256Hex([]byte("acme-privacy"))),
			Predicate: Declaration{Entity: "Acme", Document: "Privacy", URL: "https://acme.example/privacy", Select: []string{"main"}, SelectRanges: []Range{{StartBefore: "#a", EndAfter: "#b"}}, EverySeconds: 3600, Revision: 2, Previous: tID1, DeclaredAt: tTime, Tool: tTool}},
		"version": &VersionStatement{Type: StatementType, PredicateType: VersionPredicateType, Subject: subj("acme-privacy", tSHA),
			Predicate: Version{Number: 2, Kind: VersionChange, Previous: tID1, Declaration: tID3, Snapshot: snap, Extractor: ex, Text: text,
				Decoding: &Decoding{Charset: "utf-8", From: DecodedFromUTF8, Declared: "windows-1252", Replaced: 2}, RecordedAt: tTime, Tool: tTool}},
		"extraction": &ExtractionStatement{Type: StatementType, PredicateType: ExtractionPredicateType, Subject: subj("acme-privacy", tSnap),
			Predicate: Extraction{Result: ExtractionConfirmed, Declaration: tID3, Snapshot: snap, Extractor: ex, Version: tID1, TextSHA256: tSHA, RecordedAt: tTime, Tool: tTool}},
		"provision": &ProvisionStatement{Type: StatementType, PredicateType: ProvisionPredicateType, Subject: subj("acme-privacy", tSHA),
			Predicate: Provision{Version: tID1, Text: text, Quote: TextQuoteSelector{Type: "TextQuoteSelector", Exact: "customer audio", Prefix: "use ", Suffix: " to"},
				Position: TextPositionSelector{Type: "TextPositionSelector", Start: 14, End: 28}, RecordedAt: tTime, Tool: tTool}},
		"provision-status": &ProvisionStatusStatement{Type: StatementType, PredicateType: ProvisionStatusPredicateType, Subject: subj("acme-privacy", tSHA),
			Predicate: ProvisionStatus{Provision: tID1, Version: tID2, Text: text, Status: ProvisionChanged,
				Position: &TextPositionSelector{Type: "TextPositionSelector", Start: 0, End: 5}, Closest: "We do", Similarity: 0.625, RecordedAt: tTime, Tool: tTool}},
	}
}

func mutateJSON(t *testing.T, v any, f func(m map[string]any)) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	f(m)
	out, _ := json.Marshal(m)
	return out
}

func pred(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }

// removed makes a changed provision status removed, with a similarity of
// what is left at its place.
func removed(m map[string]any) {
	p := pred(m)
	p["status"], p["similarity"] = "removed", 0.25
	delete(p, "position")
	delete(p, "closest")
}

func elsewhere(start, end int, sim float64) map[string]any {
	return map[string]any{"position": map[string]any{"type": "TextPositionSelector", "start": start, "end": end}, "similarity": sim}
}

func TestTrackingStatements(t *testing.T) {
	for kind, st := range validTracking() {
		b, _ := json.Marshal(st)
		e, err := ParseEntryStatement(b)
		if err != nil {
			t.Fatalf("valid %s: %v", kind, err)
		}
		if e.Kind() != kind || e.DocumentID() != "acme-privacy" {
			t.Errorf("%s: kind %s, document %s", kind, e.Kind(), e.DocumentID())
		}
	}
	// A rendered declaration with its wait options.
	if _, err := ParseEntryStatement(mutateJSON(t, validTracking()["declaration"], func(m map[string]any) {
		pred(m)["render"], pred(m)["render_wait_for"], pred(m)["render_delay_ms"] = true, "#clause.ready", 1500
	})); err != nil {
		t.Errorf("a rendered declaration with its wait: %v", err)
	}
	// Each broken rule is rejected, naming the kind.
	for _, c := range []struct {
		kind, name string
		f          func(m map[string]any)
	}{
		{"declaration", "subject digest not of the ID", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": tSHA}
		}},
		{"declaration", "bad document ID", func(m map[string]any) { m["subject"].([]any)[0].(map[string]any)["name"] = "Acme Privacy" }},
		{"declaration", "no URL", func(m map[string]any) { pred(m)["url"] = "" }},
		{"declaration", "interval under a minute", func(m map[string]any) { pred(m)["every_seconds"] = 59 }},
		{"declaration", "revision 2 without previous", func(m map[string]any) { delete(pred(m), "previous") }},
		{"declaration", "revision 1 with previous", func(m map[string]any) { pred(m)["revision"] = 1 }},
		{"declaration", "control character in a selector", func(m map[string]any) { pred(m)["select"] = []any{"main\x1b[2J"} }},
		{"declaration", "bidi override in the entity", func(m map[string]any) { pred(m)["entity"] = "Ac\u202eme" }},
		{"declaration", "unknown field", func(m map[string]any) { pred(m)["extra"] = 1 }},
		{"declaration", "range without an end", func(m map[string]any) { pred(m)["select_ranges"] = []any{map[string]any{"startBefore": "#a"}} }},
		{"declaration", "render wait without render", func(m map[string]any) { pred(m)["render_wait_for"] = "#clause" }},
		{"declaration", "render delay without render", func(m map[string]any) { pred(m)["render_delay_ms"] = 1000 }},
		{"declaration", "blank render wait", func(m map[string]any) { pred(m)["render"], pred(m)["render_wait_for"] = true, " " }},
		{"declaration", "negative render delay", func(m map[string]any) { pred(m)["render"], pred(m)["render_delay_ms"] = true, -1 }},
		{"declaration", "render delay over a minute", func(m map[string]any) { pred(m)["render"], pred(m)["render_delay_ms"] = true, 60001 }},
		{"declaration", "range with two starts", func(m map[string]any) {
			pred(m)["remove_ranges"] = []any{map[string]any{"startBefore": "#a", "startAfter": "#b", "endBefore": "#c"}}
		}},
		{"declaration", "range with an unknown key", func(m map[string]any) {
			pred(m)["select_ranges"] = []any{map[string]any{"startBefore": "#a", "endBefore": "#c", "endAt": "#d"}}
		}},
		{"declaration", "control character in a range", func(m map[string]any) {
			pred(m)["select_ranges"] = []any{map[string]any{"startBefore": "#a\x1b", "endBefore": "#c"}}
		}},
		{"version", "unknown decoding source", func(m map[string]any) { pred(m)["decoding"] = map[string]any{"charset": "utf-8", "from": "guess"} }},
		{"version", "decoding without charset", func(m map[string]any) { pred(m)["decoding"] = map[string]any{"from": "header"} }},
		{"version", "negative replacements", func(m map[string]any) {
			pred(m)["decoding"] = map[string]any{"charset": "utf-8", "from": "header", "replaced": -1}
		}},
		{"version", "subject is not the text", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": tSnap}
		}},
		{"version", "unknown kind", func(m map[string]any) { pred(m)["kind"] = "edit" }},
		{"version", "first with a number above 1", func(m map[string]any) { pred(m)["kind"] = "first" }},
		{"version", "change without previous", func(m map[string]any) { delete(pred(m), "previous") }},
		{"version", "non-canonical record ID", func(m map[string]any) { pred(m)["declaration"] = strings.ToLower(tID3) }},
		{"version", "bad snapshot digest", func(m map[string]any) { pred(m)["snapshot"].(map[string]any)["sha256"] = "AB" }},
		{"version", "time not in UTC", func(m map[string]any) { pred(m)["recorded_at"] = "2026-05-08T11:13:55.250+02:00" }},
		{"version", "no extractor version", func(m map[string]any) { pred(m)["extractor"].(map[string]any)["version"] = "" }},
		{"extraction", "confirmed without text digest", func(m map[string]any) { delete(pred(m), "text_sha256") }},
		{"extraction", "confirmed with a failure", func(m map[string]any) { pred(m)["failure"] = map[string]any{"reason": "no_match", "message": "x"} }},
		{"extraction", "failed with a version", func(m map[string]any) {
			pred(m)["result"] = "failed"
			pred(m)["failure"] = map[string]any{"reason": "no_match", "message": "x"}
		}},
		{"extraction", "subject is not the snapshot", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": tSHA}
		}},
		{"provision", "position does not span the quote", func(m map[string]any) { pred(m)["position"].(map[string]any)["end"] = 29 }},
		{"provision", "negative start", func(m map[string]any) {
			pred(m)["position"].(map[string]any)["start"] = -1
			pred(m)["position"].(map[string]any)["end"] = 13
		}},
		{"provision", "wrong selector type", func(m map[string]any) { pred(m)["quote"].(map[string]any)["type"] = "TextPositionSelector" }},
		{"provision", "empty quote", func(m map[string]any) { pred(m)["quote"].(map[string]any)["exact"] = "" }},
		{"provision", "subject is not the text", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": tSnap}
		}},
		{"provision-status", "unknown status", func(m map[string]any) { pred(m)["status"] = "moved" }},
		{"provision-status", "changed without closest", func(m map[string]any) { delete(pred(m), "closest") }},
		{"provision-status", "closest not spanned by position", func(m map[string]any) { pred(m)["closest"] = "We do not" }},
		{"provision-status", "present with a similarity", func(m map[string]any) { pred(m)["status"] = "present"; delete(pred(m), "closest") }},
		{"provision-status", "removed with a position", func(m map[string]any) { pred(m)["status"] = "removed"; delete(pred(m), "closest") }},
		{"provision-status", "similarity over 1", func(m map[string]any) { pred(m)["similarity"] = 1.5 }},
		{"provision-status", "similarity with four decimals", func(m map[string]any) { pred(m)["similarity"] = 0.6251 }},
		{"provision-status", "changed with a passage elsewhere", func(m map[string]any) { pred(m)["elsewhere"] = elsewhere(0, 5, 1) }},
		{"provision-status", "elsewhere below 0.5", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = elsewhere(0, 5, 0.4) }},
		{"provision-status", "elsewhere over 1", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = elsewhere(0, 5, 1.001) }},
		{"provision-status", "elsewhere with four decimals", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = elsewhere(0, 5, 0.6251) }},
		{"provision-status", "elsewhere empty", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = elsewhere(5, 5, 1) }},
		{"provision-status", "elsewhere negative", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = elsewhere(-1, 5, 1) }},
		{"provision-status", "elsewhere without a position", func(m map[string]any) { removed(m); pred(m)["elsewhere"] = map[string]any{"similarity": 1} }},
		{"provision-status", "elsewhere with an unknown field", func(m map[string]any) {
			removed(m)
			el := elsewhere(0, 5, 1)
			el["closest"] = "We do"
			pred(m)["elsewhere"] = el
		}},
	} {
		t.Run(c.kind+"/"+c.name, func(t *testing.T) {
			b := mutateJSON(t, validTracking()[c.kind], c.f)
			_, err := ParseEntryStatement(b)
			if err == nil {
				t.Fatalf("accepted: %s", b)
			}
			if !errors.Is(err, ErrStatement) || !strings.Contains(err.Error(), c.kind) {
				t.Errorf("error %v does not wrap ErrStatement or name %s", err, c.kind)
			}
		})
	}
	if _, err := ParseEntryStatement([]byte(`{"_type":"` + StatementType + `","predicateType":"https://example.com/other/v1","subject":[],"predicate":{}}`)); err == nil || !strings.Contains(err.Error(), "unknown predicateType") {
		t.Errorf("unknown predicate type: %v", err)
	}
}

func TestCheckQuote(t *testing.T) {
	p := validTracking()["provision"].(*ProvisionStatement).Predicate
	if err := CheckQuote(&p, []byte(tText)); err != nil {
		t.Fatalf("valid quote: %v", err)
	}
	var te *QuoteError
	if err := CheckQuote(&p, []byte(strings.Replace(tText, "do not", "may", 1))); !errors.As(err, &te) || !strings.Contains(err.Error(), "give that version's text") {
		t.Errorf("another text: %v", err)
	}
	for name, f := range map[string]func(p *Provision){
		"shifted position":      func(p *Provision) { p.Position.Start++; p.Position.End++ },
		"position past the end": func(p *Provision) { p.Position.Start, p.Position.End = 100, 114 },
		"wrong prefix":          func(p *Provision) { p.Quote.Prefix = "sell " },
		"wrong suffix":          func(p *Provision) { p.Quote.Suffix = " for" },
		"another quote":         func(p *Provision) { p.Quote.Exact = "customer video" },
	} {
		q := p
		f(&q)
		var qe *QuoteError
		if err := CheckQuote(&q, []byte(tText)); !errors.As(err, &qe) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Positions are code points, not bytes.
	text := "«Ünïcödé» customer audio\n"
	u := p
	u.Text.SHA256 = SHA256Hex([]byte(text))
	u.Quote = TextQuoteSelector{Type: "TextQuoteSelector", Exact: "customer audio"}
	u.Position = TextPositionSelector{Type: "TextPositionSelector", Start: 10, End: 24}
	if err := CheckQuote(&u, []byte(text)); err != nil {
		t.Errorf("code point positions: %v", err)
	}
}

func TestCheckDocumentID(t *testing.T) {
	for _, ok := range []string{"a", "github-privacy-policy", "x1-2"} {
		if err := CheckDocumentID(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a--b", "A", "a b", "a_b", "é", strings.Repeat("a", 101)} {
		if err := CheckDocumentID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzEntryStatement: the parser of every statement kind never panics, and
// what it accepts re-encodes to an equivalent statement it accepts again.
func FuzzEntryStatement(f *testing.F) {
	for _, st := range validTracking() {
		b, _ := json.Marshal(st)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntryStatement(b)
		if err != nil {
			return
		}
		v := e.Statement()
		if v == nil {
			t.Fatalf("accepted with no statement: %s", b)
		}
		re, _ := json.Marshal(v)
		if _, err := ParseEntryStatement(re); err != nil {
			t.Fatalf("re-encoding of an accepted statement is rejected: %v\n%s", err, re)
		}
	})
}

// TestNewEntry: a writer's statement is checked by the same rules as a
// decoded one: each valid statement is accepted, as the same kind, and a
// statement that breaks a rule is refused, as ParseEntryStatement refuses
// its JSON.
func TestNewEntry(t *testing.T) {
	for kind, st := range validTracking() {
		e, err := NewEntry(st)
		if err != nil || e.Kind() != kind || e.Statement() != st {
			t.Errorf("valid %s: %v", kind, err)
		}
	}
	for _, c := range []struct {
		name string
		st   func() any
	}{
		{"declaration without URL", func() any {
			s := validTracking()["declaration"].(*DeclarationStatement)
			s.Predicate.URL = ""
			return s
		}},
		{"version with a bad document ID", func() any {
			s := validTracking()["version"].(*VersionStatement)
			s.Subject[0].Name = "Acme Privacy"
			return s
		}},
		{"extraction confirmed with a failure", func() any {
			s := validTracking()["extraction"].(*ExtractionStatement)
			s.Predicate.Failure = &Failure{Reason: "no_match", Message: "x"}
			return s
		}},
		{"provision whose position does not span the quote", func() any {
			s := validTracking()["provision"].(*ProvisionStatement)
			s.Predicate.Position.End++
			return s
		}},
		{"provision status of an unknown status", func() any {
			s := validTracking()["provision-status"].(*ProvisionStatusStatement)
			s.Predicate.Status = "moved"
			return s
		}},
		{"capture without an observed block", func() any {
			return &Statement{Type: StatementType, PredicateType: CapturePredicateType, Subject: subj("https://acme.example/", tSnap),
				Predicate: Capture{Method: MethodUpload, Outcome: OutcomeCaptured, Snapshot: &Snapshot{SHA256: tSnap}, Tool: tTool}}
		}},
		{"capture under another predicate type", func() any {
			return &Statement{Type: StatementType, PredicateType: VersionPredicateType, Subject: subj("https://acme.example/", tSnap)}
		}},
		{"not a statement", func() any { return &Tool{} }},
	} {
		st := c.st()
		_, err := NewEntry(st)
		if !errors.Is(err, ErrStatement) {
			t.Errorf("%s: NewEntry = %v, want ErrStatement", c.name, err)
		}
		if b, jerr := json.Marshal(st); jerr == nil {
			if _, perr := ParseEntryStatement(b); perr == nil {
				t.Errorf("%s: ParseEntryStatement accepts what NewEntry refuses", c.name)
			}
		}
	}
}

// TestProvisionStatusElsewhere: a removed status may name a passage like
// the quote elsewhere; statements written before the field existed still
// parse.
func TestProvisionStatusElsewhere(t *testing.T) {
	s := validTracking()["provision-status"].(*ProvisionStatusStatement)
	s.Predicate.Status, s.Predicate.Position, s.Predicate.Closest, s.Predicate.Similarity = ProvisionRemoved, nil, "", 0.125
	s.Predicate.Elsewhere = &ProvisionElsewhere{Position: TextPositionSelector{Type: "TextPositionSelector", Start: 3, End: 9}, Similarity: 1}
	if _, err := NewEntry(s); err != nil {
		t.Fatalf("NewEntry: %v", err)
	}
	b, _ := json.Marshal(s)
	e, err := ParseEntryStatement(b)
	if err != nil {
		t.Fatalf("ParseEntryStatement: %v", err)
	}
	if el := e.ProvisionStatus.Predicate.Elsewhere; el == nil || *el != *s.Predicate.Elsewhere {
		t.Errorf("elsewhere read back as %+v", el)
	}
	if !strings.Contains(string(b), `"elsewhere":{"position":{"type":"TextPositionSelector","start":3,"end":9},"similarity":1},"recorded_at"`) {
		t.Errorf("elsewhere not written as documented: %s", b)
	}
	// As exhibit wrote removed statuses before.
	old := `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"acme-privacy","digest":{"sha256":"` + tSHA + `"}}],"predicateType":"` + ProvisionStatusPredicateType +
		`","predicate":{"provision":"` + tID1 + `","version":"` + tID2 + `","text":{"sha256":"` + tSHA + `","size":50,"media_type":"text/markdown; charset=utf-8"},"status":"removed","similarity":0.312,"recorded_at":"` + tTime + `","tool":{"name":"exhibit","version":"0.1.0"}}}`
	if e, err := ParseEntryStatement([]byte(old)); err != nil || e.ProvisionStatus.Predicate.Elsewhere != nil {
		t.Errorf("an earlier removed status: %v", err)
	}
}
