package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
)

type searchAnswer struct {
	Records []struct {
		ID         string `json:"record_id"`
		Index      uint64 `json:"index"`
		URL        string `json:"url"`
		FinalURL   string `json:"final_url"`
		Redirected bool   `json:"redirected"`
		Entity     string `json:"entity"`
		Document   string `json:"document"`
	} `json:"records"`
	Next string `json:"next"`
}

func (s searchAnswer) ids() []string {
	var ids []string
	for _, r := range s.Records {
		ids = append(ids, r.ID)
	}
	return ids
}

// TestSearch finds captures from the CLI by every criterion the API
// takes, by a QUERY read as the search box reads it, and lists the newest,
// in pages; it finds what GET /api/v1/search finds, and refuses bad
// criteria with a usage error.
func TestSearch(t *testing.T) {
	inTemp(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/consent", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html>page "+r.URL.Path+"</html>")
	}))
	defer srv.Close()
	os.WriteFile("terms.html", []byte("<p>terms</p>"), 0o644)
	exhibit(t, "search").want(t, 1, "no archive")

	// Index: 0 a, 1 b, 2 moved (redirected), 3 terms.html upload, 4 a again.
	var ids []string
	capture := func(args ...string) {
		t.Helper()
		r := exhibit(t, append([]string{"capture"}, args...)...)
		r.want(t, 0)
		ids = append(ids, field(t, r.stdout, "record   "))
	}
	capture(srv.URL+"/a", "--entity", "Acme", "--document", "Terms")
	capture(srv.URL+"/b", "--entity", "Acme", "--document", "Privacy")
	capture(srv.URL+"/moved", "--entity", "Beta", "--document", "Terms")
	capture("terms.html", "--url", "https://supplied.example/terms", "--entity", "Gamma Corp", "--document", "Terms of Service")
	capture(srv.URL+"/a", "--entity", "Acme", "--document", "Terms")
	sum := sha256hex("<html>page /a</html>")

	a, err := archive.Open(context.Background(), "exhibit-archive", archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	apiSrv := httptest.NewServer(api.New(a, api.Options{}))
	defer apiSrv.Close()

	cli := func(args ...string) searchAnswer {
		t.Helper()
		r := exhibit(t, append([]string{"search", "-o", "json"}, args...)...)
		r.want(t, 0)
		var s searchAnswer
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("search -o json %v: %v\n%s", args, err, r.stdout)
		}
		return s
	}
	for _, tc := range []struct {
		desc  string
		args  []string
		query url.Values // the same search through the API; nil: none
		want  []string
	}{
		{"url", []string{"--url", srv.URL + "/a"}, url.Values{"url": {srv.URL + "/a"}}, []string{ids[4], ids[0]}},
		{"claimed url", []string{"--url", "https://supplied.example/terms"}, url.Values{"url": {"https://supplied.example/terms"}}, []string{ids[3]}},
		{"sha256", []string{"--sha256", sum}, url.Values{"sha256": {sum}}, []string{ids[4], ids[0]}},
		{"sha256 upper case", []string{"--sha256", strings.ToUpper(sum)}, nil, []string{ids[4], ids[0]}},
		{"entity", []string{"--entity", "Acme"}, url.Values{"entity": {"Acme"}}, []string{ids[4], ids[1], ids[0]}},
		{"document", []string{"--document", "Terms"}, url.Values{"document": {"Terms"}}, []string{ids[4], ids[2], ids[0]}},
		{"entity and document", []string{"--entity", "Acme", "--document", "Privacy"}, url.Values{"entity": {"Acme"}, "document": {"Privacy"}}, []string{ids[1]}},
		{"no match", []string{"--entity", "acme"}, url.Values{"entity": {"acme"}}, nil},
		{"query entity", []string{"Gamma Corp"}, nil, []string{ids[3]}},
		{"query document", []string{"Privacy"}, nil, []string{ids[1]}},
		{"query url", []string{srv.URL + "/b"}, nil, []string{ids[1]}},
		{"query sha256", []string{strings.ToUpper(sum)}, nil, []string{ids[4], ids[0]}},
		{"query record ID", []string{strings.ToLower(ids[2])}, nil, []string{ids[2]}},
		{"newest", nil, nil, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := cli(tc.args...).ids(); !slices.Equal(got, tc.want) {
				t.Errorf("search %v = %v, want %v", tc.args, got, tc.want)
			}
			if tc.query == nil {
				return
			}
			resp, err := http.Get(apiSrv.URL + "/api/v1/search?" + tc.query.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var s searchAnswer
			if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
				t.Fatal(err)
			}
			if got := s.ids(); !slices.Equal(got, tc.want) {
				t.Errorf("GET /api/v1/search?%s = %v, want %v (as the CLI)", tc.query.Encode(), got, tc.want)
			}
		})
	}

	// Pages: --limit and --before, with "next" the cursor.
	p1 := cli("--limit", "2")
	if !slices.Equal(p1.ids(), []string{ids[4], ids[3]}) || p1.Next != "3" {
		t.Fatalf("page 1: %v next %q", p1.ids(), p1.Next)
	}
	p2 := cli("--limit", "2", "--before", p1.Next)
	if !slices.Equal(p2.ids(), []string{ids[2], ids[1]}) || p2.Next != "1" {
		t.Fatalf("page 2: %v next %q", p2.ids(), p2.Next)
	}
	if p3 := cli("--limit", "2", "--before", p2.Next); !slices.Equal(p3.ids(), []string{ids[0]}) || p3.Next != "" {
		t.Fatalf("page 3: %v next %q", p3.ids(), p3.Next)
	}
	exhibit(t, "search", "--limit", "2").want(t, 0, "more: run again with --before 3 for the next page")
	if r := exhibit(t, "search", "--limit", "5"); strings.Contains(r.stderr, "more:") {
		t.Errorf("the last page offers more:\n%s", r.stderr)
	}

	// The redirected capture says so, in JSON and in text.
	if s := cli("--entity", "Beta"); len(s.Records) != 1 || !s.Records[0].Redirected || s.Records[0].FinalURL != srv.URL+"/consent" {
		t.Errorf("redirected capture: %+v", s.Records)
	}
	exhibit(t, "search", "--entity", "Beta").want(t, 0, ids[2], "captured", srv.URL+"/moved -> "+srv.URL+"/consent")
	exhibit(t, "search", "Gamma Corp").want(t, 0, "RECORD", ids[3], "supplied copy", "Gamma Corp", "Terms of Service", "https://supplied.example/terms")
	if r := exhibit(t, "search", "--entity", "Nobody"); r.stdout != "" || !strings.Contains(r.stderr, "no captures found") || r.code != 0 {
		t.Errorf("no match: %+v", r)
	}
	if s := cli("--entity", "Nobody"); s.Records == nil {
		t.Error(`no match gives "records": null, want []`)
	}

	// Usage errors.
	for _, args := range [][]string{
		{"--sha256", "abc"},
		{"--sha256", strings.Repeat("g", 64)},
		{"--limit", "0"},
		{"--limit", "501"},
		{"--before", "-1"},
		{"a", "b"},
		{"Acme", "--entity", "Acme"},
		{" "},
		{"-o", "yaml"},
	} {
		exhibit(t, append([]string{"search"}, args...)...).want(t, 2)
	}
}
