package api

import (
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", now.Add(-recentWindow), false},
		{"30d", time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), false},
		{"0d", now, false},
		{"12h", now.Add(-12 * time.Hour), false},
		{"2026-05-08T11:13:55Z", time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC), false},
		{"2026-05-08T13:13:55+02:00", time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC), false},
		{"-5d", time.Time{}, true},
		{"-12h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
		{"2026-05-08", time.Date(2026, 5, 8, 0, 0, 0, 0, time.UTC), false},
		{"123456d", time.Time{}, true},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, err := parseSince(c.in, now, recentWindow)
			if (err != nil) != c.wantErr {
				t.Fatalf("parseSince(%q) error %v, want error %v", c.in, err, c.wantErr)
			}
			if !got.Equal(c.want) {
				t.Errorf("parseSince(%q) = %s, want %s", c.in, got, c.want)
			}
		})
	}
}

// FuzzParseSince: parseSince never panics, and a relative since is never
// after now.
func FuzzParseSince(f *testing.F) {
	for _, s := range []string{"", "30d", "12h", "2026-05-08T11:13:55Z", "-1d", "99999d", "1e9h"} {
		f.Add(s)
	}
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseSince(s, now, recentWindow)
		if err != nil {
			return
		}
		if _, perr := time.Parse(time.RFC3339, s); perr != nil && got.After(now) {
			t.Errorf("parseSince(%q) = %s, after now", s, got)
		}
	})
}
