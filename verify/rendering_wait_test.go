package verify

import "testing"

// TestRenderingWaitFields: the wait, navigation, dialog and screenshot
// fields of a rendering block are checked; each bad value is refused.
func TestRenderingWaitFields(t *testing.T) {
	quiet := func() Wait {
		return Wait{Rule: WaitPageQuiet, IdleMS: 500, TimeoutMS: 15000, Settled: true, WaitedMS: 800, TimerMaxMS: 5000, DOMQuietMaxMS: 2000}
	}
	good := func() Rendering {
		return Rendering{
			Browser:     Browser{Name: "Chrome"},
			Viewport:    Viewport{Width: 1280, Height: 800, DeviceScaleFactor: 1},
			Wait:        Wait{Rule: WaitNetworkIdle, IdleMS: 500, TimeoutMS: 15000, DelayMS: 2000, WaitFor: "#clause", WaitForFound: true, Settled: true},
			Navigations: []Navigation{{URL: "https://example.com/terms", Kind: "script", AtMS: 300}},
			PageHeight:  20000, ScreenshotTruncated: true, DialogsDismissed: 1,
		}
	}
	r := good()
	if err := r.check(OutcomeFailed); err != nil {
		t.Fatalf("a good block is refused: %v", err)
	}
	for _, w := range []Wait{quiet(), func() Wait { w := quiet(); w.DOMChanging = true; return w }(),
		func() Wait { w := quiet(); w.Settled, w.TimersPending, w.DOMChanging = false, 2, true; return w }()} {
		r := good()
		r.Wait = w
		if err := r.check(OutcomeFailed); err != nil {
			t.Errorf("a good page_quiet wait %+v is refused: %v", w, err)
		}
	}
	for _, tc := range []struct {
		name string
		mod  func(*Rendering)
	}{
		{"negative delay", func(r *Rendering) { r.Wait.DelayMS = -1 }},
		{"unknown rule", func(r *Rendering) { r.Wait.Rule = "whenever" }},
		{"page_quiet without timer bound", func(r *Rendering) { r.Wait = quiet(); r.Wait.TimerMaxMS = 0 }},
		{"page_quiet negative DOM bound", func(r *Rendering) { r.Wait = quiet(); r.Wait.DOMQuietMaxMS = -1 }},
		{"page_quiet negative pending", func(r *Rendering) { r.Wait = quiet(); r.Wait.TimersPending = -1 }},
		{"page_quiet settled with timers pending", func(r *Rendering) { r.Wait = quiet(); r.Wait.TimersPending = 1 }},
		{"network_idle with a timer bound", func(r *Rendering) { r.Wait.TimerMaxMS = 5000 }},
		{"network_idle with dom_changing", func(r *Rendering) { r.Wait.DOMChanging = true }},
		{"found without selector", func(r *Rendering) { r.Wait.WaitFor = "" }},
		{"unknown navigation kind", func(r *Rendering) { r.Navigations[0].Kind = "teleport" }},
		{"navigation without URL", func(r *Rendering) { r.Navigations[0].URL = "" }},
		{"negative navigation time", func(r *Rendering) { r.Navigations[0].AtMS = -5 }},
		{"too many navigations", func(r *Rendering) {
			for range MaxNavigations {
				r.Navigations = append(r.Navigations, r.Navigations[0])
			}
		}},
		{"negative dialogs", func(r *Rendering) { r.DialogsDismissed = -1 }},
		{"negative page height", func(r *Rendering) { r.PageHeight = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.mod(&r)
			if err := r.check(OutcomeFailed); err == nil {
				t.Error("accepted")
			}
		})
	}
}
