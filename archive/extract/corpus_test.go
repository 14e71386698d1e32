package extract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
)

// corpusDir is the shared corpus of real policy snapshots, relative to this
// package. It is not part of the repository.
const corpusDir = "../../../shared/corpus/policies"

type snapshot struct {
	Entity    string `json:"entity"`
	Document  string `json:"document"`
	URL       string `json:"url"`
	FetchedAt string `json:"fetched_at"`
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Size      int    `json:"size"`
}

type declaration struct {
	Entity   string   `json:"entity"`
	Document string   `json:"document"`
	URL      string   `json:"url"`
	Select   []string `json:"select"`
	Remove   []string `json:"remove"`
}

func (d declaration) rules() Rules { return Rules{Select: d.Select, Remove: d.Remove} }

type corpusDoc struct {
	decl      declaration
	snapshots []snapshot
}

// loadCorpus returns the corpus documents in manifest order with their
// declarations, or skips the test (fails it when CI=true) if the corpus is
// missing.
func loadCorpus(tb testing.TB) []*corpusDoc {
	tb.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "manifest.jsonl"))
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("corpus missing (CI=true): %v", err)
		}
		tb.Skipf("corpus not found at %s (shared, not in the repository): %v", corpusDir, err)
	}
	defer f.Close()
	var decls []declaration
	b, err := os.ReadFile("testdata/corpus-declarations.json")
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &decls); err != nil {
		tb.Fatal(err)
	}
	byKey := map[string]*corpusDoc{}
	var docs []*corpusDoc
	for _, d := range decls {
		k := d.Entity + "\x00" + d.Document
		if byKey[k] != nil {
			tb.Fatalf("duplicate declaration for %s %s", d.Entity, d.Document)
		}
		if err := d.rules().Check(); err != nil {
			tb.Fatalf("%s %s: %v", d.Entity, d.Document, err)
		}
		byKey[k] = &corpusDoc{decl: d}
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s snapshot
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			tb.Fatal(err)
		}
		d := byKey[s.Entity+"\x00"+s.Document]
		if d == nil {
			tb.Fatalf("no declaration for %s %s in testdata/corpus-declarations.json", s.Entity, s.Document)
		}
		if len(d.snapshots) == 0 {
			docs = append(docs, d)
		}
		d.snapshots = append(d.snapshots, s)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(docs) != len(decls) {
		tb.Fatalf("%d declarations but %d documents in the manifest", len(decls), len(docs))
	}
	return docs
}

