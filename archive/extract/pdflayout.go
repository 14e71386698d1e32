package extract

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A glyph is one character drawn on a page, in PDF user space: points, y
// increasing upwards. x0 and x1 are the left and right edges of its advance
// box, bottom and top the font's descent and ascent about its baseline.
type glyph struct {
	r                   rune
	x0, x1, bottom, top float64
	seq                 int // index in drawing order on its page
	turn                int // quarter turns of its baseline, counterclockwise
}

// turned returns g's box in a frame turned by g.turn quarter turns, where
// its baseline runs left to right.
func (g glyph) turned() glyph {
	switch g.turn {
	case 1: // reads upwards
		g.x0, g.x1, g.bottom, g.top = g.bottom, g.top, -g.x1, -g.x0
	case 2: // upside down
		g.x0, g.x1, g.bottom, g.top = -g.x1, -g.x0, -g.top, -g.bottom
	case 3: // reads downwards
		g.x0, g.x1, g.bottom, g.top = -g.top, -g.bottom, g.x0, g.x1
	}
	return g
}

// pageSections lays out a page's glyphs as pageLines does, upright text
// first, then text turned by one, two and three quarter turns
// counterclockwise (the rotated table of a landscape page), each read in
// its own direction.
func pageSections(gs []glyph) [][]*pdfLine {
	var turned [4][]glyph
	for _, g := range gs {
		t := g.turn & 3
		turned[t] = append(turned[t], g.turned())
	}
	var out [][]*pdfLine
	for _, s := range turned {
		if len(s) > 0 {
			out = append(out, pageLines(s))
		}
	}
	return out
}

func (g glyph) height() float64 { return g.top - g.bottom }

// A pdfLine is glyphs on one baseline, left to right, close enough to be read
// as one line of text.
type pdfLine struct {
	gs                  []glyph
	space               []bool // space[i]: a space precedes gs[i]
	x0, x1, bottom, top float64
	text                string
	firstWord           float64 // width of the first word
}

func (l *pdfLine) height() float64 { return l.top - l.bottom }

func (l *pdfLine) add(g glyph) {
	if len(l.gs) == 0 {
		l.x0, l.x1, l.bottom, l.top = g.x0, g.x1, g.bottom, g.top
	} else {
		l.x0, l.x1 = min(l.x0, g.x0), max(l.x1, g.x1)
		l.bottom, l.top = min(l.bottom, g.bottom), max(l.top, g.top)
	}
	l.gs = append(l.gs, g)
}

// A pdfBlock is lines stacked one below the other at the document's line
// spacing: one or more paragraphs of one column.
type pdfBlock struct {
	lines               []*pdfLine
	x0, x1, bottom, top float64
	lead                float64 // baseline to baseline distance of its lines, 0 if unknown
}

func (b *pdfBlock) add(l *pdfLine) {
	if len(b.lines) == 0 {
		b.x0, b.x1, b.bottom, b.top = l.x0, l.x1, l.bottom, l.top
	} else {
		b.x0, b.x1 = min(b.x0, l.x0), max(b.x1, l.x1)
		b.bottom, b.top = min(b.bottom, l.bottom), max(b.top, l.top)
	}
	b.lines = append(b.lines, l)
}

// Layout thresholds, in units of the font height (the height of the
// glyphs' boxes, from the font's descent to its ascent: about 1 to 1.2 em).
const (
	// Fragments further apart than this on one baseline are not joined
	// into one line (the gutter between two columns is wider).
	maxGlyphGap = 0.8
	// A glyph drawn right after the previous one on its baseline, but
	// further from it than this, starts a new fragment (the cells of a
	// table row, drawn one after the other, make one line).
	maxDrawnGap = 2.5
	// A gap wider than the line's usual gap between letters by this much is
	// a word space.
	wordSpace = 0.1
)

