package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// TestCaptureRedirected captures a URL the server redirects to a login
// page: the capture's output, show (text, markdown, JSON), the citation
// and verify's "cite as" must all say it was redirected, and where to; a
// capture that was not redirected says nothing of the kind. show gives the
// response headers the statement signs, from the statement or, when they
// were too large for the entry, from their stored object.
func TestCaptureRedirected(t *testing.T) {
	inTemp(t)
	big := strings.Repeat("x", 80<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "loopback-test/1.0")
		w.Header().Set("Last-Modified", "Tue, 05 May 2026 08:00:00 GMT")
		switch r.URL.Path {
		case "/terms":
			http.Redirect(w, r, "/login?next=%2Fterms", http.StatusFound)
			return
		case "/big":
			w.Header().Set("X-Padding", big)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<html>Please sign in</html>"))
	}))
	defer srv.Close()
	login := srv.URL + "/login?next=%2Fterms"

	r := exhibit(t, "capture", srv.URL+"/terms", "--entity", "Example", "--document", "Terms")
	r.want(t, 0, "WARNING  redirected to "+login+": the snapshot is what that URL served",
		"(captured ", ", redirected to "+login+"), exhibit record EXR-")
	id := field(t, r.stdout, "record   ")

	r = exhibit(t, "capture", srv.URL+"/terms", "-o", "json")
	r.want(t, 0, `"redirected":true`, `"final_url":"`+login+`"`)

	exhibit(t, "show", id).want(t, 0,
		"Final URL:      "+login,
		"Redirected to:  "+login+" (the snapshot is what that URL served",
		"Redirect 1:     "+srv.URL+"/terms: HTTP 302 to /login?next=%2Fterms",
		"Last-Modified:  Tue, 05 May 2026 08:00:00 GMT (response header)",
		"Server:         loopback-test/1.0 (response header)",
		"Content-Type:   text/html; charset=utf-8 (response header)",
		"Date:           ",
		", redirected to "+login+"), exhibit record "+id)
	exhibit(t, "show", id, "-o", "markdown").want(t, 0, "| Redirected to | "+login, "| Server | loopback-test/1.0 (response header) |")
	r = exhibit(t, "show", id, "-o", "json")
	r.want(t, 0)
	var c struct {
		RedirectedTo string              `json:"redirected_to"`
		Headers      map[string][]string `json:"response_headers"`
		Text         string              `json:"citation"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &c); err != nil {
		t.Fatal(err)
	}
	if c.RedirectedTo != login || c.Headers["Server"][0] != "loopback-test/1.0" || !strings.Contains(c.Text, "redirected to "+login) {
		t.Errorf("show -o json: %+v", c)
	}

	bundle := filepath.Join(t.TempDir(), "b.json")
	exhibit(t, "prove", id, "-o", bundle).want(t, 0)
	exhibit(t, "verify", bundle).want(t, 0, "cite as:  Example, “Terms” (captured ", ", redirected to "+login+"), exhibit record "+id)

	// Not redirected: not a word about it.
	r = exhibit(t, "capture", srv.URL+"/login")
	r.want(t, 0)
	if strings.Contains(r.stdout, "redirect") {
		t.Errorf("a capture that was not redirected says it was:\n%s", r.stdout)
	}
	r = exhibit(t, "show", field(t, r.stdout, "record   "))
	r.want(t, 0, "Server:         loopback-test/1.0 (response header)")
	if strings.Contains(r.stdout, "edirect") {
		t.Errorf("show of a capture that was not redirected mentions a redirect:\n%s", r.stdout)
	}

	// Headers too large for the log entry are stored as an object the
	// statement names by digest: show reads them from there.
	r = exhibit(t, "capture", srv.URL+"/big")
	r.want(t, 0)
	big1 := field(t, r.stdout, "record   ")
	exhibit(t, "show", big1).want(t, 0, "Server:         loopback-test/1.0 (response header)")
	r = exhibit(t, "prove", big1)
	r.want(t, 0)
	var b struct{ Entry []byte }
	var env struct{ Payload []byte }
	if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Entry, &env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(env.Payload), `"headers_sha256"`) || strings.Contains(string(env.Payload), big[:1000]) {
		t.Fatalf("the test's large headers are in the statement, not stored apart: the test does not test that case")
	}
	r = exhibit(t, "show", big1, "-o", "json")
	r.want(t, 0, `"X-Padding": [`, big)
}

// field returns the rest of the line of out that starts with prefix.
func field(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, prefix); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no line %q in\n%s", prefix, out)
	return ""
}
