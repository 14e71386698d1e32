package api_test

import (
	"encoding/json"
	"html"
	"net/http"
	"strings"
	"testing"
)

// TestRecordPageShows checks what a record page says beyond its citation:
// that the fetch was redirected, and where to; the response headers the
// statement signs; and that the panel's key is this server's own, with how
// to obtain it independently and verify offline.
func TestRecordPageShows(t *testing.T) {
	f := newPageFixture(t)
	obs := f.fetched.Statement.Capture.Predicate.Observed

	resp, body := f.get(t, "/records/"+f.fetched.ID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		`<p class="notice" id="redirect-notice">`,
		`was <strong>redirected</strong> to <span class="url">` + html.EscapeString(obs.FinalURL) + `</span>`,
		html.EscapeString(", redirected to " + obs.FinalURL + "), exhibit record " + f.fetched.ID),
		`<dd class="header" data-header="Content-Type">text/html; charset=utf-8</dd>`,
		`<dd class="header" data-header="Date">` + html.EscapeString(obs.Headers["Date"][0]) + `</dd>`,
		`served by this same server`,
		`<code>exhibit log-key</code>`,
		`exhibit verify --key 'LOG_KEY_OBTAINED_INDEPENDENTLY' --record-id ` + f.fetched.ID + ` --snapshot snapshot.bin bundle.json`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fetch page lacks %q", want)
		}
	}
	if strings.Contains(body, `data-header="Last-Modified"`) {
		t.Error("the page shows a Last-Modified the server did not send")
	}
	if m := inlineCode.FindString(body); m != "" {
		t.Errorf("page has inline code %q, which the CSP blocks", m)
	}

	// The API's record says the same.
	_, body = f.get(t, "/api/v1/records/"+f.fetched.ID)
	var info struct {
		Redirected bool `json:"redirected"`
		Citation   struct {
			RedirectedTo string              `json:"redirected_to"`
			Headers      map[string][]string `json:"response_headers"`
			Text         string              `json:"citation"`
		} `json:"citation"`
	}
	if err := json.Unmarshal([]byte(body), &info); err != nil {
		t.Fatal(err)
	}
	if c := info.Citation; !info.Redirected || c.RedirectedTo != obs.FinalURL || c.Headers["Content-Type"][0] != "text/html; charset=utf-8" ||
		!strings.Contains(c.Text, "redirected to "+obs.FinalURL) {
		t.Errorf("GET /api/v1/records/%s: %s", f.fetched.ID, body)
	}

	// So does the list of records.
	_, body = f.get(t, "/")
	if want := `<span class="claim redirected">redirected to ` + html.EscapeString(obs.FinalURL) + `</span>`; strings.Count(body, want) != 1 {
		t.Errorf("GET / does not mark the one redirected capture with %q", want)
	}

	resp, body = f.get(t, "/records/"+f.upload.ID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "redirect-notice") || strings.Contains(body, `class="header"`) {
		t.Error("an upload's page says it was redirected, or shows response headers")
	}
	if !strings.Contains(body, `id="key-trust"`) {
		t.Error("an upload's page does not say which key to trust")
	}
}
