package extract

import (
	"fmt"
	"strings"
)

// rewriteHas rewrites the relative selectors of Selectors Level 4 inside
// :has() that start with a child combinator, which cascadia does not
// read, into its :haschild() and :has(): "div:has(> h2)" becomes
// "div:haschild(h2)", "div:has(> ul li)" becomes "div:haschild(ul:has(li))"
// and "div:has(> ul > li)" "div:haschild(ul:haschild(li))". A :has() whose
// relative selector starts with "+" or "~" (a sibling) is refused: nothing
// in cascadia matches it.
func rewriteHas(sel string) (string, error) {
	var b strings.Builder
	for {
		i := indexFold(sel, ":has(")
		if i < 0 {
			b.WriteString(sel)
			return b.String(), nil
		}
		open := i + len(":has(")
		end := closingParen(sel, open)
		if end < 0 {
			return "", fmt.Errorf("%q: :has( is not closed", sel)
		}
		inner, err := rewriteHas(sel[open:end])
		if err != nil {
			return "", err
		}
		out, err := relativeHas(inner)
		if err != nil {
			return "", err
		}
		b.WriteString(sel[:i])
		b.WriteString(out)
		sel = sel[end+1:]
	}
}

// relativeHas rewrites the argument of one :has(), a list of relative
// selectors, into cascadia's pseudo-classes, ":has(...)" included.
func relativeHas(arg string) (string, error) {
	parts := splitTop(arg, ',')
	child, desc := 0, 0
	for i, p := range parts {
		p = strings.TrimSpace(p)
		parts[i] = p
		switch {
		case p == "":
			return "", fmt.Errorf(":has(%s): an empty selector", arg)
		case p[0] == '+' || p[0] == '~':
			return "", fmt.Errorf(":has(%s): relative selectors starting with %q (a sibling) are not supported; use > or a descendant", arg, p[0])
		case p[0] == '>':
			child++
		default:
			desc++
		}
	}
	if child == 0 {
		return ":has(" + arg + ")", nil
	}
	if desc > 0 {
		return "", fmt.Errorf(":has(%s): a :has() mixing relative selectors that start with > and others is not supported: write one :has() for each", arg)
	}
	// Every alternative starts with ">": one :haschild() of the group of
	// what each child must match.
	var alts []string
	for _, p := range parts {
		s, err := nest(strings.TrimSpace(p[1:]))
		if err != nil {
			return "", fmt.Errorf(":has(%s): %w", arg, err)
		}
		alts = append(alts, s)
	}
	return ":haschild(" + strings.Join(alts, ", ") + ")", nil
}

// nest returns a compound selector that matches an element matching the
// first compound of sel and having the rest of sel below it: "ul > li a"
// becomes "ul:haschild(li:has(a))".
func nest(sel string) (string, error) {
	compounds, combs, err := splitCompounds(sel)
	if err != nil {
		return "", err
	}
	out := compounds[len(compounds)-1]
	for i := len(compounds) - 2; i >= 0; i-- {
		switch combs[i] {
		case '>':
			out = compounds[i] + ":haschild(" + out + ")"
		case ' ':
			out = compounds[i] + ":has(" + out + ")"
		default:
			return "", fmt.Errorf("the combinator %q inside :has() is not supported", combs[i])
		}
	}
	return out, nil
}

// splitCompounds splits a complex selector into its compound selectors and
// the combinators between them (' ', '>', '+', '~').
func splitCompounds(sel string) (compounds []string, combs []byte, err error) {
	cur := strings.Builder{}
	pending := byte(0)
	depth, quote := 0, byte(0)
	flush := func() {
		if cur.Len() > 0 {
			if len(compounds) > 0 {
				c := pending
				if c == 0 {
					c = ' '
				}
				combs = append(combs, c)
			}
			compounds = append(compounds, cur.String())
			cur.Reset()
			pending = 0
		}
	}
	for i := 0; i < len(sel); i++ {
		c := sel[i]
		switch {
		case quote != 0:
			cur.WriteByte(c)
			if c == '\\' && i+1 < len(sel) {
				i++
				cur.WriteByte(sel[i])
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
		case c == '(' || c == '[':
			depth++
			cur.WriteByte(c)
		case c == ')' || c == ']':
			depth--
			cur.WriteByte(c)
		case depth == 0 && (c == ' ' || c == '\t' || c == '\n'):
			flush()
		case depth == 0 && (c == '>' || c == '+' || c == '~'):
			flush()
			if len(compounds) == 0 || pending != 0 {
				return nil, nil, fmt.Errorf("%q: a combinator without a selector before it", sel)
			}
			pending = c
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	if pending != 0 || len(compounds) == 0 {
		return nil, nil, fmt.Errorf("%q: a combinator without a selector after it", sel)
	}
	return compounds, combs, nil
}

// scanTop calls visit with the index, byte and nesting depth (of
// parentheses and brackets, before that byte) of each byte of s outside
// quoted strings, until visit returns false.
func scanTop(s string, visit func(i int, c byte, depth int) bool) {
	depth, quote := 0, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		case c == '"' || c == '\'':
			quote = c
			continue
		}
		if !visit(i, c, depth) {
			return
		}
		switch c {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		}
	}
}

// splitTop splits s at sep outside parentheses, brackets and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	start := 0
	scanTop(s, func(i int, c byte, depth int) bool {
		if c == sep && depth == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(out, s[start:])
}

// closingParen returns the index of the ")" closing the parenthesis opened
// just before s[from], or -1.
func closingParen(s string, from int) int {
	end := -1
	scanTop(s[from:], func(i int, c byte, depth int) bool {
		if c == ')' && depth == 0 {
			end = from + i
			return false
		}
		return true
	})
	return end
}

// indexFold returns the index of the first instance of the ASCII string
// sub in s, ignoring ASCII case, or -1.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
