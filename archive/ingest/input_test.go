package ingest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
)

// TestFileInput: a named pipe or a device is refused at once
// (*ingest.NotRegularError, wrapping archive.ErrInput), and the reading of
// a large file stops when the context is cancelled, leaving nothing in the
// store.
func TestFileInput(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(pipe, 0o644); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{pipe: "a named pipe (FIFO)", "/dev/zero": "a character device", dir: "a directory"} {
		done := make(chan error, 1)
		go func() {
			_, err := in.File(t.Context(), path, ingest.FileOptions{})
			done <- err
		}()
		select {
		case err := <-done:
			var ne *ingest.NotRegularError
			if !errors.As(err, &ne) || !errors.Is(err, archive.ErrInput) || ne.Path != path || err.Error() != path+" is "+kind+", not a regular file: exhibit archives regular files only" {
				t.Errorf("File(%s) = %v, want a *NotRegularError naming it %s", path, err, kind)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("File(%s) blocked", path)
		}
		if _, err := ingest.ReadManifest(path); !errors.Is(err, archive.ErrInput) {
			t.Errorf("ReadManifest(%s) = %v, want it refused", path, err)
		}
	}

	huge := filepath.Join(dir, "huge.bin")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		f.Close()
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = in.File(ctx, huge, ingest.FileOptions{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("File of a 1 TiB file, cancelled: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("File stopped %v after its context ended", d)
	}
	for d, err := range a.Store().List(t.Context()) {
		t.Errorf("left in the store: %s %v", d, err)
	}
	tmp, _ := os.ReadDir(filepath.Join(a.Dir(), "objects", "tmp"))
	if len(tmp) > 0 {
		t.Errorf("left in the store's tmp/: %v", tmp)
	}
}