// Bounds on the work of laying out one page, whatever it draws.
const (
	// maxLookahead bounds the lines or blocks a line is compared with.
	maxLookahead = 64
	// maxBlocks is the most blocks a page's reading order is sought for
	// (the search takes time quadratic in their number); more are read
	// top to bottom.
	maxBlocks = 2000
)

// pdfLayout reads pages of lines (see pageLines) as a reader would: lines
// into paragraphs, columns in order. It returns the paragraphs of each
// page; a paragraph is its lines' text, in order.
func pdfLayout(pages [][]*pdfLine) [][][]string {
	lead := leading(pages)
	out := make([][][]string, len(pages))
	last := -1 // the last page with text
	for i, ls := range pages {
		for _, b := range orderBlocks(pageBlocks(ls, lead)) {
			out[i] = append(out[i], paragraphs(b)...)
		}
		if len(out[i]) == 0 {
			continue
		}
		if last >= 0 {
			prev := out[last][len(out[last])-1]
			if continues(prev[len(prev)-1], out[i][0][0]) {
				out[last][len(out[last])-1] = append(prev, out[i][0]...)
				out[i] = out[i][1:]
			}
		}
		if len(out[i]) > 0 {
			last = i
		}
	}
	return out
}

// continues says whether a paragraph that starts with line next, at the top
// of a page, goes on with the one that ends with line prev, at the bottom of
// the page before: prev ends in a letter, a comma or a hyphen, and next
// starts with a lower-case letter.
func continues(prev, next string) bool {
	p, _ := utf8.DecodeLastRuneInString(prev)
	n, _ := utf8.DecodeRuneInString(next)
	return (unicode.IsLetter(p) || strings.ContainsRune(",;-\u00ad\u2010", p)) && unicode.IsLower(n)
}

// pageLines groups a page's glyphs, in the order the page draws them,
// into lines, top to bottom, and spells them (the lines keep only their
// text and extent): a run of glyphs drawn one after the other on one
// baseline is a fragment, and fragments that share a baseline and are close
// (a date typeset as several text objects, a word in another font) are one
// line.
func pageLines(gs []glyph) []*pdfLine {
	var frags []*pdfLine
	var cur *pdfLine
	spaceNext := false
	for _, g := range gs {
		if g.r == ' ' || g.r == '\u00a0' || unicode.IsSpace(g.r) {
			spaceNext = true
			continue
		}
		if unicode.IsControl(g.r) || g.height() <= 0 || math.IsNaN(g.x0+g.x1+g.bottom+g.top) {
			continue
		}
		if cur != nil {
			last := cur.gs[len(cur.gs)-1]
			h := max(last.height(), g.height())
			if vOverlap(last.bottom, last.top, g.bottom, g.top) < 0.6 ||
				g.x0 < last.x0-0.1*h || g.x0-last.x1 > maxDrawnGap*h {
				cur = nil
			}
		}
		if cur == nil {
			cur = &pdfLine{}
			frags = append(frags, cur)
			spaceNext = false
		}
		cur.add(g)
		cur.space = append(cur.space, spaceNext)
		spaceNext = false
	}
	// Join fragments into lines, top to bottom.
	slices.SortStableFunc(frags, func(a, b *pdfLine) int {
		return cmp.Compare(b.top+b.bottom, a.top+a.bottom)
	})
	var lines []*pdfLine
	for _, f := range frags {
		var into *pdfLine
		for i := len(lines) - 1; i >= 0 && i >= len(lines)-8; i-- {
			l := lines[i]
			h := max(l.height(), f.height())
			if vOverlap(l.bottom, l.top, f.bottom, f.top) < 0.5 {
				continue
			}
			if f.x0-l.x1 <= maxGlyphGap*h && l.x0-f.x1 <= maxGlyphGap*h {
				into = l
				break
			}
		}
		if into == nil {
			lines = append(lines, f)
			continue
		}
		for i, g := range f.gs {
			into.add(g)
			into.space = append(into.space, f.space[i])
		}
	}
	for _, l := range lines {
		l.sortGlyphs()
		l.text = lineText(l)
		l.gs, l.space = nil, nil
	}
	return lines
}

