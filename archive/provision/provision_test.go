package provision

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const v1 = "# Privacy\n\nWe do not use customer audio to train AI models.\n\nWe keep logs for 30 days. We keep logs for 30 days.\n\nContact us at privacy@example.com — “ünïcödé” included.\n"

func TestFind(t *testing.T) {
	q, p, err := Find(v1, Quote{Exact: "We do not use customer audio to train AI models."})
	if err != nil {
		t.Fatal(err)
	}
	if got := string([]rune(v1)[p.Start:p.End]); got != q.Exact {
		t.Fatalf("position [%d,%d) holds %q", p.Start, p.End, got)
	}
	if q.Prefix != "# Privacy\n\n" || !strings.HasPrefix(q.Suffix, "\n\nWe keep logs") || utf8.RuneCountInString(q.Suffix) != ContextLength {
		t.Errorf("context not recorded: prefix %q suffix %q", q.Prefix, q.Suffix)
	}
	// Code points, not bytes.
	_, p, err = Find(v1, Quote{Exact: "“ünïcödé”"})
	if err != nil || p.End-p.Start != 9 || string([]rune(v1)[p.Start:p.End]) != "“ünïcödé”" {
		t.Errorf("unicode quote: %v %v", p, err)
	}
	if _, _, err := Find(v1, Quote{Exact: "We keep logs for 30 days."}); !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), "2 times") {
		t.Errorf("ambiguous quote: %v", err)
	}
	_, p, err = Find(v1, Quote{Exact: "We keep logs for 30 days.", Prefix: "days. "})
	if err != nil || p.Start != strings.Index(v1, "days. We")+6 {
		t.Errorf("disambiguated by prefix: %v %v", p, err)
	}
	if _, _, err := Find(v1, Quote{Exact: "We sell your data."}); !errors.Is(err, ErrNotFound) {
		t.Errorf("absent quote: %v", err)
	}
	if _, _, err := Find(v1, Quote{Exact: "We keep logs for 30 days.", Suffix: "nope"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "2 times without") {
		t.Errorf("wrong suffix: %v", err)
	}
	if _, _, err := Find(v1, Quote{Exact: "  "}); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty quote: %v", err)
	}
}

func TestLocate(t *testing.T) {
	q, _, err := Find(v1, Quote{Exact: "We do not use customer audio to train AI models."})
	if err != nil {
		t.Fatal(err)
	}
	moved := "# Privacy\n\nIntro paragraph added.\n\n" + v1[len("# Privacy\n\n"):]
	r := Locate(moved, q)
	if r.Status != Present || string([]rune(moved)[r.Position.Start:r.Position.End]) != q.Exact {
		t.Errorf("moved quote: %+v", r)
	}
	changed := strings.Replace(v1, "We do not use customer audio to train AI models.", "We may use customer audio to train AI models.", 1)
	r = Locate(changed, q)
	if r.Status != Changed || r.Closest != "We may use customer audio to train AI models." || r.Similarity < 0.8 || r.Similarity >= 1 {
		t.Errorf("changed quote: %+v", r)
	}
	if got := string([]rune(changed)[r.Position.Start:r.Position.End]); got != r.Closest {
		t.Errorf("position holds %q, closest is %q", got, r.Closest)
	}
	// The changed word at the end of the quote stays in the passage.
	endChanged := strings.Replace(v1, "train AI models.", "train AI systems.", 1)
	r = Locate(endChanged, q)
	if r.Status != Changed || r.Closest != "We do not use customer audio to train AI systems." {
		t.Errorf("quote changed at its end: %+v", r)
	}
	removed := strings.Replace(v1, "We do not use customer audio to train AI models.", "Cookies are small files.", 1)
	r = Locate(removed, q)
	if r.Status != Removed || r.Similarity >= ChangedThreshold {
		t.Errorf("removed quote: %+v", r)
	}
	// Repeated quote: the context picks the right one.
	q2, p2, err := Find(v1, Quote{Exact: "We keep logs for 30 days.", Prefix: "days. "})
	if err != nil {
		t.Fatal(err)
	}
	r = Locate(v1, q2)
	if r.Status != Present || r.Position != p2 {
		t.Errorf("repeated quote located at %+v, want %+v", r.Position, p2)
	}
}

