package verify

import (
	"errors"
	"fmt"
)

// Wait rules of a browser capture ([Wait.Rule]).
const (
	// WaitNetworkIdle: the page is taken once its load event has fired
	// (at least [Wait.DelayMS] ago) and no request has been in flight for
	// [Wait.IdleMS] milliseconds, or when [Wait.TimeoutMS] has passed
	// since the navigation began, whichever comes first ([Wait.Settled]
	// says which). The rule of statements made before [WaitPageQuiet].
	WaitNetworkIdle = "network_idle"
	// WaitPageQuiet: WaitNetworkIdle, and besides no short one-shot
	// timer of the page pending (a setTimeout of at most
	// [Wait.TimerMaxMS], in a chain of timers begun at most TimerMaxMS
	// before it was set) and no change to the document's nodes or text
	// for IdleMS (the timers' callbacks counting as changes), that
	// quiet waited for at most [Wait.DOMQuietMaxMS] once the rest holds
	// ([Wait.DOMChanging] says it ran out).
	WaitPageQuiet = "page_quiet"
)

// Media types of the artefacts of a browser capture.
const (
	MediaTypePNG  = "image/png"
	MediaTypePDF  = "application/pdf"
	MediaTypeHTML = "text/html; charset=utf-8"
	// MediaTypeWARC is a WARC file (ISO 28500:2017; IANA's
	// application/warc), here WARC/1.1 with each record gzip-compressed
	// on its own (a .warc.gz).
	MediaTypeWARC = "application/warc"
)

// Rendering is the rendering block of a browser capture (capture predicate
// version 2, method "browser"): the browser, how it was set up and waited,
// and the artefacts it rendered, each stored content-addressed and named
// here by SHA-256, so that the statement's one signature and one inclusion
// proof cover all of them. The artefacts are nil for a failed capture and
// set otherwise, except the optional ones ([ArtefactKind.Optional]: warc,
// wacz), which a capture by an earlier exhibit lacks.
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
	// WARC is every HTTP exchange the page made (request and response
	// records, bodies as the browser decoded them) and the main
	// document's TLS certificate chain, as a WARC/1.1 .warc.gz (see
	// docs/FORMATS.md, section 2.10). Optional: statements of browser
	// captures made before exhibit recorded it have none.
	WARC *Artefact `json:"warc,omitempty"`
	// WACZ is that WARC packaged as a signed WACZ 1.1.1 (MediaTypeWACZ;
	// see [CheckWACZ] and docs/FORMATS.md, section 2.10), for
	// ReplayWeb.page and other web-archive tools. Optional, as WARC is.
	WACZ *Artefact `json:"wacz,omitempty"`
	// Navigations are the client-side navigations of the main frame the
	// browser followed while the page loaded (a script setting
	// location, a meta refresh, a form, a link), in order, at most
	// [MaxNavigations]; the document taken is the last one's. Optional:
	// absent when the page did not navigate by itself.
	Navigations []Navigation `json:"navigations,omitempty"`
	// DialogsDismissed counts the JavaScript dialogs (alert, confirm,
	// prompt, beforeunload) the page opened and the browser dismissed.
	DialogsDismissed int `json:"dialogs_dismissed,omitempty"`
	// PageHeight is the page's height in CSS pixels when it was shot;
	// ScreenshotTruncated is set when it exceeded the screenshot's bound
	// (16384 px) and the screenshot shows only the top of the page.
	// Optional: older statements have neither.
	PageHeight          int64 `json:"page_height,omitempty"`
	ScreenshotTruncated bool  `json:"screenshot_truncated,omitempty"`
}

// MaxNavigations bounds [Rendering.Navigations].
const MaxNavigations = 20

var navigationKinds = map[string]bool{"script": true, "meta-refresh": true, "http-refresh": true, "form": true, "link": true, "reload": true, "other": true}

// Navigation is one client-side navigation of the main frame.
type Navigation struct {
	// URL is where the page navigated to.
	URL string `json:"url"`
	// Kind is what started it: "script" (a script set location or
	// called location.assign/replace), "meta-refresh", "http-refresh"
	// (a Refresh header), "form", "link", "reload", or "other".
	Kind string `json:"kind"`
	// AtMS is when it was requested, in milliseconds from the start of
	// the capture's navigation.
	AtMS int64 `json:"at_ms"`
}

