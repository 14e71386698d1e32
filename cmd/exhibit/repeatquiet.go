package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// repeatWindow is how long repeatQuiet keeps back a message it logged.
const repeatWindow = 30 * time.Second

// repeatQuiet logs a warning or error whose message it logged less than
// repeatWindow ago only once that window has passed, with the attribute
// repeated=N (how many it kept back meanwhile). Tessera's AWS driver
// retries its database calls every 100 ms and logs each failure: with the
// database down, some twenty identical lines a second would bury the lines
// that say what is wrong and what exhibit does about it. Lower levels pass
// as they are.
type repeatQuiet struct {
	slog.Handler
	s *repeatState
}

type repeatState struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]*repeatSeen
}

type repeatSeen struct {
	logged time.Time
	kept   int
}

func newRepeatQuiet(h slog.Handler, now func() time.Time) repeatQuiet {
	return repeatQuiet{h, &repeatState{now: now, seen: map[string]*repeatSeen{}}}
}

func (h repeatQuiet) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	s := h.s
	s.mu.Lock()
	now := s.now()
	e := s.seen[r.Message]
	if e != nil && now.Sub(e.logged) < repeatWindow {
		e.kept++
		s.mu.Unlock()
		return nil
	}
	kept := 0
	if e != nil {
		kept = e.kept
	}
	if len(s.seen) >= 1000 { // forget those out of their window
		for m, x := range s.seen {
			if now.Sub(x.logged) >= repeatWindow {
				delete(s.seen, m)
			}
		}
	}
	s.seen[r.Message] = &repeatSeen{logged: now}
	s.mu.Unlock()
	if kept > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", kept))
	}
	return h.Handler.Handle(ctx, r)
}

func (h repeatQuiet) WithAttrs(as []slog.Attr) slog.Handler {
	return repeatQuiet{h.Handler.WithAttrs(as), h.s}
}

func (h repeatQuiet) WithGroup(name string) slog.Handler {
	return repeatQuiet{h.Handler.WithGroup(name), h.s}
}