func readSnapshot(tb testing.TB, s snapshot) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, s.File))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDumpCorpus writes the text of every corpus snapshot under
// $EXTRACT_DUMP, for reviewing declarations by eye.
func TestDumpCorpus(t *testing.T) {
	dir := os.Getenv("EXTRACT_DUMP")
	if dir == "" {
		t.Skip("set EXTRACT_DUMP=dir to write every snapshot's text there")
	}
	for _, d := range loadCorpus(t) {
		for _, s := range d.snapshots {
			res, err := Extract(readSnapshot(t, s), "text/html", d.decl.rules())
			out := filepath.Join(dir, strings.TrimSuffix(s.File, ".html")+".md")
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				t.Fatal(err)
			}
			var text []byte
			if err != nil {
				text = []byte("ERROR: " + err.Error() + "\n")
			} else {
				text = []byte(res.Text)
			}
			if err := os.WriteFile(out, text, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// minChars is the least text every snapshot of a document must yield;
// documents not listed must yield more than 1000 characters.
var minChars = map[string]int{
	// A short legal notice: about 440 characters since 2026.
	"Open Terms Archive/Imprint": 400,
}

// isRedirectStub reports whether a snapshot is a <meta http-equiv=refresh>
// page with no document in it (the site moved the page). The corpus holds
// ten; their declared selectors must match nothing.
func isRedirectStub(doc *goquery.Document) bool {
	return doc.Find(`meta[http-equiv="refresh" i]`).Length() > 0 && doc.Find("body").Children().Length() <= 2
}

// signature is an independent reference for "did the text change": the same
// Rules applied with goquery alone, and the text content of the selection
// with whitespace collapsed (a block element's boundary counts as
// whitespace, an image as its alt text, and a heading is marked with its
// level), followed by the targets of its links that have text and lead out
// of the page (normalised by cleanHref) and its Cloudflare-obfuscated e-mail
// addresses. Link targets and heading levels are in the signature because
// they are in the Markdown: a change to them is a real change of the
// document. The signature shares with Extract only the selectors, leadsOut
// and cleanHref. ok is false when Select matches nothing.
func signature(tb testing.TB, body []byte, r Rules) (sig string, ok bool, stub bool) {
	tb.Helper()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	stub = isRedirectStub(doc)
	doc.Find("script, style, noscript, template, iframe, svg, textarea").Remove()
	if len(r.Remove) > 0 {
		doc.Find(strings.Join(r.Remove, ", ")).Remove()
	}
	var sel *goquery.Selection
	if len(r.Select) == 0 {
		sel = doc.Find("body")
	} else {
		all := strings.Join(r.Select, ", ")
		sel = doc.Find(all)
		sel = sel.NotSelection(sel.Find(all)) // outermost only
	}
	if sel.Length() == 0 {
		return "", false, stub
	}
	var b strings.Builder
	sel.Each(func(_ int, e *goquery.Selection) { renderText(&b, e.Get(0)) })
	text := strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	b.WriteString(text)
	sel.Find("a[href], [data-cfemail]").Each(func(_ int, e *goquery.Selection) {
		if v := strings.TrimSpace(e.AttrOr("href", "")); leadsOut(v) && strings.TrimSpace(e.Text()) != "" {
			b.WriteString("\x00href=" + cleanHref(v))
		}
		if v, ok := e.Attr("data-cfemail"); ok {
			e, _ := decodeCFEmail(v)
			b.WriteString("\x00email=" + e)
		}
	})
	return b.String(), true, stub
}

// blocks are the elements whose boundaries separate words in rendered text.
var blocks = map[string]bool{
	"address": true, "article": true, "aside": true, "blockquote": true, "br": true,
	"dd": true, "details": true, "div": true, "dl": true, "dt": true, "figcaption": true,
	"figure": true, "footer": true, "form": true, "h1": true, "h2": true, "h3": true,
	"h4": true, "h5": true, "h6": true, "header": true, "hr": true, "li": true,
	"main": true, "nav": true, "ol": true, "p": true, "pre": true, "section": true,
	"summary": true, "table": true, "td": true, "th": true, "tr": true, "ul": true,
}

// renderText writes the text of n, with a space at each block boundary, a
// marker at each heading giving its level, and each image's alt text in
// place of the image.
func renderText(b *strings.Builder, n *html.Node) {
	switch n.Type {
	case html.TextNode:
		b.WriteString(n.Data)
		return
	case html.ElementNode:
		if n.Data == "img" {
			for _, a := range n.Attr {
				if a.Key == "alt" {
					b.WriteString(a.Val)
				}
			}
			return
		}
	}
	if blocks[n.Data] {
		b.WriteByte(' ')
	}
	if len(n.Data) == 2 && n.Data[0] == 'h' && '1' <= n.Data[1] && n.Data[1] <= '6' {
		b.WriteString("<" + n.Data + "> ") // heading levels are Markdown structure
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		renderText(b, c)
	}
	if blocks[n.Data] {
		b.WriteByte(' ')
	}
}

// TestCorpus extracts every snapshot of every corpus document in order and
// checks that each yields enough text, that byte-identical snapshots and
// repeated runs give identical text, and that the text changes between
// consecutive snapshots exactly when the independent signature does.
func TestCorpus(t *testing.T) {
	for _, d := range loadCorpus(t) {
		key := d.decl.Entity + "/" + d.decl.Document
		t.Run(key, func(t *testing.T) {
			minN := 1000
			if m, ok := minChars[key]; ok {
				minN = m
			}
			bySHA := map[string]string{}
			var prevText, prevSig string
			started := false
			versions, distinct, stubs := 0, map[string]bool{}, 0
			for _, s := range d.snapshots {
				body := readSnapshot(t, s)
				res, err := Extract(body, "text/html; charset=utf-8", d.decl.rules())
				sig, ok, stub := signature(t, body, d.decl.rules())
				if stub {
					stubs++
					var e *Error
					if !errors.As(err, &e) || e.Reason != ReasonNoMatch || ok {
						t.Errorf("%s: redirect stub: got err %v, signature match %v; want no_match", s.File, err, ok)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", s.File, err)
					continue
				}
				if !ok {
					t.Errorf("%s: Extract matched but the reference selection is empty", s.File)
					continue
				}
				if res.Source != SourceHTML || res.MediaType != MediaTypeMarkdown {
					t.Errorf("%s: Source %q, MediaType %q", s.File, res.Source, res.MediaType)
				}
				// No two snapshots of one document in the corpus are
				// byte-identical, so identical input is also checked by
				// extracting a fresh copy of the same bytes again.
				again, err := Extract(bytes.Clone(body), "text/html; charset=utf-8", d.decl.rules())
				if err != nil || again.Text != res.Text {
					t.Errorf("%s: second run differs (err %v)", s.File, err)
				}
				if prev, seen := bySHA[s.SHA256]; seen && prev != res.Text {
					t.Errorf("%s: byte-identical to an earlier snapshot but the text differs", s.File)
				}
				bySHA[s.SHA256] = res.Text
				if n := utf8.RuneCountInString(res.Text); n <= minN {
					t.Errorf("%s: only %d characters of text, want > %d", s.File, n, minN)
				}
				if started {
					if textChanged, sigChanged := res.Text != prevText, sig != prevSig; textChanged != sigChanged {
						t.Errorf("%s: Markdown changed = %v but reference text changed = %v\n%s", s.File, textChanged, sigChanged, firstDiff(prevSig, sig))
					}
				}
				if !started || res.Text != prevText {
					versions++
				}
				distinct[res.Text] = true
				started = true
				prevText, prevSig = res.Text, sig
			}
			t.Logf("%s: %d snapshots (%d redirect stubs), %d versions, %d distinct texts", key, len(d.snapshots), stubs, versions, len(distinct))
		})
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-80)
	return fmt.Sprintf("reference before: %q\nreference after:  %q", a[lo:min(len(a), i+80)], b[lo:min(len(b), i+80)])
}

// TestCorpusConcurrent extracts every corpus snapshot from several
// goroutines at once and checks the texts equal those of a sequential run.
func TestCorpusConcurrent(t *testing.T) {
	type job struct {
		body  []byte
		rules Rules
		want  string
	}
	var jobs []job
	for _, d := range loadCorpus(t) {
		for _, s := range d.snapshots {
			body := readSnapshot(t, s)
			res, err := Extract(body, "text/html", d.decl.rules())
			want := ""
			if err == nil {
				want = res.Text
			}
			jobs = append(jobs, job{body, d.decl.rules(), want})
		}
	}
	const workers = 4
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < len(jobs); i += workers {
				res, err := Extract(jobs[i].body, "text/html", jobs[i].rules)
				got := ""
				if err == nil {
					got = res.Text
				}
				if got != jobs[i].want {
					errs <- fmt.Errorf("snapshot %d: concurrent text differs from sequential", i)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
