//go:build pdfmeasure

package extract

// TestMeasurePDF compares PDF text extractors on the measurement set built
// by testdata/pdf/measure/build.sh:
//
//	bash archive/extract/testdata/pdf/measure/build.sh /tmp/pdfmeasure
//	EXTRACT_PDF_SET=/tmp/pdfmeasure go test -tags pdfmeasure -run TestMeasurePDF -v -timeout 60m ./archive/extract
//
// It prints one table row per extractor. It skips when the set is absent.

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/klippa-app/go-pdfium/requests"
)

type measureDoc struct {
	name  string
	body  []byte
	truth string // visible text, "" if unknown
}

type extractor struct {
	name string
	run  func(body []byte) (string, error)
}

func TestMeasurePDF(t *testing.T) {
	dir := os.Getenv("EXTRACT_PDF_SET")
	if dir == "" {
		dir = "/tmp/pdfmeasure"
	}
	var docs []measureDoc
	for _, sub := range []string{"web", "real"} {
		files, _ := filepath.Glob(filepath.Join(dir, sub, "*.pdf"))
		for _, f := range files {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			truth, _ := os.ReadFile(strings.TrimSuffix(f, ".pdf") + ".txt")
			docs = append(docs, measureDoc{sub + "/" + filepath.Base(f), body, string(truth)})
		}
	}
	if len(docs) == 0 {
		t.Skipf("no PDFs under %s; build them with testdata/pdf/measure/build.sh", dir)
	}
	dict := loadDict(t)

	t0 := time.Now()
	if _, err := pdfiumRuntime(); err != nil {
		t.Fatal(err)
	}
	t.Logf("PDFium WebAssembly compile (first call): %v", time.Since(t0))

	exts := []extractor{
		{"ledongthuc GetPlainText (today)", oldExtractPDF},
		{"ledongthuc glyphs + pdfLayout", ledongthucLayout},
		{"PDFium FPDFText_GetText", pdfiumPlainText},
		{"PDFium glyphs + pdfLayout (new)", extractPDF},
	}
	if _, err := exec.LookPath("pdftotext"); err == nil {
		exts = append(exts,
			extractor{"pdftotext", pdftotext()},
			extractor{"pdftotext -layout", pdftotext("-layout")},
		)
	} else {
		t.Log("pdftotext not found (Debian: apt-get install poppler-utils)")
	}
	if only := os.Getenv("EXTRACT_PDF_ONLY"); only != "" {
		exts = slices.DeleteFunc(exts, func(e extractor) bool { return !strings.Contains(e.name, only) })
	}

	var rows []string
	for _, e := range exts {
		var m measure
		var maxRSS int64
		resetPeak()
		start := time.Now()
		var bytesIn int
		for _, d := range docs {
			d0 := time.Now()
			text, err := runWithin(e.run, d.body, 2*time.Minute)
			m.time += time.Since(d0)
			bytesIn += len(d.body)
			if err != nil {
				m.errors++
				t.Logf("%s: %s: %v", e.name, d.name, err)
				continue
			}
			text = Normalize(text)
			if dump := os.Getenv("EXTRACT_PDF_DUMP"); dump != "" {
				os.MkdirAll(filepath.Join(dump, e.name), 0o755)
				os.WriteFile(filepath.Join(dump, e.name, strings.ReplaceAll(d.name, "/", "_")+".txt"), []byte(text), 0o644)
			}
			m.add(d, text, dict)
		}
		elapsed := time.Since(start)
		if e.name == "pdftotext" || e.name == "pdftotext -layout" {
			maxRSS = pdftotextMaxRSS
			pdftotextMaxRSS = 0
		} else {
			maxRSS = peakRSS()
		}
		rows = append(rows, m.row(e.name, float64(bytesIn)/elapsed.Seconds()/1e6, maxRSS))
	}
	fmt.Printf("\n%d PDFs (%d with ground truth), %.1f MB\n\n", len(docs), countTruth(docs), float64(totalBytes(docs))/1e6)
	fmt.Println("| extractor | word order (LCS/truth) | precision (LCS/out) | sentences found verbatim | dates found | letter-spaced runs | one-word lines | unjoined line-end hyphens | non-words (dict) | errors | MB/s | peak RSS MiB |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Println(r)
	}
}

