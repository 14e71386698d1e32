package extract

import "strings"

// WithoutLinkTargets returns a Markdown text with the targets and titles
// of its inline links removed: "[terms](https://example.com/t "T")" reads
// "[terms]". Two versions of a document whose texts are equal without
// their link targets differ only in where links lead, not in anything a
// reader reads.
func WithoutLinkTargets(md string) string {
	if !strings.Contains(md, "](") {
		return md
	}
	var b strings.Builder
	b.Grow(len(md))
	for {
		i := strings.Index(md, "](")
		if i < 0 {
			b.WriteString(md)
			return b.String()
		}
		if escaped(md, i) {
			b.WriteString(md[:i+2])
			md = md[i+2:]
			continue
		}
		end := linkEnd(md[i+2:])
		if end < 0 {
			b.WriteString(md[:i+2])
			md = md[i+2:]
			continue
		}
		b.WriteString(md[:i+1])
		md = md[i+2+end+1:]
	}
}

// escaped reports whether md[i] is preceded by an odd number of
// backslashes.
func escaped(md string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && md[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// linkEnd returns the index in s of the ")" closing an inline link's
// destination and title, s starting just after "](", or -1 if there is
// none on the line: parentheses nest, a backslash escapes, a quoted title
// may hold anything but its quote, and "<...>" encloses a destination.
func linkEnd(s string) int {
	depth := 0
	var quote byte
	angle := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			return -1
		case c == '\\':
			i++
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case angle:
			if c == '>' {
				angle = false
			}
		case c == '<' && i == 0:
			angle = true
		case c == '"' && i > 0 && s[i-1] == ' ':
			quote = '"'
		case c == '(':
			depth++
		case c == ')':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}
