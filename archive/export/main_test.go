package export_test

import (
	"log/slog"

	"k8s.io/klog/v2"
)

// Tessera logs through klog; keep test output to the tests' own.
func init() { klog.SetSlogLogger(slog.New(slog.DiscardHandler)) }
