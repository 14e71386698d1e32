package verify

import "testing"

// TestRenderingWaitFields: the wait, navigation, dialog and screenshot
// fields of a rendering block are checked; each bad value is refused.
func TestRenderingWaitFields(t *testing.T) {
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
	for _, tc := range []struct {
		name string
		mod  func(*Rendering)
	}{
		{"negative delay", func(r *Rendering) { r.Wait.DelayMS = -1 }},
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
