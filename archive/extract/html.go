package extract

import (
	"bytes"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/JohannesKaufmann/html-to-markdown/v2/converter"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/base"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/commonmark"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/strikethrough"
	"github.com/JohannesKaufmann/html-to-markdown/v2/plugin/table"
	"github.com/andybalholm/cascadia"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var markdown = sync.OnceValue(func() *converter.Converter {
	return converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		// No "<!--THE END-->" between adjacent lists: it is no text of
		// the page, and a reader's quote across it would not be found.
		commonmark.NewCommonmarkPlugin(commonmark.WithListEndComment(false)),
		// GitHub Flavored Markdown tables, padded minimally so that an
		// edit in one cell does not re-pad its whole column.
		table.NewTablePlugin(
			table.WithCellPaddingBehavior(table.CellPaddingBehaviorMinimal),
			table.WithNewlineBehavior(table.NewlineBehaviorPreserve),
			table.WithSpanCellBehavior(table.SpanBehaviorEmpty),
			table.WithHeaderPromotion(true),
			table.WithSkipEmptyRows(true),
		),
		strikethrough.NewStrikethroughPlugin(),
	))
})

func extractHTML(body []byte, contentType, pageURL string, c *compiled) (string, *Decoding, error) {
	b, dec, err := decode(body, contentType, true)
	if err != nil {
		return "", nil, err
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		// A bytes.Reader does not fail: this is nesting deeper than
		// the parser's limit of 512 open elements.
		return "", nil, errorf(ReasonMalformed, err, "HTML does not parse")
	}
	base := baseURL(doc, pageURL)
	nodes, err := selectNodes(doc, c)
	if err != nil {
		return "", nil, err
	}
	root := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	for _, n := range nodes {
		div := &html.Node{Type: html.ElementNode, Data: "div", DataAtom: atom.Div}
		switch n.DataAtom {
		case atom.Html, atom.Body, atom.Head:
			for n.FirstChild != nil {
				ch := n.FirstChild
				n.RemoveChild(ch)
				div.AppendChild(ch)
			}
		default:
			if n.Parent != nil {
				n.Parent.RemoveChild(n)
			}
			div.AppendChild(n)
		}
		root.AppendChild(div)
	}
	if base != nil {
		resolveLinks(root, base)
	}
	clean(root)
	md, err := markdown().ConvertNode(root)
	if err != nil {
		return "", nil, errorf(ReasonMalformed, err, "HTML does not convert to Markdown")
	}
	return unmask(string(md)), dec, nil
}

// The converter writes "<" and ">" of the text as "&lt;" and "&gt;", which
// a reader quoting the page does not type. clean puts these
// noncharacters in their place, which the converter leaves alone, and
// unmask writes them as Markdown escapes: "\<" (so that no HTML tag is
// read), and ">" but at the start of a line ("\>", no block quote).
const (
	maskLT = '\uFDD0'
	maskGT = '\uFDD1'
)

// unmask writes the masked "<" and ">" back, and drops the "<br />" the
// table plugin writes for a line break inside a cell: a cell reads as one
// line.
func unmask(md string) string {
	if strings.Contains(md, "<br />") {
		lines := strings.Split(md, "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "|") {
				lines[i] = brInCell.ReplaceAllString(l, " ")
			}
		}
		md = strings.Join(lines, "\n")
	}
	if !strings.ContainsRune(md, maskLT) && !strings.ContainsRune(md, maskGT) {
		return md
	}
	var b strings.Builder
	b.Grow(len(md) + 8)
	lineStart := true
	for _, r := range md {
		switch r {
		case maskLT:
			b.WriteString(`\<`)
		case maskGT:
			if lineStart {
				b.WriteByte('\\')
			}
			b.WriteByte('>')
		default:
			b.WriteRune(r)
		}
		switch {
		case r == '\n':
			lineStart = true
		case r != ' ' && r != '\t':
			lineStart = false
		}
	}
	return b.String()
}

var brInCell = regexp.MustCompile(`(?:[ \t]*<br />)+[ \t]*`)

