package cite

import (
	"fmt"
	"strings"

	"github.com/exhibit-archive/exhibit/verify"
)

// SettledMeaning says what "settled" means in a browser capture's
// record, for people: next to the word wherever it is shown.
const SettledMeaning = "“settled” means only that the documented wait rule was met; it does not mean the page could change no further. " +
	"A page that builds its content later can be captured with exhibit capture's --browser-wait-for SELECTOR (wait for an element) or a longer --browser-delay"

// WaitRule words a browser capture's wait rule (verify.Wait), e.g. "the
// load event, then at least 2000 ms, then no request in flight for 500
// ms, no timer of the page of at most 5000 ms pending, an element matching
// #clause, and no change to the nodes or text of the page for 500 ms (waited
// for at most 2000 ms); at most 15000 ms from the start of the
// navigation". Rule network_idle (older statements) has no timer or
// document clause.
func WaitRule(w verify.Wait) string {
	var b strings.Builder
	b.WriteString("the load event")
	if w.DelayMS > 0 {
		fmt.Fprintf(&b, ", then at least %d ms", w.DelayMS)
	}
	fmt.Fprintf(&b, ", then no request in flight for %d ms", w.IdleMS)
	if w.Rule == verify.WaitPageQuiet {
		fmt.Fprintf(&b, ", no timer of the page of at most %d ms pending", w.TimerMaxMS)
	}
	if w.WaitFor != "" {
		and := "and "
		if w.Rule == verify.WaitPageQuiet {
			and = ""
		}
		fmt.Fprintf(&b, ", %san element matching %s", and, w.WaitFor)
	}
	if w.Rule == verify.WaitPageQuiet {
		fmt.Fprintf(&b, ", and no change to the nodes or text of the page for %d ms", w.IdleMS)
		if w.DOMQuietMaxMS > 0 {
			fmt.Fprintf(&b, " (waited for at most %d ms)", w.DOMQuietMaxMS)
		}
	}
	fmt.Fprintf(&b, "; at most %d ms from the start of the navigation", w.TimeoutMS)
	return b.String()
}

// WaitOutcome words what a browser capture's statement records of its
// wait, for people: whether the page settled (met the wait rule), or was
// taken unsettled when the bound ran out, or whether the capture failed
// and nothing was taken (then with the failure's reason, and, when the
// browser never loaded the page, saying so: a capture whose browser could
// not start waited for nothing). It returns "" for a capture without a
// rendering block.
func WaitOutcome(p *verify.Capture) string {
	rd := p.Rendering
	if rd == nil {
		return ""
	}
	w := rd.Wait
	if p.Outcome == verify.OutcomeFailed {
		reason := "unknown reason"
		if p.Failure != nil {
			reason = p.Failure.Reason
		}
		switch {
		case w.WaitedMS == 0:
			return fmt.Sprintf("the capture FAILED (%s) before any page was loaded: nothing was taken", reason)
		case w.Settled:
			return fmt.Sprintf("the page settled after %d ms, then the capture FAILED (%s): nothing was taken", w.WaitedMS, reason)
		}
		return fmt.Sprintf("the capture FAILED (%s) after %d ms, before the page settled: nothing was taken", reason, w.WaitedMS)
	}
	if w.Settled {
		s := fmt.Sprintf("settled after %d ms (the wait rule was met", w.WaitedMS)
		if w.WaitFor != "" {
			s += ", " + w.WaitFor + " matched"
		}
		s += ")"
		if w.DOMChanging {
			s += fmt.Sprintf(", but the page was STILL CHANGING: its nodes or text had changed within %d ms when it was taken, after the %d ms allowed for it to stop", w.IdleMS, w.DOMQuietMaxMS)
		}
		return s
	}
	s := fmt.Sprintf("NOT settled: the page had not met the wait rule when the %d ms bound ran out", w.TimeoutMS)
	if w.WaitFor != "" && !w.WaitForFound {
		s += " (nothing matched " + w.WaitFor + ")"
	}
	if w.TimersPending > 0 {
		s += fmt.Sprintf(" (%d short timers of the page still pending)", w.TimersPending)
	}
	return s + "; it was taken as it was then"
}
