package verify_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

// testCosigner is a witness key pair for tests.
type testCosigner struct {
	priv ed25519.PrivateKey
	key  *verify.CosignerKey
}

func newTestCosigner(t testing.TB, name string) *testCosigner {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := verify.NewCosignerKey(name, pub)
	if err != nil {
		t.Fatal(err)
	}
	return &testCosigner{priv: priv, key: k}
}

func TestParsePolicy(t *testing.T) {
	logKey := testKey(t).VKey
	w := make([]string, 4)
	for i := range w {
		w[i] = newTestCosigner(t, fmt.Sprintf("w%d.example", i)).key.VKey
	}
	for _, tc := range []struct {
		desc     string
		text     string
		wantLine int // 0: no error; -1: an error about the whole file
	}{
		{"none", "quorum none\n", 0},
		{"no final newline", "log " + logKey + "\nquorum none", 0},
		{"spec example shape", "# comment\n  log " + logKey + " https://log.example/\n\n" +
			"witness A " + w[0] + "\n\twitness B " + w[1] + " https://b.example/\nwitness C " + w[2] + "\n" +
			"group AB 2 A B C\ngroup top all AB\nquorum top\n", 0},
		{"single witness quorum", "witness A " + w[0] + "\nquorum A\n", 0},
		{"no quorum", "log " + logKey + "\n", -1},
		{"empty", "", -1},
		{"two quorums", "quorum none\nquorum none\n", 2},
		{"unknown keyword", "quorum none\nmirror x\n", 2},
		{"trailing comment", "quorum none # no\n", 1},
		{"control char", "quorum none\r\n", 1},
		{"log key as witness", "witness A " + logKey + "\nquorum A\n", 1},
		{"witness key as log", "log " + w[0] + "\nquorum none\n", 1},
		{"bad key id", "witness A " + strings.Replace(w[0], "+", "+0", 1)[:len(w[0])] + "\nquorum A\n", 1},
		{"duplicate witness key", "witness A " + w[0] + "\nwitness B " + w[0] + "\nquorum A\n", 2},
		{"duplicate log key", "log " + logKey + "\nlog " + logKey + "\nquorum none\n", 2},
		{"duplicate name", "witness A " + w[0] + "\nwitness A " + w[1] + "\nquorum A\n", 2},
		{"keyword name", "witness any " + w[0] + "\nquorum any\n", 1},
		{"witness too many items", "witness A " + w[0] + " u extra\nquorum A\n", 1},
		{"witness without key", "witness A\nquorum none\n", 1},
		{"undefined member", "witness A " + w[0] + "\ngroup G any A B\nquorum G\n", 2},
		{"forward reference", "group G any A\nwitness A " + w[0] + "\nquorum G\n", 1},
		{"member twice", "witness A " + w[0] + "\ngroup G 1 A A\nquorum G\n", 2},
		{"none as member", "witness A " + w[0] + "\ngroup G any A none\nquorum G\n", 2},
		{"threshold zero", "witness A " + w[0] + "\ngroup G 0 A\nquorum G\n", 2},
		{"threshold too big", "witness A " + w[0] + "\ngroup G 2 A\nquorum G\n", 2},
		{"threshold leading zero", "witness A " + w[0] + "\ngroup G 01 A\nquorum G\n", 2},
		{"threshold not a number", "witness A " + w[0] + "\ngroup G some A\nquorum G\n", 2},
		{"group without members", "group G any\nquorum none\n", 1},
		{"undefined quorum", "witness A " + w[0] + "\nquorum B\n", 2},
		{"quorum too many items", "quorum none none\n", 1},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, err := verify.ParsePolicy([]byte(tc.text))
			if tc.wantLine == 0 {
				if err != nil {
					t.Fatalf("ParsePolicy: %v", err)
				}
				if p.Quorum == "" {
					t.Error("no quorum")
				}
				return
			}
			var pe *verify.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, verify.ErrPolicy) {
				t.Fatalf("ParsePolicy = %v, want a *PolicyError wrapping ErrPolicy", err)
			}
			want := tc.wantLine
			if want == -1 {
				want = 0
			}
			if pe.Line != want {
				t.Errorf("error on line %d, want line %d: %v", pe.Line, want, err)
			}
		})
	}
}

