// Package durable writes files that survive a crash of the process or of
// the machine: when a call returns nil, the file's content and its name
// are on stable storage (the file and its directory fsynced, as POSIX
// requires for a rename or a new name to persist).
package durable

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file beside path, fsyncs it, renames
// it over path and fsyncs the directory, so that path holds either its old
// or its new content, durably, and is never seen torn.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// ExistsError is returned by [CreateFile] when path already holds other
// content. It wraps fs.ErrExist.
type ExistsError struct {
	Path string
	// Have is the content path holds.
	Have []byte
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s already exists with other content", e.Path)
}

func (e *ExistsError) Unwrap() error { return fs.ErrExist }

// CreateFile creates path with data, durably, once: the file is written
// and fsynced under a temporary name, then linked to path (which fails if
// path exists: the file is never replaced) and the directory fsynced.
// Creating a file that already holds exactly data returns nil (after
// making sure that it is durable), so a crashed writer may create again;
// one that holds other content returns an *ExistsError. Missing parent
// directories are created (see [MkdirAll]).
func CreateFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		have, rerr := os.ReadFile(path)
		if rerr != nil {
			return rerr
		}
		if !bytes.Equal(have, data) {
			return &ExistsError{Path: path, Have: have}
		}
		// The same content, perhaps from a writer that died before it
		// synced the directory: sync it now.
		if err := syncFile(path); err != nil {
			return err
		}
		err = nil
	}
	if err != nil {
		return err
	}
	if err := os.Remove(tmp); err != nil {
		return err
	}
	return SyncDir(dir)
}

// MkdirAll creates dir and any missing parents, like os.MkdirAll, and
// fsyncs the parent of each directory it creates, so that the new
// directories persist.
func MkdirAll(dir string, perm os.FileMode) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return SyncDir(parent)
}

// SyncDir fsyncs a directory, making the names in it durable.
func SyncDir(dir string) error {
	return syncFile(dir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeTemp writes data to a new fsynced temporary file in path's
// directory and returns its name.
func writeTemp(path string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
