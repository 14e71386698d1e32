package api_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/track"
)

// corpusClause is a clause of a shared-corpus document, classified.
type corpusClause struct {
	doc      string // document ID
	exact    string
	typ      string
	severity string
	regs     []string
}

// corpusDoc is a document of the generative-AI corpus, served from its
// snapshots.
type corpusDoc struct {
	entity, title string
	files         []string // snapshots, oldest first
}

// governance is a classified corpus: four documents of three entities,
// eight clauses of seven types, two of which (ai training, tracking) two
// entities share.
type governance struct {
	srv     *httptest.Server
	a       *archive.Archive
	tr      *track.Tracker
	prov    map[string]string // exact quote -> provision record ID
	clauses []corpusClause
	// revised is the provision whose analysis was revised twice.
	revised string
	// serve switches a document to another of its snapshots.
	serve func(doc string, i int)
}

func newGovernance(t *testing.T) *governance {
	t.Helper()
	dir := archivetest.Corpus(t, "genai")
	ctx := archivetest.Context(t, 3*time.Minute)
	docs := map[string]corpusDoc{
		"deepseek-privacy-policy":    {"DeepSeek", "Privacy Policy", []string{"deepseek-privacy-policy/20251111T152311Z.html"}},
		"deepseek-terms-of-service":  {"DeepSeek", "Terms of Service", []string{"deepseek-terms-of-service/20251111T152310Z.html"}},
		"grok-privacy-policy":        {"Grok", "Privacy Policy", []string{"grok-privacy-policy-legal-privacy-policy/20251111T153148Z.html"}},
		"claude-ai-commercial-terms": {"Claude.ai", "Commercial Terms", []string{"claude-ai-commercial-terms/20251111T152252Z.html"}},
	}
	// A second snapshot of DeepSeek's privacy policy, to record a change.
	entries := archivetest.ReadCorpus(t, dir)
	for _, e := range entries {
		if e.Entity == "DeepSeek" && e.Document == "Privacy Policy" && !strings.HasSuffix(e.File, "20251111T152311Z.html") {
			d := docs["deepseek-privacy-policy"]
			d.files = append(d.files, strings.TrimPrefix(e.File, "snapshots/"))
			docs["deepseek-privacy-policy"] = d
		}
	}
	var mu sync.Mutex
	current := map[string]int{}
	g := &governance{prov: map[string]string{}}
	g.serve = func(doc string, i int) {
		mu.Lock()
		current[doc] = i
		mu.Unlock()
	}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, "/")
		d, ok := docs[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		i := current[id]
		mu.Unlock()
		b, err := os.ReadFile(filepath.Join(dir, "snapshots", d.files[i]))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	}))
	t.Cleanup(g.srv.Close)

	g.a = archivetest.New(t, archive.InitOptions{Origin: "governance.example/log"})
	g.tr = track.New(g.a)
	versions := map[string]string{}
	for _, id := range []string{"deepseek-privacy-policy", "deepseek-terms-of-service", "grok-privacy-policy", "claude-ai-commercial-terms"} {
		d := docs[id]
		if _, err := g.tr.Declare(ctx, track.Declaration{ID: id, Entity: d.entity, Document: d.title, URL: g.srv.URL + "/" + id}); err != nil {
			t.Fatal(err)
		}
		res, err := g.tr.Capture(ctx, id, ingest.CaptureOptions{})
		if err != nil || res.Version == nil {
			t.Fatalf("capture of %s: %v %+v", id, err, res)
		}
		versions[id] = res.Version.ID
	}
	g.clauses = []corpusClause{
		{"deepseek-privacy-policy", "We may obtain publicly available Personal Data via online sources to train our models and provide Services.", "ai-training-public-data", "high", []string{"GDPR@EU", "PIPL@CN"}},
		{"deepseek-privacy-policy", "We automatically collect certain Personal Data from you when you use the Services, including internet or other network activity Personal Data such as your IP address, unique device identifiers, and cookies.", "tracking-technologies", "medium", []string{"ePrivacy Directive@EU"}},
		{"deepseek-terms-of-service", "The establishment, execution, interpretation, and resolution of disputes under these Terms shall be governed by the laws of the People's Republic of China in the mainland.", "governing-law", "high", nil},
		{"grok-privacy-policy", "For example to develop new product features, to train our models, to identify usage trends, to operate and expand our business activities, to identify new customers, and for data analysis.", "ai-training-customer-content", "high", []string{"GDPR@EU", "UK GDPR@UK", "CCPA@US-CA"}},
		{"grok-privacy-policy", "Cookies help us to recognize you, customize or personalize your experience, analyze the use of our Services to make it safer and more useful to you.", "tracking-technologies", "low", nil},
		{"claude-ai-commercial-terms", "Disputes will be determined by a sole arbitrator in Dublin, Ireland pursuant the UNCITRAL Arbitration Rules as at present in force.", "arbitration", "medium", nil},
		{"claude-ai-commercial-terms", "including to train competing AI models or resell the Services except as expressly approved by Anthropic", "acceptable-use", "low", nil},
		{"claude-ai-commercial-terms", "indemnification is each party’s sole and exclusive remedy under these Terms for any third-party claims.", "indemnification", "medium", nil},
	}
	for _, c := range g.clauses {
		p, _, err := g.tr.Quote(ctx, versions[c.doc], track.QuoteOptions{Exact: c.exact})
		if err != nil {
			t.Fatalf("quoting %q in %s: %v", c.exact, c.doc, err)
		}
		g.prov[c.exact] = p.ID
		if _, err := g.tr.Analyze(ctx, p.ID, track.AnalysisOptions{Type: c.typ, Severity: c.severity, Confidence: "medium", Basis: "explicit",
			Regulations: c.regs, Why: "Why " + c.typ + " matters.", Impact: "Impact <b>not markup</b>.", Author: "Corpus analyst"}); err != nil {
			t.Fatalf("analysing %s: %v", p.ID, err)
		}
	}
	// Grok's training clause: its analysis revised twice.
	g.revised = g.prov[g.clauses[3].exact]
	for i, sev := range []string{"medium", "high"} {
		if _, err := g.tr.Analyze(ctx, g.revised, track.AnalysisOptions{Type: "ai-training-customer-content", Severity: sev, Confidence: "high", Basis: "implied",
			Regulations: []string{"GDPR@EU", "UK GDPR@UK"}, Why: "Revised " + sev, Note: "Scope unclear.", Author: []string{"Second reader", "Third reader"}[i]}); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

func (g *governance) get(t *testing.T, srv *httptest.Server, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var recordLinkRE = regexp.MustCompile(`href="/records/(EXR-[0-9A-Z-]+)"`)

// TestGovernanceCorpus classifies clauses of three entities of the shared
// corpus (seven types), and checks the comparison pages, every provision
// page point by point with every record it links to, the JSON, the
// history of an analysis revised twice, and a change of a document
// flagging nothing that did not change.
func TestGovernanceCorpus(t *testing.T) {
	g := newGovernance(t)
	ctx := context.Background()
	// A change of DeepSeek's privacy policy (a later snapshot).
	g.serve("deepseek-privacy-policy", 1)
	res, err := g.tr.Capture(ctx, "deepseek-privacy-policy", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(g.a, api.Options{}))
	defer srv.Close()

	// The comparison of every type shows every classified clause.
	code, body := g.get(t, srv, "/types")
	if code != 200 {
		t.Fatalf("GET /types: %d %s", code, body)
	}
	if !strings.Contains(body, "7 provision types analysed across 3 tracked entities") {
		t.Errorf("/types summary: %s", body)
	}
	for _, c := range g.clauses {
		if !strings.Contains(html.UnescapeString(body), excerptOf(c.exact)) {
			t.Errorf("/types lacks %s's clause %q", c.doc, c.exact)
		}
		if !strings.Contains(body, `href="/provisions/`+g.prov[c.exact]+`"`) {
			t.Errorf("/types does not link provision %s", g.prov[c.exact])
		}
	}
	var types api.TypesPage
	_, body = g.get(t, srv, "/api/v1/types")
	if err := json.Unmarshal([]byte(body), &types); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tp := range types.Types {
		n += len(tp.Provisions)
		if tp.Type.ID == "tracking-technologies" && (tp.Uniqueness.With != 2 || tp.Uniqueness.Tracked != 3 || tp.Uniqueness.Unique) {
			t.Errorf("tracking-technologies uniqueness %+v, want 2 of 3", tp.Uniqueness)
		}
	}
	if n != len(g.clauses) || types.Analysed != 7 || types.Tracked != 3 {
		t.Errorf("/api/v1/types: %d provisions, %d types analysed, %d entities", n, types.Analysed, types.Tracked)
	}
	code, body = g.get(t, srv, "/types/tracking-technologies")
	if code != 200 || !strings.Contains(body, "2 of 3 tracked entities have") || !strings.Contains(body, "DeepSeek") || !strings.Contains(body, "Grok") {
		t.Errorf("/types/tracking-technologies: %d\n%s", code, body)
	}

	// Each provision page, point by point; every record it links to exists.
	for _, c := range g.clauses {
		id := g.prov[c.exact]
		code, body := g.get(t, srv, "/provisions/"+id)
		if code != 200 {
			t.Fatalf("GET /provisions/%s: %d %s", id, code, body)
		}
		text := html.UnescapeString(body)
		for _, want := range []string{
			c.exact,                                     // the clause
			"TextQuoteSelector", "TextPositionSelector", // its selectors
			c.severity + " severity", "medium confidence", // classification
			"Why " + c.typ + " matters.", // analysis texts
			"Impact <b>not markup</b>.",  // as text
			"Provision details", "Document last changed", "First tracked", "Last verified", id, c.doc,
			"Evidence provenance", "✓ Snapshot stored", "✓ Hash verified", "Content hash (SHA-256)",
			"Citation record", "accessed " + time.Now().UTC().Format("2 January 2006"),
			"How other entities handle this", "Other provisions of this document", "Documented changes in the last 30 days",
			"/types/" + c.typ,
		} {
			if c.exact == g.clauses[3].exact && strings.HasPrefix(want, "Why ") {
				want = "Revised high"
			}
			if c.exact == g.clauses[3].exact && strings.HasPrefix(want, "Impact ") {
				want = "Scope unclear."
			}
			if c.exact == g.clauses[3].exact && (want == c.severity+" severity" || want == "medium confidence") {
				want = strings.Replace(strings.Replace(want, "medium confidence", "high confidence", 1), c.severity+" severity", "high severity", 1)
			}
			if !strings.Contains(text, want) {
				t.Errorf("provision page of %s lacks %q", id, want)
			}
		}
		if strings.Contains(body, "<b>not markup</b>") {
			t.Error("an analysis text reached the page as markup")
		}
		regs := c.regs
		if c.exact == g.clauses[3].exact {
			regs = []string{"GDPR@EU", "UK GDPR@UK"}
		}
		for _, r := range regs {
			reg := r[:strings.LastIndexByte(r, '@')]
			if !strings.Contains(text, reg) {
				t.Errorf("provision page of %s lacks regulation %s", id, reg)
			}
		}
		links := map[string]bool{}
		for _, m := range recordLinkRE.FindAllStringSubmatch(body, -1) {
			links[m[1]] = true
		}
		if len(links) < 5 {
			t.Errorf("provision page of %s links %d records", id, len(links))
		}
		for rid := range links {
			if code, _ := g.get(t, srv, "/api/v1/records/"+rid); code != 200 {
				t.Errorf("provision page of %s links record %s, which answers %d", id, rid, code)
			}
		}
	}

	// Comparison and uniqueness on the page of a shared type.
	id := g.prov[g.clauses[1].exact] // DeepSeek's tracking clause
	_, body = g.get(t, srv, "/provisions/"+id)
	text := html.UnescapeString(body)
	if !strings.Contains(text, "Grok") || !strings.Contains(text, excerptOf(g.clauses[4].exact)) || !strings.Contains(text, "2 of 3 tracked entities") {
		t.Errorf("DeepSeek's tracking clause does not compare with Grok's:\n%s", body)
	}
	if !strings.Contains(text, excerptOf(g.clauses[0].exact)) {
		t.Error("the other provision of the document is not listed")
	}
	if !strings.Contains(body, "European Union") {
		t.Error("jurisdiction EU not named")
	}
	// A unique type says so.
	_, body = g.get(t, srv, "/provisions/"+g.prov[g.clauses[5].exact])
	if !strings.Contains(body, "Unique · 1 of 3 tracked entities") || !strings.Contains(body, "No other tracked entity has a provision analysed as Mandatory arbitration") {
		t.Errorf("arbitration is not shown unique")
	}

	// The JSON, and the history of the analysis revised twice.
	var p api.ProvisionPage
	_, body = g.get(t, srv, "/api/v1/provisions/"+g.revised)
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if len(p.History) != 3 || p.Analysis == nil || p.Analysis.Revision != 3 || p.History[0].SupersededBy != p.History[1].RecordID ||
		p.History[1].SupersededBy != p.Analysis.RecordID || p.History[0].Severity != "high" || p.History[1].Severity != "medium" || p.Analysis.Author != "Third reader" {
		t.Fatalf("history: %+v", p.History)
	}
	if p.Document.Entity != "Grok" || p.Type == nil || p.Type.ID != "ai-training-customer-content" || len(p.Regulations) != 2 || p.Regulations[1].JurisdictionName != "United Kingdom" ||
		!p.Evidence.HashVerified || !p.Evidence.Stored || p.Citation.Accessed == "" || len(p.Verified) != 4 || p.Uniqueness == nil || p.Uniqueness.With != 1 {
		t.Errorf("provision JSON: %+v", p)
	}
	_, body = g.get(t, srv, "/provisions/"+g.revised)
	for _, want := range []string{"Analysis history", "Second reader", "Third reader", "superseded", "current", "revision 3 by Third reader"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page of the revised analysis lacks %q", want)
		}
	}
	_, body = g.get(t, srv, "/api/v1/provisions/"+g.revised+"/analyses")
	if !strings.Contains(body, `"superseded_by"`) || strings.Count(body, `"record_id"`) != 3 {
		t.Errorf("analyses JSON: %s", body)
	}

	// DeepSeek's privacy policy changed: the change is listed; its
	// clauses that stand verbatim need no review.
	if res.Result != "change" {
		t.Logf("the later DeepSeek snapshot gives %s, not a change", res.Result)
	} else {
		_, body = g.get(t, srv, "/api/v1/provisions/"+g.prov[g.clauses[0].exact])
		json.Unmarshal([]byte(body), &p)
		if len(p.RecentChanges) != 1 || p.RecentChanges[0].RecordID != res.Version.ID || p.Document.LastChangedRecord != res.Version.ID {
			t.Errorf("recent changes %+v, last changed %s; want %s", p.RecentChanges, p.Document.LastChangedRecord, res.Version.ID)
		}
		if (p.Analysis.Review != nil) != (p.Provision.Status != "present") {
			t.Errorf("status %s, review %+v", p.Provision.Status, p.Analysis.Review)
		}
	}

	// What is not a provision or a type.
	for path, want := range map[string]int{
		"/provisions/" + res.Version.ID:                           404,
		"/provisions/EXR-00000-00000-00000-00000":                 404,
		"/provisions/nope":                                        400,
		"/api/v1/provisions/" + res.Version.ID:                    404,
		"/types/no-such-type":                                     404,
		"/api/v1/types/no-such-type":                              404,
		"/api/v1/provisions/EXR-00000-00000-00000-00000/analyses": 404,
	} {
		if code, body := g.get(t, srv, path); code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, code, want, body)
		}
	}
	// The document page shows each provision's current analysis.
	_, body = g.get(t, srv, "/documents/grok-privacy-policy")
	if !strings.Contains(body, "<code>ai-training-customer-content</code>, high severity, revision 3 by Third reader") {
		t.Errorf("the document page does not show the current analysis:\n%s", body)
	}
	_, body = g.get(t, srv, "/api/v1/taxonomy")
	if !strings.Contains(body, `"ai-training-customer-content"`) {
		t.Errorf("taxonomy JSON: %s", body)
	}
}

