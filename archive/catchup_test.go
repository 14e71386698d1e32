package archive_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/archive/prune"
	"github.com/exhibit-archive/exhibit/ledger"
)

// kinds returns the kinds of an audit's problems, and their count.
func kinds(rep *audit.Report) map[string]int {
	m := map[string]int{}
	for _, p := range rep.Problems {
		m[p.Kind]++
	}
	return m
}

func auditLocked(t *testing.T, dir string, catchUp bool) *audit.Report {
	t.Helper()
	a := archivetest.Open(t, dir, archive.OpenOptions{Lock: true, CatchUp: catchUp, IndexOptional: true})
	defer a.Close(context.Background())
	if catchUp && !a.CanCatchUp() {
		t.Fatal("opened with CatchUp, and it cannot catch up")
	}
	rep, err := audit.Run(context.Background(), a, audit.Options{CatchUp: catchUp})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestAuditCatchesUp leaves an archive as a writer stopped mid-capture
// does: the log published a checkpoint that was not yet kept, and the
// index is behind the kept checkpoints. An audit as it is reports both; an
// audit that catches up, as a writer does, keeps the checkpoint, indexes
// what the log holds, and is clean.
func TestAuditCatchesUp(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	dir := a.Dir()
	archivetest.Upload(t, a)
	a = archivetest.Reopen(t, a, archive.OpenOptions{Write: true})
	a.Close(context.Background())
	saved, err := os.ReadFile(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	a = archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	archivetest.Upload(t, a)
	last := archivetest.Upload(t, a)
	a.Close(context.Background())
	// The index of before, and the last checkpoint not kept.
	for _, f := range []string{"index.db-wal", "index.db-shm"} {
		os.Remove(filepath.Join(dir, f))
	}
	if err := os.WriteFile(filepath.Join(dir, "index.db"), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "checkpoints", filepath.FromSlash(ledger.CheckpointPath(last.Published)))); err != nil {
		t.Fatal(err)
	}

	rep := auditLocked(t, dir, false)
	if k := kinds(rep); rep.OK || k["index"] == 0 || k["checkpoint"] == 0 {
		t.Fatalf("audit as it is: %+v, want index and checkpoint problems", rep.Problems)
	}
	rep = auditLocked(t, dir, true)
	if !rep.OK {
		t.Fatalf("audit catching up: %+v", rep.Problems)
	}
	if c := rep.CaughtUp; c == nil || c.Kept != last.Published || c.Indexed != last.Published-1 || c.From != 1 {
		t.Errorf("caught up %+v, want the checkpoint of size %d kept and entries 1 to %d indexed", c, last.Published, last.Published-1)
	}
	if rep.LogSize != last.Published || rep.Indexed != last.Published {
		t.Errorf("log size %d, indexed %d; want %d", rep.LogSize, rep.Indexed, last.Published)
	}
	// Caught up, audit has nothing more to do, and a writer agrees.
	if rep := auditLocked(t, dir, true); !rep.OK || rep.CaughtUp != nil {
		t.Errorf("second audit: caught up %+v, problems %+v", rep.CaughtUp, rep.Problems)
	}
	a = archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	archivetest.Upload(t, a)
	archivetest.AuditOK(t, a)
}

// TestAuditAfterKill kills (SIGKILL) an import mid-way: the audit that
// follows, catching up as a writer does, reports nothing but the orphans
// the kill left (objects stored whose statements were never logged), and
// once prune has removed them, nothing at all.
func TestAuditAfterKill(t *testing.T) {
	dir := archivetest.Init(t, archive.InitOptions{Origin: "kill.example/log"})
	docs := t.TempDir()
	var lines []string
	for i := range 400 {
		name := fmt.Sprintf("%d.html", i)
		os.WriteFile(filepath.Join(docs, name), fmt.Appendf(nil, "<p>document %d %s</p>", i, strings.Repeat("x", 1000+i)), 0o644)
		lines = append(lines, fmt.Sprintf(`{"url":"https://kill.example/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`, i, name))
	}
	manifest := filepath.Join(docs, "manifest.jsonl")
	os.WriteFile(manifest, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "EXHIBIT_CHILD=import", "EXHIBIT_CHILD_ARCHIVE="+dir, "EXHIBIT_CHILD_MANIFEST="+manifest)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for n := 0; sc.Scan(); n++ {
		if n == 50 {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	rep := auditLocked(t, dir, true)
	for _, p := range rep.Problems {
		if p.Kind != "orphaned" {
			t.Errorf("after a kill, audit catching up: %+v", p)
		}
	}
	t.Logf("after the kill: caught up %+v; %d orphans", rep.CaughtUp, kinds(rep)["orphaned"])
	// Pruned, the archive audits clean. (Opened for writing, it first
	// publishes the entries the import sequenced but did not publish: the
	// objects they name, which the audit could not read, are not
	// orphans.)
	a := archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	pr, err := prune.Run(context.Background(), a, prune.Options{Remove: true})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Removed != len(pr.Orphans) || pr.Removed > kinds(rep)["orphaned"] || pr.Failed+pr.Retained != 0 {
		t.Errorf("prune removed %d of %d orphans (the audit saw %d)", pr.Removed, len(pr.Orphans), kinds(rep)["orphaned"])
	}
	archivetest.AuditOK(t, a)
}
