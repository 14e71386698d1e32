package extract

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/klippa-app/go-pdfium"
	pdfiumerrors "github.com/klippa-app/go-pdfium/errors"
	"github.com/klippa-app/go-pdfium/references"
	"github.com/klippa-app/go-pdfium/requests"
	"github.com/klippa-app/go-pdfium/webassembly"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Limits on what a PDF may make Extract do. A PDF beyond them is an *Error
// with Reason ReasonTooLarge.
const (
	// MaxPDFPages is the largest number of pages read from a PDF.
	MaxPDFPages = 5000
	// MaxPDFChars is the largest number of characters read from a PDF, all
	// pages together (about 1,500 dense pages).
	MaxPDFChars = 5 << 20
	// MaxPDFPageChars is the largest number of characters read from one
	// page (a dense page has 5,000).
	MaxPDFPageChars = 500_000
	// pdfiumMemoryPages bounds the memory of one PDFium instance, in 64 KiB
	// WebAssembly pages: 512 MiB. PDFium reports running out as an error.
	pdfiumMemoryPages = 1 << 13
	// pdfiumInstances is how many PDFs are read at once; more calls wait
	// their turn.
	pdfiumInstances = 2
)

// There is no time limit: it would depend on the machine, and the text must
// not. The limits above bound the work PDFium and pdfLayout do for any PDF
// (a MaxInput body inflating past the memory limit fails). A wall-clock
// limit would also need wazero's WithCloseOnContextDone, which makes PDFium
// 3 to 6 times slower.

// pdfiumRuntime is PDFium compiled from WebAssembly to machine code, once
// per process, on the first PDF extracted (this takes seconds).
var pdfiumRuntime = sync.OnceValues(func() (pdfium.Pool, error) {
	return webassembly.Init(webassembly.Config{
		MinIdle:  0,
		MaxIdle:  0,
		MaxTotal: pdfiumInstances,
		// Each PDF gets a fresh instance: nothing of one PDF can reach
		// the next. No files, no clock (wazero's clocks are fixed), no
		// randomness, no output.
		FSConfig:     wazero.NewFSConfig(),
		Stdout:       io.Discard,
		Stderr:       io.Discard,
		RandomSource: zeroReader{},
		RuntimeConfig: wazero.NewRuntimeConfig().
			WithCoreFeatures(api.CoreFeaturesV2 | experimental.CoreFeaturesExceptionHandling).
			WithMemoryLimitPages(pdfiumMemoryPages),
	})
})

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// pdfiumGlyphs calls page with the characters of each page of the PDF in
// body, in page order, each page's in the order PDFium reads them (the
// order the page draws them), read with
// PDFium (https://pdfium.googlesource.com/pdfium/) compiled to
// WebAssembly, run by wazero (github.com/klippa-app/go-pdfium).
func pdfiumGlyphs(body []byte, page func([]glyph)) (err error) {
	pool, err := pdfiumRuntime()
	if err != nil {
		return errorf(ReasonMalformed, short(err), "PDFium does not start")
	}
	// Waiting for a free instance is not a limit: it depends on the load,
	// and the result must not.
	inst, err := pool.GetInstanceWithContext(context.Background())
	if err != nil {
		return errorf(ReasonMalformed, short(err), "PDFium does not start")
	}
	defer inst.Close()
	doc, err := inst.OpenDocument(&requests.OpenDocument{File: &body})
	if err != nil {
		if errors.Is(err, pdfiumerrors.ErrPassword) {
			return errorf(ReasonMalformed, short(err), "PDF is encrypted with a password")
		}
		return errorf(ReasonMalformed, short(err), "PDF does not parse")
	}
	defer inst.FPDF_CloseDocument(&requests.FPDF_CloseDocument{Document: doc.Document})
	count, err := inst.FPDF_GetPageCount(&requests.FPDF_GetPageCount{Document: doc.Document})
	if err != nil {
		return errorf(ReasonMalformed, short(err), "PDF page count does not read")
	}
	if count.PageCount > MaxPDFPages {
		return errorf(ReasonTooLarge, nil, "PDF has %d pages, more than MaxPDFPages (%d)", count.PageCount, MaxPDFPages)
	}
	total := 0
	for i := 0; i < count.PageCount; i++ {
		gs, err := pdfiumPage(inst, doc.Document, i, MaxPDFChars-total)
		if err != nil {
			return err
		}
		total += len(gs)
		page(gs)
	}
	return nil
}

