package archive_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/ledger"
)

// TestLocalLogOfAnotherKey checks that an archive directory whose
// exhibit.json and key.pem were replaced by another archive's is refused
// for writing, naming the log's key and the configured one, before
// anything is written: its log and kept checkpoints stay as they were.
func TestLocalLogOfAnotherKey(t *testing.T) {
	victim := archivetest.Init(t, archive.InitOptions{Origin: "victim.test/log"})
	other := archivetest.Init(t, archive.InitOptions{Origin: "other.test/log"})
	ocfg, _ := archive.ReadConfig(other)
	cp, _ := os.ReadFile(filepath.Join(victim, "log", "checkpoint"))
	kept, _ := os.ReadDir(filepath.Join(victim, "checkpoints"))
	for _, f := range []string{"exhibit.json", "key.pem"} {
		b, _ := os.ReadFile(filepath.Join(other, f))
		os.WriteFile(filepath.Join(victim, f), b, 0o600)
	}
	_, err := archive.Open(t.Context(), victim, archive.OpenOptions{Write: true})
	var lk *ledger.LogKeyError
	if !errors.As(err, &lk) || !strings.Contains(err.Error(), "victim.test/log+") || !strings.Contains(err.Error(), ocfg.VKey) {
		t.Fatalf("opening a log of another key: %v, want a LogKeyError naming both keys", err)
	}
	if after, _ := os.ReadFile(filepath.Join(victim, "log", "checkpoint")); string(after) != string(cp) {
		t.Error("the refused writer changed the log's checkpoint")
	}
	if after, _ := os.ReadDir(filepath.Join(victim, "checkpoints")); len(after) != len(kept) {
		t.Errorf("the refused writer kept checkpoints: %d, were %d", len(after), len(kept))
	}
}
