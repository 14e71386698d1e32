package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/record"
)

// TestFrontendsTrackDatabaseDown stops the database of a shared archive
// (SIGTERM, as an operator or systemd does) under a looping `exhibit track
// run`: the run does not exit but says it waits for the database, and
// backs off; `track run --once` meanwhile exits 1 naming the database.
// Once the database is back, the looping run resumes without a restart:
// it says so and captures a document tracked since.
func TestFrontendsTrackDatabaseDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and an exhibit process")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: a race-instrumented process")
	}
	dir, _, db := sharedArchive(t, "trackdown.test/log")
	site := &trackSite{edition: 1, count: map[string]int{}, inFlight: map[string]int{}, maxAtOnce: map[string]int{}, at: map[string][]time.Time{}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	add := func(i int) {
		t.Helper()
		exhibit(t, "--archive", filepath.Join(dir, "f2"), "track", "add", fmt.Sprintf("%s/doc%d", srv.URL, i),
			"--entity", "Example", "--document", fmt.Sprintf("Terms %d", i), "--id", fmt.Sprintf("doc%d", i)).want(t, 0)
	}
	add(0)
	var out lockedBuffer
	run := exec.Command("exhibit", "--archive", filepath.Join(dir, "f1"), "track", "run", "--interval", "1s", "--host-delay", "0", "--retries", "0")
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { run.Wait(); close(done) }()
	defer func() {
		run.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			run.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("track run:\n%s", out.String())
		}
	}()
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !ok(); time.Sleep(100 * time.Millisecond) {
			select {
			case <-done:
				t.Fatalf("the track run exited, waiting for %s", what)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %s within %v", what, within)
			}
		}
	}
	waitFor("version of doc0", time.Minute, func() bool { return strings.Contains(out.String(), "version 1") })

	// A --once round that the outage interrupts mid-capture: it fails,
	// naming the database.
	site.mu.Lock()
	site.delay = 3 * time.Second
	site.mu.Unlock()
	var onceOut lockedBuffer
	once := exec.Command("exhibit", "--archive", filepath.Join(dir, "f3"), "track", "run", "--once", "--all", "--retries", "0")
	once.Stdout, once.Stderr = &onceOut, &onceOut
	if err := once.Start(); err != nil {
		t.Fatal(err)
	}
	onceDone := make(chan struct{})
	go func() { once.Wait(); close(onceDone) }()
	waitFor("capture by track run --once", time.Minute, func() bool { _, in := site.snapshot(); return len(in) > 0 })

	db.Stop()
	downAt := time.Now()
	waitFor("line saying it waits for the database", time.Minute, func() bool {
		return strings.Contains(out.String(), "waiting for the database")
	})
	select {
	case <-onceDone:
	case <-time.After(2 * time.Minute):
		once.Process.Kill()
		<-onceDone
		t.Errorf("track run --once still running 2 minutes after the database went down:\n%s", onceOut.String())
	}
	if code := once.ProcessState.ExitCode(); code != 1 || !strings.Contains(onceOut.String(), "database unavailable") {
		t.Errorf("track run --once interrupted by the database going down: exit %d, want 1 naming the database:\n%s", code, onceOut.String())
	}
	t.Logf("track run --once, the database gone mid-round: exit %d after %v: %s", once.ProcessState.ExitCode(), time.Since(downAt).Round(time.Second), lastLine(onceOut.String()))
	// One started while the database is down fails at start.
	r := exhibit(t, "--archive", filepath.Join(dir, "f3"), "track", "run", "--once", "--retries", "0")
	if r.code == 0 || !strings.Contains(r.stderr, "database") || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("track run --once with the database down: exit %d, %s; want non-zero naming the database", r.code, r.stderr)
	}
	// It used to exit 5 s after the database went down: stay down for
	// longer, then check it still runs and has backed off.
	time.Sleep(time.Until(downAt.Add(20 * time.Second)))

	select {
	case <-done:
		t.Fatalf("the track run exited with the database down:\n%s", out.String())
	default:
	}
	// Backing off from 2 s, doubling: about log2(down/2 s) lines.
	if n, d := strings.Count(out.String(), "waiting for the database"), time.Since(downAt); n < 2 || n > 8 {
		t.Errorf("%d lines saying it waits for the database in %v; want a few, backing off", n, d.Round(time.Second))
	}

	// Tessera's retries log an error every 100 ms each: repeats are kept
	// back (repeatQuiet), a few distinct lines every 30 s.
	if n := strings.Count(out.String(), "level=ERROR"); n > 40 {
		t.Errorf("%d error lines from the log's driver in %v down", n, time.Since(downAt).Round(time.Second))
	} else {
		t.Logf("%d error lines from the log's driver in %v down", n, time.Since(downAt).Round(time.Second))
	}

	db.Restart()
	waitFor("line saying tracking resumed", 2*time.Minute, func() bool { return strings.Contains(out.String(), "tracking resumed") })
	add(1)
	waitFor("capture of a document tracked after the outage", time.Minute, func() bool {
		count, _ := site.snapshot()
		return count["/doc1"] > 0 && strings.Count(out.String(), "version 1") >= 2
	})
}