// pdfiumPage returns the characters of page i, at most max.
func pdfiumPage(inst pdfium.Pdfium, doc references.FPDF_DOCUMENT, i, max int) ([]glyph, error) {
	page, err := inst.FPDF_LoadPage(&requests.FPDF_LoadPage{Document: doc, Index: i})
	if err != nil {
		return nil, errorf(ReasonMalformed, short(err), "PDF page %d does not load", i+1)
	}
	defer inst.FPDF_ClosePage(&requests.FPDF_ClosePage{Page: page.Page})
	tp, err := inst.FPDFText_LoadPage(&requests.FPDFText_LoadPage{Page: requests.Page{ByReference: &page.Page}})
	if err != nil {
		return nil, errorf(ReasonMalformed, short(err), "PDF page %d text does not load", i+1)
	}
	defer inst.FPDFText_ClosePage(&requests.FPDFText_ClosePage{TextPage: tp.TextPage})
	n, err := inst.FPDFText_CountChars(&requests.FPDFText_CountChars{TextPage: tp.TextPage})
	if err != nil {
		return nil, errorf(ReasonMalformed, short(err), "PDF page %d text does not load", i+1)
	}
	if n.Count > MaxPDFPageChars {
		return nil, errorf(ReasonTooLarge, nil, "PDF page %d has %d characters, more than MaxPDFPageChars (%d)", i+1, n.Count, MaxPDFPageChars)
	}
	if n.Count > max {
		return nil, errorf(ReasonTooLarge, nil, "PDF has more than MaxPDFChars (%d) characters by page %d", MaxPDFChars, i+1)
	}
	if n.Count <= 0 {
		return nil, nil
	}
	runes := make([]rune, 0, n.Count)
	if t, err := inst.FPDFText_GetText(&requests.FPDFText_GetText{TextPage: tp.TextPage, Count: n.Count}); err == nil && utf8.RuneCountInString(t.Text) == n.Count {
		runes = append(runes, []rune(t.Text)...)
	} else {
		// Characters outside the BMP, two UTF-16 units each: one at a time.
		for j := 0; j < n.Count; j++ {
			u, err := inst.FPDFText_GetUnicode(&requests.FPDFText_GetUnicode{TextPage: tp.TextPage, Index: j})
			if err != nil {
				return nil, errorf(ReasonMalformed, short(err), "PDF page %d character %d does not read", i+1, j)
			}
			runes = append(runes, rune(u.Unicode))
		}
	}
	gs := make([]glyph, 0, n.Count)
	for j, r := range runes {
		switch r {
		case '\r', '\n', 0:
			continue // PDFium's line breaks
		case 0xfffe:
			r = '-' // PDFium's mark for a hyphen that ends a line
		case ' ':
			gen, err := inst.FPDFText_IsGenerated(&requests.FPDFText_IsGenerated{TextPage: tp.TextPage, Index: j})
			if err != nil || gen.IsGenerated {
				continue // PDFium's guess; pdfLayout makes its own
			}
		}
		box, err := inst.FPDFText_GetLooseCharBox(&requests.FPDFText_GetLooseCharBox{TextPage: tp.TextPage, Index: j})
		if err != nil {
			continue
		}
		turn := 0
		if a, err := inst.FPDFText_GetCharAngle(&requests.FPDFText_GetCharAngle{TextPage: tp.TextPage, Index: j}); err == nil {
			turn = int(math.Round(float64(a.CharAngle)/(math.Pi/2))) & 3
		}
		rect := box.Rect
		gs = append(gs, glyph{r: r, x0: float64(rect.Left), x1: float64(rect.Right), bottom: float64(rect.Bottom), top: float64(rect.Top), seq: j, turn: turn})
	}
	return gs, nil
}

// shortError is an error of PDFium's cut to its first line: a WebAssembly
// trap (PDFium out of memory aborts) carries its stack trace.
type shortError struct{ err error }

func (e shortError) Error() string {
	s, _, _ := strings.Cut(e.err.Error(), "\n")
	return s
}

func (e shortError) Unwrap() error { return e.err }

func short(err error) error {
	if err == nil || !strings.Contains(err.Error(), "\n") {
		return err
	}
	return shortError{err}
}
