// Package provision finds quoted clauses (provisions) in a document's text
// and follows them through later versions of it.
//
// A provision is located by a W3C Web Annotation TextQuoteSelector (exact
// quote, optional prefix and suffix) and recorded with a
// TextPositionSelector (start and end offsets, in Unicode code points, end
// exclusive): https://www.w3.org/TR/annotation-model/#text-quote-selector.
//
// [Find] places a new quote and refuses one that is absent or ambiguous.
// [Diff.Follow] re-checks a provision against a newer text by its
// position: the passage where it stood in an earlier text is mapped
// through the word diff between the two texts, and only what became of
// that passage decides whether it is present (verbatim), changed (the
// closest passage there is similar enough) or removed; a passage like it
// elsewhere, already in the earlier text, is another clause and only
// noted. [Locate] re-checks a quote when no earlier text is at hand, by
// the selector alone, the prefix and suffix telling the provision's own
// passage from others. Similarity is 1 - d/n, where d is the Levenshtein
// distance in code points between the quote and the passage and n the
// longer one's length, rounded to three decimals; a passage is "changed"
// from [ChangedThreshold] up. The closest passage is widened to the whole
// sentences it stands in when they are still that similar, so that words
// added around the quote show.
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

	"github.com/exhibit-archive/exhibit/archive/textdiff"
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
	// Closest is the closest passage (Changed only).
	Closest string
	// Similarity is, when Changed, that of Closest to the quote; when
	// Removed, that of the most similar passage left at the provision's
	// place (below ChangedThreshold; 0 if nothing is left).
	Similarity float64
	// Elsewhere (Removed only) is a passage like the quote that stands
	// elsewhere in the text: a note for the reader, not the provision,
	// whose own passage is gone. Nil when none is at least
	// ChangedThreshold similar.
	Elsewhere *Elsewhere
}

// Elsewhere is a passage like a removed provision's quote, outside the
// provision's place.
type Elsewhere struct {
	Position   Position
	Similarity float64
}

// Diff is the word diff from an earlier text of a document to a newer one
// (package textdiff's, over the texts' code points), through which
// provisions that stood at known places in the earlier text are followed.
type Diff struct {
	old, new []rune
	// segs cover both texts in order: runs of text in both (equal) and
	// the runs between them, where old text was replaced by new (either
	// may be empty).
	segs []segment
}

type segment struct {
	old, new span
	equal    bool
}

// NewDiff diffs older against newer word by word. It returns an error
// wrapping textdiff.ErrTooLarge for texts too large to diff.
func NewDiff(older, newer string) (*Diff, error) {
	chunks, err := textdiff.Words(older, newer)
	if err != nil {
		return nil, err
	}
	d := &Diff{old: []rune(older), new: []rune(newer)}
	o, n := 0, 0
	for _, c := range chunks {
		k := utf8.RuneCountInString(c.Text)
		if c.Op == textdiff.Equal {
			d.segs = append(d.segs, segment{span{o, o + k}, span{n, n + k}, true})
			o, n = o+k, n+k
			continue
		}
		if last := len(d.segs) - 1; last < 0 || d.segs[last].equal {
			d.segs = append(d.segs, segment{span{o, o}, span{n, n}, false})
		}
		s := &d.segs[len(d.segs)-1]
		if c.Op == textdiff.Delete {
			o += k
			s.old.end = o
		} else {
			n += k
			s.new.end = n
		}
	}
	if o != len(d.old) || n != len(d.new) {
		return nil, fmt.Errorf("provision: the word diff covers %d and %d code points of texts of %d and %d", o, n, len(d.old), len(d.new))
	}
	return d, nil
}

// region maps at, a non-empty span of the earlier text, to the newer
// text: an offset in text both have maps to its counterpart, one in
// replaced (or deleted) text to the start, or for the end the end, of
// what replaced it. Text inserted just before or after at is outside the
// region; text inserted within it is inside.
func (d *Diff) region(at Position) Position {
	i := sort.Search(len(d.segs), func(i int) bool { return d.segs[i].old.end > at.Start })
	s := d.segs[i]
	start := s.new.start
	if s.equal {
		start += at.Start - s.old.start
	}
	j := sort.Search(len(d.segs), func(j int) bool { return d.segs[j].old.end >= at.End })
	e := d.segs[j]
	end := e.new.end
	if e.equal {
		end = e.new.start + at.End - e.old.start
	}
	return Position{start, max(start, end)}
}

