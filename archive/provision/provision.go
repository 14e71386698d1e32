// Package provision finds quoted clauses (provisions) in a document's text
// and carries them through later versions of it.
//
// A provision is located by a W3C Web Annotation TextQuoteSelector (exact
// quote, optional prefix and suffix) and recorded with a
// TextPositionSelector (start and end offsets, in Unicode code points, end
// exclusive): https://www.w3.org/TR/annotation-model/#text-quote-selector.
//
// [Find] places a new quote and refuses one that is absent or ambiguous.
// [Locate] re-checks a quote against a newer text: present (verbatim),
// changed (the closest passage is similar enough) or removed. Similarity is
// 1 - d/n, where d is the Levenshtein distance in code points between the
// quote and the passage and n the longer one's length, rounded to three
// decimals; a passage is "changed" from [ChangedThreshold] up. The closest
// passage is widened to the whole sentences it stands in when they are
// still that similar, so that words added around the quote show.
package provision

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/agnivade/levenshtein"
)

// ChangedThreshold is the least similarity for which the closest passage
// counts as the provision changed rather than removed.
const ChangedThreshold = 0.5

// ContextLength is the number of code points of prefix and suffix [Find]
// records when the caller gives none, so that the quote can be told apart
// from repeats in later versions.
const ContextLength = 32

var (
	// ErrNotFound: the quote is not in the text (with the given prefix
	// and suffix).
	ErrNotFound = errors.New("the quote is not in the text")
	// ErrAmbiguous: the quote is in the text more than once, and the
	// prefix and suffix given do not pick one.
	ErrAmbiguous = errors.New("the quote is in the text more than once")
	// ErrEmpty: the quote is empty or only white space.
	ErrEmpty = errors.New("the quote is empty")
)

// Quote is a TextQuoteSelector.
type Quote struct {
	Exact, Prefix, Suffix string
}

// Position is a TextPositionSelector: code point offsets, end exclusive.
type Position struct {
	Start, End int
}

