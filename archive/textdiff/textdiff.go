// Package textdiff computes word-level differences between two versions of
// a document's text, with github.com/sergi/go-diff (Myers' algorithm as in
// Google's diff-match-patch) run over word tokens rather than characters,
// and renders them for a terminal.
package textdiff

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// Operations of a [Chunk].
const (
	Equal  = "equal"
	Insert = "insert"
	Delete = "delete"
)

// Chunk is a run of text that is in both texts (Equal), only in the newer
// one (Insert) or only in the older one (Delete).
type Chunk struct {
	Op   string `json:"op"`
	Text string `json:"text"`
}

// MaxBytes bounds the combined length of two texts Words diffs, in bytes:
// a word diff takes memory in proportion to the texts' tokens (about 40
// times their size), and policy texts are far smaller.
const MaxBytes = 4 << 20

// ErrTooLarge is returned by Words for texts over MaxBytes together.
var ErrTooLarge = errors.New("the texts are too large for a word diff")

// Words diffs a (older) against b (newer) word by word. A token is a run of
// letters and digits, a run of white space, or a single other character,
// so punctuation changes show as such. Concatenating the Equal and Delete
// chunks gives a; the Equal and Insert chunks give b. Texts longer than
// MaxBytes together are refused with ErrTooLarge.
func Words(a, b string) ([]Chunk, error) {
	if n := len(a) + len(b); n > MaxBytes {
		return nil, fmt.Errorf("%w (%d bytes together, at most %d): compare them with a line diff", ErrTooLarge, n, MaxBytes)
	}
	ids := map[string]rune{}
	var toks []string
	encode := func(s string) []rune {
		var out []rune
		for _, t := range tokens(s) {
			id, ok := ids[t]
			if !ok {
				id = idRune(len(toks))
				ids[t] = id
				toks = append(toks, t)
			}
			out = append(out, id)
		}
		return out
	}
	ra, rb := encode(a), encode(b)
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMainRunes(ra, rb, false))
	var out []Chunk
	for _, d := range diffs {
		var sb strings.Builder
		for _, r := range d.Text {
			sb.WriteString(toks[runeID(r)])
		}
		op := Equal
		switch d.Type {
		case diffmatchpatch.DiffInsert:
			op = Insert
		case diffmatchpatch.DiffDelete:
			op = Delete
		}
		if n := len(out); n > 0 && out[n-1].Op == op {
			out[n-1].Text += sb.String()
			continue
		}
		out = append(out, Chunk{op, sb.String()})
	}
	if out == nil {
		out = []Chunk{}
	}
	return out, nil
}

// Token IDs are mapped to runes that survive a round trip through a Go
// string: the surrogate range is skipped.
func idRune(i int) rune {
	r := rune(i + 1)
	if r >= 0xd800 {
		r += 0x800
	}
	return r
}

func runeID(r rune) int {
	if r >= 0xe000 {
		r -= 0x800
	}
	return int(r) - 1
}

func tokens(s string) []string {
	var out []string
	rs := []rune(s)
	for i := 0; i < len(rs); {
		j := i + 1
		switch {
		case isWord(rs[i]):
			for j < len(rs) && isWord(rs[j]) {
				j++
			}
		case unicode.IsSpace(rs[i]):
			for j < len(rs) && unicode.IsSpace(rs[j]) {
				j++
			}
		}
		out = append(out, string(rs[i:j]))
		i = j
	}
	return out
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// Stats counts the words (tokens with a letter or digit) inserted and
// deleted.
func Stats(chunks []Chunk) (inserted, deleted int) {
	for _, c := range chunks {
		n := 0
		for _, t := range tokens(c.Text) {
			if isWord([]rune(t)[0]) {
				n++
			}
		}
		switch c.Op {
		case Insert:
			inserted += n
		case Delete:
			deleted += n
		}
	}
	return inserted, deleted
}

// Render writes chunks for a terminal. Without color, deletions are
// written as [-text-] and insertions as {+text+} (as git diff
// --word-diff=plain does); with color, as red and green text. Context is
// the number of lines of unchanged text kept around each change (negative:
// all; see Elide).
func Render(w io.Writer, chunks []Chunk, color bool, context int) error {
	if context >= 0 {
		chunks = Elide(chunks, context)
	}
	var sb strings.Builder
	for _, c := range chunks {
		switch c.Op {
		case Equal:
			sb.WriteString(c.Text)
		case Delete:
			if color {
				sb.WriteString("\x1b[31m" + c.Text + "\x1b[0m")
			} else {
				sb.WriteString("[-" + c.Text + "-]")
			}
		case Insert:
			if color {
				sb.WriteString("\x1b[32m" + c.Text + "\x1b[0m")
			} else {
				sb.WriteString("{+" + c.Text + "+}")
			}
		}
	}
	s := sb.String()
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	_, err := io.WriteString(w, s)
	return err
}

// Elide shortens the Equal chunks for display: it keeps n lines of
// unchanged text after and before each change and replaces the rest with a
// line "…".
func Elide(chunks []Chunk, n int) []Chunk {
	out := make([]Chunk, len(chunks))
	for i, c := range chunks {
		if c.Op == Equal {
			c.Text = elide(c.Text, i > 0, i < len(chunks)-1, n)
		}
		out[i] = c
	}
	return out
}

// elide keeps n lines of text after a change (before) and before one
// (after), replacing the rest with a line "…".
func elide(text string, afterChange, beforeChange bool, n int) string {
	lines := strings.SplitAfter(text, "\n")
	keepHead, keepTail := 0, 0
	if afterChange {
		keepHead = n + 1 // the rest of the changed line, then n lines
	}
	if beforeChange {
		keepTail = n + 1
	}
	if keepHead+keepTail >= len(lines) {
		return text
	}
	head := strings.Join(lines[:keepHead], "")
	tail := strings.Join(lines[len(lines)-keepTail:], "")
	if head != "" && !strings.HasSuffix(head, "\n") {
		head += "\n"
	}
	return head + "…\n" + tail
}

// Summary is a one-line description of a diff, e.g. "+12 −3 words".
func Summary(chunks []Chunk) string {
	ins, del := Stats(chunks)
	return fmt.Sprintf("+%d −%d words", ins, del)
}