// inserted counts the code points of p, a span of the newer text, that
// are not in the earlier text (inserted or replacing other text).
func (d *Diff) inserted(p Position) int {
	n := 0
	for i := sort.Search(len(d.segs), func(i int) bool { return d.segs[i].new.end > p.Start }); i < len(d.segs) && d.segs[i].new.start < p.End; i++ {
		if s := d.segs[i]; !s.equal {
			n += min(s.new.end, p.End) - max(s.new.start, p.Start)
		}
	}
	return n
}

// Follow re-checks q against the newer text, for a provision whose
// passage stood at at in the earlier text (the quote where it was present,
// or the closest passage where it was last changed). at is mapped through
// the diff to the provision's region of the newer text ([Diff.region]);
// then, in order:
//
//   - Present, if the quote stands verbatim in the region;
//   - Changed, if the passage of the region most similar to the quote
//     (word-aligned windows of about the quote's length, or the whole
//     region) is at least ChangedThreshold similar; the passage is
//     widened to the whole sentences it stands in when they are still
//     that similar;
//   - Present, if the quote stands verbatim in text the newer version
//     added (more than half of its code points are not in the earlier
//     text): the provision was moved there;
//   - otherwise Removed, with the best similarity found in the region,
//     even if the quote or a passage like it stands elsewhere: that
//     passage, text the earlier version already had, is another clause,
//     and is named in Elsewhere (the verbatim quote first, with the
//     prefix and suffix picking among several, then the most similar
//     passage if at least ChangedThreshold similar).
//
// The prefix and suffix play no part in placing the provision: its
// position does. If at is not a non-empty span of the earlier text,
// Follow returns what Locate finds.
func (d *Diff) Follow(q Quote, at Position) Result {
	if at.Start < 0 || at.End > len(d.old) || at.Start >= at.End || strings.TrimSpace(q.Exact) == "" {
		return locate(d.new, q)
	}
	text, exact := d.new, []rune(q.Exact)
	reg := d.region(at)
	hits := occurrences(text, exact)
	var in, moved, other []Position
	for _, s := range hits {
		p := Position{s, s + len(exact)}
		switch {
		case reg.Start <= p.Start && p.End <= reg.End:
			in = append(in, p)
		case 2*d.inserted(p) > len(exact):
			moved = append(moved, p)
		default:
			other = append(other, p)
		}
	}
	if len(in) > 0 {
		return Result{Status: Present, Position: bestInContext(text, in, q)}
	}
	r := Result{Status: Removed}
	if best, ok := closestIn(text, exact, trimSpace(text, reg)); ok {
		if best.sim >= ChangedThreshold {
			return changed(text, q.Exact, best)
		}
		r.Similarity = best.sim
	}
	if len(moved) > 0 {
		return Result{Status: Present, Position: bestInContext(text, moved, q)}
	}
	if len(other) > 0 {
		r.Elsewhere = &Elsewhere{Position: bestInContext(text, other, q), Similarity: 1}
		return r
	}
	inRegion := func(p Position) bool { return reg.Start <= p.Start && p.End <= reg.End }
	if ps := search(text, exact, 0, len(text), 3, inRegion); len(ps) > 0 && ps[0].sim >= ChangedThreshold {
		r.Elsewhere = &Elsewhere{Position: ps[0].pos, Similarity: ps[0].sim}
	}
	return r
}

// Locate re-checks q against text without knowing where the provision
// stood before, by its TextQuoteSelector alone: the prefix and suffix
// tell the provision's own passage from others. A passage is in the
// quote's context when a recorded prefix or suffix agrees with the text
// next to it: compared with as many code points of the text just before
// (prefix) or after (suffix) the passage, it is at least ChangedThreshold
// similar. A quote recorded with neither is in context anywhere. Then:
//
//   - Present, at the verbatim occurrence in context whose prefix and
//     suffix agree best (the earliest among equals); a verbatim
//     occurrence out of context is not the provision;
//   - Changed, at the most similar passage in context (paragraphs are
//     searched, then word-aligned windows of about the quote's length
//     within the best of them), if at least ChangedThreshold similar;
//     widened to whole sentences as in [Diff.Follow];
//   - otherwise Removed, with the best similarity in context, and in
//     Elsewhere the verbatim occurrence out of context that agrees best,
//     or else the most similar passage if at least ChangedThreshold
//     similar.
//
// [Diff.Follow], which knows the provision's earlier position, is the
// better judge; Locate is for when the earlier text is not available.
func Locate(text string, q Quote) Result {
	return locate([]rune(text), q)
}