// runWithin runs f, giving up after d (the goroutine is left running).
func runWithin(f func([]byte) (string, error), body []byte, d time.Duration) (string, error) {
	type result struct {
		text string
		err  error
	}
	c := make(chan result, 1)
	go func() {
		text, err := f(body)
		c <- result{text, err}
	}()
	select {
	case r := <-c:
		return r.text, r.err
	case <-time.After(d):
		return "", fmt.Errorf("no result within %v", d)
	}
}

func countTruth(docs []measureDoc) (n int) {
	for _, d := range docs {
		if d.truth != "" {
			n++
		}
	}
	return n
}

func totalBytes(docs []measureDoc) (n int) {
	for _, d := range docs {
		n += len(d.body)
	}
	return n
}

// measure adds up the quality of an extractor's output over documents.
type measure struct {
	lcs, truthWords, outWords int
	sentences, sentencesFound int
	dates, datesFound         int
	letterSpaced              int
	lines, oneWordLines       int
	hyphens                   int
	words, nonWords           int
	errors                    int
	time                      time.Duration
}

var (
	dateRE      = regexp.MustCompile(`\b(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|(January|February|March|April|May|June|July|August|September|October|November|December) \d{1,2}, \d{4}|\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4})\b`)
	sentenceRE  = regexp.MustCompile(`[^.!?\n]+[.!?]`)
	spacesRE    = regexp.MustCompile(`[ \t]+`)
	lineHyphen  = regexp.MustCompile(`\p{L}-\n\p{Ll}`)
	singleRunRE = regexp.MustCompile(`(?:\b\p{L} ){3,}\p{L}\b`)
)

func (m *measure) add(d measureDoc, out string, dict map[string]bool) {
	outW := measureWords(out)
	if d.truth != "" {
		m.outWords += len(outW)
		truthW := measureWords(d.truth)
		m.truthWords += len(truthW)
		m.lcs += lcs(truthW, outW)
		flat := spacesRE.ReplaceAllString(out, " ")
		truth := spacesRE.ReplaceAllString(d.truth, " ")
		for _, s := range sentenceRE.FindAllString(truth, -1) {
			s = strings.TrimSpace(s)
			if len(strings.Fields(s)) < 6 {
				continue
			}
			m.sentences++
			if strings.Contains(flat, s) {
				m.sentencesFound++
			}
		}
		for _, s := range dateRE.FindAllString(truth, -1) {
			m.dates++
			if strings.Contains(flat, s) {
				m.datesFound++
			}
		}
		// Letter-spaced runs the truth does not have.
		m.letterSpaced += max(0, len(singleRunRE.FindAllString(out, -1))-len(singleRunRE.FindAllString(truth, -1)))
	} else {
		m.letterSpaced += len(singleRunRE.FindAllString(out, -1))
	}
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			m.lines++
			if len(f) == 1 {
				m.oneWordLines++
			}
		}
	}
	m.hyphens += len(lineHyphen.FindAllString(out, -1))
	for _, w := range strings.Fields(out) {
		w = strings.Trim(w, `.,;:!?()[]{}"'“”‘’«»*`)
		if len(w) < 2 || strings.IndexFunc(w, func(r rune) bool { return r < 'A' || r > 'z' || (r > 'Z' && r < 'a') }) >= 0 {
			continue // only plain ASCII words
		}
		m.words++
		if !dict[strings.ToLower(w)] && !dict[w] {
			m.nonWords++
		}
	}
}

func (m *measure) row(name string, mbps float64, rss int64) string {
	pct := func(a, b int) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
	}
	return fmt.Sprintf("| %s | %s | %s | %s (%d/%d) | %d/%d | %d | %s | %d | %s | %d | %.2f | %d |",
		name, pct(m.lcs, m.truthWords), pct(m.lcs, m.outWords),
		pct(m.sentencesFound, m.sentences), m.sentencesFound, m.sentences,
		m.datesFound, m.dates, m.letterSpaced, pct(m.oneWordLines, m.lines), m.hyphens,
		pct(m.nonWords, m.words), m.errors, mbps, rss>>20)
}

