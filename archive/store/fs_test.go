package store_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/store/storetest"
)

func TestFS(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) store.Store {
			s, err := store.NewFS(store.FSConfig{Path: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		Corrupt: func(t *testing.T, s store.Store, digest string, data []byte) {
			root := s.Location()[len("file://"):]
			p := filepath.Join(root, "sha256", digest[:2], digest)
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestFSLayout pins the on-disk layout, which docs and audits rely on.
func TestFSLayout(t *testing.T) {
	root := t.TempDir()
	s, _ := store.NewFS(store.FSConfig{Path: root})
	d := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // SHA-256 of nothing
	if _, err := s.Put(t.Context(), strings.NewReader(""), 0, d); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(root, "sha256", "e3", d))
	if err != nil {
		t.Fatalf("object not at sha256/<2 hex>/<64 hex>: %v", err)
	}
	if fi.Mode().Perm() != 0o444 {
		t.Errorf("object mode %v, want read-only 0444", fi.Mode().Perm())
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "tmp")); len(ents) != 0 {
		t.Errorf("%d temporary files left", len(ents))
	}
}

// TestFSRemove removes an object for good; a second Remove, and one of a
// bad digest, are refused.
func TestFSRemove(t *testing.T) {
	s, err := store.NewFS(store.FSConfig{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("an orphan")
	obj, err := s.Put(t.Context(), bytes.NewReader(data), int64(len(data)), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(t.Context(), obj.SHA256); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), obj.SHA256); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after Remove, Stat = %v, want ErrNotFound", err)
	}
	if err := s.Remove(t.Context(), obj.SHA256); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("second Remove = %v, want ErrNotFound", err)
	}
	if err := s.Remove(t.Context(), "../../etc/passwd"); !errors.Is(err, store.ErrDigest) {
		t.Errorf("Remove of a path = %v, want ErrDigest", err)
	}
}
