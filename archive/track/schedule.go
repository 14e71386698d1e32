package track

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/internal/par"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// RunOptions configure Run.
type RunOptions struct {
	// All captures every tracked document, due or not.
	All bool
	// Only, if set, restricts the run to these document IDs.
	Only []string
	// Concurrency bounds the documents captured at once. Default 4.
	Concurrency int
	// HostDelay is the least time between two requests to the same host
	// (politeness). Default 1 s; negative: none.
	HostDelay time.Duration
	// Retries is how many times a transient failure (timeout, connection
	// refused or reset, DNS, HTTP 429 or 5xx) is retried. Default 2;
	// negative: none. Every attempt is logged as the capture it was.
	Retries int
	// RetryDelay is the wait before the first retry, doubled for each
	// next one. Default 2 s.
	RetryDelay time.Duration
	// Fetch are the capture options. Its Control, if set, is the address
	// policy of every capture of the run, fetched or rendered (see
	// ingest.CaptureOptions): exhibit serve --track sets
	// capture.RefusePrivate unless --allow-private-targets.
	Fetch capture.Options
	// Now is the clock deciding what is due. Default time.Now.
	Now func() time.Time
	// Progress, if set, is called after each document, from any goroutine.
	Progress func(*TrackResult)
}

// RunReport is what Run did.
type RunReport struct {
	// Tracked is the number of tracked documents; Due the number this run
	// captured (a failed capture counts; a document left to another
	// frontend, or that failed with an archive error, does not).
	Tracked int            `json:"tracked"`
	Due     int            `json:"due"`
	Results []*TrackResult `json:"results"`
	// Earlier are the results of captures made before this run and read
	// now (see UnreadSnapshot): a capture made before the document was
	// tracked, or one a killed process left unread.
	Earlier []*TrackResult `json:"earlier,omitempty"`
	// Errors are the documents the archive could not process (not failed
	// captures, which are results).
	Errors []DocumentError `json:"errors,omitempty"`
	// Elsewhere are the due documents another frontend of a shared
	// archive was tracking, or had just tracked, when this run came to
	// them: left to it.
	Elsewhere []string `json:"elsewhere,omitempty"`
}

// NextRound returns how long a runner that runs a round every interval
// waits before the next one after this report's round: interval, or, if
// the round left documents to other frontends (Elsewhere), at most
// archive.LeaseTTL and a second, so that a document whose frontend died
// holding its lease is captured soon after the lease expires rather
// than up to a whole interval later.
func (r *RunReport) NextRound(interval time.Duration) time.Duration {
	if r != nil && len(r.Elsewhere) > 0 {
		return min(interval, archive.LeaseTTL+time.Second)
	}
	return interval
}

// DocumentError is an archive error while processing a document.
type DocumentError struct {
	Document string `json:"document_id"`
	Error    string `json:"error"`
}

// Due reports whether a document is due for capture at now: never
// captured, or last captured at least its interval ago.
func (d *Document) Due(now time.Time) bool {
	if d.LastCapture == "" {
		return true
	}
	t, err := verify.ParseTime(d.LastCapture)
	return err != nil || !now.Before(t.Add(time.Duration(d.EverySeconds)*time.Second))
}

// lastCapture returns the newest capture of a tracked document (any
// outcome), or nil.
func (t *Tracker) lastCapture(ctx context.Context, entity, document string) (*record.Record, error) {
	recs, err := t.a.Index().Search(ctx, index.SearchQuery{Entity: entity, Document: document, Limit: 1})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	return recs[0], nil
}