func locate(text []rune, q Quote) Result {
	exact := []rune(q.Exact)
	var in, out []Position
	for _, s := range occurrences(text, exact) {
		p := Position{s, s + len(exact)}
		if _, ok := contextAgreement(text, p, q); ok {
			in = append(in, p)
		} else {
			out = append(out, p)
		}
	}
	if len(in) > 0 {
		return Result{Status: Present, Position: bestInContext(text, in, q)}
	}
	r := Result{Status: Removed}
	// Out-of-context occurrences of the quote are no candidates.
	skip := func(p Position) bool {
		for _, o := range out {
			if p.Start < o.End && o.Start < p.End {
				return true
			}
		}
		return false
	}
	ps := search(text, exact, 0, len(text), 8, skip)
	for _, c := range ps {
		if _, ok := contextAgreement(text, c.pos, q); !ok {
			if wide := sentences(text, c.pos, 2*len(exact)+40); wide == c.pos {
				continue
			} else if _, ok := contextAgreement(text, wide, q); !ok {
				continue
			}
		}
		if c.sim >= ChangedThreshold {
			return changed(text, q.Exact, c)
		}
		r.Similarity = c.sim
		break
	}
	switch {
	case len(out) > 0:
		r.Elsewhere = &Elsewhere{Position: bestInContext(text, out, q), Similarity: 1}
	case len(ps) > 0 && ps[0].sim >= ChangedThreshold:
		r.Elsewhere = &Elsewhere{Position: ps[0].pos, Similarity: ps[0].sim}
	}
	return r
}

// changed is the Changed result for passage c, widened to the sentences
// it stands in when they are still ChangedThreshold similar, so that
// words added around the quote show.
func changed(text []rune, quote string, c passage) Result {
	pos, sim := c.pos, c.sim
	if wide := sentences(text, pos, 2*utf8.RuneCountInString(quote)+40); wide != pos {
		if ws := Similarity(quote, string(text[wide.Start:wide.End])); ws >= ChangedThreshold {
			pos, sim = wide, ws
		}
	}
	return Result{Status: Changed, Position: pos, Closest: string(text[pos.Start:pos.End]), Similarity: sim}
}

// contextAgreement compares the text around p with the quote's prefix and suffix.
// Each recorded side is compared with as many code points of the text
// just before (prefix) or after (suffix) p, fewer at the text's edges; it
// agrees when they are at least ChangedThreshold similar. It returns the
// sum of the sides' similarities and whether a side agrees (true when the
// quote records neither).
func contextAgreement(text []rune, p Position, q Quote) (float64, bool) {
	if q.Prefix == "" && q.Suffix == "" {
		return 0, true
	}
	score, agrees := 0.0, false
	if pre := utf8.RuneCountInString(q.Prefix); pre > 0 {
		s := Similarity(q.Prefix, string(text[max(0, p.Start-pre):p.Start]))
		score, agrees = score+s, agrees || s >= ChangedThreshold
	}
	if suf := utf8.RuneCountInString(q.Suffix); suf > 0 {
		s := Similarity(q.Suffix, string(text[p.End:min(len(text), p.End+suf)]))
		score, agrees = score+s, agrees || s >= ChangedThreshold
	}
	return score, agrees
}

// bestInContext returns the position among ps (in text order, not empty)
// whose surroundings agree best with the quote's prefix and suffix, the
// earliest among equals.
func bestInContext(text []rune, ps []Position, q Quote) Position {
	best, bestScore := ps[0], -1.0
	for _, p := range ps {
		if s, _ := contextAgreement(text, p, q); s > bestScore {
			best, bestScore = p, s
		}
	}
	return best
}