// ArtefactKind is one kind of rendering artefact: its name (its field in
// the rendering block), the media type it must have, and its file in an
// evidence package.
type ArtefactKind struct {
	Name      string
	MediaType string
	// File is the artefact's name in an evidence package, under
	// PackageRenderingDir.
	File string
	// Optional reports that a captured rendering may lack it (an
	// artefact added to the format after its first statements).
	Optional bool
	field    func(*Rendering) **Artefact
}

// ArtefactKinds lists the rendering artefacts, in the order they are
// checked, shown and packaged. One line here adds one.
var ArtefactKinds = []ArtefactKind{
	{Name: "screenshot", MediaType: MediaTypePNG, File: "screenshot.png", field: func(r *Rendering) **Artefact { return &r.Screenshot }},
	{Name: "pdf", MediaType: MediaTypePDF, File: "page.pdf", field: func(r *Rendering) **Artefact { return &r.PDF }},
	{Name: "dom", MediaType: MediaTypeHTML, File: "dom.html", field: func(r *Rendering) **Artefact { return &r.DOM }},
	{Name: "warc", MediaType: MediaTypeWARC, File: "capture.warc.gz", Optional: true, field: func(r *Rendering) **Artefact { return &r.WARC }},
	{Name: "wacz", MediaType: MediaTypeWACZ, File: "capture.wacz", Optional: true, field: func(r *Rendering) **Artefact { return &r.WACZ }},
}

// ArtefactKindOf returns the kind called name, or false.
func ArtefactKindOf(name string) (ArtefactKind, bool) {
	for _, k := range ArtefactKinds {
		if k.Name == name {
			return k, true
		}
	}
	return ArtefactKind{}, false
}

// ArtefactNames returns the names of ArtefactKinds, in order.
func ArtefactNames() []string {
	out := make([]string, len(ArtefactKinds))
	for i, k := range ArtefactKinds {
		out[i] = k.Name
	}
	return out
}

// Set sets the artefact of this kind in r.
func (k ArtefactKind) Set(r *Rendering, a *Artefact) { *k.field(r) = a }

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
	// Rule is [WaitPageQuiet], or [WaitNetworkIdle] in older statements.
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
	// DelayMS is the least time waited after the (last) load event
	// before the page may count as settled (Browsertrix's
	// pageExtraDelay). Optional: older statements waited none.
	DelayMS int64 `json:"delay_ms,omitempty"`
	// WaitFor, if set, is a CSS selector the page had to match before it
	// could count as settled; WaitForFound says whether it did within
	// the bound (Settled is false when it did not).
	WaitFor      string `json:"wait_for,omitempty"`
	WaitForFound bool   `json:"wait_for_found,omitempty"`
	// TimerMaxMS, DOMQuietMaxMS, DOMChanging and TimersPending belong to
	// the rule [WaitPageQuiet] (and only to it). TimerMaxMS bounds the
	// delay of a pending timer the page is waited for, and the age of
	// its chain; DOMQuietMaxMS how long the document's quiet is waited
	// for once the load event, the delay, the network, the timers and
	// WaitFor allow the page to be taken. DOMChanging says the document
	// had changed within IdleMS when it was taken (that bound ran out,
	// or the page was taken unsettled); TimersPending counts the short
	// timers still pending then (only when not settled).
	TimerMaxMS    int64 `json:"timer_max_ms,omitempty"`
	DOMQuietMaxMS int64 `json:"dom_quiet_max_ms,omitempty"`
	DOMChanging   bool  `json:"dom_changing,omitempty"`
	TimersPending int   `json:"timers_pending,omitempty"`
}

// Artefact is one stored artefact of a rendering.
type Artefact struct {
	// SHA256 is the lowercase hex SHA-256 of the artefact's bytes, under
	// which the archive stores it.
	SHA256 string `json:"sha256"`
	// Size is its length in bytes.
	Size int64 `json:"size"`
	// MediaType is its kind's (see ArtefactKinds).
	MediaType string `json:"media_type"`
}

// NamedArtefact is an artefact with its name in the rendering block
// (see ArtefactKinds).
type NamedArtefact struct {
	Name string
	*Artefact
}

