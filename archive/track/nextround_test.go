package track_test

import (
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/track"
)

// TestNextRound: a round that left documents to another frontend is
// followed by the next soon after a lease would expire, never later than
// the interval; any other round by the interval.
func TestNextRound(t *testing.T) {
	soon := archive.LeaseTTL + time.Second
	for _, c := range []struct {
		desc      string
		rep       *track.RunReport
		interval  time.Duration
		wantRound time.Duration
	}{
		{"nothing left elsewhere", &track.RunReport{}, time.Minute, time.Minute},
		{"left elsewhere, long interval", &track.RunReport{Elsewhere: []string{"d"}}, time.Minute, soon},
		{"left elsewhere, short interval", &track.RunReport{Elsewhere: []string{"d"}}, time.Second, time.Second},
		{"no report", nil, time.Minute, time.Minute},
	} {
		if got := c.rep.NextRound(c.interval); got != c.wantRound {
			t.Errorf("%s: NextRound(%v) = %v, want %v", c.desc, c.interval, got, c.wantRound)
		}
	}
}
