package verify_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

// recordIDSpellings are ways of writing the testdata bundle's ID (canonical
// is the ID), and whether a person may type them.
func recordIDSpellings(canonical string) []struct {
	desc, id string
	typed    bool // accepted as typed input (ParseRecordID)
} {
	bare := strings.ReplaceAll(strings.TrimPrefix(canonical, "EXR-"), "-", "")
	withO := strings.Replace(canonical, "0", "O", -1)
	return []struct {
		desc, id string
		typed    bool
	}{
		{"canonical", canonical, true},
		{"lower case", strings.ToLower(canonical), true},
		{"O for zero", withO, true}, // (the testdata ID has no 0: TestParseRecordID covers O and I, L)
		{"spaces for hyphens", strings.ReplaceAll(canonical, "-", " "), true},
		{"no EXR prefix", bare, true},
		{"no hyphens", "EXR" + bare, true},
		{"ASCII white space around", " \t" + canonical + "\n", true},
		{"no-break space around", "\u00a0" + canonical, false},
		{"ideographic space inside", strings.Replace(canonical, "-", "\u3000", 1), false},
		{"em space at the end", canonical + "\u2003", false},
		{"Unicode hyphen", strings.Replace(canonical, "-", "\u2010", 1), false},
		{"Cyrillic look-alike", strings.Replace(canonical, "E", "\u0415", 1), false},
		{"fullwidth digit", canonical[:len(canonical)-1] + "\uff17", false},
		{"U is not a digit", canonical[:len(canonical)-1] + "U", false},
	}
}

// TestRecordIDSpellings: the record ID a report gives (and exhibit verify
// prints in "verified:", "cite as:" and JSON) is the canonical one whatever
// spelling the verifier was cited; a person may type the spellings
// ParseRecordID accepts (docs/FORMATS.md section 4) and no other; a
// bundle's own record_id must be canonical.
func TestRecordIDSpellings(t *testing.T) {
	key := testKey(t)
	orig := testdata(t, "bundle.json")
	good := verify.Check(orig, key, verify.Options{})
	if !good.Verified {
		t.Fatal(good.Failed())
	}
	canonical := good.RecordID
	for _, tc := range recordIDSpellings(canonical) {
		t.Run(tc.desc, func(t *testing.T) {
			// Typed: --record-id.
			got, err := verify.ParseRecordID(tc.id)
			switch {
			case tc.typed && (err != nil || got != canonical):
				t.Errorf("ParseRecordID(%q) = %q, %v; want %s", tc.id, got, err, canonical)
			case !tc.typed && !errors.Is(err, verify.ErrRecordID):
				t.Errorf("ParseRecordID(%q) = %q, %v; want ErrRecordID", tc.id, got, err)
			}
			if err != nil {
				t.Log(err)
			}
			rep := verify.Check(orig, key, verify.Options{RecordID: tc.id})
			if rep.Verified != tc.typed {
				t.Errorf("cited %q: verified %v, want %v (%+v)", tc.id, rep.Verified, tc.typed, rep.Failed())
			}
			if rep.RecordID != canonical {
				t.Errorf("cited %q: report's record ID %q, want %s", tc.id, rep.RecordID, canonical)
			}
			// Machine-written: the bundle's record_id.
			var b map[string]any
			json.Unmarshal(orig, &b)
			b["record_id"] = tc.id
			data, _ := json.Marshal(b)
			rep = verify.Check(data, key, verify.Options{})
			if want := tc.id == canonical; rep.Verified != want {
				t.Errorf("bundle record_id %q: verified %v, want %v", tc.id, rep.Verified, want)
			} else if !want && rep.Failed().Name != verify.CheckRecordID {
				t.Errorf("bundle record_id %q: first failure %+v, want record-id", tc.id, rep.Failed())
			}
			if rep.RecordID != canonical {
				t.Errorf("bundle record_id %q: report's record ID %q, want %s", tc.id, rep.RecordID, canonical)
			}
		})
	}
}

// TestUniqueKeys: a key twice in any object, or twice but for case (as
// encoding/json matches keys, the Kelvin sign K included), is refused.
func TestUniqueKeys(t *testing.T) {
	for _, tc := range []struct {
		json string
		ok   bool
	}{
		{`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"url":1,"URL":2}`, false},
		{`{"b":{"k":1,"\u212a":2}}`, false},
		{`[{"x":1},{"y":{"z":1,"z":2}}]`, false},
		{`null`, true},
		{`{"a":`, false},
	} {
		if err := verify.UniqueKeys([]byte(tc.json)); (err == nil) != tc.ok {
			t.Errorf("UniqueKeys(%s) = %v, want ok %v", tc.json, err, tc.ok)
		}
	}
}

// TestParseProofLines: an error in a tlog-proof names the line it is in,
// however long the lines before it or the line itself.
func TestParseProofLines(t *testing.T) {
	b, err := verify.ParseBundle(testdata(t, "bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	proof := string(b.MarshalProof())
	lines := strings.SplitAfter(proof, "\n")
	long := strings.Repeat("A", 2<<20)
	for _, tc := range []struct {
		desc, text string
		line       int
	}{
		{"over-long first line", verify.ProofHeader + long + "\n" + strings.Join(lines[1:], ""), 1},
		{"over-long extra line", lines[0] + "extra " + strings.Repeat("!", 2<<20) + "\n" + strings.Join(lines[2:], ""), 2},
		{"bad index after a long extra", lines[0] + "extra " + long + "=\n" + strings.Join(lines[2:], ""), 2},
		{"bad index", lines[0] + lines[1] + "index x\n" + strings.Join(lines[3:], ""), 3},
		{"over-long hash line", lines[0] + lines[1] + lines[2] + long + "\n" + strings.Join(lines[3:], ""), 4},
		{"header alone", lines[0], 2},
		{"no checkpoint", strings.Join(lines[:3], "") + "\n", 5},
	} {
		_, err := verify.ParseBundle([]byte(tc.text))
		want := fmt.Sprintf("tlog-proof line %d:", tc.line)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error at line %d", tc.desc, err, tc.line)
		} else if len(err.Error()) > 300 {
			t.Errorf("%s: a %d-byte error message", tc.desc, len(err.Error()))
		}
	}
}