// Find places q in text. Exactly one occurrence of q.Exact may be preceded
// by q.Prefix and followed by q.Suffix (each optional); otherwise it
// returns an error wrapping ErrNotFound or ErrAmbiguous that says how many
// occurrences there are. The returned quote carries the prefix and suffix
// given, or, when none was given, up to ContextLength code points of the
// text around the quote.
func Find(text string, q Quote) (Quote, Position, error) {
	if strings.TrimSpace(q.Exact) == "" {
		return q, Position{}, ErrEmpty
	}
	runes := []rune(text)
	all := occurrences(runes, []rune(q.Exact))
	var hits []int
	for _, s := range all {
		if matchesContext(runes, s, s+utf8.RuneCountInString(q.Exact), q) {
			hits = append(hits, s)
		}
	}
	if len(all) == 0 && q.Prefix == "" && q.Suffix == "" {
		// The text is Markdown: "1. Term" reads "1\\. Term" there. Find the
		// quote as a reader sees it, and record it as the text has it.
		if spans := unescapedOccurrences(runes, []rune(q.Exact)); len(spans) == 1 {
			q.Exact = string(runes[spans[0].start:spans[0].end])
			return Find(text, q)
		} else if len(spans) > 1 {
			return q, Position{}, fmt.Errorf("%w (%s, with Markdown escapes): give a --prefix or --suffix that tells them apart", ErrAmbiguous, times(len(spans)))
		}
	}
	switch {
	case len(hits) == 0 && len(all) > 0:
		return q, Position{}, fmt.Errorf("%w with that prefix and suffix (it is there %s without them)", ErrNotFound, times(len(all)))
	case len(hits) == 0:
		return q, Position{}, fmt.Errorf("%w (the text is the version's Markdown, as exhibit history and /api/v1/versions/{id}/text show it)", ErrNotFound)
	case len(hits) > 1:
		return q, Position{}, fmt.Errorf("%w (%s): give a --prefix or --suffix that tells them apart", ErrAmbiguous, times(len(hits)))
	}
	p := Position{hits[0], hits[0] + utf8.RuneCountInString(q.Exact)}
	if q.Prefix == "" && q.Suffix == "" {
		q.Prefix = string(runes[max(0, p.Start-ContextLength):p.Start])
		q.Suffix = string(runes[p.End:min(len(runes), p.End+ContextLength)])
	}
	return q, p, nil
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// unescapedOccurrences finds quote in text read without Markdown's
// backslash escapes (a backslash before ASCII punctuation), and returns
// the spans in text, escapes included.
func unescapedOccurrences(text, quote []rune) []span {
	var plain []rune
	var at []int // at[i]: index in text of plain[i]
	for i := 0; i < len(text); i++ {
		if text[i] == '\\' && i+1 < len(text) && text[i+1] < 0x80 && (unicode.IsPunct(text[i+1]) || unicode.IsSymbol(text[i+1])) {
			i++
		}
		plain = append(plain, text[i])
		at = append(at, i)
	}
	var out []span
	for _, s := range occurrences(plain, quote) {
		start := at[s]
		if start > 0 && text[start-1] == '\\' && (start < 2 || text[start-2] != '\\') {
			start-- // keep the escape of the first character
		}
		out = append(out, span{start, at[s+len(quote)-1] + 1})
	}
	return out
}

func matchesContext(runes []rune, start, end int, q Quote) bool {
	pre, suf := []rune(q.Prefix), []rune(q.Suffix)
	if len(pre) > 0 && (start < len(pre) || string(runes[start-len(pre):start]) != q.Prefix) {
		return false
	}
	if len(suf) > 0 && (end+len(suf) > len(runes) || string(runes[end:end+len(suf)]) != q.Suffix) {
		return false
	}
	return true
}

// occurrences returns the code point offsets at which sub starts in text.
func occurrences(text, sub []rune) []int {
	var out []int
	if len(sub) == 0 {
		return nil
	}
	for i := 0; i+len(sub) <= len(text); i++ {
		if text[i] == sub[0] && string(text[i:i+len(sub)]) == string(sub) {
			out = append(out, i)
		}
	}
	return out
}

// Status values of a [Result].
const (
	Present = "present"
	Changed = "changed"
	Removed = "removed"
)

// Result is where a quote stands in a newer text.
type Result struct {
	// Status is Present, Changed or Removed.
	Status string
	// Position is the quote's (Present) or the closest passage's (Changed)
	// position; zero when Removed.
	Position Position
	// Closest is the closest passage (Changed and Removed; empty if the
	// text has no words at all).
	Closest string
	// Similarity of Closest to the quote (Changed and Removed).
	Similarity float64
}

// Locate re-checks q against text. If the exact quote is there it is
// Present; among several occurrences, the one whose surroundings best match
// the prefix and suffix is taken. Otherwise the passage of the text most
// similar to the quote is found (searching paragraphs, then word-aligned
// windows of about the quote's length within the best ones) and the result
// is Changed if its similarity is at least ChangedThreshold, else Removed.
func Locate(text string, q Quote) Result {
	runes := []rune(text)
	exact := []rune(q.Exact)
	if hits := occurrences(runes, exact); len(hits) > 0 {
		best, bestScore := hits[0], -1
		for _, s := range hits {
			if sc := contextScore(runes, s, s+len(exact), q); sc > bestScore {
				best, bestScore = s, sc
			}
		}
		return Result{Status: Present, Position: Position{best, best + len(exact)}}
	}
	pos, sim := closest(runes, exact)
	// Whole sentences show what was added around the words that match.
	if wide := sentences(runes, pos, 2*len(exact)+40); wide != pos {
		if ws := Similarity(q.Exact, string(runes[wide.Start:wide.End])); ws >= ChangedThreshold {
			pos, sim = wide, ws
		}
	}
	r := Result{Status: Removed, Similarity: sim}
	if pos.End > pos.Start {
		r.Closest = string(runes[pos.Start:pos.End])
	}
	if sim >= ChangedThreshold && r.Closest != "" {
		r.Status, r.Position = Changed, pos
	}
	return r
}

// sentences widens p to the sentences it stands in: back to just after
// the previous ".", "!", "?" or line break, forward through the next one
// (and any closing quote or bracket), keeping at most maxLen code points.
func sentences(text []rune, p Position, maxLen int) Position {
	if p.End <= p.Start {
		return p
	}
	w := p
	for w.Start > 0 && !endsSentence(text[w.Start-1]) && text[w.Start-1] != '\n' {
		w.Start--
	}
	for w.Start < p.Start && unicode.IsSpace(text[w.Start]) {
		w.Start++
	}
	for w.End < len(text) && !endsSentence(text[w.End-1]) && text[w.End] != '\n' {
		w.End++
	}
	for w.End < len(text) && strings.ContainsRune(`"')]»”’*_`, text[w.End]) {
		w.End++
	}
	if w.End-w.Start > maxLen {
		return p
	}
	return w
}

func endsSentence(r rune) bool { return r == '.' || r == '!' || r == '?' }

// contextScore counts the code points of the prefix (backwards) and suffix
// (forwards) that match the text around [start, end).
func contextScore(runes []rune, start, end int, q Quote) int {
	n := 0
	pre := []rune(q.Prefix)
	for i := 1; i <= len(pre) && start-i >= 0 && runes[start-i] == pre[len(pre)-i]; i++ {
		n++
	}
	suf := []rune(q.Suffix)
	for i := 0; i < len(suf) && end+i < len(runes) && runes[end+i] == suf[i]; i++ {
		n++
	}
	return n
}

// Similarity returns 1 - d/n for the Levenshtein distance d in code points
// between a and b and n the longer one's length, rounded to three decimals
// (1 for two empty strings).
func Similarity(a, b string) float64 {
	n := max(utf8.RuneCountInString(a), utf8.RuneCountInString(b))
	if n == 0 {
		return 1
	}
	d := levenshtein.ComputeDistance(a, b)
	return math.Round((1-float64(d)/float64(n))*1000) / 1000
}

type span struct{ start, end int }

// words returns the spans of the maximal runs of non-space code points.
func words(runes []rune, from, to int) []span {
	var out []span
	for i := from; i < to; {
		for i < to && unicode.IsSpace(runes[i]) {
			i++
		}
		j := i
		for j < to && !unicode.IsSpace(runes[j]) {
			j++
		}
		if j > i {
			out = append(out, span{i, j})
		}
		i = j
	}
	return out
}

// paragraphs returns the spans of the text's blank-line separated blocks.
func paragraphs(runes []rune) []span {
	var out []span
	start := 0
	for i := 0; i < len(runes); i++ {
		if runes[i] == '\n' && i+1 < len(runes) && runes[i+1] == '\n' {
			if i > start {
				out = append(out, span{start, i})
			}
			for i+1 < len(runes) && runes[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(runes) {
		out = append(out, span{start, len(runes)})
	}
	return out
}

// closest finds the passage of text most similar to quote.
func closest(text, quote []rune) (Position, float64) {
	qs := string(quote)
	qwords := map[string]int{}
	qw := words(quote, 0, len(quote))
	for _, w := range qw {
		qwords[strings.ToLower(string(quote[w.start:w.end]))]++
	}
	paras := paragraphs(text)
	if len(paras) == 0 || len(qw) == 0 {
		return Position{}, 0
	}
	// Candidate blocks: runs of as many consecutive paragraphs as the quote
	// spans, scored by the share of the quote's words they hold.
	k := max(1, len(paragraphs(quote)))
	type cand struct {
		s     span
		score float64
	}
	var cands []cand
	for i := 0; i < len(paras); i++ {
		j := min(len(paras), i+k) - 1
		s := span{paras[i].start, paras[j].end}
		seen := map[string]int{}
		common := 0
		for _, w := range words(text, s.start, s.end) {
			lw := strings.ToLower(string(text[w.start:w.end]))
			if seen[lw] < qwords[lw] {
				common++
			}
			seen[lw]++
		}
		cands = append(cands, cand{s, float64(common) / float64(len(qw))})
	}
	// Refine the best few blocks with word-aligned windows.
	for i := 0; i < len(cands); i++ {
		for j := i + 1; j < len(cands); j++ {
			if cands[j].score > cands[i].score {
				cands[i], cands[j] = cands[j], cands[i]
			}
		}
		if i == 2 {
			break
		}
	}
	// Within them, score word-aligned windows of about the quote's length
	// by shared words, and measure the best few exactly.
	type window struct {
		p      Position
		common int
	}
	var wins []window
	n := len(qw)
	for _, c := range cands[:min(3, len(cands))] {
		ws := words(text, c.s.start, c.s.end)
		for size := max(1, n-2); size <= min(n+2, len(ws)); size++ {
			for i := 0; i+size <= len(ws); i++ {
				seen := map[string]int{}
				common := 0
				for _, w := range ws[i : i+size] {
					lw := strings.ToLower(string(text[w.start:w.end]))
					if seen[lw] < qwords[lw] {
						common++
					}
					seen[lw]++
				}
				wins = append(wins, window{Position{ws[i].start, ws[i+size-1].end}, common})
			}
		}
	}
	// Most shared words first; among equals, the length nearest the
	// quote's, so that a window cut short of a changed word loses.
	qlen := len(quote)
	dist := func(w window) int {
		d := w.p.End - w.p.Start - qlen
		if d < 0 {
			return -d
		}
		return d
	}
	sort.SliceStable(wins, func(i, j int) bool {
		if wins[i].common != wins[j].common {
			return wins[i].common > wins[j].common
		}
		return dist(wins[i]) < dist(wins[j])
	})
	best, bestSim := Position{}, -1.0
	for _, w := range wins[:min(12, len(wins))] {
		if sim := Similarity(qs, string(text[w.p.Start:w.p.End])); sim > bestSim {
			best, bestSim = w.p, sim
		}
	}
	if bestSim < 0 {
		return Position{}, 0
	}
	return best, bestSim
}
