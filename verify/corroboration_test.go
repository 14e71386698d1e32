package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func validCorroboration() *CorroborationStatement {
	return &CorroborationStatement{Type: StatementType, PredicateType: CorroborationPredicateType, Subject: subj("https://acme.example/terms", tSnap),
		Predicate: Corroboration{Capture: tID1, URL: "https://acme.example/terms", CapturedAt: tTime, TimeGate: "https://web.archive.org/web/https://acme.example/terms",
			Result: CorroborationFound, Status: 302, Memento: "https://web.archive.org/web/20260508111355/https://acme.example/terms", MementoDatetime: "2026-05-08T11:13:55.000Z",
			CheckedAt: tTime, Tool: tTool}}
}

func TestCorroborationStatement(t *testing.T) {
	b, _ := json.Marshal(validCorroboration())
	e, err := ParseEntryStatement(b)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind() != "corroboration" || e.DocumentID() != "" || e.SubjectDigest() != tSnap {
		t.Fatalf("entry: %s %q %s", e.Kind(), e.DocumentID(), e.SubjectDigest())
	}
	if _, err := NewEntry(validCorroboration()); err != nil {
		t.Fatal(err)
	}
	none := validCorroboration()
	none.Predicate.Result, none.Predicate.Status, none.Predicate.Memento, none.Predicate.MementoDatetime = CorroborationNone, 404, "", ""
	if _, err := NewEntry(none); err != nil {
		t.Fatalf("none: %v", err)
	}
	for _, c := range []struct {
		name, want string
		f          func(m map[string]any)
	}{
		{"subject is not the URL", "subject name", func(m map[string]any) { m["subject"].([]any)[0].(map[string]any)["name"] = "https://other.example/" }},
		{"bad digest", "subject digest", func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"] = map[string]any{"sha256": "x"}
		}},
		{"bad capture ID", "capture", func(m map[string]any) { pred(m)["capture"] = "EXR-x" }},
		{"relative timegate", "timegate", func(m map[string]any) { pred(m)["timegate"] = "/timegate/x" }},
		{"bad result", `result "maybe"`, func(m map[string]any) { pred(m)["result"] = "maybe" }},
		{"found without memento", "memento", func(m map[string]any) { delete(pred(m), "memento") }},
		{"found without datetime", "memento_datetime", func(m map[string]any) { delete(pred(m), "memento_datetime") }},
		{"none with memento", "names no memento", func(m map[string]any) { pred(m)["result"] = "none" }},
		{"bad status", "status", func(m map[string]any) { pred(m)["status"] = 42 }},
		{"bad time", "checked_at", func(m map[string]any) { pred(m)["checked_at"] = "yesterday" }},
		{"unknown field", "unknown field", func(m map[string]any) { pred(m)["bytes_equal"] = true }},
		{"control in memento", "memento", func(m map[string]any) { pred(m)["memento"] = "https://a.example/\u202e" }},
	} {
		b := mutateJSON(t, validCorroboration(), c.f)
		if _, err := ParseEntryStatement(b); !errors.Is(err, ErrStatement) || !strings.Contains(err.Error(), "corroboration: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
}