// vOverlap returns how much two vertical extents overlap, as a fraction of
// the smaller one.
func vOverlap(b0, t0, b1, t1 float64) float64 {
	h := min(t0-b0, t1-b1)
	if h <= 0 {
		return 0
	}
	return (min(t0, t1) - max(b0, b1)) / h
}

// sortGlyphs orders a line's glyphs left to right and drops glyphs drawn
// twice at the same place (fake bold, shadows), but not the letters of a
// ligature, drawn as one.
func (l *pdfLine) sortGlyphs() {
	idx := make([]int, len(l.gs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(l.gs[a].x0, l.gs[b].x0) })
	gs := make([]glyph, 0, len(l.gs))
	space := make([]bool, 0, len(l.gs))
	for _, i := range idx {
		g := l.gs[i]
		if n := len(gs); n > 0 && gs[n-1].r == g.r && math.Abs(gs[n-1].x0-g.x0) < 0.15*g.height() && abs(gs[n-1].seq-g.seq) > 1 {
			space[n-1] = space[n-1] || l.space[i]
			continue
		}
		gs = append(gs, g)
		space = append(space, l.space[i])
	}
	l.gs, l.space = gs, space
}

// lineText spells a line, with a space where the PDF draws one or where the
// gap between two glyphs is wider than the line's usual gap between letters
// (the lower quartile of its gaps; letter-spaced headings have wide ones)
// by wordSpace.
func lineText(l *pdfLine) string {
	var gaps []float64
	for i := 1; i < len(l.gs); i++ {
		if !l.space[i] {
			gaps = append(gaps, l.gs[i].x0-l.gs[i-1].x1)
		}
	}
	usual := 0.0
	if len(gaps) > 0 {
		slices.Sort(gaps)
		usual = min(max(gaps[(len(gaps)-1)/4], 0), 0.5*l.height())
		if len(gaps) < 4 {
			usual = 0 // too few gaps to tell letters from words
		}
	}
	var b strings.Builder
	l.firstWord = 0
	for i, g := range l.gs {
		if i > 0 && (l.space[i] || g.x0-l.gs[i-1].x1 > usual+wordSpace*max(g.height(), l.gs[i-1].height())) {
			if l.firstWord == 0 {
				l.firstWord = l.gs[i-1].x1 - l.x0
			}
			b.WriteByte(' ')
		}
		b.WriteString(glyphText(g.r))
	}
	if l.firstWord == 0 {
		l.firstWord = l.x1 - l.x0
	}
	return b.String()
}

// glyphText spells a glyph: ligatures (U+FB00 to U+FB06) as their letters.
func glyphText(r rune) string {
	switch r {
	case '\ufb00':
		return "ff"
	case '\ufb01':
		return "fi"
	case '\ufb02':
		return "fl"
	case '\ufb03':
		return "ffi"
	case '\ufb04':
		return "ffl"
	case '\ufb05', '\ufb06':
		return "st"
	}
	return string(r)
}

// leading returns, for each line height (rounded to a quarter point), the
// most frequent distance between the bottoms of two lines of that height
// one below the other in the whole document: the line spacing of its
// paragraphs.
func leading(pages [][]*pdfLine) map[float64]float64 {
	counts := map[[2]float64]int{}
	for _, lines := range pages {
		for i, l := range lines {
			for _, m := range lines[i+1 : min(len(lines), i+1+maxLookahead)] {
				d := l.bottom - m.bottom
				if d > 3*l.height() {
					break
				}
				if d <= 0.5*l.height() || m.x1 <= l.x0 || m.x0 >= l.x1 {
					continue
				}
				if h := quarter(l.height()); h == quarter(m.height()) {
					counts[[2]float64{h, quarter(d)}]++
				}
				break
			}
		}
	}
	best := map[float64][2]float64{} // height: {distance, count}
	keys := make([][2]float64, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]float64) int {
		return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		if n := float64(counts[k]); n > best[k[0]][1] {
			best[k[0]] = [2]float64{k[1], n}
		}
	}
	lead := make(map[float64]float64, len(best))
	for h, b := range best {
		lead[h] = b[0]
	}
	return lead
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func quarter(x float64) float64 { return math.Round(x*4) / 4 }

