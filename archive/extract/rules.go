package extract

import (
	"github.com/andybalholm/cascadia"
)

// Rules declare which parts of an HTML page are the document, as the
// "select" and "remove" fields of an Open Terms Archive declaration
// (https://docs.opentermsarchive.org/terms/reference/declaration/). Each
// entry is a CSS selector group in the syntax of
// github.com/andybalholm/cascadia (the selector engine of goquery), for
// example "main article" or ".cookie-banner, #nav", and :has() with a
// relative selector starting with ">" as in Selectors Level 4
// ("section:has(> h2.terms)"), which is rewritten into cascadia's
// :haschild() and :has(); one starting with "+" or "~" is refused.
//
// The zero value selects the whole <body> and removes nothing beyond the
// built-in removals listed in the package documentation, which apply first.
type Rules struct {
	// Select lists selectors for the elements that make up the document.
	// The text is the elements matched by any of them, outermost only, in
	// document order. Empty means the whole <body>.
	Select []string `json:"select,omitempty"`
	// Remove lists selectors for elements dropped from the page before
	// Select is applied. All of them are matched against the page before
	// any element is removed, so their order does not matter.
	Remove []string `json:"remove,omitempty"`
	// SelectRanges and RemoveRanges are Open Terms Archive range
	// selectors: parts of the page selected or removed from one point to
	// another (see Range). Range removals apply after Remove; a part a
	// range selects stands with the elements Select matches, in document
	// order.
	SelectRanges []Range `json:"select_ranges,omitempty"`
	RemoveRanges []Range `json:"remove_ranges,omitempty"`
}

type compiled struct {
	sel, rem             []cascadia.Sel
	selRanges, remRanges []*compiledRange
	selSrc               []string
}

// Check reports whether every selector compiles. The error is an *Error with
// Reason ReasonBadSelector naming the first bad selector and wrapping the
// parser's error.
func (r Rules) Check() error {
	_, err := r.compile()
	return err
}

func (r Rules) compile() (*compiled, error) {
	c := &compiled{selSrc: r.Select}
	for _, list := range []struct {
		field string
		src   []string
		dst   *[]cascadia.Sel
	}{{"select", r.Select, &c.sel}, {"remove", r.Remove, &c.rem}} {
		for i, s := range list.src {
			rs, err := rewriteHas(s)
			if err != nil {
				return nil, errorf(ReasonBadSelector, err, "%s[%d] %q does not compile", list.field, i, s)
			}
			g, err := cascadia.ParseGroup(rs)
			if err != nil {
				return nil, errorf(ReasonBadSelector, err, "%s[%d] %q does not compile", list.field, i, s)
			}
			for _, m := range g {
				*list.dst = append(*list.dst, m)
			}
		}
	}
	for _, list := range []struct {
		field string
		src   []Range
		dst   *[]*compiledRange
	}{{"select_ranges", r.SelectRanges, &c.selRanges}, {"remove_ranges", r.RemoveRanges, &c.remRanges}} {
		for i, rg := range list.src {
			cr, err := compileRange(rg)
			if err != nil {
				return nil, errorf(ReasonBadSelector, err, "%s[%d] %s does not compile", list.field, i, rangeString(rg))
			}
			*list.dst = append(*list.dst, cr)
		}
	}
	return c, nil
}
