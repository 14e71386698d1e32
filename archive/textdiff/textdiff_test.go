package textdiff

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func join(chunks []Chunk, skip string) string {
	var sb strings.Builder
	for _, c := range chunks {
		if c.Op != skip {
			sb.WriteString(c.Text)
		}
	}
	return sb.String()
}

func TestWords(t *testing.T) {
	a := "We do not use customer audio to train AI models.\n\nWe keep logs for 30 days.\n"
	b := "We may use customer audio to train AI models.\n\nWe keep logs for 90 days.\n"
	ch, err := Words(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if join(ch, Insert) != a || join(ch, Delete) != b {
		t.Fatalf("chunks do not rebuild the texts: %+v", ch)
	}
	var del, ins []string
	for _, c := range ch {
		switch c.Op {
		case Delete:
			del = append(del, c.Text)
		case Insert:
			ins = append(ins, c.Text)
		}
	}
	if strings.Join(del, "|") != "do not|30" || strings.Join(ins, "|") != "may|90" {
		t.Errorf("deleted %q inserted %q", del, ins)
	}
	if i, d := Stats(ch); i != 2 || d != 3 {
		t.Errorf("Stats = +%d -%d, want +2 -3", i, d)
	}
	var buf bytes.Buffer
	if err := Render(&buf, ch, false, -1); err != nil {
		t.Fatal(err)
	}
	if want := "We [-do not-]{+may+} use customer audio to train AI models.\n\nWe keep logs for [-30-]{+90+} days.\n"; buf.String() != want {
		t.Errorf("Render =\n%s\nwant\n%s", buf.String(), want)
	}
	if got, _ := Words(a, a); len(got) != 1 || got[0].Op != Equal {
		t.Errorf("identical texts: %+v", got)
	}
}

func TestTokensManyDistinct(t *testing.T) {
	// More distinct tokens than the surrogate gap: ids must round-trip.
	var a, b strings.Builder
	for i := range 70000 {
		a.WriteString("w")
		a.WriteString(strings.Repeat("x", i%7))
		a.WriteString(string(rune('a' + i%26)))
		a.WriteString(string(rune(0x4e00 + i)))
		a.WriteString(" ")
	}
	b.WriteString(a.String())
	b.WriteString("tail")
	ch, err := Words(a.String(), b.String())
	if err != nil {
		t.Fatal(err)
	}
	if join(ch, Insert) != a.String() || join(ch, Delete) != b.String() {
		t.Fatal("chunks do not rebuild texts with many distinct tokens")
	}
}

func TestElide(t *testing.T) {
	var lines []string
	for i := range 20 {
		lines = append(lines, "line"+strings.Repeat("x", i))
	}
	a := strings.Join(lines, "\n") + "\n"
	b := strings.Replace(a, "linexxxxxxxxxx\n", "changed\n", 1)
	var buf bytes.Buffer
	ch, _ := Words(a, b)
	Render(&buf, ch, false, 1)
	if strings.Count(buf.String(), "\n") > 8 || !strings.Contains(buf.String(), "…") || !strings.Contains(buf.String(), "{+changed+}") {
		t.Errorf("elided render:\n%s", buf.String())
	}
}

func TestTooLarge(t *testing.T) {
	big := strings.Repeat("word ", MaxBytes/5+1)
	if _, err := Words(big, "x"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Words over MaxBytes: %v", err)
	}
	if ch, err := Words("", ""); err != nil || ch == nil {
		t.Errorf("empty texts: %v %v", ch, err)
	}
}
