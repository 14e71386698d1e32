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
// twenty times, each time restarting it with more documents: every record acknowledged before a
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
	// Run i imports the first (i+1)*step documents: those of the runs
	// before (skipped, or imported if a kill cut them short) and step new
	// ones, and is killed after a random number of the new ones were
	// acknowledged, with others in flight.
	const runs, step = 20, 300
	const n = (runs + 1) * step
	var lines []string
	manifests := make([]string, runs+1)
	for i := range n {
		name := fmt.Sprintf("%d.html", i)
		os.WriteFile(filepath.Join(docs, name), fmt.Appendf(nil, "<p>document %d %s</p>", i, strings.Repeat("x", 1000+i%500)), 0o644)
		lines = append(lines, fmt.Sprintf(`{"url":"https://kill.example/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`, i, name))
		if (i+1)%step == 0 {
			r := (i+1)/step - 1
			manifests[r] = filepath.Join(docs, fmt.Sprintf("manifest-%d.jsonl", r))
			os.WriteFile(manifests[r], []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		}
	}

	acked := map[string]bool{}
	var fresh []string // first acknowledged since the last check
	killed := 0        // runs killed before they finished
	run := func(manifest string, killAfter int) {
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
		sc := bufio.NewScanner(out)
		newAcks := 0
		for sc.Scan() {
			id := sc.Text()
			if !acked[id] {
				newAcks++
				fresh = append(fresh, id)
			}
			acked[id] = true
			if killAfter > 0 && newAcks == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		err = cmd.Wait()
		switch {
		case killAfter == 0 && err != nil:
			t.Fatalf("import: %v\n%s", err, stderr.String())
		case killAfter > 0 && err == nil:
			// It finished before the kill reached it.
		case killAfter > 0 && !strings.Contains(err.Error(), "killed"):
			t.Fatalf("import: %v\n%s", err, stderr.String())
		case killAfter > 0:
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
	for i := range runs {
		run(manifests[i], 1+rand.IntN(step-50))
		check(i)
		fresh = fresh[:0]
	}
	run(manifests[runs], 0)
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
	if killed < runs/2 {
		t.Errorf("only %d of %d runs were killed before they finished: the kills test nothing", killed, runs)
	}
}
