package archive_test

// Tests of docs/schema/tracking.schema.json (the tracking statements:
// declaration, version, extraction, provision, provision-status) against
// what a real archive writes. The helpers are in schema_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaTrackingFile is the tracking statements' schema, in docs/schema.
const schemaTrackingFile = "tracking.schema.json"

// schemaTrackingDefs names the $defs of the five statements, by kind, with
// their predicate types.
var schemaTrackingDefs = []struct{ kind, def, predicateType string }{
	{"declaration", "declarationStatement", verify.DeclarationPredicateType},
	{"version", "versionStatement", verify.VersionPredicateType},
	{"extraction", "extractionStatement", verify.ExtractionPredicateType},
	{"provision", "provisionStatement", verify.ProvisionPredicateType},
	{"provision-status", "provisionStatusStatement", verify.ProvisionStatusPredicateType},
}

// schemaTrackingCompile compiles docs/schema/tracking.schema.json with
// format assertions on, and returns it with the file decoded by
// encoding/json.
func schemaTrackingCompile(t *testing.T) (*jsonschema.Schema, map[string]any) {
	t.Helper()
	b := schemaReadDoc(t, "schema", schemaTrackingFile)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", schemaTrackingFile, err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if id := raw["$id"]; id != schemaBaseURL+schemaTrackingFile {
		t.Fatalf("%s: $id is %v, want %s", schemaTrackingFile, id, schemaBaseURL+schemaTrackingFile)
	}
	if s := raw["$schema"]; s != "https://json-schema.org/draft/2020-12/schema" {
		t.Fatalf("%s: $schema is %v, want draft 2020-12", schemaTrackingFile, s)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(schemaNoLoader{})
	if err := c.AddResource(schemaBaseURL+schemaTrackingFile, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaBaseURL + schemaTrackingFile)
	if err != nil {
		t.Fatal(err)
	}
	return sch, raw
}

// schemaTrackingPage is what the tracked page serves, changed by the test.
type schemaTrackingPage struct {
	mu     sync.Mutex
	status int
	body   string
}

func (p *schemaTrackingPage) set(status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status, p.body = status, body
}

func (p *schemaTrackingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	status, body := p.status, p.body
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

const (
	schemaClauseLogs    = "We keep server logs for thirty days and then delete them."
	schemaClauseShare   = "We share your data with our advertising partners in the United States."
	schemaClauseShare2  = "We share your data with our advertising partners in the European Union."
	schemaClauseOptOut  = "You may opt out of marketing emails at any time by writing to us."
	schemaClauseCookies = "Cookies are listed on a separate page, updated every quarter."
)

func schemaTrackingHTML(clauses ...string) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>Schema Policy</title></head><body>\n<nav>Home | Policies</nav>\n<main>\n<h1>Schema Policy</h1>\n")
	for _, c := range clauses {
		b.WriteString("<p>" + c + "</p>\n")
	}
	b.WriteString("<aside>Last reviewed by the schema team.</aside>\n</main>\n</body></html>\n")
	return b.String()
}

