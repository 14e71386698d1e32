package verify

import (
	"errors"
	"fmt"
)

// WaitNetworkIdle is the wait rule of a browser capture: the page is taken
// once its load event has fired and no request has been in flight for
// [Wait.IdleMS] milliseconds, or when [Wait.TimeoutMS] has passed since the
// navigation began, whichever comes first ([Wait.Settled] says which).
const WaitNetworkIdle = "network_idle"

// Media types of the artefacts of a browser capture.
const (
	MediaTypePNG  = "image/png"
	MediaTypePDF  = "application/pdf"
	MediaTypeHTML = "text/html; charset=utf-8"
)

// Rendering is the rendering block of a browser capture (capture predicate
// version 2, method "browser"): the browser, how it was set up and waited,
// and the artefacts it rendered, each stored content-addressed and named
// here by SHA-256, so that the statement's one signature and one inclusion
// proof cover all of them. The artefacts are nil for a failed capture and
// all set otherwise.
type Rendering struct {
	Browser  Browser  `json:"browser"`
	Viewport Viewport `json:"viewport"`
	Wait     Wait     `json:"wait"`
	// Requests is the number of HTTP requests the page made (the main
	// document and every sub-resource, redirects counted once each);
	// TransferBytes the bytes they received, as encoded on the wire.
	Requests      int   `json:"requests"`
	TransferBytes int64 `json:"transfer_bytes"`
	// Screenshot is a PNG of the whole page (beyond the viewport) at the
	// viewport's width.
	Screenshot *Artefact `json:"screenshot,omitempty"`
	// PDF is the page printed by the browser (screen media, backgrounds).
	PDF *Artefact `json:"pdf,omitempty"`
	// DOM is the document after its scripts ran, serialized as HTML
	// (doctype and document element, UTF-8).
	DOM *Artefact `json:"dom,omitempty"`
	// WACZ is the capture's WARC packaged as a signed WACZ 1.1.1
	// (MediaTypeWACZ; see [CheckWACZ]), for ReplayWeb.page and other
	// web-archive tools. Optional: browser captures made before exhibit
	// wrote WACZs have none.
	WACZ *Artefact `json:"wacz,omitempty"`
}

// Browser names the browser that rendered the page.
type Browser struct {
	// Name and Version are the browser's product, e.g. "HeadlessChrome"
	// and "156.0.8078.114" (Chromium's Browser.getVersion). Version is
	// empty when the browser could not be started.
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// UserAgent is the User-Agent header the browser sent.
	UserAgent string `json:"user_agent,omitempty"`
}

// Viewport is the browser window's layout size in CSS pixels.
type Viewport struct {
	Width             int     `json:"width"`
	Height            int     `json:"height"`
	DeviceScaleFactor float64 `json:"device_scale_factor"`
}

// Wait is the rule the browser waited by before the page was taken.
type Wait struct {
	// Rule is [WaitNetworkIdle].
	Rule string `json:"rule"`
	// IdleMS is the quiet time the rule waits for; TimeoutMS its bound,
	// counted from the start of the navigation.
	IdleMS    int64 `json:"idle_ms"`
	TimeoutMS int64 `json:"timeout_ms"`
	// Settled reports whether the page became idle within the bound; a
	// page taken when the bound ran out has Settled false.
	Settled bool `json:"settled"`
	// WaitedMS is the time from the start of the navigation to the moment
	// the page was taken (or the capture failed).
	WaitedMS int64 `json:"waited_ms"`
}

// Artefact is one stored artefact of a rendering.
type Artefact struct {
	// SHA256 is the lowercase hex SHA-256 of the artefact's bytes, under
	// which the archive stores it.
	SHA256 string `json:"sha256"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// MediaType is MediaTypePNG, MediaTypePDF, MediaTypeHTML or
	// MediaTypeWACZ.
	MediaType string `json:"media_type"`
}

// NamedArtefact is an artefact with its name in the rendering block
// ("screenshot", "pdf", "dom", "wacz").
type NamedArtefact struct {
	Name string
	*Artefact
}

// Artefacts returns the rendering's artefacts that are set, in the order
// screenshot, pdf, dom, wacz. It is nil for a nil Rendering.
func (r *Rendering) Artefacts() []NamedArtefact {
	if r == nil {
		return nil
	}
	var out []NamedArtefact
	for _, a := range []NamedArtefact{{"screenshot", r.Screenshot}, {"pdf", r.PDF}, {"dom", r.DOM}, {"wacz", r.WACZ}} {
		if a.Artefact != nil {
			out = append(out, a)
		}
	}
	return out
}

// Artefact returns the artefact called name ("screenshot", "pdf", "dom",
// "wacz"),
// or nil if r is nil or has none by that name.
func (r *Rendering) Artefact(name string) *Artefact {
	for _, a := range r.Artefacts() {
		if a.Name == name {
			return a.Artefact
		}
	}
	return nil
}

// artefactMediaTypes is the media type each artefact must have;
// requiredArtefacts those every browser capture that did not fail has.
var (
	artefactMediaTypes = map[string]string{"screenshot": MediaTypePNG, "pdf": MediaTypePDF, "dom": MediaTypeHTML, "wacz": MediaTypeWACZ}
	requiredArtefacts  = []string{"screenshot", "pdf", "dom"}
)

// check applies the rendering block's rules for a capture with outcome.
func (r *Rendering) check(outcome string) error {
	if r.Browser.Name == "" {
		return errors.New("browser has no name")
	}
	if r.Viewport.Width <= 0 || r.Viewport.Height <= 0 || r.Viewport.DeviceScaleFactor <= 0 {
		return fmt.Errorf("viewport %dx%d at scale %g is not positive", r.Viewport.Width, r.Viewport.Height, r.Viewport.DeviceScaleFactor)
	}
	if r.Wait.Rule != WaitNetworkIdle {
		return fmt.Errorf("unknown wait rule %q", r.Wait.Rule)
	}
	if r.Wait.IdleMS < 0 || r.Wait.TimeoutMS <= 0 || r.Wait.WaitedMS < 0 {
		return fmt.Errorf("wait times idle %d ms, timeout %d ms, waited %d ms are not valid", r.Wait.IdleMS, r.Wait.TimeoutMS, r.Wait.WaitedMS)
	}
	if r.Requests < 0 || r.TransferBytes < 0 {
		return fmt.Errorf("negative requests %d or transfer bytes %d", r.Requests, r.TransferBytes)
	}
	arts := r.Artefacts()
	if outcome == OutcomeFailed {
		if len(arts) != 0 {
			return fmt.Errorf("a failed capture with a %s artefact", arts[0].Name)
		}
		return nil
	}
	for _, n := range requiredArtefacts {
		if r.Artefact(n) == nil {
			return fmt.Errorf("outcome %q without the %s artefact (the artefacts screenshot, pdf and dom are required)", outcome, n)
		}
	}
	for _, a := range arts {
		if !IsSHA256Hex(a.SHA256) {
			return fmt.Errorf("%s sha256 %q is not 64 lowercase hex digits", a.Name, a.SHA256)
		}
		if a.Size < 0 {
			return fmt.Errorf("%s has negative size %d", a.Name, a.Size)
		}
		if want := artefactMediaTypes[a.Name]; a.MediaType != want {
			return fmt.Errorf("%s media type is %q, want %q", a.Name, a.MediaType, want)
		}
	}
	return nil
}
