package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

func TestRecordID(t *testing.T) {
	leaf := make([]byte, 32) // all zero bits
	if got, want := RecordIDFromLeafHash(leaf), "EXR-00000-00000-00000-00000"; got != want {
		t.Errorf("RecordIDFromLeafHash(zeros) = %s, want %s", got, want)
	}
	ff := make([]byte, 32)
	for i := range ff {
		ff[i] = 0xff
	}
	if got, want := RecordIDFromLeafHash(ff), "EXR-ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"; got != want {
		t.Errorf("RecordIDFromLeafHash(ones) = %s, want %s", got, want)
	}
	// 0x08 = 00001000: first 5 bits 00001 -> '1', next 5 bits 000(00) -> '0'.
	one := make([]byte, 32)
	one[0] = 0x08
	if got, want := RecordIDFromLeafHash(one), "EXR-10000-00000-00000-00000"; got != want {
		t.Errorf("RecordIDFromLeafHash(0x08...) = %s, want %s", got, want)
	}
	id := RecordID([]byte("entry"))
	if len(id) != len("EXR-00000-00000-00000-00000") {
		t.Errorf("RecordID length %d", len(id))
	}
}

func TestParseRecordID(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "EXR-4V8QK-9T2MZ-H0C7R-XW3JD", want: "EXR-4V8QK-9T2MZ-H0C7R-XW3JD"},
		{in: "exr-4v8qk-9t2mz-h0c7r-xw3jd", want: "EXR-4V8QK-9T2MZ-H0C7R-XW3JD"},
		{in: "4V8QK9T2MZH0C7RXW3JD", want: "EXR-4V8QK-9T2MZ-H0C7R-XW3JD"},
		{in: "EXR-4V8QK-9T2MZ-HOC7R-XW3JD", want: "EXR-4V8QK-9T2MZ-H0C7R-XW3JD"}, // O reads as 0
		{in: "EXR-IL000-00000-00000-00000", want: "EXR-11000-00000-00000-00000"},
		{in: "EXR-4V8QK-9T2MZ-H0C7R-XW3J", wantErr: true},   // short
		{in: "EXR-4V8QK-9T2MZ-H0C7R-XW3JDD", wantErr: true}, // long
		{in: "EXR-4V8QK-9T2MZ-H0C7R-XW3JU", wantErr: true},  // U not in alphabet
		{in: "", wantErr: true},
	} {
		got, err := ParseRecordID(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseRecordID(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrRecordID) {
			t.Errorf("ParseRecordID(%q) error %v does not wrap ErrRecordID", tc.in, err)
		}
		if got != tc.want {
			t.Errorf("ParseRecordID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPAE(t *testing.T) {
	// The DSSE specification's test vector.
	got := string(PAE("http://example.com/HelloWorld", []byte("hello world")))
	want := "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
	if got != want {
		t.Errorf("PAE = %q, want %q", got, want)
	}
}

func TestVKeyEd25519MatchesNote(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	pk, err := ParseVKey(vkey)
	if err != nil {
		t.Fatalf("ParseVKey(%q): %v", vkey, err)
	}
	nv, _ := note.NewVerifier(vkey)
	if pk.Hash != nv.KeyHash() || pk.Name != nv.Name() {
		t.Errorf("key hash/name %08x %s, x/mod says %08x %s", pk.Hash, pk.Name, nv.KeyHash(), nv.Name())
	}
	// Rebuilding the vkey from the key gives the same text.
	pk2, err := NewPublicKey(pk.Name, pk.Key)
	if err != nil {
		t.Fatal(err)
	}
	if pk2.VKey != vkey {
		t.Errorf("NewPublicKey vkey = %s, want %s", pk2.VKey, vkey)
	}
	// A note signed by x/mod verifies with our verifier.
	s, _ := note.NewSigner(skey)
	msg, _ := note.Sign(&note.Note{Text: "hello\n"}, s)
	if _, err := note.Open(msg, note.VerifierList(pk.NoteVerifier())); err != nil {
		t.Errorf("note.Open with our verifier: %v", err)
	}
}

func TestVKeyECDSA(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pk, err := NewPublicKey("example.org/log", &priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pk2, err := ParseVKey(pk.VKey)
	if err != nil {
		t.Fatalf("ParseVKey(%q): %v", pk.VKey, err)
	}
	if pk2.Hash != pk.Hash || !pk2.Key.(*ecdsa.PublicKey).Equal(&priv.PublicKey) {
		t.Error("ECDSA vkey does not round-trip")
	}
	// P-384 is refused.
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := NewPublicKey("example.org/log", &p384.PublicKey); err == nil {
		t.Error("NewPublicKey accepted a P-384 key")
	}
}

func TestParseVKeyErrors(t *testing.T) {
	_, vkey, _ := note.GenerateKey(rand.Reader, "example.org/log")
	name, rest, _ := strings.Cut(vkey, "+")
	hash, key, _ := strings.Cut(rest, "+")
	wrongHash := "00000000"
	if hash == wrongHash {
		wrongHash = "00000001"
	}
	for _, bad := range []string{
		"",
		"example.org/log",
		name + "+" + hash,
		name + "+" + wrongHash + "+" + key,  // key ID does not match
		"other.org/log+" + hash + "+" + key, // name changes the key ID
		name + "+" + hash + "+!!!",
		name + "+" + hash + "+" + "AQID", // short Ed25519 key
		name + "+zzzzzzzz+" + key,
	} {
		if _, err := ParseVKey(bad); err == nil || !errors.Is(err, ErrVKey) {
			t.Errorf("ParseVKey(%q) = %v, want ErrVKey", bad, err)
		}
	}
	_ = ed25519.PublicKeySize
}

func TestParseCheckpoint(t *testing.T) {
	root := "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	good := "example.org/log\n12\n" + root + "\n"
	cp, err := ParseCheckpoint(good)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != "example.org/log" || cp.Size != 12 || len(cp.Hash) != 32 {
		t.Errorf("ParseCheckpoint = %+v", cp)
	}
	if cp, err := ParseCheckpoint(good + "ext line\n"); err != nil || len(cp.Extensions) != 1 {
		t.Errorf("extension line: %v %+v", err, cp)
	}
	for _, bad := range []string{
		"example.org/log\n12\n" + root,          // no final newline
		"example.org/log\n12\n",                 // no root
		"\n12\n" + root + "\n",                  // empty origin
		"example.org/log\n012\n" + root + "\n",  // leading zero
		"example.org/log\n-1\n" + root + "\n",   // negative
		"example.org/log\n12\nAAAA\n",           // short root
		"example.org/log\n12\n" + root + "\n\n", // empty extension line
		"example.org/log\nten\n" + root + "\n",  // not a number
	} {
		if _, err := ParseCheckpoint(bad); !errors.Is(err, ErrCheckpoint) {
			t.Errorf("ParseCheckpoint(%q) = %v, want ErrCheckpoint", bad, err)
		}
	}
}

// TestStrictJSON: encodings that encoding/json alone would accept but that
// could make two readers disagree are rejected.
func TestStrictJSON(t *testing.T) {
	type obj struct {
		A string `json:"a"`
		B []byte `json:"b,omitempty"`
	}
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`{"a":"x"}`, true},
		{` {"a":"x","b":"AAE="} ` + "\n", true},
		{`{"a":"x","a":"y"}`, false},      // duplicate key
		{`{"A":"x"}`, false},              // case-folded key
		{`{"a":"x"}]]`, false},            // trailing brackets
		{`{"a":"x"} {}`, false},           // trailing object
		{`{"a":"x","b":"AA\nE="}`, false}, // base64 with a newline
		{`{"a":"x","b":""}`, false},       // empty optional field present
		{`{"a":"x","c":1}`, false},        // unknown field
	} {
		var o obj
		err := decodeStrict([]byte(tc.in), &o)
		if (err == nil) != tc.ok {
			t.Errorf("decodeStrict(%s) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
	if _, err := ParseRecordID("EXRAB-CDEFG-HJKMN-PQRST"); err != nil {
		t.Errorf("an ID starting with EXR and given without its prefix: %v", err)
	}
}

// TestParseBundleOptionalFields: the optional timestamp, timestamp_status
// and witnessing fields are read strictly.
func TestParseBundleOptionalFields(t *testing.T) {
	base, err := os.ReadFile("testdata/bundle.json")
	if err != nil {
		t.Fatal(err)
	}
	with := func(extra string) []byte {
		b := bytes.TrimRight(base, "\n }")
		return append(append(b, []byte(`, `+extra+"}")...), '\n')
	}
	for _, tc := range []struct {
		desc    string
		extra   string
		wantErr bool
	}{
		{"a token", `"timestamp": "MAMCAQA="`, false},
		{"pending", `"timestamp_status": "pending"`, false},
		{"fail-open", `"witnessing": "fail-open", "timestamp_status": "pending"`, false},
		{"token and pending", `"timestamp": "MAMCAQA=", "timestamp_status": "pending"`, true},
		{"empty token", `"timestamp": ""`, true},
		{"other status", `"timestamp_status": "failed"`, true},
		{"empty status", `"timestamp_status": ""`, true},
		{"other witnessing", `"witnessing": "fail-closed"`, true},
		{"token with a newline", `"timestamp": "MAMC\nAQA="`, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			b, err := ParseBundle(with(tc.extra))
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseBundle: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBundle) {
					t.Errorf("error %v does not wrap ErrBundle", err)
				}
				return
			}
			again, err := ParseBundle(b.Marshal())
			if err != nil || !reflect.DeepEqual(again, b) {
				t.Errorf("round trip: %v\n%+v\n%+v", err, again, b)
			}
		})
	}
}