// schemaTrackingArchive builds an archive in which every kind of tracking
// statement, every version kind, extraction result and provision status,
// and both a first and a later declaration revision occur. It returns the
// archive and the payloads of its tracking statements, in log order.
func schemaTrackingArchive(t *testing.T) (*archive.Archive, []*schemaTrackingEntry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "schema.test/tracking"}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })

	page := &schemaTrackingPage{}
	srv := httptest.NewServer(page)
	t.Cleanup(srv.Close)

	const id = "schema-corp-policy"
	if _, err := a.Track(ctx, archive.Declaration{
		ID: id, Entity: "Schema Corp", Document: "Policy", URL: srv.URL + "/policy",
		Select: []string{"main"}, Every: time.Hour,
	}); err != nil {
		t.Fatal(err)
	}
	capture := func(step, want string) *archive.TrackResult {
		t.Helper()
		res, err := a.TrackCapture(ctx, id, archive.CaptureOptions{})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if res.Result != want {
			t.Fatalf("%s: result %q (%s), want %q", step, res.Result, res.Reason, want)
		}
		return res
	}
	quote := func(versionID, exact, label string, wantStatuses ...string) {
		t.Helper()
		_, sts, err := a.Quote(ctx, versionID, archive.QuoteOptions{Exact: exact, Label: label})
		if err != nil {
			t.Fatalf("quote %q: %v", exact, err)
		}
		schemaTrackingStatuses(t, "quote "+exact, sts, wantStatuses...)
	}

	page.set(http.StatusOK, schemaTrackingHTML(schemaClauseLogs, schemaClauseShare, schemaClauseOptOut))
	first := capture("first capture", verify.VersionFirst)
	capture("same page", verify.ExtractionConfirmed)
	quote(first.Version.RecordID, schemaClauseLogs, "Log retention")
	quote(first.Version.RecordID, schemaClauseShare, "")
	quote(first.Version.RecordID, schemaClauseOptOut, "Opt-out")

	// The selector matches nothing: a failed extraction (no_match); an
	// HTTP error: another (http_error).
	page.set(http.StatusOK, "<!doctype html><html><body><p>Down for maintenance.</p></body></html>\n")
	capture("page without main", verify.ExtractionFailed)
	page.set(http.StatusServiceUnavailable, "<!doctype html><html><body><main>Unavailable</main></body></html>\n")
	capture("HTTP error", verify.ExtractionFailed)

	// One clause stays, one is reworded, one is gone.
	page.set(http.StatusOK, schemaTrackingHTML(schemaClauseLogs, schemaClauseShare2, schemaClauseCookies))
	change := capture("changed page", verify.VersionChange)
	schemaTrackingStatuses(t, "change", change.Statuses, verify.ProvisionPresent, verify.ProvisionChanged, verify.ProvisionRemoved)
	// Quoting an older version re-checks the quote against the newer one.
	quote(first.Version.RecordID, "advertising partners", "", verify.ProvisionPresent)

	remove := []string{"aside"}
	if _, err := a.EditDeclaration(ctx, id, archive.DeclarationEdit{Remove: &remove}); err != nil {
		t.Fatal(err)
	}
	rep, err := a.Reextract(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Upgrade == nil {
		t.Fatalf("reextract recorded no upgrade: %+v", rep)
	}
	schemaTrackingStatuses(t, "upgrade", rep.Statuses, verify.ProvisionPresent, verify.ProvisionChanged, verify.ProvisionRemoved, verify.ProvisionPresent)

	// Every tracking statement in the log, in order.
	_, cp, err := a.Log().Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*schemaTrackingEntry
	for e, err := range a.Log().Entries(ctx, 0, cp.Size) {
		if err != nil {
			t.Fatal(err)
		}
		env, err := verify.ParseEnvelope(e.Data)
		if err != nil {
			t.Fatalf("entry %d: %v", e.Index, err)
		}
		ent, err := verify.OpenEntry(e.Data, a.Key())
		if err != nil {
			t.Fatalf("entry %d: %v", e.Index, err)
		}
		out = append(out, &schemaTrackingEntry{index: e.Index, entry: e.Data, payload: env.Payload, ent: ent})
	}
	return a, out
}

type schemaTrackingEntry struct {
	index          uint64
	entry, payload []byte
	ent            *verify.Entry
}

// schemaTrackingStatuses checks the statuses of provision-status records,
// in any order.
func schemaTrackingStatuses(t *testing.T, what string, recs []*archive.TrackRecord, want ...string) {
	t.Helper()
	var got []string
	for _, r := range recs {
		got = append(got, r.Entry.ProvisionStatus.Predicate.Status)
	}
	sort.Strings(got)
	want = append([]string(nil), want...)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s: provision statuses %q, want %q", what, got, want)
	}
}

