package extract

import (
	"bytes"
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
	"golang.org/x/net/html/charset"
)

var markdown = sync.OnceValue(func() *converter.Converter {
	return converter.NewConverter(converter.WithPlugins(
		base.NewBasePlugin(),
		commonmark.NewCommonmarkPlugin(),
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

// decodeHTML returns body as UTF-8, following the WHATWG encoding sniffing
// algorithm as implemented by charset.DetermineEncoding.
func decodeHTML(body []byte, contentType string) ([]byte, error) {
	enc, name, _ := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" {
		return bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF")), nil
	}
	b, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, errorf(ReasonMalformed, err, "body does not decode as %s", name)
	}
	return bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")), nil
}

func extractHTML(body []byte, contentType string, c *compiled) (string, error) {
	b, err := decodeHTML(body, contentType)
	if err != nil {
		return "", err
	}
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		// A bytes.Reader does not fail: this is nesting deeper than
		// the parser's limit of 512 open elements.
		return "", errorf(ReasonMalformed, err, "HTML does not parse")
	}
	nodes, err := selectNodes(doc, c)
	if err != nil {
		return "", err
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
	clean(root)
	md, err := markdown().ConvertNode(root)
	if err != nil {
		return "", errorf(ReasonMalformed, err, "HTML does not convert to Markdown")
	}
	return string(md), nil
}

// selectNodes applies the built-in removals, then Rules.Remove, then
// Rules.Select, and returns the selected elements, outermost only, in
// document order.
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
	if len(c.sel) == 0 {
		if b := findBody(doc); b != nil {
			return []*html.Node{b}, nil
		}
		return nil, errorf(ReasonNoText, nil, "document has no <body>")
	}
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			if ch.Type == html.ElementNode && matchAny(c.sel, ch) {
				out = append(out, ch)
				continue
			}
			walk(ch)
		}
	}
	walk(doc)
	if len(out) == 0 {
		return nil, errorf(ReasonNoMatch, nil, "no element matches the select rules %q", c.selSrc)
	}
	return out, nil
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
// noscript, template, iframe, svg and hidden inputs.
func strip(n *html.Node) {
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

func noise(n *html.Node) bool {
	switch n.Type {
	case html.CommentNode:
		return true
	case html.ElementNode:
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe, atom.Svg:
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
					n.InsertBefore(&html.Node{Type: html.TextNode, Data: alt}, ch)
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
				keepAttrs(ch, "href", "title")
				for i := range ch.Attr {
					if ch.Attr[i].Key == "href" {
						ch.Attr[i].Val = cleanHref(href)
					}
				}
				clean(ch)
				if !hasText(ch) {
					n.RemoveChild(ch) // an icon link: nothing to read
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
			ch.Data = plainSpaces(ch.Data)
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