// selectNodes applies the built-in removals, then Rules.Remove, then
// Rules.RemoveRanges, then Rules.Select and Rules.SelectRanges, and returns
// the selected elements (outermost only) and copies of the selected
// ranges, in document order.
func selectNodes(doc *html.Node, c *compiled) ([]*html.Node, error) {
	strip(doc)
	var drop []*html.Node
	for _, s := range c.rem {
		drop = append(drop, cascadia.QueryAll(doc, s)...)
	}
	for _, n := range drop {
		if n.Parent != nil {
			n.Parent.RemoveChild(n)
		}
	}
	body := findBody(doc)
	if body == nil {
		return nil, errorf(ReasonNoText, nil, "document has no <body>")
	}
	if len(c.remRanges) > 0 {
		if err := removeRanges(body, c.remRanges); err != nil {
			return nil, err
		}
	}
	if len(c.sel) == 0 && len(c.selRanges) == 0 {
		return []*html.Node{body}, nil
	}
	var out []selected
	var p *positions
	if len(c.selRanges) > 0 {
		p = number(doc)
		var err error
		if out, err = selectRanges(body, p, c.selRanges); err != nil {
			return nil, err
		}
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if ch.Type == html.ElementNode && matchAny(c.sel, ch) {
				pos := 0
				if p != nil {
					pos = p.pre[ch]
				}
				out = append(out, selected{pos, ch})
				continue
			}
			walk(ch)
		}
	}
	if len(c.sel) > 0 {
		walk(doc)
	}
	if len(out) == 0 {
		return nil, errorf(ReasonNoMatch, nil, "no element matches the select rules %q", c.selSrc)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].pos < out[j].pos })
	nodes := make([]*html.Node, len(out))
	for i, s := range out {
		nodes[i] = s.node
	}
	return nodes, nil
}

func matchAny(sels []cascadia.Sel, n *html.Node) bool {
	for _, s := range sels {
		if s.Match(n) {
			return true
		}
	}
	return false
}

func findBody(n *html.Node) *html.Node {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode && ch.DataAtom == atom.Body {
			return ch
		}
		if ch.Type == html.ElementNode && ch.DataAtom == atom.Html {
			if b := findBody(ch); b != nil {
				return b
			}
		}
	}
	return nil
}

// strip removes what is never document text: comments, script, style,
// noscript, template, iframe, svg and hidden inputs. A declarative shadow
// root (see shadowRoot) is first put in its host's place, as the browser
// shows it, and so is kept.
func strip(n *html.Node) {
	if t := shadowRoot(n); t != nil {
		compose(n, t)
	}
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		if noise(ch) {
			n.RemoveChild(ch)
		} else {
			strip(ch)
		}
		ch = next
	}
}

// shadowRoot returns the declarative shadow root of host (HTML,
// https://html.spec.whatwg.org/multipage/scripting.html#attr-template-shadowrootmode):
// its first child element when that is a <template> whose shadowrootmode
// is "open" or "closed", as a browser serializes a shadow root (the
// rendered DOM, archive/render) and as a page may send one. Any other
// template is inert and never shown.
func shadowRoot(host *html.Node) *html.Node {
	if host.Type != html.ElementNode || host.DataAtom == atom.Template {
		return nil
	}
	for ch := host.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type != html.ElementNode {
			continue
		}
		mode := strings.ToLower(strings.TrimSpace(attr(ch, "shadowrootmode")))
		if ch.DataAtom == atom.Template && (mode == "open" || mode == "closed") {
			return ch
		}
		return nil
	}
	return nil
}

