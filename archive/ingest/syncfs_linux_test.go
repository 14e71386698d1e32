package ingest_test

import (
	"os"

	"golang.org/x/sys/unix"
)

// syscallSyncfs flushes the file system holding f.
func syscallSyncfs(f *os.File) error { return unix.Syncfs(int(f.Fd())) }
