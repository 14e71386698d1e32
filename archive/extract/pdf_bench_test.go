package extract

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
)

// oldExtractPDF is extractPDF before issue 13 (extractor Version "1"):
// ledongthuc/pdf's GetPlainText, page by page. It is kept to compare with.
func oldExtractPDF(body []byte) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", fmt.Errorf("panic: %v", p)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		t, err := r.Page(i).GetPlainText(nil)
		if err != nil {
			return "", err
		}
		if i > 1 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
	}
	return b.String(), nil
}

// benchPDFs are the layout fixtures and, when the shared corpus is beside
// the repository, its one PDF.
func benchPDFs(b *testing.B) (bodies [][]byte, total int64) {
	files, _ := filepath.Glob(filepath.Join("testdata", "pdf", "*.pdf"))
	corpus, _ := filepath.Glob(filepath.Join("..", "..", "..", "shared", "corpus", "genai", "snapshots", "*", "*.pdf"))
	for _, f := range append(files, corpus...) {
		switch filepath.Base(f) {
		case "truncated.pdf", "image-only.pdf", "huge-page-count.pdf": // the old extractor reads 2e9 pages
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, body)
		total += int64(len(body))
	}
	return bodies, total
}

// BenchmarkPDF extracts the benchmark PDFs with this package and, in the
// same run, with the extractor it replaced; MB/s is PDF bytes per second,
// new/old the time of one to the other. PDFium's one-time compilation is
// done before the clock starts (TestMeasurePDF reports it).
func BenchmarkPDF(b *testing.B) {
	bodies, total := benchPDFs(b)
	if _, err := pdfiumRuntime(); err != nil {
		b.Fatal(err)
	}
	for _, ext := range []struct {
		name string
		f    func([]byte) (string, error)
	}{{"new", extractPDF}, {"old", oldExtractPDF}} {
		b.Run(ext.name, func(b *testing.B) {
			b.SetBytes(total)
			for b.Loop() {
				for _, body := range bodies {
					if _, err := ext.f(body); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
	b.Run("new-vs-old", func(b *testing.B) {
		var tNew, tOld time.Duration
		for b.Loop() {
			for _, body := range bodies {
				t0 := time.Now()
				extractPDF(body)
				t1 := time.Now()
				oldExtractPDF(body)
				tNew += t1.Sub(t0)
				tOld += time.Since(t1)
			}
		}
		b.ReportMetric(float64(tNew)/float64(tOld), "new/old")
	})
}