// compose replaces host's children with the content of its shadow root t
// (the golang.org/x/net/html parser keeps a template's content as its
// children), as the browser renders the flat tree
// (https://dom.spec.whatwg.org/#find-slottables): each <slot> of the root
// becomes the host's children assigned to it (a child with slot="name" to
// the first <slot name="name">, other elements and text to the first
// unnamed slot), or its own children (the fallback) when none are; a child
// of the host assigned to no slot is not shown and is dropped. Slots of a
// shadow root nested in t are left for that root's host.
func compose(host, t *html.Node) {
	host.RemoveChild(t)
	assigned := map[string][]*html.Node{}
	for host.FirstChild != nil {
		ch := host.FirstChild
		host.RemoveChild(ch)
		switch ch.Type {
		case html.ElementNode:
			name := attr(ch, "slot")
			assigned[name] = append(assigned[name], ch)
		case html.TextNode:
			assigned[""] = append(assigned[""], ch)
		}
	}
	var slots []*html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if ch.Type != html.ElementNode {
				continue
			}
			if ch.DataAtom == atom.Slot {
				slots = append(slots, ch)
			}
			if shadowRoot(ch) == nil {
				find(ch)
				continue
			}
			// A nested host: its light children (not its root) are
			// this root's, and may hold slots of this root.
			for c := ch.FirstChild; c != nil; c = c.NextSibling {
				if c != shadowRoot(ch) && c.Type == html.ElementNode {
					if c.DataAtom == atom.Slot {
						slots = append(slots, c)
					}
					find(c)
				}
			}
		}
	}
	find(t)
	for _, s := range slots {
		name := attr(s, "name")
		nodes, ok := assigned[name]
		delete(assigned, name)
		if ok {
			for s.FirstChild != nil {
				s.RemoveChild(s.FirstChild)
			}
		}
		for _, n := range nodes {
			s.Parent.InsertBefore(n, s)
		}
		for s.FirstChild != nil {
			ch := s.FirstChild
			s.RemoveChild(ch)
			s.Parent.InsertBefore(ch, s)
		}
		s.Parent.RemoveChild(s)
	}
	for t.FirstChild != nil {
		ch := t.FirstChild
		t.RemoveChild(ch)
		host.AppendChild(ch)
	}
}

func noise(n *html.Node) bool {
	switch n.Type {
	case html.CommentNode:
		return true
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe, atom.Svg,
			// A <select>'s options (a language menu) and a <datalist>
			// are choices, not text, and read run together; a <title>
			// in the body is never shown.
			atom.Select, atom.Datalist, atom.Title:
			return true
		case atom.Input:
			return strings.EqualFold(strings.TrimSpace(attr(n, "type")), "hidden")
		}
		if n.DataAtom == 0 && n.Data == "svg" {
			return true
		}
	}
	return false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val
		}
	}
	return ""
}

// clean rewrites the selected tree so that only text and link targets reach
// the converter: images become their alt text; links that do not lead out
// of the page (see leadsOut) become their text; links without text
// are dropped; link targets lose tracking parameters; and every attribute
// other than a link's href and title, <ol start>, table cell spans and a
// table's role is dropped.
func clean(n *html.Node) {
	for ch := n.FirstChild; ch != nil; {
		next := ch.NextSibling
		if ch.Type == html.ElementNode {
			if v := attr(ch, "data-cfemail"); v != "" {
				if email, ok := decodeCFEmail(v); ok {
					for ch.FirstChild != nil {
						ch.RemoveChild(ch.FirstChild)
					}
					ch.AppendChild(&html.Node{Type: html.TextNode, Data: email})
				}
			}
			switch ch.DataAtom {
			case atom.Img:
				if alt := strings.TrimSpace(attr(ch, "alt")); alt != "" {
					n.InsertBefore(&html.Node{Type: html.TextNode, Data: mask(plainSpaces(alt), inCode(n))}, ch)
				}
				n.RemoveChild(ch)
				ch = next
				continue
			case atom.A:
				href := strings.TrimSpace(attr(ch, "href"))
				if !leadsOut(href) {
					// Not a link, or one within the page: its text is
					// kept, its target (often a generated id) is not.
					clean(ch)
					for ch.FirstChild != nil {
						c := ch.FirstChild
						ch.RemoveChild(c)
						n.InsertBefore(c, ch)
					}
					n.RemoveChild(ch)
					ch = next
					continue
				}
				if b := soleBlock(ch); b != nil {
					// <a><li>Terms</li></a>: a link around a block is
					// written as the block around the link, as a
					// browser lays it out, so that two such links do
					// not run together.
					ch.RemoveChild(b)
					for ch.FirstChild != nil {
						ch.RemoveChild(ch.FirstChild) // white space around the block
					}
					for b.FirstChild != nil {
						c := b.FirstChild
						b.RemoveChild(c)
						ch.AppendChild(c)
					}
					n.InsertBefore(b, ch)
					n.RemoveChild(ch)
					b.AppendChild(ch)
					b.Attr = nil
					clean(b) // the link, now inside
					ch = next
					continue
				}
				keepAttrs(ch, "href", "title")
				for i := range ch.Attr {
					if ch.Attr[i].Key == "href" {
						ch.Attr[i].Val = cleanHref(href)
					}
				}
				clean(ch)
				if !hasText(ch) {
					// An icon link: nothing to read, but white space
					// in it keeps the words around it apart.
					if hasSpace(ch) {
						n.InsertBefore(&html.Node{Type: html.TextNode, Data: " "}, ch)
					}
					n.RemoveChild(ch)
				} else if hasBlock(ch) {
					// A link around block elements (<a><li>…</li></a>)
					// is written inline: keep it apart from what follows.
					n.InsertBefore(&html.Node{Type: html.TextNode, Data: " "}, next)
				}
				ch = next
				continue
			case atom.Ol:
				keepAttrs(ch, "start")
			case atom.Td, atom.Th:
				keepAttrs(ch, "colspan", "rowspan")
				// Cells of a table that does not fit GFM are rendered
				// inline: keep their words apart.
				ch.AppendChild(&html.Node{Type: html.TextNode, Data: " "})
			case atom.Table:
				keepAttrs(ch, "role") // role=presentation: a layout table
			default:
				ch.Attr = nil
			}
			clean(ch)
		} else if ch.Type == html.TextNode {
			ch.Data = mask(plainSpaces(ch.Data), inCode(n))
		}
		ch = next
	}
}

