package track_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestTrackRendered: a document declared with Render is captured in a
// browser and its version's text, taken from the DOM after scripts, holds
// the clause a script inserts; the same page declared plainly does not.
// The version names the DOM artefact as the bytes it was extracted from.
func TestTrackRendered(t *testing.T) {
	rendertest.Chromium(t)
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	for _, d := range []track.Declaration{
		{ID: "rendered", Entity: "Acme", Document: "Rendered terms", URL: srv.URL + "/terms", Render: true},
		{ID: "plain", Entity: "Acme", Document: "Plain terms", URL: srv.URL + "/terms"},
	} {
		rec, err := tr.Declare(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(rec.Payload, []byte(`"render":true`)); got != d.Render {
			t.Errorf("%s: declaration says render %v, want %v", d.ID, got, d.Render)
		}
	}
	text := map[string]string{}
	for _, id := range []string{"rendered", "plain"} {
		res, err := tr.Capture(ctx, id, ingest.CaptureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Result != "first" || res.Version == nil {
			t.Fatalf("%s: result %q (%s)", id, res.Result, res.Reason)
		}
		p := res.Version.Statement.Version.Predicate
		wantMethod, wantSource := verify.MethodFetch, res.Capture.SHA256
		if id == "rendered" {
			wantMethod, wantSource = verify.MethodBrowser, res.Capture.Rendering.DOM.SHA256
		}
		if res.Capture.Method != wantMethod || p.Snapshot.SHA256 != wantSource || p.Snapshot.RecordID != res.Capture.ID {
			t.Errorf("%s: method %s, version extracted from %s, want %s from %s", id, res.Capture.Method, p.Snapshot.SHA256, wantMethod, wantSource)
		}
		b, err := tr.Text(ctx, p.Text.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		text[id] = string(b)
		// Captured again, the same text is confirmed, read again from
		// the same source.
		res, err = tr.Capture(ctx, id, ingest.CaptureOptions{})
		if err != nil || res.Result != "confirmed" {
			t.Fatalf("%s: second capture %v %+v", id, err, res)
		}
	}
	if !strings.Contains(text["rendered"], rendertest.Clause) {
		t.Errorf("the rendered document's text lacks the clause:\n%s", text["rendered"])
	}
	if strings.Contains(text["plain"], rendertest.Clause) {
		t.Errorf("the plain document's text holds the clause:\n%s", text["plain"])
	}
	// An edit keeps the declaration rendered.
	every := 2 * time.Hour
	rec, err := tr.EditDeclaration(ctx, "rendered", track.DeclarationEdit{Every: &every})
	if err != nil || !bytes.Contains(rec.Payload, []byte(`"render":true`)) {
		t.Errorf("edited declaration: %v %s", err, rec.Payload)
	}
}

// TestTrackRenderWait: a rendered declaration's wait options reach the
// renderer on each round (Capture and Run): the capture's rendering
// records its selector, found, and its delay; a declaration without them
// renders with render's defaults.
func TestTrackRenderWait(t *testing.T) {
	rendertest.Chromium(t)
	ctx := archivetest.Context(t, 3*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	for _, d := range []track.Declaration{
		{ID: "waited", Entity: "Acme", Document: "Late terms", URL: srv.URL + "/late", Render: true, RenderWaitFor: "#late.ready", RenderDelay: 300 * time.Millisecond},
		{ID: "default", Entity: "Acme", Document: "Static", URL: srv.URL + "/static", Render: true},
	} {
		if _, err := tr.Declare(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	check := func(how string, res *track.TrackResult) {
		t.Helper()
		rd := res.Capture.Rendering
		if rd == nil {
			t.Fatalf("%s: %s not rendered", how, res.Document)
		}
		w := rd.Wait
		switch res.Document {
		case "waited":
			if w.WaitFor != "#late.ready" || !w.WaitForFound || w.DelayMS != 300 || !w.Settled {
				t.Errorf("%s: %s wait %+v, want #late.ready found, delay 300 ms, settled", how, res.Document, w)
			}
		default:
			if w.WaitFor != "" || w.DelayMS != render.DefaultDelay.Milliseconds() {
				t.Errorf("%s: %s wait %+v, want render's defaults", how, res.Document, w)
			}
		}
	}
	res, err := tr.Capture(ctx, "waited", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	check("Capture", res)
	rep, err := tr.Run(ctx, track.RunOptions{All: true, HostDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 {
		t.Fatalf("run: %d results, want 2: %+v", len(rep.Results), rep)
	}
	for _, res := range rep.Results {
		check("Run", res)
	}
}

// TestTrackRenderedShadow: a rendered declaration of a page whose clauses
// are in open, closed and nested shadow roots gets a version whose text
// holds each clause (so that it can be quoted), and not the text of an
// ordinary <template>.
func TestTrackRenderedShadow(t *testing.T) {
	rendertest.Chromium(t)
	ctx := archivetest.Context(t, 2*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	srv := httptest.NewServer(rendertest.ShadowPage())
	defer srv.Close()
	if _, err := tr.Declare(ctx, track.Declaration{ID: "shadow", Entity: "Acme", Document: "Component terms", URL: srv.URL + "/terms", Render: true}); err != nil {
		t.Fatal(err)
	}
	res, err := tr.Capture(ctx, "shadow", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Result != "first" || res.Version == nil {
		t.Fatalf("result %q (%s)", res.Result, res.Reason)
	}
	b, err := tr.Text(ctx, res.Version.Statement.Version.Predicate.Text.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rendertest.ShadowClauses {
		if !strings.Contains(string(b), c) {
			t.Errorf("the version's text lacks %q:\n%s", c, b)
		}
	}
	if strings.Contains(string(b), rendertest.TemplateText) {
		t.Errorf("the version's text holds an ordinary template's text:\n%s", b)
	}
}
