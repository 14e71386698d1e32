package archive_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// analysisSchema compiles docs/schema/analysis.schema.json and returns it
// with its raw form.
func analysisSchema(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	const file = "analysis.schema.json"
	b, err := os.ReadFile(filepath.Join(schemaDocsDir, "schema", file))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	if raw["$id"] != schemaBaseURL+file {
		t.Fatalf("$id %v", raw["$id"])
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(schemaNoLoader{})
	if err := c.AddResource(schemaBaseURL+file, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaBaseURL + file)
	if err != nil {
		t.Fatal(err)
	}
	return sch, raw
}

// TestSchemaAnalysis checks the analysis schema against the Go type, the
// worked example of docs/FORMATS.md section 2.8 against the schema and the
// verifier, and that the schema refuses what the verifier refuses.
func TestSchemaAnalysis(t *testing.T) {
	sch, raw := analysisSchema(t)
	pred := schemaResolve(t, raw, raw["properties"].(map[string]any)["predicate"].(map[string]any))
	schemaCompareStruct(t, "analysis", raw, pred, reflect.TypeFor[verify.Analysis]())

	example := schemaReadDoc(t, "example", "analysis-statement.json")
	schemaMustValidate(t, "the worked example", sch, example)
	e, err := verify.ParseEntryStatement(bytes.TrimSpace(example))
	if err != nil {
		t.Fatalf("the worked example: %v", err)
	}
	if e.Analysis == nil || e.Analysis.Predicate.Revision != 2 {
		t.Fatalf("the worked example is not a revised analysis: %+v", e)
	}
	formats := string(schemaReadDoc(t, "FORMATS.md"))
	if !strings.Contains(formats, string(bytes.TrimSpace(example))) {
		t.Error("docs/FORMATS.md does not quote docs/example/analysis-statement.json verbatim")
	}

	for name, f := range map[string]func(p map[string]any){
		"unknown severity": func(p map[string]any) { p["severity"] = "severe" },
		"unknown basis":    func(p map[string]any) { p["basis"] = "stated" },
		"bad jurisdiction": func(p map[string]any) {
			p["regulations"] = []any{map[string]any{"name": "GDPR", "jurisdiction": "Europe"}}
		},
		"regulation name with @": func(p map[string]any) {
			p["regulations"] = []any{map[string]any{"name": "GDPR@EU", "jurisdiction": "EU"}}
		},
		"bad type ID":             func(p map[string]any) { p["type"].(map[string]any)["id"] = "AI training" },
		"revision 2 alone":        func(p map[string]any) { delete(p, "supersedes") },
		"revision 1 supersedes":   func(p map[string]any) { p["revision"] = 1 },
		"escape in why":           func(p map[string]any) { p["why"] = "a\x1bb" },
		"bidi in note":            func(p map[string]any) { p["note"] = "a\u202eb" },
		"blank author":            func(p map[string]any) { p["author"] = "  " },
		"extra field":             func(p map[string]any) { p["score"] = 1 },
		"non-canonical record ID": func(p map[string]any) { p["provision"] = strings.ToLower(p["provision"].(string)) },
	} {
		var st map[string]any
		json.Unmarshal(example, &st)
		f(st["predicate"].(map[string]any))
		b, _ := json.Marshal(st)
		if err := schemaValidate(sch, b); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := verify.ParseEntryStatement(b); err == nil {
			t.Errorf("%s: verify accepts it", name)
		}
	}
}

// TestSchemaCorroboration checks the corroboration schema against the Go
// type, and a statement exhibit writes, found and none, against the schema
// and the verifier; the schema refuses what the verifier refuses.
func TestSchemaCorroboration(t *testing.T) {
	const file = "corroboration.schema.json"
	b, err := os.ReadFile(filepath.Join(schemaDocsDir, "schema", file))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(schemaNoLoader{})
	if err := c.AddResource(schemaBaseURL+file, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaBaseURL + file)
	if err != nil {
		t.Fatal(err)
	}
	pred := schemaResolve(t, raw, raw["properties"].(map[string]any)["predicate"].(map[string]any))
	schemaCompareStruct(t, "corroboration", raw, pred, reflect.TypeFor[verify.Corroboration]())

	const when = "2026-05-08T11:13:55.250Z"
	st := &verify.CorroborationStatement{Type: verify.StatementType, PredicateType: verify.CorroborationPredicateType,
		Subject: []verify.Subject{{Name: "https://acme.example/terms", Digest: map[string]string{"sha256": strings.Repeat("a", 64)}}},
		Predicate: verify.Corroboration{Capture: "EXR-YECPK-983AW-FBDTJ-1T056", URL: "https://acme.example/terms", CapturedAt: when,
			TimeGate: "https://web.archive.org/web/https://acme.example/terms", Result: verify.CorroborationFound, Status: 302,
			Memento: "https://web.archive.org/web/20260508111355/https://acme.example/terms", MementoDatetime: "2026-05-08T11:13:55.000Z",
			CheckedAt: when, Tool: verify.Tool{Name: "exhibit", Version: "test"}}}
	none := *st
	none.Predicate.Result, none.Predicate.Status, none.Predicate.Memento, none.Predicate.MementoDatetime = verify.CorroborationNone, 404, "", ""
	for name, s := range map[string]*verify.CorroborationStatement{"found": st, "none": &none} {
		b, _ := json.Marshal(s)
		if _, err := verify.ParseEntryStatement(b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		schemaMustValidate(t, name, sch, b)
	}
	for name, f := range map[string]func(p map[string]any){
		"found without memento": func(p map[string]any) { delete(p, "memento") },
		"none with memento":     func(p map[string]any) { p["result"] = "none" },
		"unknown result":        func(p map[string]any) { p["result"] = "maybe" },
		"relative timegate":     func(p map[string]any) { p["timegate"] = "/timegate/x" },
		"bad status":            func(p map[string]any) { p["status"] = 42 },
		"extra field":           func(p map[string]any) { p["same_bytes"] = true },
	} {
		var m map[string]any
		b, _ := json.Marshal(st)
		json.Unmarshal(b, &m)
		f(m["predicate"].(map[string]any))
		b, _ = json.Marshal(m)
		if err := schemaValidate(sch, b); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := verify.ParseEntryStatement(b); err == nil {
			t.Errorf("%s: verify accepts it", name)
		}
	}
}
