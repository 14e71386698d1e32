package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// browserStatement is a valid browser capture (predicate version 2).
func browserStatement() *Statement {
	h := func(c byte) string { return strings.Repeat(string(c), 64) }
	return &Statement{
		Type:          StatementType,
		PredicateType: CapturePredicateTypeV2,
		Subject:       []Subject{{Name: "http://127.0.0.1/terms", Digest: map[string]string{"sha256": h('a')}}},
		Predicate: Capture{
			Method:   MethodBrowser,
			Outcome:  OutcomeCaptured,
			Snapshot: &Snapshot{SHA256: h('a'), Size: 10, MediaType: "text/html"},
			Observed: &Observation{StartedAt: "2026-12-04T11:00:00.000Z", RequestedURL: "http://127.0.0.1/terms", FinalURL: "http://127.0.0.1/terms", Status: 200},
			Rendering: &Rendering{
				Browser:    Browser{Name: "HeadlessChrome", Version: "156.0.8078.114"},
				Viewport:   Viewport{Width: 1280, Height: 800, DeviceScaleFactor: 1},
				Wait:       Wait{Rule: WaitNetworkIdle, IdleMS: 500, TimeoutMS: 15000, Settled: true, WaitedMS: 900},
				Requests:   2,
				Screenshot: &Artefact{SHA256: h('b'), Size: 5, MediaType: MediaTypePNG},
				PDF:        &Artefact{SHA256: h('c'), Size: 6, MediaType: MediaTypePDF},
				DOM:        &Artefact{SHA256: h('d'), Size: 7, MediaType: MediaTypeHTML},
			},
			Tool: Tool{Name: "exhibit", Version: "0.1.0"},
		},
	}
}

