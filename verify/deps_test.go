package verify_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports enforces that auditors can vendor package verify: it may
// import only the standard library, golang.org/x/mod/sumdb/note and
// github.com/transparency-dev/merkle.
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := func(p string) bool {
		return p == "github.com/exhibit-archive/exhibit/verify" ||
			p == "golang.org/x/mod/sumdb/note" ||
			p == "github.com/transparency-dev/merkle" ||
			strings.HasPrefix(p, "github.com/transparency-dev/merkle/")
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		n++
		if !allowed(p) {
			t.Errorf("package verify depends on %s; only the standard library, golang.org/x/mod/sumdb/note and github.com/transparency-dev/merkle are allowed", p)
		}
	}
	if n == 0 {
		t.Fatal("go list printed no packages; the check did not run")
	}
}
