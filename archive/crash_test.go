package archive_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/verify"
)

// importChild, run as a child process of the test binary (see TestMain),
// imports a manifest into an archive and prints the ID of each record as
// soon as it is acknowledged, one per line, unbuffered.
func importChild() {
	ctx := context.Background()
	dir, manifest := os.Getenv("EXHIBIT_CHILD_ARCHIVE"), os.Getenv("EXHIBIT_CHILD_MANIFEST")
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(3)
	}
	entries, err := ingest.ReadManifest(manifest)
	if err != nil {
		fmt.Fprintln(os.Stderr, "manifest:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	_, err = ingest.New(a).Import(ctx, entries, ingest.ImportOptions{Concurrency: 16, OnResult: func(r ingest.ImportResult) {
		if r.Err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(r.Record.ID + "\n")
	}})
	if err == nil {
		err = a.Close(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestKilledImport kills (SIGKILL) a concurrent import at random points,
// twenty times, each time restarting it: every record acknowledged before a
// kill proves afterwards against a kept checkpoint and verifies, the audit
// is clean, and when the import finally completes nothing has been logged
// twice.
func TestKilledImport(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process twenty times")
	}
	ctx := context.Background()
	dir := archivetest.Init(t, archive.InitOptions{Origin: "kill.example/log"})
	docs := t.TempDir()
	const n = 3000
	var lines []string
	for i := range n {
		name := fmt.Sprintf("%d.html", i)
		os.WriteFile(filepath.Join(docs, name), fmt.Appendf(nil, "<p>document %d %s</p>", i, strings.Repeat("x", 1000+i)), 0o644)
		lines = append(lines, fmt.Sprintf(`{"url":"https://kill.example/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`, i, name))
	}
	manifest := filepath.Join(docs, "manifest.jsonl")
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644)

	acked := map[string]bool{}
	var fresh []string // acknowledged since the last check
	killed := 0        // runs killed before they finished
	run := func(kill bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "EXHIBIT_CHILD=import", "EXHIBIT_CHILD_ARCHIVE="+dir, "EXHIBIT_CHILD_MANIFEST="+manifest)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kill {
			delay := time.Duration(50+rand.IntN(700)) * time.Millisecond
			go func() {
				time.Sleep(delay)
				cmd.Process.Signal(syscall.SIGKILL)
			}()
		}
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			acked[sc.Text()] = true
			fresh = append(fresh, sc.Text())
		}
		err = cmd.Wait()
		if !kill && err != nil {
			t.Fatalf("import: %v\n%s", err, stderr.String())
		}
		if kill && err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("import: %v\n%s", err, stderr.String())
		}
		if kill && err != nil {
			killed++
		}
	}
	check := func(i int) {
		t.Helper()
		a := archivetest.Open(t, dir, archive.OpenOptions{Write: true})
		defer a.Close(ctx)
		for _, id := range fresh {
			rec, b, err := a.Prove(ctx, id, archive.ProveOptions{})
			if err != nil {
				t.Fatalf("after kill %d: record %s was acknowledged, and does not prove: %v", i, id, err)
			}
			if rep := verify.Check(b.Marshal(), a.Key(), verify.Options{RecordID: id}); !rep.Verified {
				t.Fatalf("after kill %d: record %s: %+v", i, id, rep.Failed())
			}
			if _, _, err := a.CheckpointAt(ctx, rec.Published); err != nil {
				t.Fatalf("after kill %d: record %s: %v", i, id, err)
			}
		}
	}
	for i := range 20 {
		run(true)
		check(i)
		fresh = fresh[:0]
	}
	run(false)
	a := archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	rep := archivetest.AuditOK(t, a)
	seen := map[string]string{}
	for r, err := range a.Index().Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[r.URL]; ok {
			t.Errorf("%s logged twice: %s and %s", r.URL, other, r.ID)
		}
		seen[r.URL] = r.ID
	}
	if rep.LogSize != n || len(seen) != n {
		t.Errorf("log of %d entries, %d distinct documents; want %d", rep.LogSize, len(seen), n)
	}
	for id := range acked {
		if _, err := a.Get(ctx, id); err != nil {
			t.Errorf("acknowledged record %s: %v", id, err)
		}
	}
	t.Logf("%d records acknowledged across %d runs killed mid-import and a last run", len(acked), killed)
	if killed < 10 {
		t.Errorf("only %d of 20 runs were killed before they finished: the kills test nothing", killed)
	}
}
