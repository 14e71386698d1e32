package taxonomy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/taxonomy"
)

// stableIDs are the type IDs of the built-in vocabulary as published:
// none may disappear or change meaning (add, never rename).
var stableIDs = []string{
	"ai-training-customer-content", "ai-training-public-data", "ai-human-review", "ai-output-disclaimer", "ai-output-ownership",
	"automated-decisions", "data-sale", "data-sharing", "data-retention", "data-subject-rights", "international-transfers",
	"tracking-technologies", "children", "breach-notification", "arbitration", "class-action-waiver", "governing-law",
	"forum-selection", "indemnification", "limitation-of-liability", "warranty-disclaimer", "unilateral-changes",
	"termination-by-provider", "auto-renewal", "content-license", "acceptable-use",
}

func TestBuiltin(t *testing.T) {
	tx := taxonomy.Default()
	if n := len(tx.Types()); n < 20 {
		t.Errorf("%d built-in types, want at least 20", n)
	}
	for _, id := range stableIDs {
		ty, ok := tx.Lookup(id)
		if !ok {
			t.Errorf("built-in type %s is gone: IDs are stable", id)
			continue
		}
		if ty.Taxonomy != taxonomy.Builtin || ty.Version != taxonomy.BuiltinVersion || ty.Definition == "" || ty.Name == "" {
			t.Errorf("%s: %+v", id, ty)
		}
	}
	if _, ok := tx.Lookup("no-such-type"); ok {
		t.Error("an unknown ID is found")
	}
}

func TestLoadExtension(t *testing.T) {
	dir := t.TempDir()
	tx, err := taxonomy.Load(dir)
	if err != nil || tx.Extension != "" || len(tx.Types()) != len(taxonomy.Default().Types()) {
		t.Fatalf("no file: %v, %q", err, tx.Extension)
	}
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, taxonomy.FileName), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"name":"acme-legal","version":"2026.1","types":[{"id":"non-compete","name":"Non-compete","category":"contract","definition":"The user may not compete."}]}`)
	tx, err = taxonomy.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ty, ok := tx.Lookup("non-compete")
	if !ok || ty.Taxonomy != "acme-legal" || ty.Version != "2026.1" {
		t.Fatalf("operator type: %+v %v", ty, ok)
	}
	if _, ok := tx.Lookup("arbitration"); !ok {
		t.Error("built-in types lost when extended")
	}
	if last := tx.Types()[len(tx.Types())-1]; last.ID != "non-compete" {
		t.Errorf("last type %s, want the operator's after the built-in ones", last.ID)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"not JSON", `{`, "unexpected EOF"},
		{"repeated key", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"other","definition":"x","definition":"y"}]}`, `duplicate key "definition"`},
		{"key in two cases", `{"name":"acme","Name":"acme2","version":"1","types":[{"id":"x","name":"X","category":"other","definition":"x"}]}`, `differ only in case`},
		{"unknown field", `{"name":"a","version":"1","types":[],"extra":1}`, `unknown field "extra"`},
		{"built-in name", `{"name":"exhibit","version":"2","types":[{"id":"x","name":"X","category":"other","definition":"x"}]}`, "built-in vocabulary's"},
		{"redefines", `{"name":"acme","version":"1","types":[{"id":"arbitration","name":"A","category":"disputes","definition":"a"}]}`, `types[0]: id "arbitration" is already defined by vocabulary exhibit 1`},
		{"twice", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"other","definition":"x"},{"id":"x","name":"X","category":"other","definition":"x"}]}`, `types[1]: id "x" is already defined by vocabulary acme 1`},
		{"bad id", `{"name":"acme","version":"1","types":[{"id":"Bad ID","name":"X","category":"other","definition":"x"}]}`, `types[0]: "Bad ID"`},
		{"bad category", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"misc","definition":"x"}]}`, `category "misc"`},
		{"no definition", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"other","definition":" "}]}`, "definition is empty"},
		{"control", `{"name":"acme","version":"1","types":[{"id":"x","name":"X\u202e","category":"other","definition":"x"}]}`, "control character"},
		{"bad version", `{"name":"acme","version":"","types":[{"id":"x","name":"X","category":"other","definition":"x"}]}`, `version ""`},
		{"no types", `{"name":"acme","version":"1","types":[]}`, "no types"},
		{"sets taxonomy", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"other","definition":"x","taxonomy":"exhibit"}]}`, "are the file's"},
		{"two values", `{"name":"acme","version":"1","types":[{"id":"x","name":"X","category":"other","definition":"x"}]} {}`, "more than one JSON value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(tc.file)
			_, err := taxonomy.Load(dir)
			if !errors.Is(err, taxonomy.ErrFile) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), taxonomy.FileName) {
				t.Errorf("error %v, want ErrFile naming the file and %q", err, tc.want)
			}
		})
	}
	write(strings.Repeat(" ", 1<<20+1))
	if _, err := taxonomy.Load(dir); !errors.Is(err, taxonomy.ErrFile) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}
