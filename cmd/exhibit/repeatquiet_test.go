package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRepeatQuiet checks that an error logged again and again (Tessera's
// retries with the database down, every 100 ms) is logged once per
// repeatWindow, then with how many were kept back, while other errors
// and lower levels pass as they are.
func TestRepeatQuiet(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := slog.New(newRepeatQuiet(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), func() time.Time { return now }))
	const msg = "IntegratedSize: failed to read IntCoord: connection refused"
	for range 100 { // 10 s of retries
		l.Error(msg)
		l.Debug("retrying")
		now = now.Add(100 * time.Millisecond)
	}
	l.Error("another error")
	out := buf.String()
	if got := strings.Count(out, msg); got != 1 {
		t.Errorf("%d lines of the repeated error in 10 s, want 1:\n%s", got, out)
	}
	if got := strings.Count(out, "retrying"); got != 100 {
		t.Errorf("%d debug lines, want 100 (lower levels pass)", got)
	}
	if !strings.Contains(out, "another error") {
		t.Errorf("another error was kept back:\n%s", out)
	}
	buf.Reset()
	now = now.Add(repeatWindow)
	l.Error(msg)
	if out := buf.String(); !strings.Contains(out, msg) || !strings.Contains(out, "repeated=99") {
		t.Errorf("after the window: %q, want the error with repeated=99", out)
	}
}