// pageBlocks stacks a page's lines (top to bottom) into blocks: a line
// joins the block above it when they overlap horizontally, have the same
// height within 20%, and the distance between them is the document's line
// spacing for that height (or, without one between 0.9 and 2 line
// heights, at most 1.6 line heights).
func pageBlocks(lines []*pdfLine, lead map[float64]float64) []*pdfBlock {
	var blocks, open []*pdfBlock
	for _, l := range lines {
		var into *pdfBlock
		bestD := math.Inf(1)
		// The last blocks begun, but not those that ended far above this
		// line: they take no more lines.
		open = slices.DeleteFunc(open[max(0, len(open)-maxLookahead):], func(b *pdfBlock) bool {
			last := b.lines[len(b.lines)-1]
			return last.bottom-l.bottom > 4*last.height()+1
		})
		for _, b := range open {
			last := b.lines[len(b.lines)-1]
			if l.x1 <= b.x0 || l.x0 >= b.x1 || l.x1 <= last.x0 || l.x0 >= last.x1 {
				continue
			}
			h := last.height()
			if r := l.height() / h; r < 1/1.2 || r > 1.2 {
				continue
			}
			d := last.bottom - l.bottom
			limit := 1.6 * h
			if ld, ok := lead[quarter(h)]; ok && ld >= 0.9*h && ld <= 2*h {
				limit = ld*1.15 + 0.5
			}
			if b.lead > 0 {
				limit = min(limit, b.lead*1.15+0.5)
			}
			if d > 0.5*h && d <= limit && d < bestD {
				into, bestD = b, d
			}
		}
		if into == nil {
			b := &pdfBlock{}
			b.add(l)
			blocks = append(blocks, b)
			open = append(open, b)
			continue
		}
		if into.lead == 0 {
			into.lead = bestD
		}
		into.add(l)
	}
	return blocks
}

