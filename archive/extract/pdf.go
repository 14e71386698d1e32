package extract

import (
	"fmt"
)

// extractPDF returns the text of each page in page order, as pdfLayout
// reads it, paragraphs and pages separated by a blank line. Panics become
// ReasonMalformed errors.
func extractPDF(body []byte) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", errorf(ReasonMalformed, fmt.Errorf("%v", p), "PDF does not parse")
		}
	}()
	var pages [][]*pdfLine
	err = pdfiumGlyphs(body, func(gs []glyph) { pages = append(pages, pageSections(gs)...) })
	if err != nil {
		return "", err
	}
	if len(pages) == 0 {
		return "", errorf(ReasonNoText, errNoPDFText, "PDF has no text on any page (images are not read)")
	}
	return joinLines(pdfLayout(pages)), nil
}
