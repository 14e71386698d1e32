package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// capturedBundle captures a file in a fresh archive and writes its bundle:
// it returns the record ID and the bundle's file name.
func capturedBundle(t *testing.T) (string, string) {
	t.Helper()
	inTemp(t)
	os.WriteFile("doc.html", []byte("<p>terms</p>"), 0o644)
	r := exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	return rec.RecordID, proveFile(t, rec.RecordID)
}

// TestVerifyRecordIDCanonical: whatever spelling of the record ID
// --record-id (or show, prove, export) is given, exhibit verify prints the
// canonical ID in the "verified:" and "cite as:" lines and in JSON; a
// spelling outside the documented ones is a usage error; a bundle whose
// record_id is not canonical fails.
func TestVerifyRecordIDCanonical(t *testing.T) {
	id, bundle := capturedBundle(t)
	bare := strings.ReplaceAll(strings.TrimPrefix(id, "EXR-"), "-", "")
	for _, typed := range []string{
		strings.ToLower(id),
		strings.ReplaceAll(id, "-", " "),
		bare,
		" " + strings.ToLower(bare) + "\t",
	} {
		r := exhibit(t, "verify", bundle, "--record-id", typed)
		r.want(t, 0, "verified: record "+id+" is entry", "cite as:  ", id)
		if strings.Contains(r.stdout, typed) && typed != id {
			t.Errorf("--record-id %q is echoed as written:\n%s", typed, r.stdout)
		}
		r = exhibit(t, "verify", bundle, "--record-id", typed, "-o", "json")
		r.want(t, 0)
		var rep struct {
			RecordID string `json:"record_id"`
			Citation string `json:"citation"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.RecordID != id || !strings.Contains(rep.Citation, id) {
			t.Errorf("--record-id %q: JSON record_id %q, citation %q; want %s", typed, rep.RecordID, rep.Citation, id)
		}
		exhibit(t, "show", typed).want(t, 0, id)
		exhibit(t, "prove", typed).want(t, 0, `"record_id": "`+id+`"`)
	}
	for _, bad := range []string{"\u00a0" + id, strings.Replace(id, "-", "\u2010", 1), id + "\u2003"} {
		exhibit(t, "verify", bundle, "--record-id", bad).want(t, 2, "not ASCII")
		exhibit(t, "show", bad).want(t, 2, "not ASCII")
	}
	// A bundle spelling its own ID otherwise is refused.
	b, _ := os.ReadFile(bundle)
	os.WriteFile("lower.json", []byte(strings.Replace(string(b), id, strings.ToLower(id), 1)), 0o644)
	exhibit(t, "verify", "lower.json").want(t, 1, "FAIL record-id", "not in canonical form "+id)
}

// TestVerifyExitCodes: input that is not evidence in any form is a usage
// error (2); input in a bundle's or package's form that fails to parse is
// a failed check (1), reported against the right line.
func TestVerifyExitCodes(t *testing.T) {
	_, bundle := capturedBundle(t)
	exhibit(t, "prove", strings.TrimSuffix(bundle, ".json"), "--format", "tlog-proof", "-o", "b.tlog-proof").want(t, 0)
	proof, _ := os.ReadFile("b.tlog-proof")
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(i*7919%251) | 0x80
	}
	for name, data := range map[string][]byte{
		"empty":    nil,
		"null":     []byte("null\n"),
		"random":   random,
		"array":    []byte("[1, 2]"),
		"number":   []byte("42"),
		"blank":    []byte(" \n\t\n"),
		"fake.zip": []byte("not a zip at all"),
	} {
		os.WriteFile(name, data, 0o644)
		exhibit(t, "verify", name).want(t, 2, "is not an evidence bundle or package")
	}
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"object":     {[]byte("{}"), "FAIL bundle-parse"},
		"bad json":   {[]byte(`{"media_type": `), "FAIL bundle-parse"},
		"long first": {append([]byte("c2sp.org/tlog-proof@v1"+strings.Repeat("x", 2<<20)+"\n"), proof[len("c2sp.org/tlog-proof@v1\n"):]...), "tlog-proof line 1:"},
		"long extra": {[]byte("c2sp.org/tlog-proof@v1\nextra " + strings.Repeat("!", 2<<20) + "\n"), "tlog-proof line 2:"},
	} {
		os.WriteFile(name, tc.data, 0o644)
		exhibit(t, "verify", name).want(t, 1, tc.want)
	}
}

// TestVerifyProofMessage: a failed inclusion proof is reported in a
// sentence with both roots in hex, never as lists of bytes.
func TestVerifyProofMessage(t *testing.T) {
	inTemp(t)
	for i := range 3 {
		os.WriteFile("d.html", []byte(strings.Repeat("<p>x</p>", i+1)), 0o644)
		exhibit(t, "capture", "d.html", "--url", "https://example.org/d").want(t, 0)
	}
	os.WriteFile("d.html", []byte("<p>last</p>"), 0o644)
	r := exhibit(t, "capture", "d.html", "--url", "https://example.org/d", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "prove", rec.RecordID, "--latest", "-o", "b.json").want(t, 0)
	var b map[string]any
	raw, _ := os.ReadFile("b.json")
	json.Unmarshal(raw, &b)
	proof := b["inclusion_proof"].([]any)
	if len(proof) == 0 {
		t.Fatal("no proof hashes")
	}
	h, _ := base64.StdEncoding.DecodeString(proof[0].(string))
	h[0] ^= 1
	proof[0] = base64.StdEncoding.EncodeToString(h)
	raw, _ = json.MarshalIndent(b, "", "  ")
	os.WriteFile("t.json", raw, 0o644)
	for _, out := range []string{"text", "json"} {
		r := exhibit(t, "verify", "t.json", "-o", out)
		r.want(t, 1, "does not lead to the root of tree size 4: the proof leads to root ")
		if strings.Contains(r.stdout+r.stderr, "[") && out == "text" || strings.Contains(r.stdout, "ExpectedRoot") {
			t.Errorf("-o %s: raw bytes in the report:\n%s\n%s", out, r.stdout, r.stderr)
		}
	}
}
