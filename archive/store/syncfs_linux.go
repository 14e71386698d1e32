package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

const haveSyncfs = true

// syncFS flushes the file system holding path: data and metadata of every
// file on it, including renames, reach stable storage.
func syncFS(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// linkTemp opens an unnamed file in dir (O_TMPFILE), mode 0444, which
// commit links into place with linkat(2) through /proc/self/fd: a crash
// before then leaves nothing behind, and no temporary name is created or
// renamed.
func linkTemp(dir string) (*temp, error) {
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_WRONLY|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return nil, &os.PathError{Op: "open O_TMPFILE", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), filepath.Join(dir, "(unnamed)"))
	return &temp{
		f: f,
		commit: func(dst string) (bool, error) {
			err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW)
			cerr := f.Close()
			switch {
			case errors.Is(err, unix.EEXIST):
				return true, nil
			case err != nil:
				return false, &os.LinkError{Op: "linkat", Old: f.Name(), New: dst, Err: err}
			}
			return false, cerr
		},
		abort: func() { f.Close() },
	}, nil
}

// probeLinkTemp reports whether linkTemp works in dir.
func probeLinkTemp(dir string) bool {
	t, err := linkTemp(dir)
	if err != nil {
		return false
	}
	p := filepath.Join(dir, ".probe-"+strconv.Itoa(os.Getpid()))
	os.Remove(p)
	existed, err := t.commit(p)
	os.Remove(p)
	return err == nil && !existed
}
