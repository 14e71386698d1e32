package ingest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// SetRenderer has in render browser captures with r (its browser binary
// and its limit on browsers at once), in place of the renderer with
// render's defaults it makes at its first browser capture.
func (in *Ingester) SetRenderer(r *render.Renderer) {
	in.rmu.Lock()
	in.rend = r
	in.rmu.Unlock()
}

func (in *Ingester) renderer() *render.Renderer {
	in.rmu.Lock()
	defer in.rmu.Unlock()
	if in.rend == nil {
		in.rend = render.New(render.Config{})
	}
	return in.rend
}

// render loads url in a headless browser, stores the main document's body
// and the artefacts (screenshot, PDF, DOM, WARC, and the WACZ packaging
// the WARC) content-addressed and durably,
// and returns the statement's subject name and predicate (method
// "browser"), not yet logged. A render that failed is a predicate with
// outcome "failed" and the render's reason. The browser is closed and its
// profile removed meanwhile, in the background: the caller must call
// done (always, error or not), which waits until that is over.
func (in *Ingester) render(ctx context.Context, rawURL string, o CaptureOptions) (_ string, _ verify.Capture, done func(), _ error) {
	done = func() {}
	name, p, err := in.renderThen(ctx, rawURL, o, &done)
	return name, p, done, err
}

func (in *Ingester) renderThen(ctx context.Context, rawURL string, o CaptureOptions, done *func()) (string, verify.Capture, error) {
	var none verify.Capture
	if err := in.a.Writable(); err != nil {
		return "", none, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", none, fmt.Errorf("%w: %q is not an absolute http(s) URL", archive.ErrInput, rawURL)
	}
	if err := archive.CheckNoCredentials(u); err != nil {
		return "", none, err
	}
	if err := archive.CheckText(map[string]string{"entity": o.Entity, "document": o.Document}); err != nil {
		return "", none, err
	}
	ro := o.Render
	if ro.Timeout == 0 {
		ro.Timeout = o.Fetch.Timeout
	}
	ro.IgnoreCertErrors = ro.IgnoreCertErrors || o.Fetch.InsecureSkipVerify
	if ro.Control == nil {
		ro.Control = o.Fetch.Control
	}
	if t := archive.Tool(); ro.Software == "" {
		ro.Software = t.Name + "/" + t.Version
	}
	res, browserGone, err := in.renderer().RenderThen(ctx, rawURL, ro)
	*done = browserGone
	if err != nil {
		return "", none, err
	}
	rd := res.Rendering
	p := verify.Capture{
		Entity:    o.Entity,
		Document:  o.Document,
		Method:    verify.MethodBrowser,
		Observed:  &res.Observed,
		Rendering: &rd,
		Tool:      archive.Tool(),
	}
	if res.Failure != nil {
		p.Outcome, p.Failure = verify.OutcomeFailed, res.Failure
		return rawURL, p, nil
	}

	// Store everything, then wait once until all of it is durable.
	var waits []func() error
	put := func(b []byte, what string) (store.Object, error) {
		if ap, ok := in.a.Store().(asyncPutter); ok {
			obj, durable, err := ap.PutAsync(ctx, bytes.NewReader(b), int64(len(b)), "")
			if err != nil {
				return obj, fmt.Errorf("storing the %s: %w", what, err)
			}
			waits = append(waits, durable)
			return obj, nil
		}
		obj, err := in.a.Store().Put(ctx, bytes.NewReader(b), int64(len(b)), "")
		if err != nil {
			return obj, fmt.Errorf("storing the %s: %w", what, err)
		}
		return obj, nil
	}
	body, err := put(res.Body, "main document's body")
	if err != nil {
		return "", none, err
	}
	p.Snapshot = &verify.Snapshot{SHA256: body.SHA256, Size: body.Size, MediaType: res.MediaType}
	// The artefacts by their name in verify.ArtefactKinds, one line each.
	type artefact struct {
		name string
		b    []byte
	}
	arts := []artefact{
		{"screenshot", res.Screenshot},
		{"pdf", res.PDF},
		{"dom", res.DOM},
		{"warc", res.WARC},
	}
	if len(res.WARC) > 0 {
		w, err := in.buildWACZ(ctx, res.WARC, &res.Observed, res.DOM)
		if err != nil {
			return "", none, err
		}
		arts = append(arts, artefact{"wacz", w})
	}
	for _, a := range arts {
		k, ok := verify.ArtefactKindOf(a.name)
		if !ok {
			return "", none, fmt.Errorf("no rendering artefact kind %q", a.name)
		}
		obj, err := put(a.b, a.name)
		if err != nil {
			return "", none, err
		}
		k.Set(&rd, &verify.Artefact{SHA256: obj.SHA256, Size: obj.Size, MediaType: k.MediaType})
	}
	if len(res.CertChainPEM) > 0 && p.Observed.TLS != nil {
		obj, err := put(res.CertChainPEM, "certificate chain")
		if err != nil {
			return "", none, err
		}
		p.Observed.TLS.CertificateChainSHA256 = obj.SHA256
	}
	for _, wait := range waits {
		if err := wait(); err != nil {
			return "", none, fmt.Errorf("making the capture durable: %w", err)
		}
	}
	p.Outcome = verify.OutcomeCaptured
	if s := p.Observed.Status; s < 200 || s > 299 {
		p.Outcome = verify.OutcomeHTTPError
	}
	return rawURL, p, nil
}
