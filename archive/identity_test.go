package archive_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
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

// TestSharedWrongStorePrefix: a frontend of a shared archive whose
// exhibit.json names another store prefix (an operator's edit; the log
// left as it is) is refused for writing, naming the store, before it
// keeps a checkpoint or stores anything where no other frontend looks.
func TestSharedWrongStorePrefix(t *testing.T) {
	o, _, _ := archivetest.AWS(t, "wrongstore.test/log")
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(t.Context(), first, o); err != nil {
		t.Fatal(err)
	}
	second := archivetest.Join(t, first)
	archivetest.EditConfig(t, second, func(cfg map[string]any) {
		cfg["store"].(map[string]any)["prefix"] = "other/"
	})
	_, err := archive.Open(t.Context(), second, archive.OpenOptions{Write: true})
	if !errors.Is(err, archive.ErrWrongStore) || !strings.Contains(err.Error(), "other/") {
		t.Fatalf("a frontend whose store prefix is another: %v, want ErrWrongStore naming the store", err)
	}
	t.Logf("refused: %v", err)
	r := archivetest.Open(t, second, archive.OpenOptions{IndexOptional: true})
	cps, err := r.Checkpoints(t.Context())
	if err != nil || len(cps) != 0 {
		t.Errorf("the refused frontend kept checkpoints under its prefix: %v, %v", cps, err)
	}
	for d, err := range r.Store().List(t.Context()) {
		t.Errorf("the refused frontend stored %s, %v", d, err)
	}
	// The first frontend still opens for writing.
	archivetest.Open(t, first, archive.OpenOptions{Write: true})
}

// TestSharedOtherIndexWarns: a frontend of a shared archive whose
// index_dsn names another, empty, database (an operator's edit) opens, as
// one whose index was lost does, but warns that it shares no lease with
// the others.
func TestSharedOtherIndexWarns(t *testing.T) {
	o, db, _ := archivetest.AWS(t, "otherindex.test/log")
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(t.Context(), first, o); err != nil {
		t.Fatal(err)
	}
	w := archivetest.Open(t, first, archive.OpenOptions{Write: true})
	doc := filepath.Join(t.TempDir(), "doc.html")
	os.WriteFile(doc, []byte("<p>a clause</p>"), 0o644)
	if _, err := ingest.New(w).File(t.Context(), doc, ingest.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	second := archivetest.Join(t, first)
	other := db.Config(db.NewDatabase(t))
	other.Passwd = ""
	archivetest.EditConfig(t, second, func(cfg map[string]any) {
		cfg["log"].(map[string]any)["index_dsn"] = other.FormatDSN()
	})
	var logs bytes.Buffer
	archivetest.Open(t, second, archive.OpenOptions{Write: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "shares no lease") || !strings.Contains(logs.String(), other.DBName) {
		t.Errorf("a frontend on another, empty, index database: logged %q, want a warning naming it", logs.String())
	}
	// The frontend whose index is filled warns of nothing.
	logs.Reset()
	archivetest.Open(t, first, archive.OpenOptions{Write: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if strings.Contains(logs.String(), "shares no lease") {
		t.Errorf("a frontend on the archive's index database warns: %s", logs.String())
	}
}
