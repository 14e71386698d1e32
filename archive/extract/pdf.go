package extract

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/ledongthuc/pdf"
)

// extractPDF returns the text of each page in page order, pages separated by
// a blank line. The PDF reader panics on some corrupt input; panics become
// ReasonMalformed errors.
func extractPDF(body []byte) (text string, err error) {
	defer func() {
		if p := recover(); p != nil {
			text, err = "", errorf(ReasonMalformed, fmt.Errorf("%v", p), "PDF does not parse")
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		return "", errorf(ReasonMalformed, err, "PDF does not parse")
	}
	n := r.NumPage()
	if n <= 0 {
		return "", errorf(ReasonNoText, errNoPDFText, "PDF has no pages")
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		t, err := r.Page(i).GetPlainText(nil)
		if err != nil {
			return "", errorf(ReasonMalformed, err, "PDF page %d does not decode", i)
		}
		if i > 1 {
			b.WriteString("\n\n")
		}
		b.WriteString(t)
	}
	return b.String(), nil
}
