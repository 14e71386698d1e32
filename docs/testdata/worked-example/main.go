// Command worked-example regenerates the worked example of docs/FORMATS.md:
// the files under docs/example/. Run it from the repository root:
//
//	go run ./docs/testdata/worked-example
//
// (It lives under a testdata directory so that "go build ./..." and
// "go vet ./..." skip it.) Everything it writes is deterministic: the key is
// derived from a fixed seed, Ed25519 signatures are deterministic, and every
// time in the statements is fixed. Running it twice gives identical files,
// and it checks each bundle with verify.Check before it writes anything.
//
// The example key is public. Never use it for anything but this example.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Fixed inputs of the example.
const (
	seedText = "exhibit worked example" // key seed: SHA-256 of these bytes
	origin   = "example.org/exhibit"
	document = "<html><body>Example policy</body></html>\n"
	terms    = "<html><body>Example terms</body></html>\n"
)

func main() {
	out := flag.String("out", "docs/example", "directory to write the example files to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

// files collects the outputs so that nothing is written unless every check
// passes.
type files map[string][]byte

func run(out string) error {
	fs := files{}

	// The key: Ed25519 from a fixed 32-byte seed, as PKCS #8 PEM.
	seed := sha256.Sum256([]byte(seedText))
	priv := ed25519.NewKeyFromSeed(seed[:])
	keyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(priv)
	if err != nil {
		return err
	}
	signer, err := ledger.NewSigner(keyPEM, origin)
	if err != nil {
		return err
	}
	pub := signer.PublicKey()
	fs["vkey.txt"] = []byte(pub.VKey + "\n")

	// Entry 0: a fetch of document, after one redirect.
	fs["document.html"] = []byte(document)
	fetch := fetchStatement()
	entry0, err := sign(fs, signer, "fetch", fetch)
	if err != nil {
		return err
	}

	// The one-entry log: the root of a tree of one leaf is its leaf hash.
	leaf0 := rfc6962.DefaultHasher.HashLeaf(entry0)
	cp1, err := signCheckpoint(signer, 1, leaf0)
	if err != nil {
		return err
	}
	fs["checkpoint-1.txt"] = cp1
	b := &verify.Bundle{
		MediaType:      verify.BundleMediaType,
		RecordID:       verify.RecordID(entry0),
		Entry:          entry0,
		Index:          0,
		InclusionProof: [][]byte{},
		Checkpoint:     string(cp1),
	}
	if err := check(b, pub, []byte(document)); err != nil {
		return err
	}
	fs["bundle.json"] = b.Marshal()
	fs["bundle.tlog-proof"] = b.MarshalProof()

	// The same log grown to three entries: an upload (1) and a failed
	// capture (2), to show non-empty inclusion proofs.
	fs["terms.html"] = []byte(terms)
	entry1, err := sign(fs, signer, "upload", uploadStatement())
	if err != nil {
		return err
	}
	entry2, err := sign(fs, signer, "failed", failedStatement())
	if err != nil {
		return err
	}
	h := rfc6962.DefaultHasher
	leaf1, leaf2 := h.HashLeaf(entry1), h.HashLeaf(entry2)
	node01 := h.HashChildren(leaf0, leaf1)
	root3 := h.HashChildren(node01, leaf2)
	cp3, err := signCheckpoint(signer, 3, root3)
	if err != nil {
		return err
	}
	fs["checkpoint-3.txt"] = cp3
	proofs := [][][]byte{
		{leaf1, leaf2}, // index 0: sibling leaf 1, then the right subtree (leaf 2)
		{leaf0, leaf2}, // index 1
		{node01},       // index 2: the left subtree holding leaves 0 and 1
	}
	snaps := [][]byte{[]byte(document), []byte(terms), nil}
	names := []string{"fetch", "upload", "failed"}
	for i, e := range [][]byte{entry0, entry1, entry2} {
		b := &verify.Bundle{
			MediaType:      verify.BundleMediaType,
			RecordID:       verify.RecordID(e),
			Entry:          e,
			Index:          uint64(i),
			InclusionProof: proofs[i],
			Checkpoint:     string(cp3),
		}
		if err := check(b, pub, snaps[i]); err != nil {
			return err
		}
		fs["bundle-3-"+names[i]+".json"] = b.Marshal()
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, data := range fs {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	summary(pub, seed[:], entry0, leaf0, root3, leaf1, leaf2, node01, entry1, entry2)
	return nil
}

// sign marshals st compactly (the exact payload), signs it, and records the
// statement, its pretty form, the PAE and the envelope under prefix.
func sign(fs files, s *ledger.Signer, prefix string, st *verify.Statement) ([]byte, error) {
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	// The payload must be accepted by the verifier as it stands.
	if _, err := verify.ParseStatement(payload); err != nil {
		return nil, fmt.Errorf("%s statement: %w", prefix, err)
	}
	entry, err := s.SignStatement(payload)
	if err != nil {
		return nil, err
	}
	if len(entry) > verify.MaxEntrySize {
		return nil, fmt.Errorf("%s entry is %d bytes", prefix, len(entry))
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, payload, "", "  "); err != nil {
		return nil, err
	}
	pretty.WriteByte('\n')
	fs[prefix+"-statement.json"] = payload // exact bytes, no final newline
	fs[prefix+"-statement.pretty.json"] = pretty.Bytes()
	fs[prefix+"-pae.bin"] = verify.PAE(verify.PayloadType, payload)
	fs[prefix+"-entry.json"] = entry // exact bytes, no final newline
	return entry, nil
}

// signCheckpoint signs the C2SP tlog-checkpoint body of a tree as a C2SP
// signed note.
func signCheckpoint(s *ledger.Signer, size uint64, root []byte) ([]byte, error) {
	body := origin + "\n" + strconv.FormatUint(size, 10) + "\n" + base64.StdEncoding.EncodeToString(root) + "\n"
	return note.Sign(&note.Note{Text: body}, s)
}

// check verifies b (and snapshot, if any) with the real verifier in both
// bundle forms.
func check(b *verify.Bundle, key *verify.PublicKey, snapshot []byte) error {
	for _, form := range [][]byte{b.Marshal(), b.MarshalProof()} {
		var opts verify.Options
		if snapshot != nil {
			opts.Snapshot = bytes.NewReader(snapshot)
		}
		r := verify.Check(form, key, opts)
		if !r.Verified {
			f := r.Failed()
			return fmt.Errorf("bundle %s at index %d: %s: %s", b.RecordID, b.Index, f.Name, f.Detail)
		}
	}
	return nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

const userAgent = "exhibit/0.1.0 (+https://github.com/exhibit-archive/exhibit)"

var tool = verify.Tool{Name: "exhibit", Version: "0.1.0"}

// fetchStatement is what exhibit writes for a fetch of
// http://example.org/policy that was redirected to HTTPS.
func fetchStatement() *verify.Statement {
	d := sha([]byte(document))
	return &verify.Statement{
		Type:          verify.StatementType,
		Subject:       []verify.Subject{{Name: "http://example.org/policy", Digest: map[string]string{"sha256": d}}},
		PredicateType: verify.CapturePredicateType,
		Predicate: verify.Capture{
			Entity:   "Example Corp",
			Document: "Example Policy",
			Method:   verify.MethodFetch,
			Outcome:  verify.OutcomeCaptured,
			Snapshot: &verify.Snapshot{SHA256: d, Size: int64(len(document)), MediaType: "text/html; charset=utf-8"},
			Observed: &verify.Observation{
				StartedAt:    "2026-05-08T11:13:55.250Z",
				DurationMS:   312,
				RequestedURL: "http://example.org/policy",
				FinalURL:     "https://example.org/policy",
				Redirects: []verify.Hop{
					{URL: "http://example.org/policy", Status: 301, Location: "https://example.org/policy"},
				},
				Status:   200,
				Protocol: "HTTP/2.0",
				Headers: map[string][]string{
					"Content-Length": {strconv.Itoa(len(document))},
					"Content-Type":   {"text/html; charset=utf-8"},
					"Date":           {"Fri, 08 May 2026 11:13:55 GMT"},
				},
				PeerAddress: "192.0.2.10:443",
				TLS: &verify.TLS{
					Version:     "TLS 1.3",
					CipherSuite: "TLS_AES_128_GCM_SHA256",
					ServerName:  "example.org",
					Verified:    true,
					// The digest of the stored PEM chain; the chain itself
					// is not part of this example.
					CertificateChainSHA256: sha([]byte("example certificate chain\n")),
					Certificates:           2,
					LeafSubject:            "CN=example.org",
				},
				UserAgent: userAgent,
			},
			Tool: tool,
		},
	}
}

// uploadStatement is what exhibit writes for "exhibit capture terms.html
// --url https://example.org/terms --fetched-at 2026-05-01T09:00:00Z".
func uploadStatement() *verify.Statement {
	d := sha([]byte(terms))
	return &verify.Statement{
		Type:          verify.StatementType,
		Subject:       []verify.Subject{{Name: "https://example.org/terms", Digest: map[string]string{"sha256": d}}},
		PredicateType: verify.CapturePredicateType,
		Predicate: verify.Capture{
			Entity:   "Example Corp",
			Document: "Example Terms",
			Method:   verify.MethodUpload,
			Outcome:  verify.OutcomeCaptured,
			Snapshot: &verify.Snapshot{SHA256: d, Size: int64(len(terms)), MediaType: "text/html; charset=utf-8"},
			Observed: &verify.Observation{
				StartedAt:  "2026-05-08T11:20:00.125Z",
				DurationMS: 2,
				FileName:   "terms.html",
			},
			Claimed: &verify.Claim{URL: "https://example.org/terms", FetchedAt: "2026-05-01T09:00:00.000Z"},
			Tool:    tool,
		},
	}
}

// failedStatement is what exhibit writes for a fetch whose host does not
// resolve: no snapshot, and the subject digest is the SHA-256 of the name.
func failedStatement() *verify.Statement {
	name := "https://unreachable.example/policy"
	return &verify.Statement{
		Type:          verify.StatementType,
		Subject:       []verify.Subject{{Name: name, Digest: map[string]string{"sha256": sha([]byte(name))}}},
		PredicateType: verify.CapturePredicateType,
		Predicate: verify.Capture{
			Entity:   "Example Corp",
			Document: "Example Policy (mirror)",
			Method:   verify.MethodFetch,
			Outcome:  verify.OutcomeFailed,
			Failure: &verify.Failure{
				Reason:  "dns",
				Message: "GET https://unreachable.example/policy: dial tcp: lookup unreachable.example: no such host",
			},
			Observed: &verify.Observation{
				StartedAt:    "2026-05-08T11:25:00.500Z",
				DurationMS:   21,
				RequestedURL: name,
				FinalURL:     name,
				UserAgent:    userAgent,
			},
			Tool: tool,
		},
	}
}

// summary prints the derived values that docs/FORMATS.md quotes.
func summary(pub *verify.PublicKey, seed, entry0, leaf0, root3, leaf1, leaf2, node01, entry1, entry2 []byte) {
	fmt.Printf("seed            %x\n", seed)
	fmt.Printf("public key      %x\n", []byte(pub.Key.(ed25519.PublicKey)))
	fmt.Printf("vkey            %s\n", pub.VKey)
	fmt.Printf("note key ID     %08x\n", pub.Hash)
	fmt.Printf("DSSE keyid      %s\n", pub.KeyID())
	fmt.Printf("document sha256 %s (%d bytes)\n", sha([]byte(document)), len(document))
	fmt.Printf("entry 0         %d bytes, leaf %x (%s), record %s\n", len(entry0), leaf0, base64.StdEncoding.EncodeToString(leaf0), verify.RecordID(entry0))
	fmt.Printf("entry 1         %d bytes, leaf %x, record %s\n", len(entry1), leaf1, verify.RecordID(entry1))
	fmt.Printf("entry 2         %d bytes, leaf %x, record %s\n", len(entry2), leaf2, verify.RecordID(entry2))
	fmt.Printf("node 0-1        %x (%s)\n", node01, base64.StdEncoding.EncodeToString(node01))
	fmt.Printf("root of 3       %x (%s)\n", root3, base64.StdEncoding.EncodeToString(root3))
}
