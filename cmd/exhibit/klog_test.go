package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestCanceledQuiet checks that Tessera's errors reporting only a
// cancelled context (at every clean shutdown) are logged at debug level,
// and every other error as it is.
func TestCanceledQuiet(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelDebug} {
		var buf bytes.Buffer
		l := slog.New(canceledQuiet{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level})})
		l.Error("NextIndex: failed to read DB: context canceled")
		l.Error("NextIndex: failed to read DB: connection refused")
		out := buf.String()
		if !strings.Contains(out, "level=ERROR msg=\"NextIndex: failed to read DB: connection refused\"") {
			t.Errorf("at %v, a real error is not logged as one:\n%s", level, out)
		}
		canceled := strings.Contains(out, "context canceled")
		if level == slog.LevelWarn && canceled {
			t.Errorf("at %v, a cancelled context is logged:\n%s", level, out)
		}
		if level == slog.LevelDebug && !strings.Contains(out, "level=DEBUG msg=\"NextIndex: failed to read DB: context canceled\"") {
			t.Errorf("at %v, a cancelled context is not logged at debug:\n%s", level, out)
		}
	}
}
