// Command gen writes the PDF fixtures of archive/extract (pdf_test.go):
// small PDFs, each reproducing one way PDFs draw text that a naive
// extractor reads wrong. Run from the repository root:
//
//	go run ./archive/extract/testdata/pdf/gen archive/extract/testdata/pdf
//
// The content streams are written by hand, uncompressed, in Helvetica (a
// standard font no PDF needs to embed); word widths come from
// github.com/go-pdf/fpdf's Helvetica metrics.
package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

var metrics = func() *fpdf.Fpdf {
	p := fpdf.New("P", "pt", "Letter", "")
	p.SetFont("Helvetica", "", 11)
	return p
}()

// width is the width of s in Helvetica at size, in points.
func width(s string, size float64) float64 {
	metrics.SetFontSize(size)
	return metrics.GetStringWidth(s)
}

func esc(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`)
	return r.Replace(s)
}

// page is a content stream being written.
type page struct{ bytes.Buffer }

func (p *page) f(format string, args ...any) { fmt.Fprintf(&p.Buffer, format+"\n", args...) }

// text draws s with its left end at x on baseline y.
func (p *page) text(x, y, size float64, s string) {
	p.f("BT /F1 %g Tf %.2f %.2f Td (%s) Tj ET", size, x, y, esc(s))
}

// justified draws lines of a paragraph as TeX does, in one text object:
// every line but the last stretched to measure by word spacing (Tw).
func (p *page) justified(x, y, size, lead, measure float64, lines []string) float64 {
	p.f("BT /F1 %g Tf %g TL %.2f %.2f Td", size, lead, x, y)
	for i, l := range lines {
		tw := 0.0
		if n := strings.Count(l, " "); i < len(lines)-1 && n > 0 {
			tw = (measure - width(l, size)) / float64(n)
		}
		if i > 0 {
			p.f("T*")
		}
		p.f("%.3f Tw (%s) Tj", tw, esc(l))
	}
	p.f("ET")
	return y - lead*float64(len(lines))
}

// pdf assembles pages (content streams) into a PDF 1.4 file. count, if not
// zero, is the page count the page tree declares.
func pdf(contents []string, count int, extra string) []byte {
	var objs []string
	objs = append(objs, "<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, len(contents))
	for i := range contents {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	if count == 0 {
		count = len(contents)
	}
	objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), count))
	objs = append(objs, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
	for i, c := range contents {
		objs = append(objs, fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> %s >> /Contents %d 0 R >>", extra, 5+2*i))
		objs = append(objs, fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(c)+0, c))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

const (
	left    = 72.0
	measure = 468.0
)

// letterSpaced: a heading whose letters are placed one by one with TJ
// kerning, as letter-spaced headings are.
func letterSpaced() []byte {
	var p page
	var tj []string
	for i, w := range strings.Fields("TERMS OF SERVICE") {
		if i > 0 {
			tj = append(tj, "-1300")
		}
		for j, r := range w {
			if j > 0 {
				tj = append(tj, "-350")
			}
			tj = append(tj, "("+string(r)+")")
		}
	}
	p.f("BT /F1 16 Tf %g 720 Td [%s] TJ ET", left, strings.Join(tj, " "))
	p.justified(left, 690, 11, 14, measure, breakLines("These terms govern your use of the service. By using the service you agree to them and to our privacy policy.", 11, measure, nil))
	return pdf([]string{p.String()}, 0, "")
}

// dateRuns: a date typeset as five text objects, drawn out of order, as
// some word processors write text that was edited.
func dateRuns() []byte {
	var p page
	runs := []string{"Last updated: 1", "6/", "02", "/202", "4"}
	xs := make([]float64, len(runs))
	x := left
	for i, r := range runs {
		xs[i] = x
		x += width(r, 11)
	}
	for _, i := range []int{0, 3, 1, 4, 2} {
		p.text(xs[i], 720, 11, runs[i])
	}
	p.justified(left, 690, 11, 14, measure, breakLines("We may change these terms. The date above is the date of the last change.", 11, measure, nil))
	return pdf([]string{p.String()}, 0, "")
}

// breakLines fills lines of at most measure points greedily, as a word
// processor does, breaking a word of hyph at its hyphenation point (the
// index of the hyphen's place, or of its own hyphen) when it does not fit.
func breakLines(text string, size, measure float64, hyph map[string]int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		try := strings.TrimPrefix(line+" "+w, " ")
		if width(try, size) <= measure {
			line = try
			continue
		}
		if i, ok := hyph[w]; ok {
			head, tail := w[:i], strings.TrimPrefix(w[i:], "-")
			if try := strings.TrimPrefix(line+" "+head+"-", " "); width(try, size) <= measure {
				lines = append(lines, try)
				line = tail
				continue
			}
		}
		lines = append(lines, line)
		line = w
	}
	return append(lines, line)
}

// hyphenated: justified paragraphs with words hyphenated at line ends:
// "infor-mation" (a line-break hyphen: "information" occurs elsewhere) and
// "third-party" (a hyphen of the word itself), each at the widest measure
// that breaks it.
func hyphenated() []byte {
	var p page
	y := 720.0
	for _, para := range []struct{ text, word, head string }{
		{"We collect the information you give us when you register, such as your name and e-mail address, and the information your devices send us when you use the service.", "information", "infor-\n"},
		{"We share some of it with a small number of carefully selected third-party providers who help us run the service, only as these terms describe.", "third-party", "third-\n"},
	} {
		done := false
		for m := measure; m > 200 && !done; m-- {
			lines := breakLines(para.text, 11, m, map[string]int{para.word: 5})
			if strings.Contains(strings.Join(lines, "\n"), para.head) {
				y = p.justified(left, y, 11, 14, m, lines) - 10
				done = true
			}
		}
		if !done {
			panic("no measure breaks " + para.word)
		}
	}
	return pdf([]string{p.String()}, 0, "")
}

// wordPerObject: every word its own text object at its own position, as
// browsers and word processors print, with no space characters.
func wordPerObject() []byte {
	var p page
	lines := []string{
		"You may not use the service to break the law or to harm",
		"others, and you are responsible for what you post.",
	}
	y := 720.0
	for _, l := range lines {
		x := left
		for _, w := range strings.Fields(l) {
			p.text(x, y, 11, w)
			x += width(w+" ", 11)
		}
		y -= 14
	}
	return pdf([]string{p.String()}, 0, "")
}

// twoColumns: a title across two justified columns, the right column drawn
// before the left one.
func twoColumns() []byte {
	var p page
	p.text(left, 720, 16, "Privacy Notice")
	col := 225.0
	leftCol := []string{
		"1. What we collect. We collect the data",
		"you give us and the data your browser",
		"sends us when you visit our pages.",
	}
	rightCol := []string{
		"2. How long we keep it. We keep your",
		"data for as long as your account is open",
		"and delete it within thirty days after.",
	}
	p.justified(left+col+18, 690, 10, 12, col, rightCol)
	p.justified(left, 690, 10, 12, col, leftCol)
	return pdf([]string{p.String()}, 0, "")
}

// pageBreak: a sentence that goes on from one page to the next, and one
// that ends with its page.
func pageBreak() []byte {
	var p1, p2 page
	p1.justified(left, 720, 11, 14, measure, breakLines("Your data stays yours.", 11, measure, nil))
	p1.justified(left, 100, 11, 14, measure, []string{"We keep the logs of your visits for thirty days, after which we"})
	p2.justified(left, 720, 11, 14, measure, []string{"delete them. Nothing else is kept."})
	p2.justified(left, 690, 11, 14, measure, []string{"We do not sell your data."})
	var p3 page
	p3.justified(left, 720, 11, 14, measure, []string{"contact us at any time."})
	return pdf([]string{p1.String(), p2.String(), p3.String()}, 0, "")
}

// imageOnly: a page with an image and no text, as a scan.
func imageOnly() []byte {
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 4)
	}
	img.Set(0, 0, color.Gray{255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		log.Fatal(err)
	}
	f := fpdf.New("P", "pt", "Letter", "")
	f.SetCreationDate(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) // the same bytes every run
	f.SetModificationDate(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	f.SetCompression(true)
	f.AddPage()
	f.RegisterImageOptionsReader("scan", fpdf.ImageOptions{ImageType: "PNG"}, &buf)
	f.ImageOptions("scan", 72, 72, 200, 200, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		log.Fatal(err)
	}
	return out.Bytes()
}

// hugeCount: one page whose page tree declares two billion.
func hugeCount() []byte {
	var p page
	p.text(left, 720, 11, "One page, two billion declared.")
	return pdf([]string{p.String()}, 2000000000, "")
}

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: gen DIR")
	}
	hyph := hyphenated()
	for name, body := range map[string][]byte{
		"letter-spaced.pdf":   letterSpaced(),
		"date-runs.pdf":       dateRuns(),
		"hyphenated.pdf":      hyph,
		"word-per-object.pdf": wordPerObject(),
		"two-columns.pdf":     twoColumns(),
		"page-break.pdf":      pageBreak(),
		"image-only.pdf":      imageOnly(),
		"huge-page-count.pdf": hugeCount(),
		"truncated.pdf":       hyph[:len(hyph)/2],
	} {
		if err := os.WriteFile(filepath.Join(os.Args[1], name), body, 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
