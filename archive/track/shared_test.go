package track_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
)

// TestRunSharedCounts runs two tracking rounds at once on two frontends
// of a shared archive (MariaDB and versitygw): each document is captured
// once, and each round's report counts only what it captured itself, so
// that the two counts add up to the captures made.
func TestRunSharedCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, _, _ := archivetest.AWS(t, "trackcount.test/log")
	ctx := archivetest.Context(t, 3*time.Minute)
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, first, o); err != nil {
		t.Fatal(err)
	}
	second := archivetest.Join(t, first)
	a := archivetest.Open(t, first, archive.OpenOptions{Write: true})
	defer a.Close(ctx)
	b := archivetest.Open(t, second, archive.OpenOptions{Write: true})
	defer b.Close(ctx)

	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		time.Sleep(300 * time.Millisecond) // both rounds reach every document
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><main><p>Policy of "+r.URL.Path+".</p></main></body></html>")
	}))
	defer srv.Close()
	const n = 6
	for i := range n {
		d := track.Declaration{ID: fmt.Sprintf("doc%d", i), Entity: "Acme", Document: fmt.Sprintf("Policy %d", i), URL: fmt.Sprintf("%s/doc%d", srv.URL, i), Select: []string{"main"}}
		if _, err := track.New(a).Declare(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	reps := make([]*track.RunReport, 2)
	errs := make([]error, 2)
	for i, x := range []*archive.Archive{a, b} {
		wg.Go(func() { reps[i], errs[i] = track.New(x).Run(ctx, track.RunOptions{HostDelay: -1}) })
	}
	wg.Wait()
	total := 0
	for i, rep := range reps {
		if errs[i] != nil || len(rep.Errors) > 0 {
			t.Fatalf("frontend %d: %v, %+v", i, errs[i], rep.Errors)
		}
		if rep.Due != len(rep.Results) {
			t.Errorf("frontend %d: %d captured, with %d results", i, rep.Due, len(rep.Results))
		}
		total += rep.Due
	}
	if got := int(served.Load()); total != got || got != n {
		t.Errorf("the rounds report %d and %d captured, %d in all; the site served %d requests for %d documents", reps[0].Due, reps[1].Due, total, got, n)
	}
}

// TestRunDatabaseHangs hangs the database of a shared archive (SIGSTOP:
// connections accepted, never answered) before a tracking round, or
// while it fetches its first document: the round ends, failing with an
// *archive.UnavailableError or reporting the documents it could not
// capture, within a bound instead of hanging; a round once the database
// is back captures every document, each once.
func TestRunDatabaseHangs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	for _, during := range []bool{false, true} {
		name := map[bool]string{false: "before", true: "during"}[during]
		t.Run(name, func(t *testing.T) {
			o, db, _ := archivetest.AWS(t, "trackhang.test/log")
			ctx := archivetest.Context(t, 4*time.Minute)
			a := archivetest.New(t, o)
			hit, paused := make(chan struct{}), make(chan struct{})
			var once sync.Once
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if during {
					once.Do(func() { close(hit); <-paused })
				}
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html><body><main><p>Policy of "+r.URL.Path+".</p></main></body></html>")
			}))
			defer srv.Close()
			const n = 3
			for i := range n {
				d := track.Declaration{ID: fmt.Sprintf("doc%d", i), Entity: "Acme", Document: fmt.Sprintf("Policy %d", i), URL: fmt.Sprintf("%s/doc%d", srv.URL, i), Select: []string{"main"}}
				if _, err := track.New(a).Declare(ctx, d); err != nil {
					t.Fatal(err)
				}
			}
			if during {
				go func() { <-hit; db.Pause(); close(paused) }()
			} else {
				db.Pause()
			}
			start := time.Now()
			// Bounded here so that a hang fails the test, not the run.
			rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
			defer cancel()
			rep, err := track.New(a).Run(rctx, track.RunOptions{HostDelay: -1, Retries: -1})
			if rctx.Err() != nil {
				t.Fatalf("the round under a hung database ran %v, to the test's bound: %v", time.Since(start).Round(time.Second), err)
			}
			failed := err != nil
			if rep != nil {
				failed = failed || len(rep.Errors) > 0
				for _, r := range rep.Results {
					failed = failed || r.Result == "capture_failed" || r.Result == "failed"
				}
			}
			if !failed {
				t.Errorf("a round under a hung database: no error and no failure reported: %+v", rep)
			}
			var ue *archive.UnavailableError
			if err != nil && !errors.As(err, &ue) {
				t.Errorf("the round's error does not say the database is unavailable: %v", err)
			}
			t.Logf("round under a hung database: %v, %+v after %v", err, rep, time.Since(start).Round(time.Millisecond))
			db.Resume()
			for deadline := time.Now().Add(2 * time.Minute); ; {
				// A document whose lease the round under the hung
				// database held is left to its holder (Elsewhere) until
				// the lease expires.
				rep, err = track.New(a).Run(ctx, track.RunOptions{HostDelay: -1})
				if err == nil && len(rep.Errors) == 0 && len(rep.Elsewhere) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("a round once the database is back: %v, %+v", err, rep)
				}
				time.Sleep(time.Second)
			}
			recs, err := a.Index().Tracking(ctx, index.TrackingQuery{Kinds: []string{record.Version}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != n {
				t.Errorf("%d versions once the database is back, want %d, each once", len(recs), n)
			}
		})
	}
}