// plainSpaces replaces Unicode white space other than ASCII (no-break
// spaces, em spaces, ...) with " ", so that the converter collapses it like
// any other white space: "a&nbsp;b" and "a b" read the same.
func plainSpaces(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(func(r rune) rune {
				if r >= utf8.RuneSelf && unicode.IsSpace(r) {
					return ' '
				}
				return r
			}, s)
		}
	}
	return s
}

// mask replaces "<" and ">" in text outside code with maskLT and maskGT,
// and drops the two noncharacters where a page has them.
func mask(s string, code bool) string {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c == '<' || c == '>' || c == 0xEF { // 0xEF starts U+FDD0 and U+FDD1
			break
		}
	}
	if i == len(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == maskLT || r == maskGT:
			return -1
		case code:
			return r
		case r == '<':
			return maskLT
		case r == '>':
			return maskGT
		}
		return r
	}, s)
}

// inCode reports whether n is, or is inside, a <pre> or <code> element,
// whose text the converter writes as it is.
func inCode(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n.Type == html.ElementNode && (n.DataAtom == atom.Pre || n.DataAtom == atom.Code) {
			return true
		}
	}
	return false
}

func keepAttrs(n *html.Node, keys ...string) {
	out := n.Attr[:0]
	for _, a := range n.Attr {
		for _, k := range keys {
			if a.Namespace == "" && a.Key == k {
				out = append(out, a)
				break
			}
		}
	}
	n.Attr = out
}

// baseURL returns the URL relative links of doc resolve against: the first
// <base href> resolved against pageURL, or pageURL; nil if pageURL is not
// an absolute URL.
func baseURL(doc *html.Node, pageURL string) *url.URL {
	u, err := url.Parse(strings.TrimSpace(pageURL))
	if err != nil || !u.IsAbs() {
		return nil
	}
	if b := findBase(doc); b != "" {
		if bu, err := u.Parse(b); err == nil && bu.IsAbs() {
			return bu
		}
	}
	return u
}

func findBase(n *html.Node) string {
	if n.Type == html.ElementNode && n.DataAtom == atom.Base {
		for _, a := range n.Attr {
			if a.Namespace == "" && a.Key == "href" {
				return strings.TrimSpace(a.Val)
			}
		}
	}
	if n.Type == html.ElementNode && n.DataAtom == atom.Body {
		return ""
	}
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if b := findBase(ch); b != "" {
			return b
		}
	}
	return ""
}