// measureWords splits text into lower-cased words without punctuation.
func measureWords(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if k := wordKey(w); k != "" {
			out = append(out, k)
		}
	}
	return out
}

// lcs is the length of the longest common subsequence of two word
// sequences (Myers' diff, words as runes).
func lcs(a, b []string) int {
	ids := map[string]rune{}
	enc := func(ws []string) []rune {
		rs := make([]rune, len(ws))
		for i, w := range ws {
			id, ok := ids[w]
			if !ok {
				id = rune(0xE000 + len(ids))
				if id >= 0xF900 {
					id = rune(0xF0000 + len(ids))
				}
				ids[w] = id
			}
			rs[i] = id
		}
		return rs
	}
	ra, rb := enc(a), enc(b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	n := 0
	for _, d := range dmp.DiffMainRunes(ra, rb, false) {
		if d.Type == diffmatchpatch.DiffEqual {
			n += len([]rune(d.Text))
		}
	}
	return n
}

func loadDict(t *testing.T) map[string]bool {
	b, err := os.ReadFile("/usr/share/dict/words")
	if err != nil {
		t.Log("no /usr/share/dict/words (Debian: apt-get install wamerican): non-word rates are meaningless")
	}
	d := map[string]bool{}
	for w := range strings.FieldsSeq(string(b)) {
		d[w] = true
		d[strings.ToLower(w)] = true
		d[strings.TrimSuffix(strings.ToLower(w), "'s")] = true
	}
	return d
}

// resetPeak resets the process's peak resident set size (VmHWM).
func resetPeak() {
	runtime.GC()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

func peakRSS() int64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb << 10
		}
	}
	return 0
}

// ledongthucLayout lays out ledongthuc/pdf's positioned characters with
// pdfLayout.
func ledongthucLayout(body []byte) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", fmt.Errorf("panic: %v", p)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return "", err
	}
	var pages [][]*pdfLine
	for i := 1; i <= r.NumPage(); i++ {
		var gs []glyph
		for _, c := range r.Page(i).Content().Text {
			size := c.FontSize
			for _, ch := range c.S {
				gs = append(gs, glyph{r: ch, x0: c.X, x1: c.X + c.W, bottom: c.Y - 0.25*size, top: c.Y + 0.9*size, seq: len(gs)})
			}
		}
		pages = append(pages, pageLines(gs))
	}
	return joinLines(pdfLayout(pages)), nil
}

// pdfiumPlainText is PDFium's own text of each page (FPDFText_GetText,
// with the spaces and line breaks PDFium generates).
func pdfiumPlainText(body []byte) (string, error) {
	pool, err := pdfiumRuntime()
	if err != nil {
		return "", err
	}
	inst, err := pool.GetInstance(time.Minute)
	if err != nil {
		return "", err
	}
	defer inst.Close()
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &body})
	if err != nil {
		return "", err
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	n, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < n.PageCount; i++ {
		page, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc.Document, Index: i})
		if err != nil {
			return "", err
		}
		tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: requests.Page{ByReference: &page.Page}})
		if err != nil {
			return "", err
		}
		c, _ := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
		t, _ := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: c.Count})
		b.WriteString(t.Text)
		b.WriteString("\n\n")
		inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
		inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: page.Page})
	}
	return b.String(), nil
}

var pdftotextMaxRSS int64

// pdftotext runs poppler's pdftotext with args.
func pdftotext(args ...string) func([]byte) (string, error) {
	return func(body []byte) (string, error) {
		cmd := exec.Command("pdftotext", append(append([]string{"-q", "-enc", "UTF-8"}, args...), "-", "-")...)
		cmd.Stdin = bytes.NewReader(body)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = io.Discard
		err := cmd.Run()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			pdftotextMaxRSS = max(pdftotextMaxRSS, ru.Maxrss<<10)
		}
		return strings.ReplaceAll(out.String(), "\f", "\n\n"), err
	}
}