// orderBlocks puts a page's blocks in reading order by recursive cuts: a
// vertical gutter that runs through the whole region splits it into columns
// read left to right (blocks wider than half the region that cross it,
// such as a title over two columns, split it first into parts read top to
// bottom), unless the blocks are the cells of a table; otherwise
// horizontal gaps split it into bands (a table's rows) read top to bottom.
func orderBlocks(blocks []*pdfBlock) []*pdfBlock {
	if len(blocks) <= 1 {
		return blocks
	}
	if len(blocks) > maxBlocks {
		// Not a page of text but a scatter of characters: top to bottom,
		// left to right, in O(n log n).
		sorted := slices.Clone(blocks)
		slices.SortStableFunc(sorted, func(a, b *pdfBlock) int {
			return cmp.Or(cmp.Compare(b.top, a.top), cmp.Compare(a.x0, b.x0))
		})
		return sorted
	}
	x0, x1, bottom, top := extent(blocks)
	width := x1 - x0
	var narrow, wide []*pdfBlock
	for _, b := range blocks {
		if b.x1-b.x0 > 0.5*width {
			wide = append(wide, b)
		} else {
			narrow = append(narrow, b)
		}
	}
	if cut, ok := gutter(narrow, bottom, top); ok && !isTable(narrow, cut) {
		var crossing []*pdfBlock
		for _, b := range wide {
			if b.x0 < cut && b.x1 > cut {
				crossing = append(crossing, b)
			} else {
				narrow = append(narrow, b)
			}
		}
		if len(crossing) == 0 {
			var left, right []*pdfBlock
			for _, b := range blocks {
				if b.x1 <= cut {
					left = append(left, b)
				} else {
					right = append(right, b)
				}
			}
			return append(orderBlocks(left), orderBlocks(right)...)
		}
		// Parts above, between and below the blocks that cross the gutter.
		slices.SortStableFunc(crossing, func(a, b *pdfBlock) int { return cmp.Compare(b.top, a.top) })
		parts := make([][]*pdfBlock, len(crossing)+1)
		for _, b := range narrow {
			i := 0
			for i < len(crossing) && (b.top+b.bottom)/2 < (crossing[i].top+crossing[i].bottom)/2 {
				i++
			}
			parts[i] = append(parts[i], b)
		}
		if len(parts[0]) < len(blocks) { // progress
			var out []*pdfBlock
			for i, p := range parts {
				out = append(out, orderBlocks(p)...)
				if i < len(crossing) {
					out = append(out, crossing[i])
				}
			}
			return out
		}
	}
	// Bands separated by horizontal gaps, top to bottom.
	sorted := slices.Clone(blocks)
	slices.SortStableFunc(sorted, func(a, b *pdfBlock) int {
		return cmp.Or(cmp.Compare(b.top, a.top), cmp.Compare(a.x0, b.x0))
	})
	var bands [][]*pdfBlock
	low := math.Inf(1)
	for _, b := range sorted {
		if len(bands) == 0 || b.top <= low {
			bands = append(bands, nil)
			low = b.bottom
		}
		bands[len(bands)-1] = append(bands[len(bands)-1], b)
		low = min(low, b.bottom)
	}
	if len(bands) == 1 {
		// Blocks that overlap in both directions: top to bottom, then left
		// to right within a band whose horizontal split has no gutter.
		if cut, ok := gutter(sorted, bottom, top); ok {
			// One band: a table row's cells, or columns.
			var left, right []*pdfBlock
			for _, b := range sorted {
				if b.x1 <= cut {
					left = append(left, b)
				} else {
					right = append(right, b)
				}
			}
			return append(orderBlocks(left), orderBlocks(right)...)
		}
		return sorted
	}
	var out []*pdfBlock
	for _, band := range bands {
		out = append(out, orderBlocks(band)...)
	}
	return out
}

func extent(blocks []*pdfBlock) (x0, x1, bottom, top float64) {
	x0, x1, bottom, top = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, b := range blocks {
		x0, x1 = min(x0, b.x0), max(x1, b.x1)
		bottom, top = min(bottom, b.bottom), max(top, b.top)
	}
	return
}

// isTable says whether the blocks on each side of the gutter at cut are
// cells of table rows rather than paragraphs of columns: both sides have
// several blocks, and most blocks of the side with fewer start level with a
// block of the other (paragraphs of two columns rarely do). A table is read
// row by row.
func isTable(blocks []*pdfBlock, cut float64) bool {
	var left, right []*pdfBlock
	for _, b := range blocks {
		if b.x1 <= cut {
			left = append(left, b)
		} else if b.x0 >= cut {
			right = append(right, b)
		}
	}
	if len(left) > len(right) {
		left, right = right, left
	}
	if len(left) < 2 {
		return false
	}
	level := 0
	for _, a := range left {
		for _, b := range right {
			if math.Abs(a.top-b.top) < 0.3*a.lines[0].height() {
				level++
				break
			}
		}
	}
	return 2*level >= len(left)
}

// gutter returns the middle of the widest vertical gap between blocks, if
// it is at least one line height wide (of the blocks' first lines) and
// the blocks on each side reach at least a third of the height bottom..top.
func gutter(blocks []*pdfBlock, bottom, top float64) (float64, bool) {
	if len(blocks) < 2 {
		return 0, false
	}
	sorted := slices.Clone(blocks)
	slices.SortStableFunc(sorted, func(a, b *pdfBlock) int { return cmp.Compare(a.x0, b.x0) })
	var h float64
	for _, b := range blocks {
		h = max(h, b.lines[0].height())
	}
	best, bestW := 0.0, 0.0
	reach := sorted[0].x1
	for i, b := range sorted[1:] {
		if w := b.x0 - reach; w >= h && w > bestW {
			_, _, lb, lt := extent(sorted[:i+1])
			_, _, rb, rt := extent(sorted[i+1:])
			span := top - bottom
			if lt-lb >= span/3 && rt-rb >= span/3 {
				best, bestW = (reach+b.x0)/2, w
			}
		}
		reach = max(reach, b.x1)
	}
	return best, bestW > 0
}

