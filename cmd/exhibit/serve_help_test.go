package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// routeRE finds the routes package api registers: mux.Handle("GET /path",
// …) and mux.HandleFunc(…).
var routeRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("(?:([A-Z]+) )?(/[^"]*)"`)

// TestServeHelpRoutes checks that "exhibit help serve" names every route
// the server registers (read from package api's source, so that a new
// route not documented fails here).
func TestServeHelpRoutes(t *testing.T) {
	help := exhibit(t, "help", "serve")
	help.want(t, 0)
	files, err := filepath.Glob(filepath.Join("..", "..", "api", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range routeRE.FindAllStringSubmatch(string(src), -1) {
			n++
			method, path := m[1], m[2]
			if path == "/api/v1/" && method == "" {
				continue // the catch-all 404 of unknown API paths
			}
			// A wildcard that spans segments, or a name, is written in
			// the help as <N> or similar: match the path up to it.
			want := path
			if i := strings.Index(path, "{"); i >= 0 && !strings.HasPrefix(path[i:], "{id}") && !strings.HasPrefix(path[i:], "{hex}") {
				want = path[:i]
			}
			want = strings.TrimSuffix(want, "{$}")
			if method == "" {
				method = "GET"
			}
			if !strings.Contains(help.stdout, method+" "+want) {
				t.Errorf("exhibit help serve does not name %s %s (want %q)", method, path, want)
			}
		}
	}
	if n < 20 {
		t.Fatalf("found %d routes in package api: the pattern no longer matches its source", n)
	}
}
