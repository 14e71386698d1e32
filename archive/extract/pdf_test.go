package extract

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func readPDF(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pdf", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPDFLayout reads the fixtures of testdata/pdf (written by
// testdata/pdf/gen), each drawing text in a way that ledongthuc/pdf's
// GetPlainText read wrong, as a reader reads them.
func TestPDFLayout(t *testing.T) {
	for _, tc := range []struct {
		file, want string
	}{
		{"letter-spaced.pdf", "TERMS OF SERVICE\n\nThese terms govern your use of the service. By using the service you agree to them and to our privacy policy.\n"},
		{"date-runs.pdf", "Last updated: 16/02/2024\n\nWe may change these terms. The date above is the date of the last change.\n"},
		{"hyphenated.pdf", "We collect the information you give us when you register, such as your name and e-mail address, and the information your devices send us when you use the service.\n\n" +
			"We share some of it with a small number of carefully selected third-party providers who help us run the service, only as these terms describe.\n"},
		{"word-per-object.pdf", "You may not use the service to break the law or to harm others, and you are responsible for what you post.\n"},
		{"two-columns.pdf", "Privacy Notice\n\n" +
			"1. What we collect. We collect the data you give us and the data your browser sends us when you visit our pages.\n\n" +
			"2. How long we keep it. We keep your data for as long as your account is open and delete it within thirty days after.\n"},
		// A sentence goes on over a page break; a page that starts in
		// lower case after a full stop starts a paragraph.
		{"page-break.pdf", "Your data stays yours.\n\nWe keep the logs of your visits for thirty days, after which we delete them. Nothing else is kept.\n\n" +
			"We do not sell your data.\n\ncontact us at any time.\n"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res, err := Extract(readPDF(t, tc.file), "application/pdf", Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Text; got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestPDFErrors checks the Reason of PDFs with no text to give.
func TestPDFErrors(t *testing.T) {
	hyph := readPDF(t, "hyphenated.pdf")
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"corrupt", []byte("%PDF-1.4\n1 0 obj garbage"), ReasonMalformed},
		{"truncated", readPDF(t, "truncated.pdf"), ReasonMalformed},
		{"header only", []byte("%PDF-1.7\n"), ReasonMalformed},
		{"garbage after header", append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0xff, 0x00, '(', '['}, 4096)...), ReasonMalformed},
		{"image only", readPDF(t, "image-only.pdf"), ReasonNoText},
		{"encrypted", []byte(strings.Replace(string(hyph), "/Root 1 0 R", "/Root 1 0 R /Encrypt << /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>", 1)), ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Extract(tc.body, "application/pdf", Rules{})
			var e *Error
			if !errors.As(err, &e) || e.Reason != tc.want {
				t.Fatalf("got %+v, %v; want Reason %s", res, err, tc.want)
			}
			if e.Message == "" {
				t.Error("empty Message")
			}
		})
	}
}

// TestPDFHugePageCount: a page tree that declares two billion pages and has
// one is read for its one page; one that has more than MaxPDFPages is
// refused.
func TestPDFHugePageCount(t *testing.T) {
	res, err := Extract(readPDF(t, "huge-page-count.pdf"), "application/pdf", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Text, "One page, two billion declared.\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err = Extract(manyPages(MaxPDFPages+1), "application/pdf", Rules{})
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonTooLarge {
		t.Fatalf("%d pages: got %v, want Reason %s", MaxPDFPages+1, err, ReasonTooLarge)
	}
}

// manyPages is a PDF of n pages, all the same page object.
func manyPages(n int) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var off [4]int
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"", // pages
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
		"<< /Length 0 >>\nstream\n\nendstream",
	}
	kids := strings.Repeat("3 0 R ", n)
	objs[1] = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids, n)
	for i, o := range objs {
		off[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 5\n0000000000 65535 f \n")
	for _, o := range off {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", x)
	return b.Bytes()
}

// TestPDFDeterministic extracts the same PDFs concurrently and in turn:
// the text is the same every time.
func TestPDFDeterministic(t *testing.T) {
	files := []string{"letter-spaced.pdf", "two-columns.pdf", "hyphenated.pdf"}
	want := map[string]string{}
	for _, f := range files {
		res, err := Extract(readPDF(t, f), "application/pdf", Rules{})
		if err != nil {
			t.Fatal(err)
		}
		want[f] = res.Text
	}
	var wg sync.WaitGroup
	for i := range 6 {
		f := files[i%len(files)]
		wg.Go(func() {
			res, err := Extract(readPDF(t, f), "application/pdf", Rules{})
			if err != nil {
				t.Error(err)
				return
			}
			if res.Text != want[f] {
				t.Errorf("%s: got %q, want %q", f, res.Text, want[f])
			}
		})
	}
	wg.Wait()
}

func TestHyphenJoin(t *testing.T) {
	words := map[string]bool{"information": true, "e-mail": true, "co-operate": true, "cooperate": true}
	for _, tc := range []struct {
		prev, next string
		want       int
	}{
		{"the infor-", "mation we", dropHyphen},
		{"the e-", "mail we", keepHyphen},
		{"with third-", "party providers", keepHyphen}, // no evidence: the hyphen stays
		{"co-", "operate", keepHyphen},                 // both spellings occur
		{"soft infor\u00ad", "mation", dropHyphen},
		{"Section 2-", "3 applies", keepSpace},
		{"the infor-", "Mation", keepSpace},
		{"a line", "next", keepSpace},
		{"-", "x", keepSpace},
	} {
		if got := hyphenJoin(tc.prev, tc.next, words); got != tc.want {
			t.Errorf("hyphenJoin(%q, %q) = %d, want %d", tc.prev, tc.next, got, tc.want)
		}
	}
}

// FuzzPDFLayout lays out arbitrary glyphs: it never panics, and the same
// glyphs give the same text.
func FuzzPDFLayout(f *testing.F) {
	f.Add([]byte("Hello, world"), []byte{10, 20, 30, 40, 50, 60})
	f.Add([]byte("ab-\ncd"), []byte{0, 0, 0, 0, 255, 255, 1, 2})
	f.Fuzz(func(t *testing.T, text, pos []byte) {
		if len(pos) == 0 {
			return
		}
		var gs []glyph
		for i, r := range string(text) {
			p := func(k int) float64 { return float64(pos[(i*4+k)%len(pos)]) }
			gs = append(gs, glyph{r: r, x0: p(0) * 4, x1: p(0)*4 + p(1)/16, bottom: p(2) * 3, top: p(2)*3 + p(3)/8, seq: i})
		}
		layout := func() string {
			return joinLines(pdfLayout([][]*pdfLine{pageLines(gs), pageLines(gs[:len(gs)/2])}))
		}
		a := layout()
		if b := layout(); a != b {
			t.Fatalf("not deterministic: %q then %q", a, b)
		}
	})
}