// TestSchemaTracking validates every tracking statement a real archive
// writes against tracking.schema.json, and checks that every kind, version
// kind, extraction result (and failure reason exhibit can meet here) and
// provision status occurred, and that capture statements do not validate.
func TestSchemaTracking(t *testing.T) {
	sch, _ := schemaTrackingCompile(t)
	set := schemaCompile(t)
	a, entries := schemaTrackingArchive(t)
	ctx := context.Background()

	seen := map[string]int{}
	for _, e := range entries {
		kind := e.ent.Kind()
		if kind == "capture" {
			if schemaValidate(sch, e.payload) == nil {
				t.Errorf("entry %d: a capture statement validates against %s", e.index, schemaTrackingFile)
			}
			continue
		}
		what := kind + " " + verify.RecordID(e.entry)
		schemaMustValidate(t, what, sch, e.payload)
		// The envelope and bundle schemas take tracking statements too.
		schemaMustValidate(t, what+" envelope", set.envelope, e.entry)
		// The archive serves the same entry for the record.
		rec, err := a.GetTracking(ctx, verify.RecordID(e.entry))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !bytes.Equal(rec.RawEntry, e.entry) || rec.Kind != kind {
			t.Errorf("%s: GetTracking returns another entry (%s)", what, rec.Kind)
		}
		if b, err := os.ReadFile(rec.Bundle); err != nil {
			t.Errorf("%s: %v", what, err)
		} else {
			schemaMustValidate(t, what+" bundle", set.bundle, b)
		}
		seen[kind]++
		switch {
		case e.ent.Declaration != nil:
			p := e.ent.Declaration.Predicate
			seen["declaration revision "+map[bool]string{true: "1", false: "n"}[p.Revision == 1]]++
		case e.ent.Version != nil:
			seen["version "+e.ent.Version.Predicate.Kind]++
		case e.ent.Extraction != nil:
			p := e.ent.Extraction.Predicate
			seen["extraction "+p.Result]++
			if p.Failure != nil {
				seen["failure "+p.Failure.Reason]++
			}
		case e.ent.Provision != nil:
			seen["provision label "+map[bool]string{true: "yes", false: "no"}[e.ent.Provision.Predicate.Label != ""]]++
		case e.ent.ProvisionStatus != nil:
			seen["status "+e.ent.ProvisionStatus.Predicate.Status]++
		}
		if testing.Verbose() {
			t.Logf("%s: %s", what, e.payload)
		}
	}
	for _, k := range []string{
		"declaration", "version", "extraction", "provision", "provision-status",
		"declaration revision 1", "declaration revision n",
		"version first", "version change", "version upgrade",
		"extraction confirmed", "extraction failed", "failure no_match", "failure http_error",
		"provision label yes", "provision label no",
		"status present", "status changed", "status removed",
	} {
		if seen[k] == 0 {
			t.Errorf("no %s statement in the archive (seen: %v)", k, seen)
		}
	}
}

