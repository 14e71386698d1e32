package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/textdiff"
	"github.com/exhibit-archive/exhibit/archive/trust"
)

func TestDiffer(t *testing.T) {
	d := newDiffer()
	ctx := context.Background()
	a, b := &record.Record{ID: "A"}, &record.Record{ID: "B"}
	ch, err := d.words(ctx, a, b, []byte("we do not sell"), []byte("we sell"))
	if err != nil || textdiff.Summary(ch) != "+0 −2 words" {
		t.Fatalf("words: %v %v", ch, err)
	}
	// Versions never change: a second call is served from the cache, even
	// with other bytes.
	if ch2, _ := d.words(ctx, a, b, []byte("x"), []byte("y")); textdiff.Summary(ch2) != "+0 −2 words" {
		t.Errorf("not cached: %v", ch2)
	}
	big := []byte(strings.Repeat("word ", textdiff.MaxBytes/5+1))
	c := &record.Record{ID: "C"}
	if _, err := d.words(ctx, a, c, big, nil); !errors.Is(err, textdiff.ErrTooLarge) {
		t.Errorf("huge texts: %v", err)
	}
	// A cancelled request waiting for a diff slot gives up.
	d.sem <- struct{}{}
	d.sem <- struct{}{}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.words(cctx, b, c, []byte("a"), []byte("b")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestShown(t *testing.T) {
	if got := shown("a\u202eb\nc\td\x1b[2J"); got != "a⟨U+202E⟩b\nc\td⟨U+001B⟩[2J" {
		t.Errorf("shown = %q", got)
	}
	if got := shown("plain «text»"); got != "plain «text»" {
		t.Errorf("shown changed plain text: %q", got)
	}
}

// TestWriteFailNoQuorum: a capture the witnesses' quorum could not publish
// is a 503 with Retry-After and the reason, not a bare 500.
func TestWriteFailNoQuorum(t *testing.T) {
	wa := &writeAPI{s: &server{log: slog.New(slog.DiscardHandler)}}
	w := httptest.NewRecorder()
	err := fmt.Errorf("logging: %w", &trust.NoQuorumError{Quorum: "two-of-three", Waited: 30 * time.Second})
	wa.fail(w, httptest.NewRequest("POST", "/api/v1/captures", nil), err)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "two-of-three") {
		t.Errorf("status %d, Retry-After %q, body %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

// TestLinkURI: a URL in a Link header or TimeMap cannot end its "<…>"
// early or carry a raw control, space or non-ASCII byte; a URL already in
// URI form is unchanged.
func TestLinkURI(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.org/terms?lang=en&x=%20#s-2": "https://example.org/terms?lang=en&x=%20#s-2",
		`https://example.org/a>; rel="x", <b`:         "https://example.org/a%3E;%20rel=%22x%22,%20%3Cb",
		"https://example.org/\r\nSet-Cookie: a":       "https://example.org/%0D%0ASet-Cookie:%20a",
		"https://example.org/é":                       "https://example.org/%C3%A9",
		"https://example.org/{a}|\\^`":                "https://example.org/%7Ba%7D%7C%5C%5E%60",
	} {
		if got := linkURI(in); got != want {
			t.Errorf("linkURI(%q) = %q, want %q", in, got, want)
		}
	}
}
