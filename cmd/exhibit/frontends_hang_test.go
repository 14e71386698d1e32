package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFrontendsCLIDatabaseHangs hangs the database of a shared archive
// (SIGSTOP: connections accepted, never answered) and runs the commands
// an operator would then: each ends within a bound, non-zero, naming the
// database, instead of hanging.
func TestFrontendsCLIDatabaseHangs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and exhibit processes")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: race-instrumented processes")
	}
	dir, _, db := sharedArchive(t, "clihang.test/log")
	doc := filepath.Join(dir, "doc.html")
	os.WriteFile(doc, []byte("<html><p>A clause.</p></html>"), 0o644)
	f1 := filepath.Join(dir, "f1")
	r := exhibit(t, "--archive", f1, "capture", doc, "-o", "json")
	r.want(t, 0)
	var rec struct {
		ID string `json:"record_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || rec.ID == "" {
		t.Fatalf("capture -o json: %v: %s", err, r.stdout)
	}
	id := rec.ID
	db.Pause()
	defer db.Resume()
	for _, args := range [][]string{
		{"show", id},
		{"search", "--sha256", strings.Repeat("0", 64)},
		{"capture", doc},
		{"track", "run", "--once"},
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		cmd := exec.CommandContext(ctx, "exhibit", append([]string{"--archive", f1}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		hung := ctx.Err() != nil
		cancel()
		switch {
		case hung:
			t.Errorf("exhibit %s with the database hung: still running after %v:\n%s", strings.Join(args, " "), took.Round(time.Second), out.String())
		case err == nil || !strings.Contains(out.String(), "database"):
			t.Errorf("exhibit %s with the database hung: %v after %v, want non-zero naming the database:\n%s", strings.Join(args, " "), err, took.Round(time.Second), out.String())
		default:
			t.Logf("exhibit %s with the database hung: %v after %v: %s", strings.Join(args, " "), err, took.Round(100*time.Millisecond), lastLine(out.String()))
		}
	}
}