// Run captures every tracked document that is due (all of them with
// o.All), at most o.Concurrency at once and o.HostDelay apart per host,
// retrying transient failures, and records each one's version, confirmation
// or failure. It returns when all are done or ctx is cancelled; an
// interrupted document is left as it was (its capture, if logged, is
// processed by the next run).
func (t *Tracker) Run(ctx context.Context, o RunOptions) (*RunReport, error) {
	if err := t.a.Writable(); err != nil {
		return nil, err
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.HostDelay == 0 {
		o.HostDelay = time.Second
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	docs, err := t.Documents(ctx)
	if err != nil {
		return nil, err
	}
	rep := &RunReport{Tracked: len(docs), Results: []*TrackResult{}}
	for _, d := range docs {
		res, err := t.recoverSnapshot(ctx, d)
		if err != nil {
			rep.Errors = append(rep.Errors, DocumentError{d.ID, err.Error()})
		} else if res != nil {
			rep.Earlier = append(rep.Earlier, res)
			if o.Progress != nil {
				o.Progress(res)
			}
		}
	}
	only := map[string]bool{}
	for _, id := range o.Only {
		only[id] = true
	}
	for _, d := range docs {
		delete(only, d.ID)
	}
	for id := range only {
		return nil, fmt.Errorf("%w: %s (exhibit track list shows those tracked)", ErrNoDocument, id)
	}
	for _, id := range o.Only {
		only[id] = true
	}
	var due []*Document
	now := o.Now()
	for _, d := range docs {
		if len(only) > 0 && !only[d.ID] {
			continue
		}
		if o.All || d.Due(now) {
			due = append(due, d)
		}
	}
	gate := &hostGate{delay: o.HostDelay, next: map[string]time.Time{}}
	results := make([]*TrackResult, len(due))
	errs := make([]error, len(due))
	elsewhere := make([]bool, len(due))
	par.ForEach(ctx, indices(len(due)), o.Concurrency, func(i int) int {
		// Frontends of a shared archive never track one document at
		// once: the one that holds its lease does, and one that gets
		// it after looks again whether the document is still due.
		// The lease is renewed while the document is tracked; work is
		// cancelled if it is lost, and a frontend that dies frees it
		// within archive.LeaseTTL.
		work, release, ok, err := t.a.Claim(ctx, "track", due[i].ID)
		switch {
		case err != nil:
			errs[i] = err
			return i
		case !ok:
			elsewhere[i] = true
			return i
		}
		defer release()
		d := due[i]
		if t.a.Shared() {
			// What another frontend did since the list was read.
			if d, err = t.Document(work, d.ID); err != nil {
				errs[i] = err
				return i
			}
			if !o.All && !d.Due(now) {
				elsewhere[i] = true
				return i
			}
		}
		results[i], errs[i] = t.trackOne(work, d, gate, o)
		if cause := context.Cause(work); errs[i] != nil && cause != work.Err() && !errors.Is(errs[i], cause) {
			errs[i] = fmt.Errorf("%w (%w)", errs[i], cause)
		}
		return i
	}, func(i int) {
		if o.Progress != nil && results[i] != nil {
			o.Progress(results[i])
		}
	})
	for i := range due {
		if elsewhere[i] {
			rep.Elsewhere = append(rep.Elsewhere, due[i].ID)
		}
		if errs[i] != nil {
			rep.Errors = append(rep.Errors, DocumentError{due[i].ID, errs[i].Error()})
		} else if results[i] != nil {
			rep.Results = append(rep.Results, results[i])
		}
	}
	rep.Due = len(rep.Results)
	return rep, ctx.Err()
}

// recoverSnapshot processes a tracked document's newest capture if a
// process was killed after logging it but before logging what its text
// did, so that no snapshot of a tracked document is left unread.
func (t *Tracker) recoverSnapshot(ctx context.Context, d *Document) (*TrackResult, error) {
	rec, err := t.UnreadSnapshot(ctx, d)
	if err != nil || rec == nil {
		return nil, err
	}
	if t.a.Shared() {
		// Frontends of a shared archive never process one document at
		// once: one that does not get the lease leaves the snapshot to
		// the holder, and one that does looks again.
		work, release, ok, err := t.a.Claim(ctx, "track", d.ID)
		if err != nil || !ok {
			return nil, err
		}
		defer release()
		ctx = work
		if d, err = t.Document(ctx, d.ID); err != nil {
			return nil, err
		}
		if rec, err = t.UnreadSnapshot(ctx, d); err != nil || rec == nil {
			return nil, err
		}
	}
	t.a.Logger().Info("processing a snapshot left unread", "document", d.ID, "record", rec.ID)
	return t.ProcessSnapshot(ctx, d.ID, rec)
}

// UnreadSnapshot returns the newest capture of a tracked document's URL
// under its entity and title if nothing was recorded yet about its text
// (a capture made before the document was tracked, or one a killed
// process left unread), or nil. The next track run reads it first.
func (t *Tracker) UnreadSnapshot(ctx context.Context, d *Document) (*record.Record, error) {
	recs, err := t.a.Index().Search(ctx, index.SearchQuery{Entity: d.Entity, Document: d.Document, Limit: 1})
	if err != nil || len(recs) == 0 {
		return nil, err
	}
	rec := recs[0]
	want := verify.MethodFetch
	if d.Render {
		want = verify.MethodBrowser
	}
	if rec.Method != want || rec.Outcome == verify.OutcomeFailed || rec.URL != d.URL {
		return nil, nil // a capture of the same titles from elsewhere
	}
	done, err := t.a.Index().Tracking(ctx, index.TrackingQuery{Document: d.ID, Ref: rec.ID})
	if err != nil || len(done) > 0 {
		return nil, err
	}
	return rec, nil
}

func indices(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func (t *Tracker) trackOne(ctx context.Context, d *Document, gate *hostGate, o RunOptions) (*TrackResult, error) {
	host := ""
	if u, err := url.Parse(d.URL); err == nil {
		host = u.Host
	}
	delay := o.RetryDelay
	for attempt := 1; ; attempt++ {
		if err := gate.wait(ctx, host); err != nil {
			return nil, err
		}
		co := ingest.CaptureOptions{Entity: d.Entity, Document: d.Document, Fetch: o.Fetch, Browser: d.Render}
		if d.Render {
			co.Render = renderWait(co.Render, d.RenderWaitFor, d.RenderDelayMS)
		}
		sub, err := t.in.Submit(ctx, d.URL, co)
		if err != nil {
			return nil, err
		}
		if attempt <= o.Retries && transient(sub.Record()) {
			if _, err := t.a.Await(ctx, sub); err != nil {
				return nil, err
			}
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			delay *= 2
			continue
		}
		res, err := t.trackSubmitted(ctx, d.ID, sub)
		if res != nil {
			res.Attempts = attempt
		}
		return res, err
	}
}

// transient reports a capture failure worth retrying.
func transient(r *record.Record) bool {
	switch r.Outcome {
	case verify.OutcomeFailed:
		switch r.Failure.Reason {
		case "timeout", "connect", "connection_reset", "dns":
			return true
		}
	case verify.OutcomeHTTPError:
		return r.Status == 429 || r.Status >= 500
	}
	return false
}

// hostGate spaces requests to the same host at least delay apart.
type hostGate struct {
	delay time.Duration
	mu    sync.Mutex
	next  map[string]time.Time
}

func (g *hostGate) wait(ctx context.Context, host string) error {
	if g.delay < 0 {
		return ctx.Err()
	}
	g.mu.Lock()
	now := time.Now()
	at := g.next[host]
	if at.Before(now) {
		at = now
	}
	g.next[host] = at.Add(g.delay)
	g.mu.Unlock()
	select {
	case <-time.After(time.Until(at)):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