func TestSimilarity(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{{"", "", 1}, {"abc", "abc", 1}, {"abc", "abd", 0.667}, {"abc", "", 0}, {"kitten", "sitting", 0.571}} {
		if got := Similarity(c.a, c.b); got != c.want {
			t.Errorf("Similarity(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestFindThroughMarkdownEscapes(t *testing.T) {
	text := "# Terms\n\n1\\. We do not sell your data\\.\n\nEmail privacy \\[at] example.com.\n"
	q, p, err := Find(text, Quote{Exact: "1. We do not sell your data."})
	if err != nil {
		t.Fatal(err)
	}
	if q.Exact != "1\\. We do not sell your data\\." || string([]rune(text)[p.Start:p.End]) != q.Exact {
		t.Errorf("quote recorded as %q at %v", q.Exact, p)
	}
	if q, _, err := Find(text, Quote{Exact: "privacy [at] example"}); err != nil || q.Exact != "privacy \\[at] example" {
		t.Errorf("escaped bracket: %q %v", q.Exact, err)
	}
	if _, _, err := Find(text, Quote{Exact: "We sell"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "Markdown") {
		t.Errorf("absent quote: %v", err)
	}
}

func TestLocateShowsAdditions(t *testing.T) {
	q := Quote{Exact: "You may cancel at any time by writing to us."}
	text := "# Terms\n\nYou may cancel at any time by writing to us in advance. Fees are not refunded.\n"
	r := Locate(text, q)
	if r.Status != Changed || r.Closest != "You may cancel at any time by writing to us in advance." {
		t.Errorf("closest passage %q (%v), want the whole sentence", r.Closest, r.Status)
	}
	if got := string([]rune(text)[r.Position.Start:r.Position.End]); got != r.Closest || r.Similarity != Similarity(q.Exact, r.Closest) {
		t.Errorf("position or similarity not of the passage: %q %v", got, r.Similarity)
	}
}

// follow diffs older against newer and follows the provision quoted as
// exact (with its recorded context) at its n-th occurrence in older.
func follow(t *testing.T, older, newer, exact string, n int) (Quote, Result) {
	t.Helper()
	q, p := quoteAt(t, older, exact, n)
	d, err := NewDiff(older, newer)
	if err != nil {
		t.Fatal(err)
	}
	return q, d.Follow(q, p)
}

// quoteAt quotes exact at its n-th occurrence (from 0) in text, with up to
// ContextLength code points of context, as Find records it.
func quoteAt(t *testing.T, text, exact string, n int) (Quote, Position) {
	t.Helper()
	runes := []rune(text)
	hits := occurrences(runes, []rune(exact))
	if n >= len(hits) {
		t.Fatalf("%q is in the text %d times", exact, len(hits))
	}
	p := Position{hits[n], hits[n] + utf8.RuneCountInString(exact)}
	return Quote{Exact: exact,
		Prefix: string(runes[max(0, p.Start-ContextLength):p.Start]),
		Suffix: string(runes[p.End:min(len(runes), p.End+ContextLength)])}, p
}

// at returns the code point span of the n-th occurrence of s in text.
func at(t *testing.T, text, s string, n int) Position {
	t.Helper()
	_, p := quoteAt(t, text, s, n)
	return p
}

func (r Result) holds(text string) string {
	return string([]rune(text)[r.Position.Start:r.Position.End])
}

const terms = "# Terms\n\nWe keep logs for 30 days. Logs help us fix bugs.\n\n## Retention\n\nBackups are kept apart. We keep logs for 30 days. Nothing else is kept.\n\n## Sharing\n\nWe share data with partners for advertising.\n\nWe share data with processors for hosting.\n"

// TestFollowChangedBesideIdentical: the clause changed in its own
// paragraph while the same sentence stands in another is changed, there,
// not present elsewhere.
func TestFollowChangedBesideIdentical(t *testing.T) {
	newer := strings.Replace(terms, "apart. We keep logs for 30 days.", "apart. We keep logs for 90 days.", 1)
	_, r := follow(t, terms, newer, "We keep logs for 30 days.", 1)
	if r.Status != Changed || r.Closest != "We keep logs for 90 days." || r.Position != at(t, newer, "We keep logs for 90 days.", 0) {
		t.Errorf("%+v, want changed at the Retention paragraph", r)
	}
	if r.holds(newer) != r.Closest || r.Elsewhere != nil {
		t.Errorf("position holds %q, elsewhere %+v", r.holds(newer), r.Elsewhere)
	}
}

// TestFollowRemovedBesideSimilar: the clause whose paragraph is deleted is
// removed, though a similar sentence, there before, stands elsewhere; that
// one is a note.
func TestFollowRemovedBesideSimilar(t *testing.T) {
	exact := "We share data with partners for advertising."
	newer := strings.Replace(terms, exact+"\n\n", "", 1)
	_, r := follow(t, terms, newer, exact, 0)
	other := "We share data with processors for hosting."
	if r.Status != Removed || r.Position != (Position{}) || r.Closest != "" || r.Similarity >= ChangedThreshold {
		t.Fatalf("%+v, want removed", r)
	}
	if r.Elsewhere == nil || r.Elsewhere.Position != at(t, newer, other, 0) || r.Elsewhere.Similarity != Similarity(exact, other) || r.Elsewhere.Similarity < ChangedThreshold {
		t.Errorf("elsewhere %+v, want %q at %v", r.Elsewhere, other, at(t, newer, other, 0))
	}
	// Its paragraph replaced by other words: removed too, with the
	// similarity of what stands there.
	newer = strings.Replace(terms, exact, "Cookies are small files.", 1)
	_, r = follow(t, terms, newer, exact, 0)
	if r.Status != Removed || r.Similarity != Similarity(exact, "Cookies are small files.") || r.Elsewhere == nil || r.Elsewhere.Position != at(t, newer, other, 0) {
		t.Errorf("replaced: %+v %+v", r, r.Elsewhere)
	}
}

// TestFollowRepeated: the same sentence twice, the provision on the second.
func TestFollowRepeated(t *testing.T) {
	exact := "We keep logs for 30 days."
	// The first deleted: present where the second now is.
	newer := strings.Replace(terms, "We keep logs for 30 days. Logs help us fix bugs.\n\n", "", 1)
	_, r := follow(t, terms, newer, exact, 1)
	if r.Status != Present || r.Position != at(t, newer, exact, 0) || r.holds(newer) != exact {
		t.Errorf("first deleted: %+v, want present at %v", r, at(t, newer, exact, 0))
	}
	if !strings.HasPrefix(string([]rune(newer)[r.Position.Start-24:]), "Backups are kept apart.") {
		t.Errorf("present at the wrong place: %v", r.Position)
	}
	// The second deleted: removed, the first named as a note.
	newer = strings.Replace(terms, "apart. We keep logs for 30 days.", "apart.", 1)
	_, r = follow(t, terms, newer, exact, 1)
	if r.Status != Removed || r.Elsewhere == nil || r.Elsewhere.Position != at(t, newer, exact, 0) || r.Elsewhere.Similarity != 1 {
		t.Errorf("second deleted: %+v %+v, want removed with the first as a note", r, r.Elsewhere)
	}
	// Today's tracking would take either as present.
	if old := Locate(newer, Quote{Exact: exact}); old.Status != Present {
		t.Errorf("a quote without context is present wherever it stands: %+v", old)
	}
}

// TestFollowMoved: text inserted before the clause, or the clause moved
// to text the new version adds, leaves it present at its new offset.
func TestFollowMoved(t *testing.T) {
	exact := "We share data with processors for hosting."
	for _, c := range []struct{ name, newer string }{
		{"inserted before", strings.Replace(terms, "# Terms\n\n", "# Terms\n\nA new introduction, in two sentences. It says little.\n\n", 1)},
		{"inserted within the paragraph", strings.Replace(terms, exact, "Some words first. "+exact, 1)},
		{"moved up", strings.Replace(strings.Replace(terms, "\n\n"+exact, "", 1), "# Terms\n\n", "# Terms\n\n"+exact+"\n\n", 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, r := follow(t, terms, c.newer, exact, 0)
			if r.Status != Present || r.Position != at(t, c.newer, exact, 0) {
				t.Errorf("%+v, want present at %v", r, at(t, c.newer, exact, 0))
			}
		})
	}
	// Unchanged, after a change before it.
	newer := strings.Replace(terms, "fix bugs", "fix the bugs we find", 1)
	_, r := follow(t, terms, newer, "Nothing else is kept.", 0)
	if r.Status != Present || r.Position != at(t, newer, "Nothing else is kept.", 0) {
		t.Errorf("after a change: %+v", r)
	}
}

// TestFollowEdits: changes within the provision's passage.
func TestFollowEdits(t *testing.T) {
	exact := "We do not use customer audio to train AI models."
	for _, c := range []struct {
		name, newer, want string
	}{
		{"word replaced", strings.Replace(v1, "do not", "may", 1), "We may use customer audio to train AI models."},
		{"last word replaced", strings.Replace(v1, "models.", "systems.", 1), "We do not use customer audio to train AI systems."},
		{"words added", strings.Replace(v1, "AI models.", "AI models, unless you opt in.", 1), "We do not use customer audio to train AI models, unless you opt in."},
		{"words removed", strings.Replace(v1, "customer audio", "audio", 1), "We do not use audio to train AI models."},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, r := follow(t, v1, c.newer, exact, 0)
			if r.Status != Changed || r.Closest != c.want || r.holds(c.newer) != c.want || r.Similarity != Similarity(exact, c.want) {
				t.Errorf("%+v, want changed to %q", r, c.want)
			}
		})
	}
	// A changed provision is followed from its changed passage: restored,
	// it is present again.
	changed := strings.Replace(v1, "do not", "may", 1)
	d, err := NewDiff(changed, v1)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := quoteAt(t, v1, exact, 0)
	if r := d.Follow(q, at(t, changed, "We may use customer audio to train AI models.", 0)); r.Status != Present || r.holds(v1) != exact {
		t.Errorf("restored: %+v", r)
	}
	// A position outside the earlier text: the selector decides.
	if r := d.Follow(q, Position{1000, 1010}); r.Status != Present || r.holds(v1) != exact {
		t.Errorf("bad position: %+v", r)
	}
}

// TestFollowCodePoints: offsets count code points, not bytes (é, emoji).
func TestFollowCodePoints(t *testing.T) {
	older := "# Données\n\nCafé ☕ et 🍪.\n\nNous ne vendons pas vos données 🔒.\n"
	exact := "Nous ne vendons pas vos données 🔒."
	newer := strings.Replace(older, "Café ☕ et 🍪.", "Café ☕☕ et 🍪🍪, thé 🫖 aussi.", 1)
	_, r := follow(t, older, newer, exact, 0)
	want := Position{utf8.RuneCountInString(newer[:strings.Index(newer, "Nous")]), 0}
	want.End = want.Start + utf8.RuneCountInString(exact)
	if r.Status != Present || r.Position != want || r.holds(newer) != exact {
		t.Errorf("%+v, want present at %v", r, want)
	}
	newer2 := strings.Replace(newer, "vos données 🔒.", "vos données 🔓 à personne.", 1)
	_, r = follow(t, older, newer2, exact, 0)
	if w := "Nous ne vendons pas vos données 🔓 à personne."; r.Status != Changed || r.Closest != w || r.Position.Start != want.Start || r.Position.End != want.Start+utf8.RuneCountInString(w) {
		t.Errorf("%+v, want changed at code point %d", r, want.Start)
	}
}

// TestLocateByContext: without an earlier text, the prefix and suffix
// tell the provision's passage from others.
func TestLocateByContext(t *testing.T) {
	exact := "We keep logs for 30 days."
	q, _ := quoteAt(t, terms, exact, 1)
	// Changed in its paragraph, the same sentence in another: changed.
	newer := strings.Replace(terms, "apart. We keep logs for 30 days.", "apart. We keep logs for 90 days.", 1)
	if r := Locate(newer, q); r.Status != Changed || r.Position != at(t, newer, "We keep logs for 90 days.", 0) {
		t.Errorf("changed beside an identical sentence: %+v", r)
	}
	// Its paragraph gone: the identical sentence, in another context, is
	// only a note.
	newer = strings.Replace(terms, "Backups are kept apart. We keep logs for 30 days. Nothing else is kept.\n\n", "", 1)
	if r := Locate(newer, q); r.Status != Removed || r.Elsewhere == nil || r.Elsewhere.Position != at(t, newer, exact, 0) || r.Elsewhere.Similarity != 1 {
		t.Errorf("removed beside an identical sentence: %+v %+v", r, r.Elsewhere)
	}
	// One side of its context edited, the other intact: present.
	newer = strings.Replace(terms, "Backups are kept apart.", "Backups, which are encrypted, are stored apart.", 1)
	if r := Locate(newer, q); r.Status != Present || r.Position != at(t, newer, exact, 1) {
		t.Errorf("prefix edited: %+v, want present at %v", r, at(t, newer, exact, 1))
	}
	// The first occurrence deleted: present at the second.
	newer = strings.Replace(terms, "We keep logs for 30 days. Logs help us fix bugs.\n\n", "", 1)
	if r := Locate(newer, q); r.Status != Present || r.Position != at(t, newer, exact, 0) {
		t.Errorf("first deleted: %+v", r)
	}
	// A prefix given alone, as a user may: it decides.
	qp := Quote{Exact: exact, Prefix: "apart. "}
	if r := Locate(terms, qp); r.Status != Present || r.Position != at(t, terms, exact, 1) {
		t.Errorf("prefix alone: %+v", r)
	}
	// A similar sentence in another context is a note, not the provision.
	// (Next to where the provision stood, it would agree with its context:
	// without the earlier text, that is the provision changed.)
	exact = "We share data with partners for advertising."
	q, _ = quoteAt(t, terms, exact, 0)
	newer = strings.Replace(terms, exact+"\n\n", "", 1)
	if r := Locate(newer, q); r.Status != Changed || r.Closest != "We share data with processors for hosting." {
		t.Errorf("a similar sentence in the provision's place: %+v", r)
	}
	older := "# Terms\n\nWe share data with processors for hosting. See the list.\n\n## Ads\n\nOur ads are contextual. " + exact + " Opt out any time.\n"
	q, _ = quoteAt(t, older, exact, 0)
	newer = strings.Replace(older, " "+exact, "", 1)
	if r := Locate(newer, q); r.Status != Removed || r.Elsewhere == nil || r.Elsewhere.Position != at(t, newer, "We share data with processors for hosting.", 0) {
		t.Errorf("removed beside a similar sentence: %+v %+v", r, r.Elsewhere)
	}
	// Without context, any occurrence is the provision, as before.
	if r := Locate(newer, Quote{Exact: "We share data with processors"}); r.Status != Present {
		t.Errorf("no context: %+v", r)
	}
}

// TestFollowInvariants follows random provisions through random edits of
// random texts (with accents and emoji): whatever the status, its
// position holds what the result says, and a provision whose passage was
// left untouched is present where it now stands.
func TestFollowInvariants(t *testing.T) {
	vocab := strings.Fields("we keep logs for 30 days données café 🍪 ☕ share data with partners . , \n\n \n a the no not é 😀")
	rng := rand.New(rand.NewPCG(13, 4))
	text := func(n int) string {
		var sb strings.Builder
		for range n {
			w := vocab[rng.IntN(len(vocab))]
			if w == `\n\n` {
				w = "\n\n"
			}
			sb.WriteString(w)
			sb.WriteString(" ")
		}
		return sb.String()
	}
	for i := range 400 {
		older := []rune(text(20 + rng.IntN(80)))
		s := rng.IntN(len(older) - 1)
		e := s + 1 + rng.IntN(min(60, len(older)-s))
		exact := string(older[s:e])
		if strings.TrimSpace(exact) == "" {
			continue
		}
		q := Quote{Exact: exact, Prefix: string(older[max(0, s-ContextLength):s]), Suffix: string(older[e:min(len(older), e+ContextLength)])}
		// Edit anywhere, or (every other case) only outside the passage.
		newer := slices.Clone(older)
		outside := i%2 == 0
		ps, pe := s, e // the passage in newer, while edits leave it be
		for range rng.IntN(4) {
			at := rng.IntN(len(newer) + 1)
			ins := []rune(text(rng.IntN(4)))
			del := min(rng.IntN(6), len(newer)-at)
			switch {
			case at+del < ps:
				ps, pe = ps+len(ins)-del, pe+len(ins)-del
			case at > pe:
			case outside:
				continue
			}
			newer = slices.Concat(newer[:at:at], ins, newer[at+del:])
		}
		d, err := NewDiff(string(older), string(newer))
		if err != nil {
			t.Fatal(err)
		}
		r := d.Follow(q, Position{s, e})
		got := ""
		if r.Position.End > r.Position.Start {
			got = string(newer[r.Position.Start:r.Position.End])
		}
		switch r.Status {
		case Present:
			if got != exact {
				t.Fatalf("case %d: present at %v, which holds %q, not %q", i, r.Position, got, exact)
			}
		case Changed:
			if got != r.Closest || r.Similarity < ChangedThreshold || r.Similarity != Similarity(exact, got) {
				t.Fatalf("case %d: changed %+v, position holds %q", i, r, got)
			}
		case Removed:
			if r.Position != (Position{}) || r.Similarity >= ChangedThreshold {
				t.Fatalf("case %d: removed %+v", i, r)
			}
			if el := r.Elsewhere; el != nil && (el.Similarity < ChangedThreshold || el.Position.End > len(newer) ||
				Similarity(exact, string(newer[el.Position.Start:el.Position.End])) != el.Similarity) {
				t.Fatalf("case %d: elsewhere %+v", i, el)
			}
		}
		if outside && (r.Status != Present || r.Position != (Position{ps, pe})) {
			t.Errorf("case %d: %q edited around %q to %q: %+v, want present at %v", i, string(older), exact, string(newer), r, Position{ps, pe})
		}
	}
}
