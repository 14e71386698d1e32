package extract

import (
	"errors"
	"fmt"
	"sort"

	"github.com/exhibit-archive/exhibit/verify"

	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
)

// Range is an Open Terms Archive range selector
// (https://docs.opentermsarchive.org/terms/reference/declaration/#range-selectors),
// as a declaration records it (verify.Range): the part of the page from a
// start point to an end point, each just before or just after the first
// element a CSS selector matches. Exactly one of StartBefore and
// StartAfter, and one of EndBefore and EndAfter, is set. Elements partly
// inside the range keep their tag and the part inside; elements wholly
// inside are kept whole.
type Range = verify.Range

// rangeString returns r as Open Terms Archive writes it.
func rangeString(r Range) string {
	start, sk := r.StartBefore, "startBefore"
	if r.StartAfter != "" {
		start, sk = r.StartAfter, "startAfter"
	}
	end, ek := r.EndBefore, "endBefore"
	if r.EndAfter != "" {
		end, ek = r.EndAfter, "endAfter"
	}
	return fmt.Sprintf("{%s: %q, %s: %q}", sk, start, ek, end)
}

type compiledRange struct {
	src                  Range
	start, end           cascadia.Sel
	startAfter, endAfter bool
}

func compileRange(r Range) (*compiledRange, error) {
	if (r.StartBefore == "") == (r.StartAfter == "") || (r.EndBefore == "") == (r.EndAfter == "") {
		return nil, fmt.Errorf("a range needs one of startBefore and startAfter and one of endBefore and endAfter")
	}
	c := &compiledRange{src: r, startAfter: r.StartAfter != "", endAfter: r.EndAfter != ""}
	for _, p := range []struct {
		src string
		dst *cascadia.Sel
	}{{r.StartBefore + r.StartAfter, &c.start}, {r.EndBefore + r.EndAfter, &c.end}} {
		rs, err := rewriteHas(p.src)
		if err != nil {
			return nil, err
		}
		s, err := cascadia.Parse(rs)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", p.src, err)
		}
		*p.dst = s
	}
	return c, nil
}

// positions numbers the nodes of a tree in document order: pre[n] is n's
// number, last[n] the greatest number in n's subtree.
type positions struct {
	pre, last map[*html.Node]int
}

func number(root *html.Node) *positions {
	p := &positions{pre: map[*html.Node]int{}, last: map[*html.Node]int{}}
	i := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		p.pre[n] = i
		i++
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
		p.last[n] = i - 1
	}
	walk(root)
	return p
}

// bounds returns the range as positions [from, to) in root, or an
// *Error if a point's element is missing or the end is not after the
// start.
func (c *compiledRange) bounds(root *html.Node, p *positions) (from, to int, err error) {
	s := cascadia.Query(root, c.start)
	if s == nil {
		return 0, 0, errorf(ReasonNoMatch, nil, "range %s: no element matches its start", rangeString(c.src))
	}
	e := cascadia.Query(root, c.end)
	if e == nil {
		return 0, 0, errorf(ReasonNoMatch, nil, "range %s: no element matches its end", rangeString(c.src))
	}
	from, to = p.pre[s], p.pre[e]
	if c.startAfter {
		from = p.last[s] + 1
	}
	if c.endAfter {
		to = p.last[e] + 1
	}
	if to <= from {
		return 0, 0, errorf(ReasonNoMatch, nil, "range %s: its end is not after its start", rangeString(c.src))
	}
	return from, to, nil
}

// clip returns a copy of the part of n's subtree within [from, to), or nil
// if none of it is.
func clip(n *html.Node, p *positions, from, to int) *html.Node {
	if p.last[n] < from || p.pre[n] >= to {
		return nil
	}
	c := &html.Node{Type: n.Type, DataAtom: n.DataAtom, Data: n.Data, Namespace: n.Namespace, Attr: append([]html.Attribute(nil), n.Attr...)}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if cc := clip(ch, p, from, to); cc != nil {
			c.AppendChild(cc)
		}
	}
	return c
}

// removeRange removes from n's subtree every node wholly within
// [from, to); the elements partly in it lose their part in it.
func removeRange(n *html.Node, p *positions, from, to int) {
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		switch {
		case p.last[ch] < from || p.pre[ch] >= to:
		case p.pre[ch] >= from && p.last[ch] < to:
			n.RemoveChild(ch)
		default:
			removeRange(ch, p, from, to)
		}
		ch = next
	}
}

// selected is a part of the page the rules select, with its position.
type selected struct {
	pos  int
	node *html.Node
}

// selectRanges returns copies of the parts of body the ranges select.
func selectRanges(body *html.Node, p *positions, ranges []*compiledRange) ([]selected, error) {
	var out []selected
	for _, r := range ranges {
		from, to, err := r.bounds(body, p)
		if err != nil {
			return nil, err
		}
		if c := clip(body, p, from, to); c != nil {
			c.Type, c.DataAtom, c.Data, c.Attr = html.ElementNode, 0, "div", nil
			out = append(out, selected{from, c})
		}
	}
	return out, nil
}

// removeRanges removes what the ranges cover from body, all ranges found
// before anything is removed.
func removeRanges(body *html.Node, ranges []*compiledRange) error {
	p := number(body)
	type span struct{ from, to int }
	var spans []span
	for _, r := range ranges {
		from, to, err := r.bounds(body, p)
		if err != nil {
			var xe *Error
			if errors.As(err, &xe) && xe.Reason == ReasonNoMatch {
				continue // nothing to remove
			}
			return err
		}
		spans = append(spans, span{from, to})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].from < spans[j].from })
	for _, s := range spans {
		removeRange(body, p, s.from, s.to)
	}
	return nil
}
