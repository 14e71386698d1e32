//go:build !linux

package ingest_test

import (
	"os"
	"syscall"
)

// syscallSyncfs flushes every file system (syncfs is Linux only).
func syscallSyncfs(*os.File) error { syscall.Sync(); return nil }
