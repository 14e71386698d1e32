package cite

import (
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// fetched is a capture record of requested, ending at final after the
// given redirect hops, with outcome.
func fetched(requested, final string, hops []verify.Hop, outcome string) *record.Record {
	p := verify.Capture{Entity: "Example", Document: "Terms", Method: verify.MethodFetch, Outcome: outcome,
		Observed: &verify.Observation{StartedAt: "2026-05-08T11:13:55.250Z", RequestedURL: requested, FinalURL: final, Redirects: hops, Status: 200}}
	sum := strings.Repeat("ab", 32)
	switch outcome {
	case verify.OutcomeFailed:
		p.Failure = &verify.Failure{Reason: "timeout", Message: "deadline exceeded"}
		p.Observed.Status = 0
	case verify.OutcomeHTTPError:
		p.Observed.Status = 404
		fallthrough
	default:
		p.Snapshot = &verify.Snapshot{SHA256: sum, Size: 10}
	}
	st := &verify.Statement{Subject: []verify.Subject{{Name: requested, Digest: map[string]string{"sha256": sum}}}, Predicate: p}
	return record.New("EXR-5MFQW-DQS6S-QAF2S-6N8HA", 3, &verify.Entry{Capture: st}, nil)
}

// TestRedirectedTo checks that a capture whose final URL is another page
// than the one asked for is cited as redirected, and where to, and that
// nothing else is.
func TestRedirectedTo(t *testing.T) {
	hop := []verify.Hop{{URL: "https://example.com/terms", Status: 302, Location: "/login?next=%2Fterms"}}
	for _, tc := range []struct {
		desc    string
		rec     *record.Record
		wantTo  string
		wantTxt string
	}{
		{"no redirect", fetched("https://example.com/terms", "https://example.com/terms", nil, verify.OutcomeCaptured), "", ""},
		{"to a login page", fetched("https://example.com/terms", "https://example.com/login?next=%2Fterms", hop, verify.OutcomeCaptured),
			"https://example.com/login?next=%2Fterms", "(captured 8 May 2026, 11:13:55 UTC, redirected to https://example.com/login?next=%2Fterms), exhibit record"},
		{"to an error page", fetched("https://example.com/terms", "https://example.com/login", hop, verify.OutcomeHTTPError),
			"https://example.com/login", "(captured 8 May 2026, 11:13:55 UTC, redirected to https://example.com/login; HTTP 404), exhibit record"},
		{"failed after a redirect", fetched("https://example.com/terms", "https://example.com/login", hop, verify.OutcomeFailed), "", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := New(tc.rec, &verify.Checkpoint{Origin: "example.org/log", Size: 4}, "vkey")
			if c.RedirectedTo != tc.wantTo {
				t.Errorf("RedirectedTo = %q, want %q", c.RedirectedTo, tc.wantTo)
			}
			if tc.wantTxt != "" && !strings.Contains(c.Text, tc.wantTxt) {
				t.Errorf("citation %q lacks %q", c.Text, tc.wantTxt)
			}
			if tc.wantTo == "" && strings.Contains(c.Text, "redirected") {
				t.Errorf("citation %q says redirected", c.Text)
			}
		})
	}
}

// browsed is a browser capture record of requested whose main frame
// navigated by itself (navs), ending at the document of final, reached
// after hops.
func browsed(requested, final string, hops []verify.Hop, navs ...verify.Navigation) *record.Record {
	r := fetched(requested, final, hops, verify.OutcomeCaptured)
	p := &r.Statement.Capture.Predicate
	p.Method = verify.MethodBrowser
	p.Rendering = &verify.Rendering{Browser: verify.Browser{Name: "HeadlessChrome"}, Navigations: navs,
		Wait: verify.Wait{Rule: verify.WaitNetworkIdle, IdleMS: 500, TimeoutMS: 15000, WaitedMS: 2100, Settled: true}}
	return record.New(r.ID, r.Index, r.Statement, nil)
}

// TestNavigatedTo checks that a browser capture whose page navigated by
// itself to another document is cited as an HTTP redirect is: naming the
// document captured and how the page got there; and that a page that
// navigated back to the URL asked for is not.
func TestNavigatedTo(t *testing.T) {
	const asked, other = "https://example.com/terms", "https://example.com/other.html"
	hop := []verify.Hop{{URL: other, Status: 302, Location: "/login"}}
	for _, tc := range []struct {
		desc    string
		rec     *record.Record
		wantTo  string
		wantTxt string
	}{
		{"by script", browsed(asked, other, nil, verify.Navigation{URL: other, Kind: "script", AtMS: 1000}),
			other, "(captured 8 May 2026, 11:13:55 UTC, navigated by script to " + other + "), exhibit record"},
		{"by meta refresh", browsed(asked, other, nil, verify.Navigation{URL: other, Kind: "meta-refresh", AtMS: 10}),
			other, ", navigated by meta refresh to " + other + "),"},
		{"by other means", browsed(asked, other, nil, verify.Navigation{URL: other, Kind: "other", AtMS: 10}),
			other, ", navigated to " + other + "),"},
		{"by script, then an HTTP redirect", browsed(asked, "https://example.com/login", hop, verify.Navigation{URL: other, Kind: "script", AtMS: 10}),
			"https://example.com/login", ", navigated by script to " + other + ", then redirected to https://example.com/login),"},
		{"reloaded", browsed(asked, asked, nil, verify.Navigation{URL: asked, Kind: "reload", AtMS: 10}), "", ""},
		{"no navigation", browsed(asked, asked, nil), "", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got, want := tc.rec.Redirected, tc.wantTo != ""; got != want {
				t.Errorf("record.Redirected = %v, want %v", got, want)
			}
			c := New(tc.rec, &verify.Checkpoint{Origin: "example.org/log", Size: 4}, "vkey")
			if c.RedirectedTo != tc.wantTo {
				t.Errorf("RedirectedTo = %q, want %q", c.RedirectedTo, tc.wantTo)
			}
			if tc.wantTxt != "" && !strings.Contains(c.Text, tc.wantTxt) {
				t.Errorf("citation %q lacks %q", c.Text, tc.wantTxt)
			}
			if tc.wantTo == "" && (strings.Contains(c.Text, "redirected") || strings.Contains(c.Text, "navigated") || c.Redirection != "") {
				t.Errorf("citation %q (redirection %q) says the page moved", c.Text, c.Redirection)
			}
			if len(c.Navigations) != len(tc.rec.Rendering.Navigations) {
				t.Errorf("citation has %d navigations, the statement %d", len(c.Navigations), len(tc.rec.Rendering.Navigations))
			}
		})
	}
}
