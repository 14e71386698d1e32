package verify

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func addSeeds(f *testing.F, names ...string) {
	for _, n := range names {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseBundle: never crashes; what parses re-encodes to something that
// parses to the same bundle, in both forms.
func FuzzParseBundle(f *testing.F) {
	addSeeds(f, "bundle.json", "bundle.tlog-proof")
	f.Add([]byte(`{"media_type":"application/vnd.exhibit.bundle.v1+json","record_id":"x","entry":"AA==","index":0,"inclusion_proof":[],"checkpoint":"a\n"}`))
	f.Add([]byte("c2sp.org/tlog-proof@v1\nextra AA==\nindex 0\n\na\n"))
	f.Add([]byte(`{"media_type":"application/vnd.exhibit.bundle.v1+json","record_id":"x","entry":"AA==","index":0,"inclusion_proof":[],"checkpoint":"a\n","timestamp":"MAMCAQA=","witnessing":"fail-open"}`))
	f.Add([]byte(`{"media_type":"application/vnd.exhibit.bundle.v1+json","record_id":"x","entry":"AA==","index":0,"inclusion_proof":[],"checkpoint":"a\n","timestamp_status":"pending"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		bun, err := ParseBundle(b)
		if err != nil {
			return
		}
		again, err := ParseBundle(bun.Marshal())
		if err != nil {
			t.Fatalf("re-parsing marshalled bundle: %v", err)
		}
		if !bytes.Equal(again.Entry, bun.Entry) || again.Index != bun.Index || again.Checkpoint != bun.Checkpoint || len(again.InclusionProof) != len(bun.InclusionProof) ||
			!bytes.Equal(again.Timestamp, bun.Timestamp) || again.TimestampStatus != bun.TimestampStatus || again.Witnessing != bun.Witnessing {
			t.Fatalf("JSON round trip changed the bundle")
		}
		p, err := ParseProof(bun.MarshalProof())
		if err != nil {
			t.Fatalf("re-parsing tlog-proof: %v", err)
		}
		if !bytes.Equal(p.Entry, bun.Entry) || p.Index != bun.Index || len(p.InclusionProof) != len(bun.InclusionProof) {
			t.Fatalf("tlog-proof round trip changed the bundle")
		}
	})
}

// FuzzParseStatement: never crashes; accepted statements keep their
// invariants.
func FuzzParseStatement(f *testing.F) {
	addSeeds(f, "statement.json")
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStatement(b)
		if err != nil {
			return
		}
		if len(st.Subject) != 1 || !IsSHA256Hex(st.SubjectDigest()) {
			t.Fatalf("accepted statement without a single hex-digest subject")
		}
		if st.Predicate.Outcome != OutcomeFailed && st.Predicate.Snapshot.SHA256 != st.SubjectDigest() {
			t.Fatalf("accepted statement whose snapshot digest differs from its subject")
		}
	})
}

// FuzzParseCheckpoint: never crashes; what parses has a 32-byte root.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add("example.org/log\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n")
	f.Fuzz(func(t *testing.T, s string) {
		cp, err := ParseCheckpoint(s)
		if err != nil {
			return
		}
		if len(cp.Hash) != 32 || cp.Origin == "" {
			t.Fatalf("accepted checkpoint %+v", cp)
		}
	})
}

// FuzzParseEnvelope: never crashes.
func FuzzParseEnvelope(f *testing.F) {
	f.Add([]byte(`{"payloadType":"a","payload":"AA==","signatures":[{"keyid":"","sig":"AA=="}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEnvelope(b)
		if err != nil {
			return
		}
		if len(e.Signatures) == 0 || len(e.Payload) == 0 {
			t.Fatal("accepted an envelope without payload or signatures")
		}
	})
}

// FuzzParseVKey: never crashes; accepted keys round-trip.
func FuzzParseVKey(f *testing.F) {
	f.Add("example.org/log+ed0d7a6f+AXY1dNb6vcmDNzL02PtLrvZ3Fde7YyaW8zpDiRe9SA6c")
	f.Fuzz(func(t *testing.T, s string) {
		pk, err := ParseVKey(s)
		if err != nil {
			return
		}
		again, err := NewPublicKey(pk.Name, pk.Key)
		if err != nil || again.Hash != pk.Hash {
			t.Fatalf("accepted vkey %q does not round-trip: %v", s, err)
		}
	})
}

// FuzzParsePolicy: never crashes; a parsed policy's quorum is defined and
// its groups refer only to earlier names with thresholds in range.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("quorum none\n"))
	f.Add([]byte("log example.com/log+3b5e1a7c+AQ9y3eDdh0Ksr6wKUhPPzGWxhWtpuV/+uuqBLLiIq9pE\n" +
		"witness A w1.example+59d4e5a6+BJ8m6Q4Y7ZvO3VgxrVq+oWMrJDQvb3oWf8l7Pl1HiTq0 http://127.0.0.1:1/\n" +
		"group G any A\n# c\nquorum G\n"))
	f.Add([]byte("witness A x+00000000+BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\ngroup G 01 A\nquorum G"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		defined := map[string]bool{QuorumNone: true}
		for _, w := range p.Witnesses {
			defined[w.Name] = true
		}
		for _, g := range p.Groups {
			if g.Threshold < 1 || g.Threshold > len(g.Members) {
				t.Fatalf("group %s: threshold %d of %d members", g.Name, g.Threshold, len(g.Members))
			}
			for _, m := range g.Members {
				if !defined[m] {
					t.Fatalf("group %s: undefined member %s", g.Name, m)
				}
			}
			defined[g.Name] = true
		}
		if !defined[p.Quorum] {
			t.Fatalf("quorum %q is undefined", p.Quorum)
		}
		p.Satisfied(map[string]bool{p.Quorum: true})
	})
}

// FuzzParseCosignerVKey: never crashes; what parses re-encodes to itself.
func FuzzParseCosignerVKey(f *testing.F) {
	f.Add("w1.example+59d4e5a6+BJ8m6Q4Y7ZvO3VgxrVq+oWMrJDQvb3oWf8l7Pl1HiTq0")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseCosignerVKey(s)
		if err != nil {
			return
		}
		again, err := NewCosignerKey(k.Name, k.Key)
		if err != nil {
			t.Fatalf("NewCosignerKey of a parsed key: %v", err)
		}
		if again.Hash != k.Hash {
			t.Fatalf("key ID %08x, re-encoded %08x", k.Hash, again.Hash)
		}
	})
}

// FuzzCheckTimestamp: never crashes on any response or token; what verifies
// has a signer and a time.
func FuzzCheckTimestamp(f *testing.F) {
	addSeeds(f, "tsa/hello.tsr", "tsa/hello.tsq")
	chain, err := os.ReadFile(filepath.Join("testdata", "tsa", "chain.pem"))
	if err != nil {
		f.Fatal(err)
	}
	certs, err := ParseCertificatesPEM(chain)
	if err != nil {
		f.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	msg := []byte("hello\n")
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := CheckTimestamp(b, msg, TimestampOptions{Roots: roots, Untrusted: certs})
		if err == nil && (ts.Certificate == nil || ts.GenTime.IsZero()) {
			t.Fatalf("verified without a signer or time: %+v", ts)
		}
	})
}

// FuzzNewEntry: whatever ParseEntryStatement accepts, NewEntry accepts
// too, as the same kind: a writer checks its statements by the same rules
// a verifier reads them with.
func FuzzNewEntry(f *testing.F) {
	addSeeds(f, "statement.json")
	for _, st := range validTracking() {
		b, _ := json.Marshal(st)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEntryStatement(b)
		if err != nil {
			return
		}
		n, err := NewEntry(e.Statement())
		if err != nil || n.Kind() != e.Kind() {
			t.Fatalf("ParseEntryStatement accepts %s; NewEntry: %v", b, err)
		}
	})
}