// TestFrontendsImportDatabaseDown stops the database of a shared archive
// (SIGTERM) mid-import: `exhibit import` fails (exit 1) within a bound,
// naming the database, nothing it acknowledged is lost, and a re-run
// once the database is back imports the rest, each document once.
func TestFrontendsImportDatabaseDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and an exhibit process")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: a race-instrumented process")
	}
	dir, _, db := sharedArchive(t, "importdown.test/log")
	// Enough documents that the import is still at work when the
	// database stops after its first 20 (at 170 a second, 200 were all
	// done first once).
	const docs = 1000
	var manifest bytes.Buffer
	os.Mkdir("docs", 0o755)
	for i := range docs {
		name := fmt.Sprintf("docs/doc%d.html", i)
		os.WriteFile(name, fmt.Appendf(nil, "<html>document %d</html>", i), 0o644)
		fmt.Fprintf(&manifest, `{"entity":"Example","document":"Doc %d","url":"https://example.org/doc/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`+"\n", i, i, name)
	}
	os.WriteFile("manifest.jsonl", manifest.Bytes(), 0o644)
	var stdout, stderr lockedBuffer
	cmd := exec.Command("exhibit", "--archive", filepath.Join(dir, "f2"), "import", "--concurrency", "2", "manifest.jsonl")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for deadline := time.Now().Add(2 * time.Minute); strings.Count(stdout.String(), "\n") < 20; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("import did not get going: %s %s", stdout.String(), stderr.String())
		}
	}
	db.Stop()
	stopped := time.Now()
	var err error
	select {
	case err = <-exited:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("import still running 3 minutes after the database went down:\n%s", stderr.String())
	}
	t.Logf("import exited %v after the database went down: %v; %s", time.Since(stopped).Round(time.Second), err, lastLine(stderr.String()))
	// Its last line names the database, and what to do.
	if code, last := cmd.ProcessState.ExitCode(), lastLine(stderr.String()); code != 1 || !strings.Contains(last, "database unavailable") || !strings.Contains(last, "run it again") {
		t.Errorf("import with the database down: exit %d, want 1 naming the database:\n%s", code, stderr.String())
	}
	var acked []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if f := strings.Split(l, "\t"); len(f) == 5 {
			acked = append(acked, f[2])
		}
	}

	db.Restart()
	r := exhibit(t, "--archive", filepath.Join(dir, "f3"), "import", "manifest.jsonl")
	r.want(t, 0)
	ctx := archivetest.Context(t, 2*time.Minute)
	a, err := archive.Open(ctx, filepath.Join(dir, "f1"), archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	cp := checkAcknowledged(t, ctx, a, acked)
	logged := map[string]int{}
	for r, err := range a.Index().Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == record.Capture {
			logged[r.URL]++
		}
	}
	for i := range docs {
		if u := fmt.Sprintf("https://example.org/doc/%d", i); logged[u] != 1 {
			t.Errorf("%s logged %d times, want once", u, logged[u])
		}
	}
	t.Logf("%d acknowledged before the database went down; %d entries in the log", len(acked), cp.Size)
}
