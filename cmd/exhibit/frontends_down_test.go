package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

	db.Restart()
	waitFor("line saying tracking resumed", 2*time.Minute, func() bool { return strings.Contains(out.String(), "tracking resumed") })
	add(1)
	waitFor("capture of a document tracked after the outage", time.Minute, func() bool {
		count, _ := site.snapshot()
		return count["/doc1"] > 0 && strings.Count(out.String(), "version 1") >= 2
	})
}