// trimSpace shrinks p to exclude white space at its ends.
func trimSpace(text []rune, p Position) Position {
	for p.Start < p.End && unicode.IsSpace(text[p.Start]) {
		p.Start++
	}
	for p.End > p.Start && unicode.IsSpace(text[p.End-1]) {
		p.End--
	}
	return p
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

// passage is a measured candidate passage.
type passage struct {
	pos    Position
	sim    float64
	common int // words shared with the quote
}

// closestIn returns the passage of text within p most similar to quote:
// the best of search's and, if it is not too long to be the quote
// changed (twice its length and 40 code points), p itself. ok is false
// when p holds no word.
func closestIn(text, quote []rune, p Position) (passage, bool) {
	ps := search(text, quote, p.Start, p.End, 3, nil)
	if len(ps) == 0 {
		return passage{}, false
	}
	best := ps[0]
	if p.End-p.Start <= 2*len(quote)+40 && p != best.pos {
		if sim := Similarity(string(quote), string(text[p.Start:p.End])); sim > best.sim {
			best = passage{pos: p, sim: sim}
		}
	}
	return best, true
}

// search finds passages of text[from:to) similar to quote. Blocks of as
// many consecutive paragraphs as the quote spans (clipped to the range)
// are ranked by the share of the quote's words they hold; within each of
// the best maxBlocks of them, word-aligned windows of about the quote's
// length are ranked by the words they share with it (then by the length
// nearest the quote's, so that a window cut short of a changed word
// loses), and the best 12 that skip does not refuse are measured. It
// returns the measured passages, most similar first; among equals, more
// shared words, then the nearer length, then the earlier start.
func search(text, quote []rune, from, to, maxBlocks int, skip func(Position) bool) []passage {
	qwords := map[string]int{}
	qw := words(quote, 0, len(quote))
	for _, w := range qw {
		qwords[strings.ToLower(string(quote[w.start:w.end]))]++
	}
	var paras []span
	for _, p := range paragraphs(text) {
		if s := (span{max(p.start, from), min(p.end, to)}); s.start < s.end {
			paras = append(paras, s)
		}
	}
	if len(paras) == 0 || len(qw) == 0 {
		return nil
	}
	shared := func(ws []span) int {
		seen := map[string]int{}
		common := 0
		for _, w := range ws {
			lw := strings.ToLower(string(text[w.start:w.end]))
			if seen[lw] < qwords[lw] {
				common++
			}
			seen[lw]++
		}
		return common
	}
	type block struct {
		s     span
		score int
	}
	k := max(1, len(paragraphs(quote)))
	var blocks []block
	for i := range paras {
		s := span{paras[i].start, paras[min(len(paras), i+k)-1].end}
		blocks = append(blocks, block{s, shared(words(text, s.start, s.end))})
	}
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].score > blocks[j].score })
	qlen := len(quote)
	dist := func(p Position) int {
		d := p.End - p.Start - qlen
		if d < 0 {
			return -d
		}
		return d
	}
	var out []passage
	n := len(qw)
	for _, b := range blocks[:min(maxBlocks, len(blocks))] {
		ws := words(text, b.s.start, b.s.end)
		var wins []passage
		for size := max(1, min(n-2, len(ws))); size <= min(n+2, len(ws)); size++ {
			for i := 0; i+size <= len(ws); i++ {
				p := Position{ws[i].start, ws[i+size-1].end}
				if skip != nil && skip(p) {
					continue
				}
				wins = append(wins, passage{pos: p, common: shared(ws[i : i+size])})
			}
		}
		sort.SliceStable(wins, func(i, j int) bool {
			if wins[i].common != wins[j].common {
				return wins[i].common > wins[j].common
			}
			return dist(wins[i].pos) < dist(wins[j].pos)
		})
		for _, w := range wins[:min(12, len(wins))] {
			w.sim = Similarity(string(quote), string(text[w.pos.Start:w.pos.End]))
			out = append(out, w)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.sim != b.sim:
			return a.sim > b.sim
		case a.common != b.common:
			return a.common > b.common
		case dist(a.pos) != dist(b.pos):
			return dist(a.pos) < dist(b.pos)
		}
		return a.pos.Start < b.pos.Start
	})
	return out
}
