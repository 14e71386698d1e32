package provision

import (
	"errors"
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