func TestPolicyFields(t *testing.T) {
	a, b := newTestCosigner(t, "a.example/w"), newTestCosigner(t, "b.example/w")
	text := "log " + testKey(t).VKey + " https://log.example/\n" +
		"witness A " + a.key.VKey + " http://127.0.0.1:1/\n" +
		"witness B " + b.key.VKey + "\n" +
		"group G any A B\nquorum G\n"
	p, err := verify.ParsePolicy([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(p.Logs), 1; got != want {
		t.Fatalf("%d logs, want %d", got, want)
	}
	if got, want := p.Logs[0].URL, "https://log.example/"; got != want {
		t.Errorf("log URL %q, want %q", got, want)
	}
	if p.Log(testKey(t).Name) == nil || p.Log("other") != nil {
		t.Error("Log looks up by origin")
	}
	if w := p.Witness("A"); w == nil || w.URL != "http://127.0.0.1:1/" || w.Key.VKey != a.key.VKey {
		t.Errorf("Witness(A) = %+v", w)
	}
	if w := p.Witness("B"); w == nil || w.URL != "" {
		t.Errorf("Witness(B) = %+v", w)
	}
	if got, want := p.Groups[0], (verify.PolicyGroup{Name: "G", Threshold: 1, Members: []string{"A", "B"}}); got.Name != want.Name || got.Threshold != want.Threshold || strings.Join(got.Members, ",") != "A,B" {
		t.Errorf("group %+v, want %+v", got, want)
	}
}

func TestPolicySatisfied(t *testing.T) {
	var text strings.Builder
	for _, n := range []string{"X1", "X2", "X3", "Y1", "Y2", "Y3"} {
		fmt.Fprintf(&text, "witness %s %s\n", n, newTestCosigner(t, n+".example").key.VKey)
	}
	text.WriteString("group X 2 X1 X2 X3\ngroup Y any Y1 Y2 Y3\ngroup XY all X Y\nquorum XY\n")
	p, err := verify.ParsePolicy([]byte(text.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		signed string
		want   bool
	}{
		{"", false},
		{"X1 X2", false},
		{"X1 Y1", false},
		{"X1 X2 Y3", true},
		{"X1 X2 X3 Y1 Y2 Y3", true},
		{"X3 Y2 Y3", false},
		{"X1 X2 XY Y", false}, // group names are not signers
	} {
		signed := map[string]bool{}
		for _, n := range strings.Fields(tc.signed) {
			signed[n] = true
		}
		if got := p.Satisfied(signed); got != tc.want {
			t.Errorf("Satisfied(%s) = %v, want %v", tc.signed, got, tc.want)
		}
	}
	none, err := verify.ParsePolicy([]byte("quorum none\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !none.Satisfied(nil) {
		t.Error("quorum none is not satisfied by no signatures")
	}
}

func ExampleParsePolicy() {
	policy := `# Two of three witnesses must cosign.
log example.org/exhibit+e929565c+Aa44G1Pljr+XCkdKFk9GgsdHNp8JTLCHwKPzqK6wTARX
witness W1 w1.example+95c522aa+BGuflT1k1at8zcdC8hIwQVISYnIdbkr307mrBnUmxG/G https://w1.example/
witness W2 w2.example+4b624122+BFsWI8I/wQF8EULLWr1Br9gIWY0hCqZfc+s3QO5ZRKpS https://w2.example/
witness W3 w3.example+d1ee31dd+BFaZJDIQAT7AZGPxw2uvpR6dundvEF3Fzm/Ap3J7LyaI
group two-of-three 2 W1 W2 W3
quorum two-of-three
`
	p, err := verify.ParsePolicy([]byte(policy))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Logs[0].Key.Name, len(p.Witnesses), p.Quorum)
	fmt.Println(p.Satisfied(map[string]bool{"W1": true}), p.Satisfied(map[string]bool{"W1": true, "W3": true}))

	_, err = verify.ParsePolicy([]byte("quorum W9\n"))
	fmt.Println(err)
	// Output:
	// example.org/exhibit 3 two-of-three
	// false true
	// invalid policy: line 1: quorum "W9" is not a witness or group defined on an earlier line
}
