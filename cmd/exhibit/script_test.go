package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"exhibit": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

// TestScript runs the CLI scripts in testdata/script (see testscript):
// each is a session at a terminal, its commands and what they print and
// exit with. Besides testscript's own commands:
//
//	jsonfield VAR FILE KEY   sets $VAR to the string or number at KEY of
//	                         the first JSON object in FILE (stdout too)
//	v1archive DIR            copies archive/testdata/v1 (an archive written
//	                         by format 1) to DIR
//	replace OLD NEW FILE     replaces the first OLD in FILE with NEW
func TestScript(t *testing.T) {
	v1, err := filepath.Abs(filepath.Join("..", "..", "archive", "testdata", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("EXHIBIT_ARCHIVE", filepath.Join(e.WorkDir, "exhibit-archive"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsonfield": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: jsonfield VAR FILE KEY")
				}
				var m map[string]any
				if err := json.NewDecoder(stringsReader(ts.ReadFile(args[1]))).Decode(&m); err != nil {
					ts.Fatalf("%s: %v", args[1], err)
				}
				v, ok := m[args[2]]
				if !ok {
					ts.Fatalf("%s has no %q", args[1], args[2])
				}
				b, _ := json.Marshal(v)
				if s, ok := v.(string); ok {
					b = []byte(s)
				}
				ts.Setenv(args[0], string(b))
			},
			"replace": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 3 {
					ts.Fatalf("usage: replace OLD NEW FILE")
				}
				b := ts.ReadFile(args[2])
				if !strings.Contains(b, args[0]) {
					ts.Fatalf("%s does not hold %q", args[2], args[0])
				}
				ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(strings.Replace(b, args[0], args[1], 1)), 0o644))
			},
			"v1archive": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: v1archive DIR")
				}
				out, err := exec.Command("cp", "-a", v1, ts.MkAbs(args[0])).CombinedOutput()
				ts.Check(err)
				if len(out) > 0 {
					ts.Logf("%s", out)
				}
			},
		},
	})
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }
