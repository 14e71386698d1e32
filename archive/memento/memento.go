// Package memento corroborates captures with independent web archives: it
// asks a Memento TimeGate (RFC 7089, https://www.rfc-editor.org/rfc/rfc7089)
// for the archive's memento of a captured URL nearest the capture's time,
// reads the memento's Memento-Datetime, and logs what it found (or that
// the archive holds none) as a signed corroboration statement
// (docs/FORMATS.md section 2.9) that refers to the capture.
package memento

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// ErrArchive is wrapped by the errors of an archive that did not answer as
// a TimeGate does: nothing is logged for it.
var ErrArchive = errors.New("the archive did not answer as a Memento TimeGate")

// Client asks TimeGates.
type Client struct {
	// HTTP does the requests; default: a 20 s timeout, no redirect
	// followed (a TimeGate's redirect is its answer).
	HTTP *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// CheckTimeGate checks a TimeGate prefix: an absolute http(s) URL, to
// which the captured URL is appended ("https://web.archive.org/web/",
// "https://other-exhibit.example/timegate/").
func CheckTimeGate(prefix string) error {
	u, err := url.Parse(prefix)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("%w: TimeGate %q is not an http(s) URL prefix (e.g. https://web.archive.org/web/)", archive.ErrInput, prefix)
	}
	return nil
}

// Corroborate asks each TimeGate for its memento of capture id's URL
// nearest the capture's time and logs one corroboration statement per
// TimeGate that answered. A TimeGate that fails to answer (a network
// error, or a status other than a redirect or 404) is an error wrapping
// ErrArchive, and the statements of those that answered before it are
// kept. A record that is not a successful fetch is archive.ErrInput.
func (c *Client) Corroborate(ctx context.Context, a *archive.Archive, id string, timegates []string) ([]*record.Record, error) {
	for _, tg := range timegates {
		if err := CheckTimeGate(tg); err != nil {
			return nil, err
		}
	}
	rec, err := a.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Kind != record.Capture || rec.Outcome != "captured" || rec.Method != verify.MethodFetch {
		return nil, fmt.Errorf("%w: %s is not a capture exhibit fetched (a %s record, %s %s): only those are corroborated", archive.ErrInput, rec.ID, rec.Kind, rec.Method, rec.Outcome)
	}
	at, err := verify.ParseTime(rec.CapturedAt)
	if err != nil {
		return nil, err
	}
	var out []*record.Record
	for _, tg := range timegates {
		// The URL fetched: a fragment is never sent, to the origin when
		// captured nor to a TimeGate.
		uri, _, _ := strings.Cut(rec.URL, "#")
		p, err := c.ask(ctx, tg+uri, at)
		if err != nil {
			return out, err
		}
		p.Capture, p.URL, p.CapturedAt = rec.ID, rec.URL, rec.CapturedAt
		p.CheckedAt, p.Tool = verify.FormatTime(time.Now()), archive.Tool()
		r, err := a.Log(ctx, &verify.CorroborationStatement{
			Type: verify.StatementType, PredicateType: verify.CorroborationPredicateType,
			Subject:   []verify.Subject{{Name: rec.URL, Digest: map[string]string{"sha256": rec.SHA256}}},
			Predicate: *p,
		})
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ask asks one TimeGate for the memento of a URL nearest at.
func (c *Client) ask(ctx context.Context, timegate string, at time.Time) (*verify.Corroboration, error) {
	p := &verify.Corroboration{TimeGate: timegate}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, timegate, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrArchive, timegate, err)
	}
	req.Header.Set("Accept-Datetime", at.UTC().Format(http.TimeFormat))
	req.Header.Set("User-Agent", "exhibit/"+archive.Version)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrArchive, timegate, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	p.Status = resp.StatusCode
	switch {
	case resp.StatusCode == http.StatusNotFound:
		p.Result = verify.CorroborationNone
		return p, nil
	case resp.StatusCode < 300 || resp.StatusCode > 399 || resp.Header.Get("Location") == "":
		return nil, fmt.Errorf("%w: %s answered HTTP %d without a Location", ErrArchive, timegate, resp.StatusCode)
	}
	loc, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil || (loc.Scheme != "http" && loc.Scheme != "https") {
		return nil, fmt.Errorf("%w: %s redirected to %q", ErrArchive, timegate, resp.Header.Get("Location"))
	}
	// The memento says its own datetime.
	mreq, _ := http.NewRequestWithContext(ctx, http.MethodHead, loc.String(), nil)
	mreq.Header.Set("User-Agent", "exhibit/"+archive.Version)
	mresp, err := c.http().Do(mreq)
	if err != nil {
		return nil, fmt.Errorf("%w: memento %s: %v", ErrArchive, loc, err)
	}
	mresp.Body.Close()
	md, err := http.ParseTime(mresp.Header.Get("Memento-Datetime"))
	if err != nil {
		return nil, fmt.Errorf("%w: memento %s has no Memento-Datetime (HTTP %d)", ErrArchive, loc, mresp.StatusCode)
	}
	p.Result, p.Memento, p.MementoDatetime = verify.CorroborationFound, loc.String(), verify.FormatTime(md)
	return p, nil
}

// Of returns the corroborations logged for a capture, in log order.
func Of(ctx context.Context, a *archive.Archive, captureID string) ([]*record.Record, error) {
	recs, err := a.Index().Tracking(ctx, index.TrackingQuery{Kinds: []string{record.Corroboration}, Ref: captureID})
	if err != nil {
		return nil, err
	}
	return recs, nil
}
