package track_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
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
	second := filepath.Join(t.TempDir(), "frontend")
	os.MkdirAll(second, 0o755)
	for _, f := range []string{"exhibit.json", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(first, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(second, f), b, 0o600)
	}
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