func TestParseStatementBrowser(t *testing.T) {
	marshal := func(s *Statement) []byte {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := ParseStatement(marshal(browserStatement())); err != nil {
		t.Fatalf("valid browser capture: %v", err)
	}
	withWACZ := func() *Statement {
		s := browserStatement()
		s.Predicate.Rendering.WACZ = &Artefact{SHA256: strings.Repeat("d", 64), Size: 4096, MediaType: MediaTypeWACZ}
		return s
	}
	if _, err := ParseStatement(marshal(withWACZ())); err != nil {
		t.Fatalf("valid browser capture with a WACZ: %v", err)
	}
	failed := browserStatement()
	failed.Predicate.Outcome, failed.Predicate.Snapshot = OutcomeFailed, nil
	failed.Predicate.Failure = &Failure{Reason: "browser_crashed", Message: "the page's renderer crashed"}
	failed.Predicate.Rendering.Screenshot, failed.Predicate.Rendering.PDF, failed.Predicate.Rendering.DOM = nil, nil, nil
	failed.Subject[0].Digest["sha256"] = SHA256Hex([]byte(failed.Subject[0].Name))
	if _, err := ParseStatement(marshal(failed)); err != nil {
		t.Fatalf("valid failed browser capture: %v", err)
	}

	for _, tc := range []struct {
		name    string
		base    func() *Statement
		mutate  func(*Statement)
		wantErr string
	}{
		{"v1 with method browser", browserStatement, func(s *Statement) { s.PredicateType = CapturePredicateType }, "unknown method"},
		{"fetch with rendering", browserStatement, func(s *Statement) { s.Predicate.Method = MethodFetch }, "rendering block"},
		{"browser without rendering", browserStatement, func(s *Statement) { s.Predicate.Rendering = nil }, "without a rendering block"},
		{"browser with claims", browserStatement, func(s *Statement) { s.Predicate.Claimed = &Claim{URL: "http://x"} }, "claims"},
		{"no browser name", browserStatement, func(s *Statement) { s.Predicate.Rendering.Browser.Name = "" }, "browser has no name"},
		{"zero viewport", browserStatement, func(s *Statement) { s.Predicate.Rendering.Viewport.Width = 0 }, "viewport"},
		{"unknown wait rule", browserStatement, func(s *Statement) { s.Predicate.Rendering.Wait.Rule = "load" }, "wait rule"},
		{"zero wait bound", browserStatement, func(s *Statement) { s.Predicate.Rendering.Wait.TimeoutMS = 0 }, "wait times"},
		{"negative requests", browserStatement, func(s *Statement) { s.Predicate.Rendering.Requests = -1 }, "negative requests"},
		{"no screenshot", browserStatement, func(s *Statement) { s.Predicate.Rendering.Screenshot = nil }, "artefacts"},
		{"no pdf", browserStatement, func(s *Statement) { s.Predicate.Rendering.PDF = nil }, "artefacts"},
		{"no dom", browserStatement, func(s *Statement) { s.Predicate.Rendering.DOM = nil }, "artefacts"},
		{"bad screenshot digest", browserStatement, func(s *Statement) { s.Predicate.Rendering.Screenshot.SHA256 = "AB" }, "screenshot sha256"},
		{"negative pdf size", browserStatement, func(s *Statement) { s.Predicate.Rendering.PDF.Size = -1 }, "negative size"},
		{"dom media type", browserStatement, func(s *Statement) { s.Predicate.Rendering.DOM.MediaType = "text/plain" }, "dom media type"},
		{"screenshot media type", browserStatement, func(s *Statement) { s.Predicate.Rendering.Screenshot.MediaType = "image/jpeg" }, "screenshot media type"},
		{"wacz media type", withWACZ, func(s *Statement) { s.Predicate.Rendering.WACZ.MediaType = "application/zip" }, "wacz media type"},
		{"bad wacz digest", withWACZ, func(s *Statement) { s.Predicate.Rendering.WACZ.SHA256 = "sha256:" + strings.Repeat("d", 64) }, "wacz sha256"},
		{"wacz without dom", withWACZ, func(s *Statement) { s.Predicate.Rendering.DOM = nil }, "without the dom artefact"},
		{"failed with a wacz", func() *Statement { return failed }, func(s *Statement) {
			s.Predicate.Rendering.WACZ = &Artefact{SHA256: strings.Repeat("d", 64), MediaType: MediaTypeWACZ}
		}, "failed capture with a wacz"},
		{"captured with status 500", browserStatement, func(s *Statement) { s.Predicate.Observed.Status = 500 }, "HTTP status"},
		{"failed with artefacts", func() *Statement { return failed }, func(s *Statement) {
			s.Predicate.Rendering.PDF = &Artefact{SHA256: strings.Repeat("c", 64), MediaType: MediaTypePDF}
		}, "failed capture with a pdf"},
		{"browser reason in v1 fetch", func() *Statement { return failed }, func(s *Statement) {
			s.PredicateType, s.Predicate.Method, s.Predicate.Rendering = CapturePredicateType, MethodFetch, nil
		}, "failure reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh copy through JSON, so that mutations do not leak.
			var s Statement
			if err := json.Unmarshal(marshal(tc.base()), &s); err != nil {
				t.Fatal(err)
			}
			tc.mutate(&s)
			_, err := ParseStatement(marshal(&s))
			if err == nil || !errors.Is(err, ErrStatement) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %v, want ErrStatement with %q", err, tc.wantErr)
			}
		})
	}
}

// TestParseStatementV1Unchanged: a version 1 statement may not carry a
// rendering block, which version 1 readers do not know.
func TestParseStatementV1Unchanged(t *testing.T) {
	s := browserStatement()
	s.PredicateType, s.Predicate.Method = CapturePredicateType, MethodFetch
	b, _ := json.Marshal(s)
	if _, err := ParseStatement(b); err == nil {
		t.Fatal("a v1 fetch with a rendering block parsed")
	}
	s.Predicate.Rendering = nil
	b, _ = json.Marshal(s)
	if _, err := ParseStatement(b); err != nil {
		t.Fatalf("v1 fetch: %v", err)
	}
	s.PredicateType = CapturePredicateTypeV2
	b, _ = json.Marshal(s)
	if _, err := ParseStatement(b); err != nil {
		t.Fatalf("v2 reads a v1 predicate: %v", err)
	}
}