// resolveLinks makes the relative targets of the links under n absolute.
// Fragment-only and javascript: targets are left alone (clean turns those
// links into their text), and so are absolute ones, byte for byte.
func resolveLinks(n *html.Node, base *url.URL) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type != html.ElementNode {
			continue
		}
		if ch.DataAtom == atom.A {
			for i := range ch.Attr {
				a := &ch.Attr[i]
				if a.Namespace != "" || a.Key != "href" {
					continue
				}
				href := strings.TrimSpace(a.Val)
				if !leadsOut(href) {
					break
				}
				if u, err := url.Parse(href); err == nil && !u.IsAbs() {
					a.Val = base.ResolveReference(u).String()
				}
				break
			}
		}
		resolveLinks(ch, base)
	}
}

// cfEmailPath is the link target Cloudflare's e-mail address obfuscation
// substitutes for mailto: links; the fragment is the address XORed with a
// key chosen afresh for every response.
const cfEmailPath = "/cdn-cgi/l/email-protection#"

// cleanHref returns a link target without noise: tracking parameters are
// stripped, Cloudflare-obfuscated addresses become mailto: links, and
// character references left in mailto: links are decoded.
func cleanHref(href string) string {
	if i := strings.Index(href, cfEmailPath); i >= 0 {
		if email, ok := decodeCFEmail(href[i+len(cfEmailPath):]); ok {
			href = "mailto:" + email
		}
	}
	if len(href) > 7 && strings.EqualFold(href[:7], "mailto:") {
		// Addresses obfuscated as character references, re-randomised
		// on every response: "mailto:&#105;&#x6e;...".
		for range 3 {
			u := html.UnescapeString(href)
			if u == href {
				break
			}
			href = u
		}
		// Addresses are compared without case (RFC 5321 leaves the
		// local part's case to the receiving host; no real one uses
		// it), and pages vary it: "Privacy@Example.com".
		addr, rest, _ := strings.Cut(href[7:], "?")
		href = "mailto:" + strings.ToLower(addr)
		if rest != "" {
			href += "?" + rest
		}
	}
	return StripTracking(href)
}

// decodeCFEmail decodes a Cloudflare-obfuscated e-mail address: hex bytes,
// the first being a key XORed into each of the others.
func decodeCFEmail(h string) (string, bool) {
	if len(h) < 4 || len(h)%2 != 0 {
		return "", false
	}
	b := make([]byte, 0, len(h)/2-1)
	var key byte
	for i := 0; i < len(h); i += 2 {
		hi, lo := unhex(h[i]), unhex(h[i+1])
		if hi < 0 || lo < 0 {
			return "", false
		}
		v := byte(hi<<4 | lo)
		if i == 0 {
			key = v
			continue
		}
		b = append(b, v^key)
	}
	return string(b), true
}

func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c - 'a' + 10)
	case 'A' <= c && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// hasSpace reports whether n holds any text, white space included.
func hasSpace(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode && c.Data != "" || hasSpace(c) {
			return true
		}
	}
	return false
}

// soleBlock returns n's only element child if it is a block and n has no
// other text than white space, or nil.
func soleBlock(n *html.Node) *html.Node {
	var b *html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case c.Type == html.ElementNode && b == nil && isBlock(c):
			b = c
		case c.Type == html.TextNode && strings.TrimSpace(c.Data) == "":
		default:
			return nil
		}
	}
	return b
}

func isBlock(c *html.Node) bool {
	switch c.DataAtom {
	case atom.P, atom.Div, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Section, atom.Article, atom.Blockquote, atom.Dt, atom.Dd, atom.Header, atom.Footer:
		return true
	}
	return false
}

// hasBlock reports whether n has a block-level element below it.
func hasBlock(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			switch c.DataAtom {
			case atom.P, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Section, atom.Article, atom.Table, atom.Tr, atom.Blockquote, atom.Dl, atom.Dt, atom.Dd, atom.Header, atom.Footer:
				return true
			}
			if hasBlock(c) {
				return true
			}
		}
	}
	return false
}

func hasText(n *html.Node) bool {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode && strings.TrimSpace(c.Data) != "" || hasText(c) {
			return true
		}
	}
	return false
}

// leadsOut reports whether a link target leads out of the page: it is not
// empty, not a fragment ("#...") and not a javascript: URL.
func leadsOut(href string) bool {
	return href != "" && href[0] != '#' && !(len(href) >= 11 && strings.EqualFold(href[:11], "javascript:"))
}
