package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/track"
)

// policyServer serves one changing policy page.
type policyServer struct {
	mu   sync.Mutex
	page string
}

func (p *policyServer) set(body string) {
	p.mu.Lock()
	p.page = `<html><head><script nonce="` + body[:3] + `">var x=1</script></head><body><nav>Home | About</nav><main id="policy">` + body + `</main><footer>© 2026</footer></body></html>`
	p.mu.Unlock()
}

func (p *policyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(p.page))
}

// TestTrackWorkflow follows the tracking commands end to end: declare a
// document, run, change the page (markup only, then text), quote a
// provision, see history, diff, changes and provisions, verify a version's
// and a provision's bundles (with the version's text), and reextract after
// a declaration edit.
func TestTrackWorkflow(t *testing.T) {
	inTemp(t)
	ps := &policyServer{}
	ps.set(`<h1>Privacy</h1><p>We do not use customer audio to train AI models.</p><p>We keep logs for 30 days.</p>`)
	srv := httptest.NewServer(ps)
	defer srv.Close()

	exhibit(t, "track", "add", srv.URL+"/privacy", "--entity", "Acme", "--document", "Privacy Policy", "--select", "main#policy", "--every", "1h").
		want(t, 0, "tracking acme-privacy-policy (declaration revision 1)")
	exhibit(t, "track", "add", srv.URL+"/privacy", "--entity", "Acme", "--document", "Privacy Policy").want(t, 2, "already tracked")
	exhibit(t, "track", "add", srv.URL, "--entity", "Acme", "--document", "Other", "--select", "p[").want(t, 2, "p[")
	exhibit(t, "track", "add", "ftp://example.com/", "--entity", "Acme", "--document", "Other").want(t, 2, "not an http(s) URL")

	exhibit(t, "track", "add", srv.URL, "--entity", "Acme", "--document", "Other", "--every", "0s").want(t, 2, "--every 0s: at least 1m")
	exhibit(t, "track", "add", srv.URL, "--entity", "😀", "--document", "🙂").want(t, 2, "give one with --id")
	exhibit(t, "track", "edit", "acme-privacy-policy", "--select", "main", "--no-select").want(t, 2, "--no-select goes without --select")
	exhibit(t, "track", "run", "--once", "nosuch").want(t, 2, "no such tracked document: nosuch")
	exhibit(t, "track", "run", "--once", "--concurrency", "0").want(t, 2, "--concurrency 0")
	r := exhibit(t, "track", "run", "--once")
	r.want(t, 0, "version 1 (first)", "1 tracked, 1 captured")
	// Not due again within the hour.
	exhibit(t, "track", "run", "--once").want(t, 0, "1 tracked, 0 captured")
	// Markup noise only (a new script nonce): a confirmation.
	ps.set(`<h1>Privacy</h1>  <p>We do not use customer audio to train AI models.</p>
<p>We keep logs for 30 days.</p>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "unchanged, confirms version")

	r = exhibit(t, "history", "acme-privacy-policy", "-o", "json")
	r.want(t, 0)
	var doc track.Document
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Versions) != 1 || len(doc.Versions[0].Confirmations) != 1 {
		t.Fatalf("history: %+v", doc)
	}
	v1 := doc.Versions[0].RecordID

	exhibit(t, "quote", v1, "--exact", "We do not use customer audio").want(t, 0, "provision EXR-")
	exhibit(t, "quote", v1, "--exact", "We sell data").want(t, 2, "the quote is not in the text")
	exhibit(t, "quote", v1, "--exact", "30 days", "--label", "retention").want(t, 0, "provision")
	exhibit(t, "quote", v1, "--exact", "30 days").want(t, 2, "already quoted as provision")
	exhibit(t, "diff", doc.Versions[0].Confirmations[0].Snapshot.RecordID, v1).want(t, 2, "is a capture record")
	exhibit(t, "diff", "EXR-nope", v1).want(t, 2, "invalid record ID")

	ps.set(`<h1>Privacy</h1><p>We may use customer audio to train AI models.</p><p>We keep logs for 30 days.</p>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 2 (change)", "2 provisions re-checked")

	r = exhibit(t, "history", "acme-privacy-policy")
	r.want(t, 0, "2 versions, 1 change", "2 provisions", "CHANGED", "PRESENT")
	if err := json.Unmarshal([]byte(exhibit(t, "history", "acme-privacy-policy", "-o", "json").stdout), &doc); err != nil {
		t.Fatal(err)
	}
	v2 := doc.Versions[1].RecordID
	exhibit(t, "diff", v1, v2, "--color", "never").want(t, 0, "[-do not-]{+may+}", "+1 −2 words")
	exhibit(t, "changes", "--since", "1h").want(t, 0, "1 change since", "acme-privacy-policy")
	exhibit(t, "changes", "--since", "yesterday").want(t, 2, "--since")
	exhibit(t, "provisions", "acme-privacy-policy").want(t, 0, "changed  in "+v2, "present  in "+v2)
	exhibit(t, "provisions", "acme-privacy-policy", "-o", "json").want(t, 0, `"document_id": "acme-privacy-policy"`, `"provisions": [`)
	exhibit(t, "changes", "--entity", "acme").want(t, 0, `no tracked document has the entity "acme"`)
	exhibit(t, "history", "nope").want(t, 2, "no such tracked document")

	// Bundles of a version and a provision verify offline; the provision's
	// quote is checked against the version's text, and a wrong text fails.
	exhibit(t, "show", v2).want(t, 0, "version record "+v2, "version 2 (change) of acme-privacy-policy")
	exhibit(t, "prove", v1, "-o", "v1.json").want(t, 0)
	exhibit(t, "verify", "v1.json").want(t, 0, "statement-signature", "version 1 (first) of acme-privacy-policy")
	prov := doc.Provisions[0].RecordID
	exhibit(t, "prove", prov, "-o", "prov.json").want(t, 0)
	r = exhibit(t, "verify", "prov.json")
	r.want(t, 0, "provision of acme-privacy-policy")
	// The version's text, as the API and history serve it.
	text := "# Privacy\n\nWe do not use customer audio to train AI models.\n\nWe keep logs for 30 days.\n"
	os.WriteFile("v1.md", []byte(text), 0o644)
	exhibit(t, "verify", "prov.json", "--text", "v1.md").want(t, 0, "ok   provision-quote", "the quote stands at code points [11, 39)")
	os.WriteFile("v2.md", []byte(strings.Replace(text, "do not", "may", 1)), 0o644)
	exhibit(t, "verify", "prov.json", "--text", "v2.md").want(t, 1, "FAIL provision-quote")
	exhibit(t, "verify", "v1.json", "--text", "v1.md").want(t, 1, "not a provision")
	exhibit(t, "verify", "v1.json", "--snapshot", "v1.md").want(t, 0, "ok   snapshot-digest")

	// A declaration edit, then reextract: a technical upgrade, not a change.
	exhibit(t, "track", "edit", "acme-privacy-policy").want(t, 2, "changes nothing")
	exhibit(t, "track", "edit", "acme-privacy-policy", "--remove", "h1").want(t, 0, "declaration revision 2")
	exhibit(t, "reextract", "acme-privacy-policy").want(t, 0, "recorded version 3 (upgrade)")
	exhibit(t, "reextract", "acme-privacy-policy").want(t, 0, "nothing recorded", "3 snapshots extracted again; 2 give a different text")
	exhibit(t, "provisions", "acme-privacy-policy").want(t, 0, "a technical upgrade: the text extracted again, not a change of the document")
	exhibit(t, "changes", "--since", "1h", "-o", "json").want(t, 0)
	var changes []track.Change
	json.Unmarshal([]byte(exhibit(t, "changes", "--since", "1h", "-o", "json").stdout), &changes)
	if len(changes) != 1 {
		t.Errorf("an upgrade counted as a change: %+v", changes)
	}
	exhibit(t, "track", "list").want(t, 0, "acme-privacy-policy", "3 ")
	exhibit(t, "audit").want(t, 0)

	// A page whose selector matches nothing keeps the version.
	ps.mu.Lock()
	ps.page = `<html><body><p>Moved.</p></body></html>`
	ps.mu.Unlock()
	exhibit(t, "track", "run", "--once", "--all").want(t, 1, "failed: no_match")
	r = exhibit(t, "history", "acme-privacy-policy")
	r.want(t, 0, "3 versions", "1 snapshot without extractable text", "no_match")
	if _, err := os.Stat(filepath.Join("exhibit-archive", "exhibit.json")); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyRefusesHugeInput: verify refuses input larger than any bundle
// or package exhibit writes, without reading it whole.
func TestVerifyRefusesHugeInput(t *testing.T) {
	inTemp(t)
	f, err := os.Create("huge.json")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{")
	f.Truncate(3 << 30) // sparse: 3 GiB that takes no disk
	f.Close()
	exhibit(t, "init").want(t, 0)
	exhibit(t, "verify", "huge.json").want(t, 2, "larger than any bundle")
	z, err := os.Create("huge.zip")
	if err != nil {
		t.Fatal(err)
	}
	z.WriteString("PK\x03\x04")
	z.Truncate(5 << 30)
	z.Close()
	// Refused from its size (the message of the stat), before any read.
	exhibit(t, "verify", "huge.zip").want(t, 2, "is 5368709120 bytes, larger than any")
}