// paragraphs splits a block into paragraphs: before a line that starts
// with a bullet, and after a line that ends short of the right edge of the
// lines about it by more than the next line's first word (the line was
// ended on purpose, not wrapped). An indented line alone does not start a
// paragraph: numbered clauses indent all their lines but the first.
func paragraphs(b *pdfBlock) [][]string {
	var out [][]string
	var cur []string
	for i, l := range b.lines {
		if i > 0 {
			prev := b.lines[i-1]
			h := l.height()
			// The right edge here: of the lines about this one, as a block
			// may stack paragraphs of different widths.
			right := 0.0
			for _, m := range b.lines[max(0, i-2):min(len(b.lines), i+2)] {
				right = max(right, m.x1)
			}
			split := isBullet(l.text) || right-prev.x1 > l.firstWord+0.6*h
			if split && len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
		}
		cur = append(cur, l.text)
	}
	return append(out, cur)
}

func isBullet(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return strings.ContainsRune("•◦▪▫‣●○■□►▸➢➤–—⁃∙·", r)
}

// joinLines writes the pages' paragraphs: a paragraph's lines joined by a
// space, except that a line ending in a hyphen after a letter, followed by
// a line starting with a lower-case letter, is joined without the space,
// and without the hyphen if it is a soft hyphen or the word without it
// occurs elsewhere in the document while the word with it does not (the
// hyphen then only breaks the line). Paragraphs and pages are separated by
// a blank line.
func joinLines(pages [][][]string) string {
	words := map[string]bool{}
	for _, page := range pages {
		for _, para := range page {
			for i, line := range para {
				fs := strings.Fields(line)
				for j, w := range fs {
					if (j == 0 && i > 0) || (j == len(fs)-1 && i < len(para)-1) {
						continue // may be half a word
					}
					words[wordKey(w)] = true
				}
			}
		}
	}
	var b strings.Builder
	first := true
	for _, page := range pages {
		for _, para := range page {
			if !first {
				b.WriteString("\n\n")
			}
			first = false
			for i, line := range para {
				if i+1 == len(para) {
					b.WriteString(line)
					break
				}
				switch hyphenJoin(line, para[i+1], words) {
				case keepSpace:
					b.WriteString(line)
					b.WriteByte(' ')
				case keepHyphen:
					b.WriteString(line)
				case dropHyphen:
					_, n := utf8.DecodeLastRuneInString(line)
					b.WriteString(line[:len(line)-n])
				}
			}
		}
	}
	return b.String()
}

const (
	keepSpace = iota
	keepHyphen
	dropHyphen
)

// hyphenJoin says how line prev joins the next line.
func hyphenJoin(prev, next string, words map[string]bool) int {
	h, n := utf8.DecodeLastRuneInString(prev)
	if h != '-' && h != '\u00ad' && h != '\u2010' {
		return keepSpace
	}
	before, _ := utf8.DecodeLastRuneInString(prev[:len(prev)-n])
	after, _ := utf8.DecodeRuneInString(next)
	if !unicode.IsLetter(before) || !unicode.IsLower(after) {
		return keepSpace
	}
	if h == '\u00ad' {
		return dropHyphen
	}
	head := prev[strings.LastIndexByte(prev, ' ')+1 : len(prev)-n]
	tail := next
	if i := strings.IndexByte(next, ' '); i >= 0 {
		tail = next[:i]
	}
	joined, hyphenated := wordKey(head+tail), wordKey(head+"-"+tail)
	if words[joined] && !words[hyphenated] {
		return dropHyphen
	}
	return keepHyphen
}

// wordKey is a word lower-cased without surrounding punctuation.
func wordKey(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
}
