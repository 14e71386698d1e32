package archive_test

// Tests of the JSON Schemas and the worked example in docs/ (see
// docs/FORMATS.md) against what exhibit really writes.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	// schemaDocsDir is docs/, relative to this package's directory.
	schemaDocsDir = "../docs"
	// schemaBaseURL is the $id prefix of the schemas in docs/schema.
	schemaBaseURL = "https://github.com/exhibit-archive/exhibit/raw/main/docs/schema/"
)

// schemaSet holds the compiled schemas.
type schemaSet struct {
	statement, envelope, bundle, tracking *jsonschema.Schema
	// statementV2 is the capture predicate's version 2 (browser captures).
	statementV2 *jsonschema.Schema
	// raw is each schema file decoded with encoding/json, by base name.
	raw map[string]map[string]any
}

// schemaNoLoader refuses to load anything: every schema is added as a
// resource, so that nothing is fetched from the network.
type schemaNoLoader struct{}

func (schemaNoLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema test: refusing to load %s", url)
}

// schemaCompile compiles docs/schema/*.schema.json with format and content
// assertions on, so that the base64 entry of a bundle is decoded and
// validated as an envelope, and the envelope's payload as a statement.
func schemaCompile(t *testing.T) *schemaSet {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.AssertContent()
	c.UseLoader(schemaNoLoader{})
	c.RegisterContentMediaType(&jsonschema.MediaType{
		Name: verify.PayloadType,
		Validate: func(b []byte) error {
			var v any
			return json.Unmarshal(b, &v)
		},
		UnmarshalJSON: func(b []byte) (any, error) { return jsonschema.UnmarshalJSON(bytes.NewReader(b)) },
	})
	set := &schemaSet{raw: map[string]map[string]any{}}
	for _, name := range []string{"statement", "statement-v2", "tracking", "envelope", "bundle"} {
		file := name + ".schema.json"
		b, err := os.ReadFile(filepath.Join(schemaDocsDir, "schema", file))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatal(err)
		}
		if id := raw["$id"]; id != schemaBaseURL+file {
			t.Fatalf("%s: $id is %v, want %s", file, id, schemaBaseURL+file)
		}
		if s := raw["$schema"]; s != "https://json-schema.org/draft/2020-12/schema" {
			t.Fatalf("%s: $schema is %v, want draft 2020-12", file, s)
		}
		set.raw[name] = raw
		if err := c.AddResource(schemaBaseURL+file, doc); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if set.statement, err = c.Compile(schemaBaseURL + "statement.schema.json"); err != nil {
		t.Fatal(err)
	}
	if set.statementV2, err = c.Compile(schemaBaseURL + "statement-v2.schema.json"); err != nil {
		t.Fatal(err)
	}
	if set.envelope, err = c.Compile(schemaBaseURL + "envelope.schema.json"); err != nil {
		t.Fatal(err)
	}
	if set.bundle, err = c.Compile(schemaBaseURL + "bundle.schema.json"); err != nil {
		t.Fatal(err)
	}
	if set.tracking, err = c.Compile(schemaBaseURL + "tracking.schema.json"); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestSchemaTrackingAdditions validates a declaration with range selectors
// and a version with its decoding against the tracking schema, and checks
// that the schema refuses what verify refuses in them.
func TestSchemaTrackingAdditions(t *testing.T) {
	set := schemaCompile(t)
	const (
		id   = "EXR-YECPK-983AW-FBDTJ-1T056"
		when = "2026-05-08T11:13:55.250Z"
	)
	sha := strings.Repeat("a", 64)
	tool := verify.Tool{Name: "exhibit", Version: "test"}
	decl := &verify.DeclarationStatement{Type: verify.StatementType, PredicateType: verify.DeclarationPredicateType,
		Subject: []verify.Subject{{Name: "acme-privacy", Digest: map[string]string{"sha256": verify.SHA256Hex([]byte("acme-privacy"))}}},
		Predicate: verify.Declaration{Entity: "Acme", Document: "Privacy", URL: "https://acme.example/p",
			SelectRanges: []verify.Range{{StartBefore: "#a", EndAfter: "#b"}}, RemoveRanges: []verify.Range{{StartAfter: "h2:has(> a)", EndBefore: "footer"}},
			EverySeconds: 3600, Revision: 1, DeclaredAt: when, Tool: tool}}
	ver := &verify.VersionStatement{Type: verify.StatementType, PredicateType: verify.VersionPredicateType,
		Subject: []verify.Subject{{Name: "acme-privacy", Digest: map[string]string{"sha256": sha}}},
		Predicate: verify.Version{Number: 2, Kind: verify.VersionLinks, Previous: id, Declaration: id,
			Snapshot: verify.SnapshotRef{RecordID: id, SHA256: sha, CapturedAt: when}, Extractor: verify.Extractor{Name: "exhibit-extract", Version: "2"},
			Text:     verify.Text{SHA256: sha, Size: 10, MediaType: "text/markdown; charset=utf-8"},
			Decoding: &verify.Decoding{Charset: "utf-8", From: verify.DecodedFromUTF8, Declared: "windows-1252", Replaced: 3}, RecordedAt: when, Tool: tool}}
	for name, st := range map[string]any{"declaration": decl, "version": ver} {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify.ParseEntryStatement(b); err != nil {
			t.Fatalf("%s: verify refuses it: %v", name, err)
		}
		schemaMustValidate(t, name, set.tracking, b)
	}
	bad := func(name string, st any) {
		t.Helper()
		b, _ := json.Marshal(st)
		if err := schemaValidate(set.tracking, b); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
		if _, err := verify.ParseEntryStatement(b); err == nil {
			t.Errorf("%s: verify accepts it", name)
		}
	}
	d2 := *decl
	d2.Predicate.SelectRanges = []verify.Range{{StartBefore: "#a", StartAfter: "#b", EndBefore: "#c"}}
	bad("range with two starts", &d2)
	d2.Predicate.SelectRanges = []verify.Range{{StartBefore: "#a"}}
	bad("range without an end", &d2)
	v2 := *ver
	v2.Predicate.Decoding = &verify.Decoding{Charset: "utf-8", From: "guess"}
	bad("unknown decoding source", &v2)
	v2.Predicate.Decoding = &verify.Decoding{From: verify.DecodedFromHeader}
	bad("decoding without charset", &v2)
}

// schemaValidate validates the JSON document data against sch.
func schemaValidate(sch *jsonschema.Schema, data []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func schemaMustValidate(t *testing.T, what string, sch *jsonschema.Schema, data []byte) {
	t.Helper()
	if err := schemaValidate(sch, data); err != nil {
		t.Errorf("%s does not validate against its schema:\n%v\n%s", what, err, data)
	}
}

// schemaCheckEntry validates a log entry (a DSSE envelope) and the statement
// it carries, and checks that the Go verifier accepts the statement.
func schemaCheckEntry(t *testing.T, what string, set *schemaSet, entry []byte, key *verify.PublicKey) *verify.Statement {
	t.Helper()
	schemaMustValidate(t, what+" envelope", set.envelope, entry)
	env, err := verify.ParseEnvelope(entry)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	sch := set.statement
	if bytes.Contains(env.Payload, []byte(`"predicateType":"`+verify.CapturePredicateTypeV2+`"`)) {
		sch = set.statementV2
	}
	schemaMustValidate(t, what+" statement", sch, env.Payload)
	st, err := verify.OpenStatement(entry, key)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return st
}

func schemaReadDoc(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{schemaDocsDir}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaWorkedExample checks the worked example of docs/FORMATS.md: its
// files validate against the schemas, its bundles verify with the real
// verifier, and the document quotes them verbatim.
func TestSchemaWorkedExample(t *testing.T) {
	set := schemaCompile(t)
	key, err := verify.ParseVKey(string(schemaReadDoc(t, "example", "vkey.txt")))
	if err != nil {
		t.Fatal(err)
	}
	formats := string(schemaReadDoc(t, "FORMATS.md"))
	quoted := func(what, s string) {
		t.Helper()
		if !strings.Contains(formats, s) {
			t.Errorf("docs/FORMATS.md does not quote %s verbatim (rerun the generator and update it):\n%s", what, s)
		}
	}
	quoted("the verifier key", key.VKey)

	for _, name := range []string{"fetch", "upload", "failed"} {
		payload := schemaReadDoc(t, "example", name+"-statement.json")
		schemaMustValidate(t, name+"-statement.json", set.statement, payload)
		if _, err := verify.ParseStatement(payload); err != nil {
			t.Errorf("%s-statement.json: %v", name, err)
		}
		// The pretty form is the same statement.
		pretty := schemaReadDoc(t, "example", name+"-statement.pretty.json")
		var compact bytes.Buffer
		if err := json.Compact(&compact, pretty); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(compact.Bytes(), payload) {
			t.Errorf("%s-statement.pretty.json, compacted, is not %s-statement.json", name, name)
		}
		entry := schemaReadDoc(t, "example", name+"-entry.json")
		st := schemaCheckEntry(t, name+"-entry.json", set, entry, key)
		env, _ := verify.ParseEnvelope(entry)
		if !bytes.Equal(env.Payload, payload) {
			t.Errorf("%s-entry.json does not carry %s-statement.json", name, name)
		}
		if pae := schemaReadDoc(t, "example", name+"-pae.bin"); !bytes.Equal(pae, verify.PAE(verify.PayloadType, payload)) {
			t.Errorf("%s-pae.bin is not the PAE of the statement", name)
		}
		if name == "fetch" {
			quoted("the fetch statement", string(payload))
			quoted("the fetch entry", string(entry))
			quoted("the fetch statement, pretty", string(pretty))
			quoted("its record ID", verify.RecordID(entry))
			quoted("its subject digest", st.SubjectDigest())
		}
	}

	for _, c := range []struct{ file, snapshot string }{
		{"bundle.json", "document.html"},
		{"bundle.json", ""},
		{"bundle.tlog-proof", "document.html"},
		{"bundle-3-fetch.json", "document.html"},
		{"bundle-3-upload.json", "terms.html"},
		{"bundle-3-failed.json", ""},
	} {
		data := schemaReadDoc(t, "example", c.file)
		if strings.HasSuffix(c.file, ".json") {
			schemaMustValidate(t, c.file, set.bundle, data)
		}
		var opts verify.Options
		if c.snapshot != "" {
			opts.Snapshot = bytes.NewReader(schemaReadDoc(t, "example", c.snapshot))
		}
		rep := verify.Check(data, key, opts)
		if !rep.Verified {
			f := rep.Failed()
			t.Errorf("%s does not verify: %s: %s", c.file, f.Name, f.Detail)
		}
	}
	// Both forms of the one-entry bundle are the same bundle.
	j, err := verify.ParseBundle(schemaReadDoc(t, "example", "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := verify.ParseBundle(schemaReadDoc(t, "example", "bundle.tlog-proof"))
	if err != nil {
		t.Fatal(err)
	}
	if j.RecordID != p.RecordID || !bytes.Equal(j.Entry, p.Entry) || j.Index != p.Index ||
		len(j.InclusionProof) != len(p.InclusionProof) || j.Checkpoint != p.Checkpoint ||
		!bytes.Equal(j.MarshalProof(), p.MarshalProof()) {
		t.Error("bundle.json and bundle.tlog-proof differ")
	}
	quoted("the one-entry bundle", string(j.Marshal()))
	quoted("the one-entry tlog-proof", string(j.MarshalProof()))
	quoted("the one-entry checkpoint", string(schemaReadDoc(t, "example", "checkpoint-1.txt")))
	quoted("the three-entry checkpoint", string(schemaReadDoc(t, "example", "checkpoint-3.txt")))
}

// TestSchemaArchive validates what a real archive writes: an upload with
// claims, fetches over HTTPS with a redirect, an HTTP error, a failed fetch,
// and a hand-built failed-capture statement.
func TestSchemaArchive(t *testing.T) {
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

	body := "<html><body>Schema test</body></html>\n"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/doc", http.StatusFound)
		case "/doc":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Add("X-Multi", "one")
			w.Header().Add("X-Multi", "two")
			io.WriteString(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	fetchOpts := ingest.CaptureOptions{
		Entity:   "Schema Corp",
		Document: "Schema Policy",
		Fetch:    capture.Options{RootCAs: roots, Timeout: 30 * time.Second},
	}

	// A port nothing listens on: a closed server's.
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL + "/policy"
	gone.Close()

	file := filepath.Join(t.TempDir(), "policy.html")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}

	type result struct {
		name            string
		method, outcome string
		rec             *record.Record
	}
	var results []result
	rec, err := ingest.New(a).File(ctx, file, ingest.FileOptions{
		URL:       "https://example.org/policy",
		FetchedAt: time.Date(2026, 5, 1, 9, 0, 0, 123456789, time.UTC),
		Entity:    "Example Corp",
		Document:  "Example Policy",
	})
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, result{"upload", verify.MethodUpload, verify.OutcomeCaptured, rec})
	rec, err = ingest.New(a).File(ctx, file, ingest.FileOptions{}) // no claims at all
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, result{"bare upload", verify.MethodUpload, verify.OutcomeCaptured, rec})
	for _, c := range []struct{ name, url, outcome string }{
		{"redirected fetch", srv.URL + "/start", verify.OutcomeCaptured},
		{"http error", srv.URL + "/missing", verify.OutcomeHTTPError},
		{"failed fetch", goneURL, verify.OutcomeFailed},
	} {
		rec, err := ingest.New(a).Capture(ctx, c.url, fetchOpts)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		results = append(results, result{c.name, verify.MethodFetch, c.outcome, rec})
	}

	for _, r := range results {
		if r.rec.Outcome != r.outcome {
			t.Fatalf("%s: outcome %q, want %q (failure %+v)", r.name, r.rec.Outcome, r.outcome, r.rec.Failure)
		}
		st := schemaCheckEntry(t, r.name, set, r.rec.Entry, a.Key())
		if st.Predicate.Method != r.method {
			t.Errorf("%s: method %q, want %q", r.name, st.Predicate.Method, r.method)
		}
		bun, err := a.Bundle(ctx, r.rec, archive.ProveOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := bun.Marshal()
		schemaMustValidate(t, r.name+" bundle", set.bundle, b)
		if rep := verify.Check(b, a.Key(), verify.Options{}); !rep.Verified {
			f := rep.Failed()
			t.Errorf("%s: bundle does not verify: %s: %s", r.name, f.Name, f.Detail)
		}
		// A fresh proof against the latest checkpoint, too.
		_, fresh, err := a.Prove(ctx, r.rec.ID, archive.ProveOptions{Latest: true})
		if err != nil {
			t.Fatal(err)
		}
		schemaMustValidate(t, r.name+" fresh bundle", set.bundle, fresh.Marshal())
		if testing.Verbose() {
			env, _ := verify.ParseEnvelope(r.rec.Entry)
			t.Logf("%s: %s", r.name, env.Payload)
		}
	}

	// A failed capture with every field a failure can carry, built by hand.
	name := "https://unreachable.example/policy"
	st := verify.Statement{
		Type:          verify.StatementType,
		Subject:       []verify.Subject{{Name: name, Digest: map[string]string{"sha256": verify.SHA256Hex([]byte(name))}}},
		PredicateType: verify.CapturePredicateType,
		Predicate: verify.Capture{
			Entity:   "Example Corp",
			Document: "Example Policy",
			Method:   verify.MethodFetch,
			Outcome:  verify.OutcomeFailed,
			Failure:  &verify.Failure{Reason: "tls", Message: "GET https://unreachable.example/policy: tls: failed to verify certificate"},
			Observed: &verify.Observation{
				StartedAt:    verify.FormatTime(time.Now()),
				DurationMS:   41,
				RequestedURL: name,
				FinalURL:     name,
				PeerAddress:  "[2001:db8::1]:443",
				TLS: &verify.TLS{
					ServerName:             "unreachable.example",
					CertificateChainSHA256: verify.SHA256Hex([]byte("chain")),
					Certificates:           1,
					LeafSubject:            "CN=unreachable.example",
				},
				UserAgent: "exhibit/0.1.0 (+https://github.com/exhibit-archive/exhibit)",
			},
			Tool: verify.Tool{Name: "exhibit", Version: archive.Version},
		},
	}
	payload, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	schemaMustValidate(t, "hand-built failed statement", set.statement, payload)
	if _, err := verify.ParseStatement(payload); err != nil {
		t.Errorf("hand-built failed statement: %v", err)
	}
}

// TestSchemaRejects checks that the schemas reject what they must, and that
// the Go verifier rejects the same statements where it is meant to.
func TestSchemaRejects(t *testing.T) {
	set := schemaCompile(t)
	statement := schemaReadDoc(t, "example", "fetch-statement.json")
	upload := schemaReadDoc(t, "example", "upload-statement.json")
	failed := schemaReadDoc(t, "example", "failed-statement.json")
	entry := schemaReadDoc(t, "example", "fetch-entry.json")
	bundle := schemaReadDoc(t, "example", "bundle.json")

	for _, c := range []struct {
		name   string
		doc    []byte
		mutate func(m map[string]any)
		// goRejects: verify.ParseStatement rejects it too.
		goRejects bool
	}{
		{"unknown predicate field", statement, func(m map[string]any) { schemaPred(m)["comment"] = "x" }, true},
		{"missing observed block", statement, func(m map[string]any) { delete(schemaPred(m), "observed") }, true},
		{"uppercase digest", statement, func(m map[string]any) {
			d := m["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)
			d["sha256"] = strings.ToUpper(d["sha256"].(string))
		}, true},
		{"unknown top-level field", statement, func(m map[string]any) { m["extra"] = true }, true},
		{"unknown observed field", statement, func(m map[string]any) { schemaObs(m)["note"] = "x" }, true},
		{"wrong predicateType", statement, func(m map[string]any) { m["predicateType"] = "https://example.org/v2" }, true},
		{"two subjects", statement, func(m map[string]any) {
			s := m["subject"].([]any)
			m["subject"] = append(s, s[0])
		}, true},
		{"unknown method", statement, func(m map[string]any) { schemaPred(m)["method"] = "crawl" }, true},
		{"unknown outcome", statement, func(m map[string]any) { schemaPred(m)["outcome"] = "partial" }, true},
		{"captured without snapshot", statement, func(m map[string]any) { delete(schemaPred(m), "snapshot") }, true},
		{"failed with snapshot", failed, func(m map[string]any) {
			schemaPred(m)["snapshot"] = map[string]any{"sha256": strings.Repeat("0", 64), "size": 0}
		}, true},
		{"failed without failure", failed, func(m map[string]any) { delete(schemaPred(m), "failure") }, true},
		{"time not in UTC", statement, func(m map[string]any) { schemaObs(m)["started_at"] = "2026-05-08T13:13:55.250+02:00" }, true},
		// Stricter than the Go verifier: exhibit always writes these, but
		// verify.ParseStatement does not insist.
		{"time without milliseconds", statement, func(m map[string]any) { schemaObs(m)["started_at"] = "2026-05-08T11:13:55Z" }, false},
		{"second digest algorithm", statement, func(m map[string]any) {
			m["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)["sha512"] = strings.Repeat("0", 128)
		}, false},
		{"missing tool", statement, func(m map[string]any) { delete(schemaPred(m), "tool") }, false},
		{"unknown failure reason", failed, func(m map[string]any) { schemaPred(m)["failure"].(map[string]any)["reason"] = "gremlins" }, false},
		{"headers and headers_sha256", statement, func(m map[string]any) { schemaObs(m)["headers_sha256"] = strings.Repeat("a", 64) }, false},
		{"http_error with status 200", statement, func(m map[string]any) { schemaPred(m)["outcome"] = "http_error" }, false},
		{"claims on a fetch", statement, func(m map[string]any) { schemaPred(m)["claimed"] = map[string]any{"url": "https://example.org/"} }, false},
		{"fetch observations on an upload", upload, func(m map[string]any) { schemaObs(m)["status"] = 200 }, false},
		{"empty entity", statement, func(m map[string]any) { schemaPred(m)["entity"] = "" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := schemaValidate(set.statement, c.doc); err != nil {
				t.Fatalf("the unmodified statement does not validate: %v", err)
			}
			b := schemaMutate(t, c.doc, c.mutate)
			err := schemaValidate(set.statement, b)
			if err == nil {
				t.Errorf("the schema accepts it:\n%s", b)
			}
			var ve *jsonschema.ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("not a validation error: %v", err)
			}
			_, gerr := verify.ParseStatement(b)
			if c.goRejects && gerr == nil {
				t.Errorf("verify.ParseStatement accepts it")
			}
			if !c.goRejects && gerr != nil {
				t.Logf("note: verify.ParseStatement now rejects it too: %v", gerr)
			}
		})
	}

	for _, c := range []struct {
		name   string
		sch    *jsonschema.Schema
		doc    []byte
		mutate func(m map[string]any)
	}{
		{"envelope: unknown field", set.envelope, entry, func(m map[string]any) { m["extra"] = 1 }},
		{"envelope: other payloadType", set.envelope, entry, func(m map[string]any) { m["payloadType"] = "application/json" }},
		{"envelope: no signatures", set.envelope, entry, func(m map[string]any) { m["signatures"] = []any{} }},
		{"envelope: payload not base64", set.envelope, entry, func(m map[string]any) { m["payload"] = "not base64!" }},
		{"envelope: payload not a valid statement", set.envelope, entry, func(m map[string]any) { m["payload"] = "e30=" }}, // {}
		{"bundle: unknown field", set.bundle, bundle, func(m map[string]any) { m["extra"] = 1 }},
		{"bundle: other media type", set.bundle, bundle, func(m map[string]any) { m["media_type"] = "application/json" }},
		{"bundle: lowercase record ID", set.bundle, bundle, func(m map[string]any) { m["record_id"] = strings.ToLower(m["record_id"].(string)) }},
		{"bundle: short proof hash", set.bundle, bundle, func(m map[string]any) { m["inclusion_proof"] = []any{"AAAA"} }},
		{"bundle: missing checkpoint", set.bundle, bundle, func(m map[string]any) { delete(m, "checkpoint") }},
		{"bundle: unsigned checkpoint", set.bundle, bundle, func(m map[string]any) {
			cp := m["checkpoint"].(string)
			m["checkpoint"] = cp[:strings.Index(cp, "\n\n")+2]
		}},
		{"bundle: entry not an envelope", set.bundle, bundle, func(m map[string]any) { m["entry"] = "e30=" }},
		{"bundle: timestamp beside a pending status", set.bundle, bundle, func(m map[string]any) {
			m["timestamp"], m["timestamp_status"] = "MAMCAQA=", "pending"
		}},
		{"bundle: empty timestamp", set.bundle, bundle, func(m map[string]any) { m["timestamp"] = "" }},
		{"bundle: timestamp not base64", set.bundle, bundle, func(m map[string]any) { m["timestamp"] = "not base64!" }},
		{"bundle: other timestamp status", set.bundle, bundle, func(m map[string]any) { m["timestamp_status"] = "failed" }},
		{"bundle: other witnessing", set.bundle, bundle, func(m map[string]any) { m["witnessing"] = "fail-closed" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := schemaValidate(c.sch, c.doc); err != nil {
				t.Fatalf("the unmodified document does not validate: %v", err)
			}
			if b := schemaMutate(t, c.doc, c.mutate); schemaValidate(c.sch, b) == nil {
				t.Errorf("the schema accepts it:\n%s", b)
			}
		})
	}
}

func schemaPred(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
func schemaObs(m map[string]any) map[string]any  { return schemaPred(m)["observed"].(map[string]any) }

// schemaMutate decodes doc, applies mutate, and encodes it again.
func schemaMutate(t *testing.T, doc []byte, mutate func(map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	mutate(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaMatchesGo checks that each schema lists exactly the JSON fields
// of its Go struct, requires exactly those without omitempty, and closes
// every object the Go decoder closes (DisallowUnknownFields), so that a
// field added to the Go types cannot go unspecified.
func TestSchemaMatchesGo(t *testing.T) {
	set := schemaCompile(t)
	for name, typ := range map[string]reflect.Type{
		"statement":    reflect.TypeFor[verify.Statement](),
		"statement-v2": reflect.TypeFor[verify.Statement](),
		"envelope":     reflect.TypeFor[verify.Envelope](),
		"bundle":       reflect.TypeFor[verify.Bundle](),
	} {
		root := set.raw[name]
		schemaCompareStruct(t, name, root, root, typ)
	}
}

// schemaResolve follows local "$ref"s ("#/$defs/x") until node has no ref.
func schemaResolve(t *testing.T, root, node map[string]any) map[string]any {
	t.Helper()
	for {
		ref, ok := node["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/$defs/") {
			return node
		}
		def, ok := root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok {
			t.Fatalf("unresolved $ref %s", ref)
		}
		node = def
	}
}

func schemaCompareStruct(t *testing.T, path string, root, node map[string]any, typ reflect.Type) {
	t.Helper()
	node = schemaResolve(t, root, node)
	if node["type"] != "object" {
		t.Errorf("%s: schema type is %v, want object", path, node["type"])
	}
	if ap, ok := node["additionalProperties"].(bool); !ok || ap {
		t.Errorf("%s: additionalProperties is not false, but the Go decoder rejects unknown fields", path)
	}
	props, _ := node["properties"].(map[string]any)
	required := map[string]bool{}
	if r, ok := node["required"].([]any); ok {
		for _, x := range r {
			required[x.(string)] = true
		}
	}
	seen := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		jname, opts, _ := strings.Cut(tag, ",")
		omitempty := strings.Contains(","+opts+",", ",omitempty,")
		fp := path + "." + jname
		if fp == "statement.predicate.rendering" {
			continue // version 2 only: statement-v2 has it
		}
		seen[jname] = true
		p, ok := props[jname].(map[string]any)
		if !ok {
			t.Errorf("%s: the Go field %s is not in the schema", fp, f.Name)
			continue
		}
		if required[jname] == omitempty {
			t.Errorf("%s: required in the schema is %v, but omitempty in Go is %v", fp, required[jname], omitempty)
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			schemaCompareStruct(t, fp, root, p, ft)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			items, ok := schemaResolve(t, root, p)["items"].(map[string]any)
			if !ok {
				t.Errorf("%s: no items schema", fp)
				continue
			}
			schemaCompareStruct(t, fp+"[]", root, items, ft.Elem())
		}
	}
	for jname := range props {
		if !seen[jname] {
			t.Errorf("%s.%s: in the schema but not in the Go struct %s", path, jname, typ)
		}
	}
}