// TestSchemaTrackingRejects checks that tracking.schema.json rejects what
// it must, and that the Go parser rejects the same statements where it is
// meant to.
func TestSchemaTrackingRejects(t *testing.T) {
	sch, _ := schemaTrackingCompile(t)
	_, entries := schemaTrackingArchive(t)

	// One statement of each kind and variant, the last one written.
	docs := map[string][]byte{}
	for _, e := range entries {
		switch {
		case e.ent.Declaration != nil:
			docs["declaration"] = e.payload
			if e.ent.Declaration.Predicate.Revision == 1 {
				docs["declaration 1"] = e.payload
			}
		case e.ent.Version != nil:
			docs["version "+e.ent.Version.Predicate.Kind] = e.payload
		case e.ent.Extraction != nil:
			docs["extraction "+e.ent.Extraction.Predicate.Result] = e.payload
		case e.ent.Provision != nil:
			docs["provision"] = e.payload
		case e.ent.ProvisionStatus != nil:
			docs["status "+e.ent.ProvisionStatus.Predicate.Status] = e.payload
		}
	}
	doc := func(name string) []byte {
		t.Helper()
		d, ok := docs[name]
		if !ok {
			t.Fatalf("no %s statement in the archive", name)
		}
		return d
	}
	subject := func(m map[string]any) map[string]any { return m["subject"].([]any)[0].(map[string]any) }
	sub := func(m map[string]any, k string) map[string]any { return schemaPred(m)[k].(map[string]any) }

	type mutation struct {
		name, doc string
		mutate    func(m map[string]any)
		// goRejects: verify.ParseEntryStatement rejects it too.
		goRejects bool
	}
	cases := []mutation{
		// Every kind: closed objects, its own predicateType, a document ID
		// subject, times in UTC, required fields.
	}
	for _, d := range []string{"declaration", "version first", "extraction confirmed", "provision", "status present"} {
		cases = append(cases,
			mutation{"unknown top-level field", d, func(m map[string]any) { m["extra"] = true }, true},
			mutation{"unknown predicate field", d, func(m map[string]any) { schemaPred(m)["comment"] = "x" }, true},
			mutation{"unknown tool field", d, func(m map[string]any) { sub(m, "tool")["build"] = "x" }, true},
			mutation{"bad predicateType", d, func(m map[string]any) {
				m["predicateType"] = strings.Replace(m["predicateType"].(string), "/v1", "/v2", 1)
			}, true},
			mutation{"capture predicateType", d, func(m map[string]any) { m["predicateType"] = verify.CapturePredicateType }, true},
			mutation{"bad _type", d, func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }, true},
			mutation{"two subjects", d, func(m map[string]any) {
				s := m["subject"].([]any)
				m["subject"] = append(s, s[0])
			}, true},
			mutation{"bad document ID", d, func(m map[string]any) { subject(m)["name"] = "Schema_Corp_Policy" }, true},
			mutation{"document ID with a double hyphen", d, func(m map[string]any) { subject(m)["name"] = "schema--policy" }, true},
			mutation{"uppercase digest", d, func(m map[string]any) {
				dg := subject(m)["digest"].(map[string]any)
				dg["sha256"] = strings.ToUpper(dg["sha256"].(string))
			}, true},
			mutation{"second digest algorithm", d, func(m map[string]any) {
				subject(m)["digest"].(map[string]any)["sha512"] = strings.Repeat("0", 128)
			}, true},
			mutation{"missing tool", d, func(m map[string]any) { delete(schemaPred(m), "tool") }, true},
			mutation{"missing predicate", d, func(m map[string]any) { delete(m, "predicate") }, true},
		)
	}
	timeField := map[string]string{"declaration": "declared_at", "version first": "recorded_at",
		"extraction confirmed": "recorded_at", "provision": "recorded_at", "status present": "recorded_at"}
	for d, f := range timeField {
		cases = append(cases,
			mutation{"time not in UTC", d, func(m map[string]any) { schemaPred(m)[f] = "2026-05-08T13:13:55.250+02:00" }, true},
			mutation{"missing " + f, d, func(m map[string]any) { delete(schemaPred(m), f) }, true},
			// Stricter than the Go verifier: exhibit always writes
			// milliseconds.
			mutation{"time without milliseconds", d, func(m map[string]any) { schemaPred(m)[f] = "2026-05-08T11:13:55Z" }, false},
		)
	}
	cases = append(cases, []mutation{
		// Declarations.
		{"declaration: empty entity", "declaration", func(m map[string]any) { schemaPred(m)["entity"] = "" }, true},
		{"declaration: control character in title", "declaration", func(m map[string]any) { schemaPred(m)["document"] = "Policy\u202e" }, true},
		{"declaration: missing url", "declaration", func(m map[string]any) { delete(schemaPred(m), "url") }, true},
		{"declaration: every_seconds below a minute", "declaration", func(m map[string]any) { schemaPred(m)["every_seconds"] = 30 }, true},
		{"declaration: revision 0", "declaration 1", func(m map[string]any) { schemaPred(m)["revision"] = 0 }, true},
		{"declaration: revision 2 without previous", "declaration 1", func(m map[string]any) { schemaPred(m)["revision"] = 2 }, true},
		{"declaration: revision 1 with previous", "declaration", func(m map[string]any) { schemaPred(m)["revision"] = 1 }, true},
		{"declaration: lowercase previous", "declaration", func(m map[string]any) {
			schemaPred(m)["previous"] = strings.ToLower(schemaPred(m)["previous"].(string))
		}, true},
		{"declaration: blank selector", "declaration", func(m map[string]any) { schemaPred(m)["select"] = []any{"  "} }, true},
		{"declaration: empty select", "declaration", func(m map[string]any) { schemaPred(m)["select"] = []any{} }, false},
		{"declaration: ftp URL", "declaration", func(m map[string]any) { schemaPred(m)["url"] = "ftp://example.org/policy" }, false},
		// Versions.
		{"version: unknown kind", "version change", func(m map[string]any) { schemaPred(m)["kind"] = "edit" }, true},
		{"version: first with number 2", "version first", func(m map[string]any) { schemaPred(m)["number"] = 2 }, true},
		{"version: change without previous", "version change", func(m map[string]any) { delete(schemaPred(m), "previous") }, true},
		{"version: first with previous", "version first", func(m map[string]any) {
			schemaPred(m)["previous"] = schemaPred(m)["declaration"]
		}, true},
		{"version: record ID with U", "version change", func(m map[string]any) {
			schemaPred(m)["previous"] = "EXR-UUUUU-00000-00000-00000"
		}, true},
		{"version: record ID without EXR-", "version change", func(m map[string]any) {
			schemaPred(m)["declaration"] = strings.TrimPrefix(schemaPred(m)["declaration"].(string), "EXR-")
		}, true},
		{"version: snapshot record ID without hyphens", "version upgrade", func(m map[string]any) {
			s := sub(m, "snapshot")
			s["record_id"] = strings.ReplaceAll(s["record_id"].(string), "-", "")
		}, true},
		{"version: missing snapshot", "version change", func(m map[string]any) { delete(schemaPred(m), "snapshot") }, true},
		{"version: snapshot time not in UTC", "version change", func(m map[string]any) {
			sub(m, "snapshot")["captured_at"] = "2026-05-08T11:13:55.250-05:00"
		}, true},
		{"version: unknown text field", "version change", func(m map[string]any) { sub(m, "text")["lines"] = 3 }, true},
		{"version: short text digest", "version change", func(m map[string]any) { sub(m, "text")["sha256"] = "abc" }, true},
		{"version: negative size", "version change", func(m map[string]any) { sub(m, "text")["size"] = -1 }, true},
		{"version: missing media type", "version change", func(m map[string]any) { delete(sub(m, "text"), "media_type") }, true},
		{"version: empty extractor version", "version change", func(m map[string]any) { sub(m, "extractor")["version"] = "" }, true},
		// Extractions.
		{"extraction: unknown result", "extraction confirmed", func(m map[string]any) { schemaPred(m)["result"] = "skipped" }, true},
		{"extraction: confirmed without version", "extraction confirmed", func(m map[string]any) { delete(schemaPred(m), "version") }, true},
		{"extraction: confirmed with failure", "extraction confirmed", func(m map[string]any) {
			schemaPred(m)["failure"] = map[string]any{"reason": "no_match", "message": "x"}
		}, true},
		{"extraction: failed without failure", "extraction failed", func(m map[string]any) { delete(schemaPred(m), "failure") }, true},
		{"extraction: failed with text digest", "extraction failed", func(m map[string]any) {
			schemaPred(m)["text_sha256"] = strings.Repeat("a", 64)
		}, true},
		{"extraction: failure without reason", "extraction failed", func(m map[string]any) { delete(sub(m, "failure"), "reason") }, true},
		{"extraction: unknown failure field", "extraction failed", func(m map[string]any) { sub(m, "failure")["code"] = 1 }, true},
		{"extraction: unknown failure reason", "extraction failed", func(m map[string]any) { sub(m, "failure")["reason"] = "gremlins" }, false},
		// Provisions.
		{"provision: wrong quote selector type", "provision", func(m map[string]any) { sub(m, "quote")["type"] = "TextQuote" }, true},
		{"provision: wrong position selector type", "provision", func(m map[string]any) { sub(m, "position")["type"] = "RangeSelector" }, true},
		{"provision: empty quote", "provision", func(m map[string]any) { sub(m, "quote")["exact"] = "" }, true},
		{"provision: negative start", "provision", func(m map[string]any) { sub(m, "position")["start"] = -1 }, true},
		{"provision: missing position", "provision", func(m map[string]any) { delete(schemaPred(m), "position") }, true},
		{"provision: bad version record ID", "provision", func(m map[string]any) { schemaPred(m)["version"] = "EXR-1234" }, true},
		{"provision: control character in label", "provision", func(m map[string]any) { schemaPred(m)["label"] = "a\tb" }, true},
		{"provision: unknown selector field", "provision", func(m map[string]any) { sub(m, "quote")["refinedBy"] = map[string]any{} }, true},
		// Provision statuses.
		{"status: unknown status", "status present", func(m map[string]any) { schemaPred(m)["status"] = "moved" }, true},
		{"status: present with similarity", "status present", func(m map[string]any) { schemaPred(m)["similarity"] = 0.9 }, true},
		{"status: present without position", "status present", func(m map[string]any) { delete(schemaPred(m), "position") }, true},
		{"status: changed without closest", "status changed", func(m map[string]any) { delete(schemaPred(m), "closest") }, true},
		{"status: removed with position", "status removed", func(m map[string]any) {
			schemaPred(m)["position"] = map[string]any{"type": "TextPositionSelector", "start": 0, "end": 1}
		}, true},
		{"status: removed with closest", "status removed", func(m map[string]any) { schemaPred(m)["closest"] = "x" }, true},
		{"status: similarity above 1", "status changed", func(m map[string]any) { schemaPred(m)["similarity"] = 1.5 }, true},
		{"status: similarity with four decimals", "status changed", func(m map[string]any) { schemaPred(m)["similarity"] = 0.6125 }, true},
		{"status: bad provision record ID", "status removed", func(m map[string]any) { schemaPred(m)["provision"] = "exr-00000-00000-00000-00000" }, true},
		{"status: missing version", "status present", func(m map[string]any) { delete(schemaPred(m), "version") }, true},
		{"status: changed below the threshold", "status changed", func(m map[string]any) { schemaPred(m)["similarity"] = 0.3 }, false},
		{"status: removed above the threshold", "status removed", func(m map[string]any) { schemaPred(m)["similarity"] = 0.7 }, false},
	}...)

	for _, c := range cases {
		t.Run(c.doc+": "+strings.TrimPrefix(c.name, strings.Fields(c.doc)[0]+": "), func(t *testing.T) {
			d := doc(c.doc)
			if err := schemaValidate(sch, d); err != nil {
				t.Fatalf("the unmodified statement does not validate: %v", err)
			}
			if _, err := verify.ParseEntryStatement(d); err != nil {
				t.Fatalf("verify.ParseEntryStatement rejects the unmodified statement: %v", err)
			}
			b := schemaMutate(t, d, c.mutate)
			err := schemaValidate(sch, b)
			if err == nil {
				t.Errorf("the schema accepts it:\n%s", b)
			}
			var ve *jsonschema.ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("not a validation error: %v", err)
			}
			_, gerr := verify.ParseEntryStatement(b)
			if c.goRejects && gerr == nil {
				t.Errorf("verify.ParseEntryStatement accepts it")
			}
			if !c.goRejects && gerr != nil {
				t.Logf("note: verify.ParseEntryStatement now rejects it too: %v", gerr)
			}
		})
	}
}

