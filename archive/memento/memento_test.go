package memento_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/memento"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCorroborate corroborates captures of one archive with a second
// exhibit archive serving its TimeGate on loopback: a URL both captured is
// found (the other archive's memento and its datetime), one it did not
// capture is none, and a broken archive logs nothing. Each corroboration
// verifies offline.
func TestCorroborate(t *testing.T) {
	ctx := context.Background()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>terms of "+r.URL.Path+"</p>")
	}))
	defer origin.Close()
	other := archivetest.New(t, archive.InitOptions{Origin: "other.example/log"})
	theirs, err := ingest.New(other).Capture(ctx, origin.URL+"/terms", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	otherSrv := httptest.NewServer(api.New(other, api.Options{}))
	defer otherSrv.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }))
	defer broken.Close()

	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	ours, err := in.Capture(ctx, origin.URL+"/terms", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lone, err := in.Capture(ctx, origin.URL+"/privacy", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &memento.Client{}
	tg := otherSrv.URL + "/timegate/"
	rs, err := c.Corroborate(ctx, a, ours.ID, []string{tg})
	if err != nil {
		t.Fatal(err)
	}
	p := rs[0].Statement.Corroboration.Predicate
	if p.Result != verify.CorroborationFound || p.Memento != otherSrv.URL+"/mementos/"+theirs.ID || p.Capture != ours.ID || p.URL != ours.URL || p.Status != 302 {
		t.Fatalf("found: %+v", p)
	}
	// Memento-Datetime has whole seconds.
	if got, want := p.MementoDatetime[:19], theirs.CapturedAt[:19]; got != want {
		t.Errorf("memento datetime %s, want %s", p.MementoDatetime, theirs.CapturedAt)
	}
	archivetest.Check(t, a, rs[0], verify.Options{})
	rs, err = c.Corroborate(ctx, a, lone.ID, []string{tg})
	if err != nil || rs[0].Statement.Corroboration.Predicate.Result != verify.CorroborationNone || rs[0].Statement.Corroboration.Predicate.Status != 404 {
		t.Fatalf("none: %v %+v", err, rs)
	}
	archivetest.Check(t, a, rs[0], verify.Options{})
	got, err := memento.Of(ctx, a, ours.ID)
	if err != nil || len(got) != 1 || got[0].ID == "" {
		t.Fatalf("corroborations of %s: %v %v", ours.ID, got, err)
	}

	// The capture's record page links its corroboration, whose own page
	// says what was found.
	ourSrv := httptest.NewServer(api.New(a, api.Options{}))
	defer ourSrv.Close()
	for path, want := range map[string]string{
		"/records/" + ours.ID:          `href="/records/` + got[0].ID + `"`,
		"/records/" + got[0].ID:        "Corroboration record",
		"/api/v1/records/" + got[0].ID: `"kind": "corroboration"`,
	} {
		resp, err := http.Get(ourSrv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, lacks %s:\n%s", path, resp.StatusCode, want, b)
		}
	}

	n, _ := a.Index().Count(ctx)
	if _, err := c.Corroborate(ctx, a, ours.ID, []string{broken.URL + "/timegate/"}); !errors.Is(err, memento.ErrArchive) {
		t.Errorf("a broken archive: %v", err)
	}
	if _, err := c.Corroborate(ctx, a, ours.ID, []string{"ftp://example.org/"}); !errors.Is(err, archive.ErrInput) {
		t.Errorf("a bad TimeGate: %v", err)
	}
	if _, err := c.Corroborate(ctx, a, rs[0].ID, []string{tg}); !errors.Is(err, archive.ErrInput) {
		t.Errorf("a corroboration corroborated: %v", err)
	}
	if m, _ := a.Index().Count(ctx); m != n {
		t.Errorf("refused corroborations logged %d records", m-n)
	}
	archivetest.AuditOK(t, a)
}

// TestCorroborateFragment: a capture requested as URL#fragment fetched URL;
// the TimeGate is asked for URL (a fragment is never sent), and the
// statement says so, while naming the capture's URL as it was requested.
func TestCorroborateFragment(t *testing.T) {
	ctx := context.Background()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p id=s2>terms</p>")
	}))
	defer origin.Close()
	var asked string
	tgSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.RequestURI
		http.NotFound(w, r)
	}))
	defer tgSrv.Close()
	a := archivetest.New(t, archive.InitOptions{})
	uri := origin.URL + "/terms?lang=en"
	ours, err := ingest.New(a).Capture(ctx, uri+"#s2", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := (&memento.Client{}).Corroborate(ctx, a, ours.ID, []string{tgSrv.URL + "/timegate/"})
	if err != nil {
		t.Fatal(err)
	}
	p := rs[0].Statement.Corroboration.Predicate
	if asked != "/timegate/"+uri || p.TimeGate != tgSrv.URL+"/timegate/"+uri || p.URL != uri+"#s2" {
		t.Errorf("asked %q; statement: timegate %q url %q; want the TimeGate asked for %s and the capture's URL %s#s2", asked, p.TimeGate, p.URL, uri, uri)
	}
	archivetest.Check(t, a, rs[0], verify.Options{})
}