// Artefacts returns the rendering's artefacts that are set, in the order
// of ArtefactKinds. It is nil for a nil Rendering.
func (r *Rendering) Artefacts() []NamedArtefact {
	if r == nil {
		return nil
	}
	var out []NamedArtefact
	for _, k := range ArtefactKinds {
		if a := *k.field(r); a != nil {
			out = append(out, NamedArtefact{k.Name, a})
		}
	}
	return out
}

// Artefact returns the artefact called name (see ArtefactKinds), or nil if
// r is nil or has none by that name.
func (r *Rendering) Artefact(name string) *Artefact {
	for _, a := range r.Artefacts() {
		if a.Name == name {
			return a.Artefact
		}
	}
	return nil
}

// check applies the rendering block's rules for a capture with outcome.
func (r *Rendering) check(outcome string) error {
	if r.Browser.Name == "" {
		return errors.New("browser has no name")
	}
	if r.Viewport.Width <= 0 || r.Viewport.Height <= 0 || r.Viewport.DeviceScaleFactor <= 0 {
		return fmt.Errorf("viewport %dx%d at scale %g is not positive", r.Viewport.Width, r.Viewport.Height, r.Viewport.DeviceScaleFactor)
	}
	switch w := r.Wait; w.Rule {
	case WaitNetworkIdle:
		if w.TimerMaxMS != 0 || w.DOMQuietMaxMS != 0 || w.DOMChanging || w.TimersPending != 0 {
			return fmt.Errorf("wait rule %q with fields of rule %q", w.Rule, WaitPageQuiet)
		}
	case WaitPageQuiet:
		if w.TimerMaxMS <= 0 || w.DOMQuietMaxMS < 0 || w.TimersPending < 0 {
			return fmt.Errorf("wait rule %q: timer bound %d ms, DOM quiet bound %d ms, pending timers %d are not valid", w.Rule, w.TimerMaxMS, w.DOMQuietMaxMS, w.TimersPending)
		}
		if w.Settled && w.TimersPending > 0 {
			return fmt.Errorf("wait rule %q: settled with %d timers pending", w.Rule, w.TimersPending)
		}
	default:
		return fmt.Errorf("unknown wait rule %q", r.Wait.Rule)
	}
	if r.Wait.IdleMS < 0 || r.Wait.TimeoutMS <= 0 || r.Wait.WaitedMS < 0 {
		return fmt.Errorf("wait times idle %d ms, timeout %d ms, waited %d ms are not valid", r.Wait.IdleMS, r.Wait.TimeoutMS, r.Wait.WaitedMS)
	}
	if r.Wait.DelayMS < 0 {
		return fmt.Errorf("wait delay %d ms is negative", r.Wait.DelayMS)
	}
	if r.Wait.WaitForFound && r.Wait.WaitFor == "" {
		return errors.New("wait_for_found without wait_for")
	}
	if len(r.Navigations) > MaxNavigations {
		return fmt.Errorf("%d navigations, more than %d", len(r.Navigations), MaxNavigations)
	}
	for i, n := range r.Navigations {
		if n.URL == "" || !navigationKinds[n.Kind] || n.AtMS < 0 {
			return fmt.Errorf("navigation %d (%q, kind %q, at %d ms) is not valid", i, n.URL, n.Kind, n.AtMS)
		}
	}
	if r.DialogsDismissed < 0 || r.PageHeight < 0 {
		return fmt.Errorf("negative dialogs %d or page height %d", r.DialogsDismissed, r.PageHeight)
	}
	if r.Requests < 0 || r.TransferBytes < 0 {
		return fmt.Errorf("negative requests %d or transfer bytes %d", r.Requests, r.TransferBytes)
	}
	for _, k := range ArtefactKinds {
		a := *k.field(r)
		switch {
		case a == nil && outcome != OutcomeFailed && !k.Optional:
			return fmt.Errorf("outcome %q without the %s artefact", outcome, k.Name)
		case a == nil:
			continue
		case outcome == OutcomeFailed:
			return fmt.Errorf("a failed capture with a %s artefact", k.Name)
		case !IsSHA256Hex(a.SHA256):
			return fmt.Errorf("%s sha256 %q is not 64 lowercase hex digits", k.Name, a.SHA256)
		case a.Size < 0:
			return fmt.Errorf("%s has negative size %d", k.Name, a.Size)
		case a.MediaType != k.MediaType:
			return fmt.Errorf("%s media type is %q, want %q", k.Name, a.MediaType, k.MediaType)
		}
	}
	return nil
}