// TestSchemaTrackingMatchesGo checks, as TestSchemaMatchesGo does for the
// other schemas, that each statement of tracking.schema.json lists exactly
// the JSON fields of its Go type, requires exactly those without
// omitempty and closes every object; and that the root's oneOf is the five
// statements, each fixing its predicate type.
func TestSchemaTrackingMatchesGo(t *testing.T) {
	_, root := schemaTrackingCompile(t)
	types := map[string]reflect.Type{
		"declaration":      reflect.TypeFor[verify.DeclarationStatement](),
		"version":          reflect.TypeFor[verify.VersionStatement](),
		"extraction":       reflect.TypeFor[verify.ExtractionStatement](),
		"provision":        reflect.TypeFor[verify.ProvisionStatement](),
		"provision-status": reflect.TypeFor[verify.ProvisionStatusStatement](),
	}
	defs, _ := root["$defs"].(map[string]any)
	var refs []string
	for _, x := range root["oneOf"].([]any) {
		refs = append(refs, x.(map[string]any)["$ref"].(string))
	}
	var want []string
	for _, d := range schemaTrackingDefs {
		want = append(want, "#/$defs/"+d.def)
		node, ok := defs[d.def].(map[string]any)
		if !ok {
			t.Errorf("no $defs/%s", d.def)
			continue
		}
		schemaCompareStruct(t, d.kind, root, node, types[d.kind])
		pt := node["properties"].(map[string]any)["predicateType"].(map[string]any)["const"]
		if pt != d.predicateType {
			t.Errorf("%s: predicateType const is %v, want %s", d.def, pt, d.predicateType)
		}
	}
	if !reflect.DeepEqual(refs, want) {
		t.Errorf("oneOf is %q, want %q", refs, want)
	}
}
