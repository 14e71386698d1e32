package cite

import (
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

// TestWaitOutcome checks that a browser capture's wait is worded from
// what its statement records: settled, taken unsettled, or failed with
// nothing taken (and, when the browser never loaded the page, nothing
// said of a bound running out).
func TestWaitOutcome(t *testing.T) {
	settled := verify.Wait{Rule: verify.WaitNetworkIdle, IdleMS: 500, TimeoutMS: 15000, WaitedMS: 2700, DelayMS: 2000, Settled: true}
	unsettled := settled
	unsettled.Settled, unsettled.WaitedMS, unsettled.WaitFor = false, 15000, "#clause"
	found := settled
	found.WaitFor, found.WaitForFound = "#clause", true
	unavailable := verify.Wait{Rule: verify.WaitNetworkIdle, IdleMS: 500, TimeoutMS: 15000}
	late := settled
	late.WaitedMS = 900
	late.Settled = false
	quiet := verify.Wait{Rule: verify.WaitPageQuiet, IdleMS: 500, TimeoutMS: 15000, WaitedMS: 3100, TimerMaxMS: 5000, DOMQuietMaxMS: 2000, Settled: true}
	changing := quiet
	changing.DOMChanging = true
	pending := quiet
	pending.Settled, pending.WaitedMS, pending.TimersPending = false, 15000, 2
	for _, tc := range []struct {
		desc     string
		wait     verify.Wait
		failure  string
		want     []string
		dontWant []string
	}{
		{"settled", settled, "", []string{"settled after 2700 ms (the wait rule was met)"}, []string{"NOT", "bound"}},
		{"settled on a selector", found, "", []string{"settled after 2700 ms (the wait rule was met, #clause matched)"}, []string{"NOT"}},
		{"not settled", unsettled, "", []string{"NOT settled: the page had not met the wait rule when the 15000 ms bound ran out (nothing matched #clause); it was taken as it was then"}, nil},
		{"no browser", unavailable, "browser_unavailable", []string{"the capture FAILED (browser_unavailable) before any page was loaded: nothing was taken"}, []string{"settled", "bound", "15000"}},
		{"failed after settling", settled, "timeout", []string{"the page settled after 2700 ms, then the capture FAILED (timeout): nothing was taken"}, []string{"NOT settled"}},
		{"page quiet", quiet, "", []string{"settled after 3100 ms (the wait rule was met)"}, []string{"CHANGING", "NOT"}},
		{"still changing", changing, "", []string{"settled after 3100 ms (the wait rule was met), but the page was STILL CHANGING: its nodes or text had changed within 500 ms when it was taken, after the 2000 ms allowed for it to stop"}, []string{"NOT"}},
		{"timers pending", pending, "", []string{"NOT settled: the page had not met the wait rule when the 15000 ms bound ran out (2 short timers of the page still pending); it was taken as it was then"}, nil},
		{"failed while loading", late, "crashed", []string{"the capture FAILED (crashed) after 900 ms, before the page settled: nothing was taken"}, []string{"bound"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p := &verify.Capture{Method: verify.MethodBrowser, Outcome: verify.OutcomeCaptured, Rendering: &verify.Rendering{Wait: tc.wait}}
			if tc.failure != "" {
				p.Outcome, p.Failure = verify.OutcomeFailed, &verify.Failure{Reason: tc.failure, Message: "m"}
			}
			got := WaitOutcome(p)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("WaitOutcome = %q, lacks %q", got, w)
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(got, w) {
					t.Errorf("WaitOutcome = %q, says %q", got, w)
				}
			}
		})
	}
	if got, want := WaitRule(found), "the load event, then at least 2000 ms, then no request in flight for 500 ms, and an element matching #clause; at most 15000 ms from the start of the navigation"; got != want {
		t.Errorf("WaitRule = %q, want %q", got, want)
	}
	quiet.WaitFor, quiet.DelayMS = "#clause", 1000
	if got, want := WaitRule(quiet), "the load event, then at least 1000 ms, then no request in flight for 500 ms, no timer of the page of at most 5000 ms pending, an element matching #clause, and no change to the nodes or text of the page for 500 ms (waited for at most 2000 ms); at most 15000 ms from the start of the navigation"; got != want {
		t.Errorf("WaitRule(page_quiet) = %q, want %q", got, want)
	}
	if got := WaitOutcome(&verify.Capture{Method: verify.MethodFetch}); got != "" {
		t.Errorf("WaitOutcome of a fetch = %q", got)
	}
}
