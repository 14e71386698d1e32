package main

import (
	"encoding/json"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/track"
)

// TestTrackRenderWait: track add's --render-wait-for and --render-delay
// are recorded in the declaration and shown by track list; track edit
// changes and removes them; a blank selector, a negative or sub-millisecond
// delay and either flag without --render are refused, the archive
// unchanged.
func TestTrackRenderWait(t *testing.T) {
	inTemp(t)
	const u = "https://example.com/terms"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"empty selector", []string{"--render", "--render-wait-for", ""}, "--render-wait-for: the selector is empty"},
		{"blank selector", []string{"--render", "--render-wait-for", "  "}, "--render-wait-for: the selector is empty"},
		{"negative delay", []string{"--render", "--render-delay", "-1s"}, "--render-delay -1s: must not be negative"},
		{"sub-millisecond delay", []string{"--render", "--render-delay", "1500us"}, "whole milliseconds"},
		{"delay over a minute", []string{"--render", "--render-delay", "61s"}, "whole milliseconds, 1ms to 1m0s"},
		{"selector without render", []string{"--render-wait-for", "#clause"}, "go with --render"},
		{"delay without render", []string{"--render-delay", "1s"}, "go with --render"},
		{"control character", []string{"--render", "--render-wait-for", "#a\x07"}, "control character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exhibit(t, append([]string{"track", "add", u, "--entity", "Acme", "--document", "Terms"}, tc.args...)...).want(t, 2, tc.want)
		})
	}
	// Nothing was declared.
	exhibit(t, "track", "edit", "acme-terms", "--every", "2h").want(t, 2, "no such tracked document")

	exhibit(t, "track", "add", u, "--entity", "Acme", "--document", "Terms", "--render",
		"--render-wait-for", "#clause.ready", "--render-delay", "1500ms").want(t, 0, "tracking acme-terms (declaration revision 1)")
	doc := func() track.Document {
		t.Helper()
		r := exhibit(t, "track", "list", "-o", "json")
		r.want(t, 0)
		var docs []track.Document
		if err := json.Unmarshal([]byte(r.stdout), &docs); err != nil || len(docs) != 1 {
			t.Fatalf("track list -o json: %v\n%s", err, r.stdout)
		}
		return docs[0]
	}
	if d := doc(); !d.Render || d.RenderWaitFor != "#clause.ready" || d.RenderDelayMS != 1500 {
		t.Errorf("declared render %v, wait for %q, delay %d ms; want true, #clause.ready, 1500", d.Render, d.RenderWaitFor, d.RenderDelayMS)
	}
	exhibit(t, "track", "edit", "acme-terms", "--render-delay", "-2s").want(t, 2, "must not be negative")
	exhibit(t, "track", "edit", "acme-terms", "--render-wait-for", "#clause.ready").want(t, 2, "changes nothing")
	exhibit(t, "track", "edit", "acme-terms", "--render-wait-for", "", "--render-delay", "250ms").want(t, 0, "declaration revision 2")
	if d := doc(); !d.Render || d.RenderWaitFor != "" || d.RenderDelayMS != 250 || d.Revision != 2 {
		t.Errorf("edited: render %v, wait for %q, delay %d ms, revision %d; want true, none, 250, 2", d.Render, d.RenderWaitFor, d.RenderDelayMS, d.Revision)
	}
}
