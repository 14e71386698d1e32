package store

import (
	"os"

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
