package export_test

import (
	"context"
	stdhtml "html"
	"regexp"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

// certificateText returns a package's certificate.html, unescaped, and its
// VERIFY.md.
func certificateText(t *testing.T, data []byte) (html, instructions string) {
	t.Helper()
	files := unzip(t, data)
	return stdhtml.UnescapeString(string(files[verify.PackageCertificateHTML])), string(files[verify.PackageInstructions])
}

// TestCertificateWording reads what the certificate says of each record:
// where each statement's trust comes from, a failed capture as a failure,
// the hash "stated in this section", a citation with plain typographic
// quotes, and FRE 902(11)'s notice.
func TestCertificateWording(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	quoted, err := ingest.New(a).File(context.Background(), writeTemp(t, "terms"), ingest.FileOptions{Entity: "Acme", Document: `The "Best" Terms`})
	if err != nil {
		t.Fatal(err)
	}
	ids["quoted"] = quoted.ID
	for name, id := range ids {
		html, _ := certificateText(t, build(t, a, id, export.Options{}))
		for _, bad := range []string{"Every statement below is read from data signed", "the value above", `\"`} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: certificate.html says %q", name, bad)
			}
		}
		for _, want := range []string{"are read from the log entry (a statement signed with the archive's log key) and the checkpoint signed with the same key", "reasonable written notice"} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: certificate.html does not say %q", name, want)
			}
		}
		if strings.Contains(html, "policy.txt") {
			t.Errorf("%s: certificate.html speaks of a policy.txt the package does not hold", name)
		}
		switch name {
		case "failed":
			for _, bad := range []string{"body of the final response", "Final URL", "stored it under that hash"} {
				if strings.Contains(html, bad) {
					t.Errorf("failed capture: certificate.html says %q", bad)
				}
			}
			if !strings.Contains(html, "the attempt FAILED (reason: connect)") || !strings.Contains(html, "stored no snapshot") || !strings.Contains(html, "subject digest is the SHA-256 of the URL requested") || !strings.Contains(html, "Capture attempted (observed)") {
				t.Error("failed capture: certificate.html does not describe the failure")
			}
		case "quoted":
			if !strings.Contains(html, `Acme, “The "Best" Terms” (copy supplied`) {
				t.Errorf("citation not in typographic quotes: %s", html[strings.Index(html, `class="cite"`):][:200])
			}
		case "tls":
			if !strings.Contains(html, "whose SHA-256 hash is the value stated in this section") {
				t.Error("snapshot hash wording")
			}
		}
	}
}

// TestCertificateNoWitnesses exports against a policy that names no
// witness a checkpoint carrying a signature line by another key: the
// certificate and VERIFY.md say the line was not checked, not that the
// checkpoint has no cosignature.
func TestCertificateNoWitnesses(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	rec, err := ingest.New(a).File(context.Background(), writeTemp(t, "unwitnessed"), ingest.FileOptions{Entity: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	_, stored, err := a.Prove(context.Background(), rec.ID, archive.ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body, err := verify.CheckpointBody([]byte(stored.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	skey, _, err := note.GenerateKey(nil, "stranger.example/witness")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Sign(&note.Note{Text: string(body)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(signed), "\n"), "\n")
	cp := stored.Checkpoint + lines[len(lines)-1] + "\n"
	policy := []byte("log " + a.Key().VKey + "\nquorum none\n")
	html, md := certificateText(t, build(t, a, rec.ID, export.Options{Policy: policy, Checkpoint: []byte(cp)}))
	for _, doc := range []struct{ name, text string }{{"certificate.html", html}, {"VERIFY.md", md}} {
		if strings.Contains(doc.text, "none on this checkpoint") || strings.Contains(doc.text, "cosignatures ()") {
			t.Errorf("%s says the checkpoint has no cosignature", doc.name)
		}
		if !strings.Contains(doc.text, "policy.txt names no witnesses; the checkpoint carries 1 signature line by key policy.txt does not name, not checked") {
			t.Errorf("%s does not say the signature line was not checked", doc.name)
		}
	}
	if !strings.Contains(html, "none: the policy requires no cosignature") {
		t.Error("certificate.html does not state the quorum none")
	}
	if !strings.Contains(html, "policy.txt, checked against") && !strings.Contains(html, "That file is NOT signed") {
		t.Error("certificate.html does not say policy.txt is unsigned")
	}
}

var fakeMillis = regexp.MustCompile(`\d\d:\d\d:\d\d\.\d+Z`)

// checkWholeSeconds fails if a certificate gives a witness's or the TSA's
// time with a fraction of a second.
func checkWholeSeconds(t *testing.T, name, text string) {
	t.Helper()
	for _, m := range regexp.MustCompile(`no later than \d[^ ,)\n]*`).FindAllString(text, -1) {
		if fakeMillis.MatchString(m) || !strings.HasSuffix(m, "Z") {
			t.Errorf("%s: %q is not RFC 3339 whole seconds in UTC", name, m)
		}
	}
}
