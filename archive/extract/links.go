package extract

import "strings"

// WithoutLinkTargets returns a Markdown text with the targets and titles
// of its inline links removed: "[terms](https://example.com/t "T")" reads
// "[terms]". Two versions of a document whose texts are equal without
// their link targets differ only in where links lead, not in anything a
// reader reads. Only a link the text has is one: its "[" and "]" are not
// escaped (the converter escapes a "[" of the page's text as "\["), and
// fenced code blocks and code spans, which are never escaped, hold none.
func WithoutLinkTargets(md string) string {
	if !strings.Contains(md, "](") {
		return md
	}
	lines := strings.SplitAfter(md, "\n")
	fenced := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
			fenced = !fenced
			continue
		}
		if !fenced && strings.Contains(l, "](") {
			lines[i] = lineWithoutTargets(l)
		}
	}
	return strings.Join(lines, "")
}

// lineWithoutTargets removes the link targets of one line.
func lineWithoutTargets(l string) string {
	var b strings.Builder
	b.Grow(len(l))
	var open []int // indexes in b of unescaped "[" outside code
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c == '\\' && i+1 < len(l):
			b.WriteByte(c)
			b.WriteByte(l[i+1])
			i++
		case c == '`':
			// A code span: up to the next run of as many backticks.
			j := i
			for j < len(l) && l[j] == '`' {
				j++
			}
			run := l[i:j]
			if k := strings.Index(l[j:], run); k >= 0 {
				b.WriteString(l[i : j+k+len(run)])
				i = j + k + len(run) - 1
			} else {
				b.WriteString(run)
				i = j - 1
			}
		case c == '[':
			open = append(open, b.Len())
			b.WriteByte(c)
		case c == ']' && len(open) > 0:
			open = open[:len(open)-1]
			b.WriteByte(c)
			if i+1 < len(l) && l[i+1] == '(' {
				if end := linkEnd(l[i+2:]); end >= 0 {
					i += 2 + end // past the ")"
				}
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
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