// excerptOf is what a list shows of a quote.
func excerptOf(s string) string {
	r := []rune(s)
	if len(r) > 300 {
		return string(r[:300])
	}
	return s
}

var panelRE = regexp.MustCompile(`data-record-id="(EXR-[0-9A-Z-]+)" data-fact="([a-z]+)">[\s\S]*?<p class="([a-z]+)" data-verify-result=""[^>]*>([^<]*)</p>`)

// TestProvisionPageBrowserVerify loads a provision page in headless
// Chromium: every record the page rests on verifies in the browser, and a
// tampered bundle fails its panel.
func TestProvisionPageBrowserVerify(t *testing.T) {
	bin := rendertest.Chromium(t)
	g := newGovernance(t)
	var tamper string
	var mu sync.Mutex
	h := api.New(g.a, api.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		bad := tamper != "" && r.URL.Path == "/api/v1/records/"+tamper+"/bundle"
		mu.Unlock()
		if !bad {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var b map[string]any
		json.Unmarshal(rec.Body.Bytes(), &b)
		b["index"] = b["index"].(float64) + 1
		out, _ := json.Marshal(b)
		w.Header().Set("Content-Type", "application/json")
		w.Write(out)
	}))
	defer srv.Close()

	check := func(want map[string]string) {
		t.Helper()
		dom := dumpDOM(t, bin, srv.URL+"/provisions/"+g.revised)
		got := map[string]string{}
		for _, m := range panelRE.FindAllStringSubmatch(dom, -1) {
			got[m[2]] = m[3] + ": " + m[4]
		}
		if len(got) != len(want) {
			t.Fatalf("%d panels reported (%v), want %d\n%s", len(got), got, len(want), dom)
		}
		for fact, w := range want {
			if !strings.HasPrefix(got[fact], w) {
				t.Errorf("panel %s: %q, want %q", fact, got[fact], w)
			}
		}
	}
	check(map[string]string{"provision": "ok: verified", "analysis": "ok: verified", "version": "ok: verified", "snapshot": "ok: verified"})
	var p api.ProvisionPage
	_, body := g.get(t, srv, "/api/v1/provisions/"+g.revised)
	json.Unmarshal([]byte(body), &p)
	mu.Lock()
	tamper = p.Analysis.RecordID
	mu.Unlock()
	check(map[string]string{"provision": "ok: verified", "analysis": "fail: NOT verified: failed inclusion-proof", "version": "ok: verified", "snapshot": "ok: verified"})
}
