package archive_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestSchemaBrowserCapture validates the entries of real browser captures
// (captured, and failed for want of a browser) against the envelope and
// the capture predicate version 2 schemas, and checks that the schema and
// verify both refuse what version 2 forbids.
func TestSchemaBrowserCapture(t *testing.T) {
	bin := rendertest.Chromium(t)
	set := schemaCompile(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "schema.test/exhibit"}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()

	in := ingest.New(a)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	rec, err := in.Capture(ctx, srv.URL+"/terms", ingest.CaptureOptions{Entity: "Schema Corp", Browser: true})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Outcome != verify.OutcomeCaptured || rec.Rendering == nil || rec.Rendering.WACZ == nil {
		t.Fatalf("browser capture: %+v", rec)
	}
	st := schemaCheckEntry(t, "browser capture", set, rec.Entry, a.Key())
	if st.Predicate.Method != verify.MethodBrowser {
		t.Errorf("method %q", st.Predicate.Method)
	}
	if w := st.Predicate.Rendering.WARC; w == nil || w.MediaType != verify.MediaTypeWARC {
		t.Errorf("the browser capture names no WARC: %+v", w)
	}
	env, _ := verify.ParseEnvelope(rec.Entry)
	if testing.Verbose() {
		t.Logf("browser capture: %s", env.Payload)
	}
	if os.Getenv("EXHIBIT_WRITE_EXAMPLE") != "" {
		// Regenerate the worked example of docs/FORMATS.md 2.10 from this
		// capture (then paste it into FORMATS.md):
		//	EXHIBIT_WRITE_EXAMPLE=1 go test ./archive -run TestSchemaBrowserCapture
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, env.Payload, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		if err := os.WriteFile(filepath.Join(schemaDocsDir, "example", "browser-statement.pretty.json"), pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	noBrowser := ingest.New(a)
	noBrowser.SetRenderer(render.New(render.Config{ExecPath: "/nonexistent/chromium"}))
	failed, err := noBrowser.Capture(ctx, srv.URL+"/terms", ingest.CaptureOptions{Browser: true})
	if err != nil {
		t.Fatal(err)
	}
	if failed.Outcome != verify.OutcomeFailed || failed.Failure.Reason != render.ReasonUnavailable {
		t.Fatalf("capture without a browser: %+v", failed)
	}
	schemaCheckEntry(t, "failed browser capture", set, failed.Entry, a.Key())

	// What version 2 forbids, refused by both.
	for name, mutate := range map[string]func(p map[string]any){
		"no dom":               func(p map[string]any) { delete(p["rendering"].(map[string]any), "dom") },
		"no rendering":         func(p map[string]any) { delete(p, "rendering") },
		"fetch with rendering": func(p map[string]any) { p["method"] = "fetch" },
		"unknown wait rule":    func(p map[string]any) { p["rendering"].(map[string]any)["wait"].(map[string]any)["rule"] = "load" },
		"page_quiet without its timer bound": func(p map[string]any) {
			delete(p["rendering"].(map[string]any)["wait"].(map[string]any), "timer_max_ms")
		},
		"network_idle with page_quiet's fields": func(p map[string]any) {
			p["rendering"].(map[string]any)["wait"].(map[string]any)["rule"] = verify.WaitNetworkIdle
		},
		"png as jpeg": func(p map[string]any) {
			p["rendering"].(map[string]any)["screenshot"].(map[string]any)["media_type"] = "image/jpeg"
		},
		"unknown field": func(p map[string]any) { p["rendering"].(map[string]any)["har"] = "x" },
		"wacz as zip": func(p map[string]any) {
			p["rendering"].(map[string]any)["wacz"].(map[string]any)["media_type"] = "application/zip"
		},
		"warc as zip": func(p map[string]any) {
			p["rendering"].(map[string]any)["warc"].(map[string]any)["media_type"] = "application/zip"
		},
		"warc digest not hex": func(p map[string]any) {
			p["rendering"].(map[string]any)["warc"].(map[string]any)["sha256"] = strings.Repeat("Z", 64)
		},
		"warc without size": func(p map[string]any) { delete(p["rendering"].(map[string]any)["warc"].(map[string]any), "size") },
	} {
		var v map[string]any
		if err := json.Unmarshal(env.Payload, &v); err != nil {
			t.Fatal(err)
		}
		mutate(v["predicate"].(map[string]any))
		b, _ := json.Marshal(v)
		if err := schemaValidate(set.statementV2, b); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := verify.ParseStatement(b); err == nil {
			t.Errorf("%s: verify accepts it", name)
		}
	}
	// A version 2 statement of a capture by an exhibit before WARC
	// recording (no warc) stays valid for both.
	{
		var v map[string]any
		json.Unmarshal(env.Payload, &v)
		delete(v["predicate"].(map[string]any)["rendering"].(map[string]any), "warc")
		b, _ := json.Marshal(v)
		schemaMustValidate(t, "browser capture without warc", set.statementV2, b)
		if _, err := verify.ParseStatement(b); err != nil {
			t.Errorf("browser capture without warc: %v", err)
		}
	}

	// A statement of the wait rule before page_quiet stays valid for both.
	{
		var v map[string]any
		json.Unmarshal(env.Payload, &v)
		w := v["predicate"].(map[string]any)["rendering"].(map[string]any)["wait"].(map[string]any)
		if w["rule"] != verify.WaitPageQuiet {
			t.Errorf("wait rule %v, want %s", w["rule"], verify.WaitPageQuiet)
		}
		w["rule"], w["delay_ms"] = verify.WaitNetworkIdle, 2000
		for _, k := range []string{"timer_max_ms", "dom_quiet_max_ms", "dom_changing", "timers_pending"} {
			delete(w, k)
		}
		b, _ := json.Marshal(v)
		schemaMustValidate(t, "browser capture of rule network_idle", set.statementV2, b)
		if _, err := verify.ParseStatement(b); err != nil {
			t.Errorf("browser capture of rule network_idle: %v", err)
		}
	}

	// The worked example of docs/FORMATS.md 2.10.
	ex := schemaReadDoc(t, "example", "browser-statement.pretty.json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, ex); err != nil {
		t.Fatal(err)
	}
	schemaMustValidate(t, "browser-statement.pretty.json", set.statementV2, compact.Bytes())
	if exSt, err := verify.ParseStatement(compact.Bytes()); err != nil {
		t.Errorf("browser-statement.pretty.json: %v", err)
	} else if r := exSt.Predicate.Rendering; r == nil || r.Wait.Rule != st.Predicate.Rendering.Wait.Rule {
		// The example shows the wait rule captures record now.
		t.Errorf("browser-statement.pretty.json: not the wait rule of a capture now (%s): regenerate it (EXHIBIT_WRITE_EXAMPLE=1)", st.Predicate.Rendering.Wait.Rule)
	}

	// A version 1 statement may not carry a rendering block.
	var v map[string]any
	json.Unmarshal(env.Payload, &v)
	v["predicateType"] = verify.CapturePredicateType
	b, _ := json.Marshal(v)
	if err := schemaValidate(set.statement, b); err == nil {
		t.Error("the version 1 schema accepts a browser capture")
	}
	if _, err := verify.ParseStatement(b); err == nil {
		t.Error("verify accepts a version 1 browser capture")
	}
}
