package track

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/provision"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// Document is a tracked document's state, folded from its log entries.
type Document struct {
	ID       string   `json:"id"`
	Entity   string   `json:"entity"`
	Document string   `json:"document"`
	URL      string   `json:"url"`
	Select   []string `json:"select,omitempty"`
	Remove   []string `json:"remove,omitempty"`
	// SelectRanges and RemoveRanges are Open Terms Archive range selectors.
	SelectRanges []verify.Range `json:"select_ranges,omitempty"`
	RemoveRanges []verify.Range `json:"remove_ranges,omitempty"`
	// Render: captured in a browser, text from the rendered DOM.
	Render bool `json:"render,omitempty"`
	// RenderWaitFor and RenderDelayMS are its renderings' wait options
	// (verify.Declaration).
	RenderWaitFor string `json:"render_wait_for,omitempty"`
	RenderDelayMS int64  `json:"render_delay_ms,omitempty"`
	// EverySeconds is the capture interval in seconds.
	EverySeconds int64 `json:"every_seconds"`
	// Declaration is the record ID of the current declaration revision.
	Declaration string `json:"declaration"`
	Revision    int    `json:"revision"`
	// FirstTracked is when revision 1 was declared; LastVerified the
	// capture time of the newest snapshot whose text is the current
	// version's (empty before the first version). RFC 3339 UTC.
	FirstTracked string `json:"first_tracked"`
	LastVerified string `json:"last_verified,omitempty"`
	// LastCapture is the citation time of the newest capture of the
	// document, whatever its outcome (empty if none); a document is due
	// EverySeconds after it.
	LastCapture string `json:"last_capture,omitempty"`
	// LastCaptureRecord and LastCaptureOutcome are that capture's record
	// ID and outcome ("captured", "http_error", "failed").
	LastCaptureRecord  string `json:"last_capture_record,omitempty"`
	LastCaptureOutcome string `json:"last_capture_outcome,omitempty"`
	// Versions, oldest first; Current is the last of them.
	Versions []*VersionInfo `json:"versions"`
	Current  *VersionInfo   `json:"current,omitempty"`
	// Changes counts versions of kind "change".
	Changes int `json:"changes"`
	// Failures lists snapshots from which no text could be extracted.
	Failures   []*ExtractionFailure `json:"failures,omitempty"`
	Provisions []*ProvisionInfo     `json:"provisions,omitempty"`
}

// VersionInfo is one version of a tracked document.
type VersionInfo struct {
	RecordID string `json:"record_id"`
	Number   int    `json:"number"`
	// Kind is "first", "change" or "upgrade".
	Kind        string           `json:"kind"`
	Declaration string           `json:"declaration"`
	Extractor   verify.Extractor `json:"extractor"`
	Text        verify.Text      `json:"text"`
	// Decoding is how the snapshot was decoded (nil for PDF and older
	// versions); Decoding.Replaced > 0 means characters were lost.
	Decoding   *verify.Decoding   `json:"decoding,omitempty"`
	Snapshot   verify.SnapshotRef `json:"snapshot"`
	RecordedAt string             `json:"recorded_at"`
	// Confirmations are the later snapshots whose text was this version's
	// (each logged as an extraction record).
	Confirmations []Confirmation `json:"confirmations,omitempty"`
	// LastVerified is the capture time of the newest snapshot behind this
	// version.
	LastVerified string `json:"last_verified"`
}

// Confirmation is a snapshot that confirmed a version.
type Confirmation struct {
	RecordID string             `json:"record_id"`
	Snapshot verify.SnapshotRef `json:"snapshot"`
}

// ExtractionFailure is a snapshot whose text could not be extracted.
type ExtractionFailure struct {
	RecordID string             `json:"record_id"`
	Snapshot verify.SnapshotRef `json:"snapshot"`
	Failure  verify.Failure     `json:"failure"`
}

// rules returns the document's extraction rules.
func (d *Document) rules() extract.Rules {
	return rules(d.Select, d.Remove, d.SelectRanges, d.RemoveRanges)
}

// Document folds a tracked document's log entries into its state.
func (t *Tracker) Document(ctx context.Context, id string) (*Document, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Document: id})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: %s (exhibit track list shows those tracked)", ErrNoDocument, id)
	}
	d := &Document{ID: id, Versions: []*VersionInfo{}}
	versions := map[string]*VersionInfo{}
	provs := map[string]*ProvisionInfo{}
	for _, r := range recs {
		e := r.Statement
		switch {
		case e.Declaration != nil:
			p := &e.Declaration.Predicate
			d.Entity, d.Document, d.URL, d.Select, d.Remove, d.EverySeconds = p.Entity, p.Document, p.URL, p.Select, p.Remove, p.EverySeconds
			d.SelectRanges, d.RemoveRanges, d.Render = p.SelectRanges, p.RemoveRanges, p.Render
			d.RenderWaitFor, d.RenderDelayMS = p.RenderWaitFor, p.RenderDelayMS
			d.Declaration, d.Revision = r.ID, p.Revision
			if p.Revision == 1 {
				d.FirstTracked = p.DeclaredAt
			}
		case e.Version != nil:
			p := &e.Version.Predicate
			v := &VersionInfo{RecordID: r.ID, Number: p.Number, Kind: p.Kind, Declaration: p.Declaration,
				Extractor: p.Extractor, Text: p.Text, Decoding: p.Decoding, Snapshot: p.Snapshot, RecordedAt: p.RecordedAt, LastVerified: p.Snapshot.CapturedAt}
			d.Versions = append(d.Versions, v)
			versions[r.ID] = v
			d.Current = v
			d.LastVerified = laterTime(d.LastVerified, v.LastVerified)
			if p.Kind == verify.VersionChange {
				d.Changes++
			}
		case e.Extraction != nil:
			p := &e.Extraction.Predicate
			switch p.Result {
			case verify.ExtractionConfirmed:
				if v := versions[p.Version]; v != nil {
					v.Confirmations = append(v.Confirmations, Confirmation{r.ID, p.Snapshot})
					v.LastVerified = laterTime(v.LastVerified, p.Snapshot.CapturedAt)
					if v == d.Current {
						d.LastVerified = laterTime(d.LastVerified, p.Snapshot.CapturedAt)
					}
				}
			case verify.ExtractionFailed:
				d.Failures = append(d.Failures, &ExtractionFailure{r.ID, p.Snapshot, *p.Failure})
			}
		case e.Provision != nil:
			p := &e.Provision.Predicate
			pi := &ProvisionInfo{RecordID: r.ID, Version: p.Version, Quote: p.Quote, Position: p.Position,
				Label: p.Label, RecordedAt: p.RecordedAt, Status: verify.ProvisionPresent, StatusVersion: p.Version}
			if v := versions[p.Version]; v != nil {
				pi.StatusVersionKind = v.Kind
			}
			d.Provisions = append(d.Provisions, pi)
			provs[r.ID] = pi
		case e.ProvisionStatus != nil:
			p := &e.ProvisionStatus.Predicate
			if pi := provs[p.Provision]; pi != nil {
				kind := ""
				if v := versions[p.Version]; v != nil {
					kind = v.Kind
				}
				pi.History = append(pi.History, &StatusInfo{RecordID: r.ID, Version: p.Version, VersionKind: kind, Status: p.Status,
					Position: p.Position, Closest: p.Closest, Similarity: p.Similarity, Elsewhere: p.Elsewhere, RecordedAt: p.RecordedAt})
				pi.Status, pi.StatusVersion, pi.StatusVersionKind = p.Status, p.Version, kind
			}
		}
	}
	if d.Declaration == "" {
		return nil, fmt.Errorf("%w: %s has entries but no declaration", ErrNoDocument, id)
	}
	last, err := t.lastCapture(ctx, d.Entity, d.Document)
	if err != nil {
		return nil, err
	}
	if last != nil {
		d.LastCapture, d.LastCaptureRecord, d.LastCaptureOutcome = last.CapturedAt, last.ID, last.Outcome
	}
	return d, nil
}

func laterTime(a, b string) string {
	ta, errA := verify.ParseTime(a)
	tb, errB := verify.ParseTime(b)
	switch {
	case errA != nil:
		return b
	case errB != nil:
		return a
	case tb.After(ta):
		return b
	}
	return a
}

// Documents returns the state of every tracked document, in the order they
// were first declared.
func (t *Tracker) Documents(ctx context.Context) ([]*Document, error) {
	decls, err := t.declarations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*Document, 0, len(decls))
	for _, st := range decls {
		d, err := t.Document(ctx, st.DocumentID())
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// TrackResult is what one capture of a tracked document recorded.
type TrackResult struct {
	Document string         `json:"document_id"`
	Capture  *record.Record `json:"capture"`
	// Version is set when the text changed (or was first extracted);
	// Extraction when it did not (confirmed) or could not be extracted
	// (failed). Both are nil for a failed capture.
	Version    *record.Record `json:"version,omitempty"`
	Extraction *record.Record `json:"extraction,omitempty"`
	// Statuses are the provision-status records a new version made.
	Statuses []*record.Record `json:"provision_statuses,omitempty"`
	// Result is "first", "change", "upgrade", "confirmed", "failed" (no
	// text extracted) or "capture_failed".
	Result string `json:"result"`
	// Reason explains a "failed" or "capture_failed" result.
	Reason string `json:"reason,omitempty"`
	// Attempts is the number of captures made (retries included): 0 for
	// a capture made earlier and read now.
	Attempts int `json:"attempts"`
}

// renderWait returns o with a rendered declaration's wait options, where
// o does not set its own.
func renderWait(o render.Options, waitFor string, delayMS int64) render.Options {
	o.WaitFor = cmp.Or(o.WaitFor, waitFor)
	o.Delay = cmp.Or(o.Delay, time.Duration(delayMS)*time.Millisecond)
	return o
}

// Capture captures a tracked document now and records what its text
// did: a new version, a confirmation of the current one, or a failed
// extraction. A failed capture is logged as such (as any capture) and
// makes nothing more.
func (t *Tracker) Capture(ctx context.Context, id string, o ingest.CaptureOptions) (*TrackResult, error) {
	st, _, err := t.declaration(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &st.Predicate
	o.Entity, o.Document = p.Entity, p.Document
	o.Browser = o.Browser || p.Render
	if p.Render {
		o.Render = renderWait(o.Render, p.RenderWaitFor, p.RenderDelayMS)
	}
	sub, err := t.in.Submit(ctx, p.URL, o)
	if err != nil {
		return nil, err
	}
	return t.trackSubmitted(ctx, id, sub)
}

// trackSubmitted processes the snapshot of a capture submitted to the log
// but not yet acknowledged, so that the capture and the statements about
// its text are published together (by the same checkpoint, as a rule).
// The capture is acknowledged first; the result only once all are.
func (t *Tracker) trackSubmitted(ctx context.Context, id string, sub *archive.Submission) (*TrackResult, error) {
	defer t.docs.Lock(id)()
	res := &TrackResult{Document: id, Attempts: 1}
	ps, perr := t.prepareSnapshot(ctx, id, sub.Record(), res)
	recs, err := t.a.Await(ctx, sub)
	if err != nil {
		return nil, err
	}
	res.Capture = recs[0]
	if err := errors.Join(t.finish(ctx, ps...), perr); err != nil {
		return nil, err
	}
	return res, nil
}

// ProcessSnapshot extracts the text of a tracked document's snapshot (a
// published capture record) and logs a version, a confirmation or a
// failed extraction for it. It is idempotent: a snapshot already processed
// for the document returns what was recorded then.
func (t *Tracker) ProcessSnapshot(ctx context.Context, id string, rec *record.Record) (*TrackResult, error) {
	defer t.docs.Lock(id)()
	res := &TrackResult{Document: id, Capture: rec}
	ps, perr := t.prepareSnapshot(ctx, id, rec, res)
	if err := errors.Join(t.finish(ctx, ps...), perr); err != nil {
		return nil, err
	}
	return res, nil
}

// prepareSnapshot prepares the statements that process a snapshot; they
// fill res as they are published. The caller holds the document's lock
// until they are, and finishes those returned even with an error.
func (t *Tracker) prepareSnapshot(ctx context.Context, id string, rec *record.Record, res *TrackResult) ([]*pending, error) {
	if rec.Outcome == verify.OutcomeFailed {
		res.Result = "capture_failed"
		if rec.Failure != nil {
			res.Reason = rec.Failure.Reason + ": " + rec.Failure.Message
		}
		return nil, nil
	}
	done, err := t.records(ctx, index.TrackingQuery{Document: id, Ref: rec.ID, Kinds: []string{record.Version, record.Extraction}})
	if err != nil {
		return nil, err
	}
	if len(done) > 0 {
		return nil, t.resultOf(ctx, res, done[0])
	}
	doc, err := t.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	declID := doc.Declaration // the current revision, folded with the rest
	// The bytes the text comes from: the snapshot, or for a rendered
	// document the DOM after scripts.
	source, mediaType := rec.SHA256, rec.MediaType
	if doc.Render {
		if rec.Rendering == nil || rec.Rendering.DOM == nil {
			res.Result = "capture_failed"
			res.Reason = "the document is declared rendered, but this capture has no rendering (a plain fetch)"
			return nil, nil
		}
		source, mediaType = rec.Rendering.DOM.SHA256, rec.Rendering.DOM.MediaType
	}
	snap := verify.SnapshotRef{RecordID: rec.ID, SHA256: source, CapturedAt: rec.CapturedAt}
	extractor := verify.Extractor{Name: extract.Name, Version: extract.Version}
	extraction := func(x verify.Extraction) ([]*pending, error) {
		x.Declaration, x.Snapshot, x.Extractor = declID, snap, extractor
		x.RecordedAt, x.Tool = verify.FormatTime(time.Now()), archive.Tool()
		p, err := t.submit(ctx, &verify.ExtractionStatement{
			Type: verify.StatementType, PredicateType: verify.ExtractionPredicateType,
			Subject:   []verify.Subject{{Name: id, Digest: map[string]string{"sha256": source}}},
			Predicate: x,
		}, func(r *record.Record) { res.Extraction = r })
		if err != nil {
			return nil, err
		}
		res.Result = x.Result
		if x.Failure != nil {
			res.Reason = x.Failure.Reason + ": " + x.Failure.Message
		}
		return []*pending{p}, nil
	}
	fail := func(reason, msg string) ([]*pending, error) {
		return extraction(verify.Extraction{Result: verify.ExtractionFailed, Failure: &verify.Failure{Reason: reason, Message: msg}})
	}
	if rec.Outcome == verify.OutcomeHTTPError {
		return fail("http_error", fmt.Sprintf("the server answered HTTP %d %s", rec.Status, http.StatusText(rec.Status)))
	}
	body, err := t.readSnapshot(ctx, source)
	if err != nil {
		return nil, err
	}
	rules := doc.rules()
	out, err := extract.ExtractURL(body, mediaType, pageURL(rec), rules)
	if err != nil {
		var xe *extract.Error
		if errors.As(err, &xe) {
			return fail(xe.Reason, xe.Message)
		}
		return nil, err
	}
	text := []byte(out.Text)
	digest := verify.SHA256Hex(text)
	if cur := doc.Current; cur != nil && cur.Text.SHA256 == digest {
		return extraction(verify.Extraction{Result: verify.ExtractionConfirmed, Version: cur.RecordID, TextSHA256: digest})
	}
	kind := verify.VersionFirst
	var prev []byte
	if doc.Current != nil {
		if kind, prev, err = t.changeKind(ctx, doc, rules, out.Text); err != nil {
			return nil, err
		}
	}
	return t.prepareVersion(ctx, res, doc, declID, snap, kind, text, out, prev)
}

// pageURL is the URL relative links of a captured page resolve against:
// where it was finally fetched from, or nothing for an upload.
func pageURL(rec *record.Record) string {
	if rec.FinalURL != "" {
		return rec.FinalURL
	}
	if rec.Method != verify.MethodUpload {
		return rec.URL
	}
	return ""
}

// changeKind says what a new text of a document that has a current
// version is: VersionLinks if it differs from the current text only in
// link targets; VersionUpgrade if the current version was extracted by
// another extractor or declaration revision and the current version's
// snapshot, extracted again now, gives the new text (the document did not
// change, its extraction did); VersionChange otherwise. It also returns
// the current version's text it read (nil if the store has none), for
// following provisions from it.
func (t *Tracker) changeKind(ctx context.Context, doc *Document, rules extract.Rules, text string) (string, []byte, error) {
	cur := doc.Current
	prev, err := t.Text(ctx, cur.Text.SHA256)
	if errors.Is(err, store.ErrNotFound) {
		return verify.VersionChange, nil, nil // nothing to compare with
	}
	if err != nil {
		return "", nil, err
	}
	if extract.WithoutLinkTargets(string(prev)) == extract.WithoutLinkTargets(text) {
		return verify.VersionLinks, prev, nil
	}
	if cur.Extractor == (verify.Extractor{Name: extract.Name, Version: extract.Version}) && cur.Declaration == doc.Declaration {
		return verify.VersionChange, prev, nil
	}
	rec, err := t.a.Get(ctx, cur.Snapshot.RecordID)
	if err != nil {
		return "", nil, err
	}
	body, err := t.readSnapshot(ctx, cur.Snapshot.SHA256)
	if errors.Is(err, store.ErrNotFound) {
		return verify.VersionChange, prev, nil
	}
	if err != nil {
		return "", nil, err
	}
	mediaType := rec.MediaType
	if rd := rec.Rendering; rd != nil && rd.DOM != nil && rd.DOM.SHA256 == cur.Snapshot.SHA256 {
		mediaType = rd.DOM.MediaType
	}
	again, err := extract.ExtractURL(body, mediaType, pageURL(rec), rules)
	switch {
	case err != nil:
		return verify.VersionChange, prev, nil // the old snapshot no longer extracts: nothing to compare
	case again.Text == text:
		return verify.VersionUpgrade, prev, nil
	case extract.WithoutLinkTargets(again.Text) == extract.WithoutLinkTargets(text):
		return verify.VersionLinks, prev, nil
	}
	return verify.VersionChange, prev, nil
}

// prepareVersion stores a version's text and prepares the version
// statement and the status of every provision of the document in it. On
// error it still returns the statements already handed to the log, which
// the caller must finish. prev is the current version's text if the caller
// has read it (else nil, and it is read from the store when a provision
// needs it).
func (t *Tracker) prepareVersion(ctx context.Context, res *TrackResult, doc *Document, declID string, snap verify.SnapshotRef, kind string, text []byte, out *extract.Result, prev []byte) ([]*pending, error) {
	obj, err := t.a.Store().Put(ctx, bytes.NewReader(text), int64(len(text)), verify.SHA256Hex(text))
	if err != nil {
		return nil, fmt.Errorf("storing the version's text: %w", err)
	}
	pv := verify.Version{Number: len(doc.Versions) + 1, Kind: kind, Declaration: declID, Snapshot: snap,
		Extractor:  verify.Extractor{Name: extract.Name, Version: extract.Version},
		Text:       verify.Text{SHA256: obj.SHA256, Size: obj.Size, MediaType: out.MediaType},
		RecordedAt: verify.FormatTime(time.Now()), Tool: archive.Tool()}
	pv.Decoding = out.Decoding
	if doc.Current != nil {
		pv.Previous = doc.Current.RecordID
	}
	v, err := t.submit(ctx, &verify.VersionStatement{
		Type: verify.StatementType, PredicateType: verify.VersionPredicateType,
		Subject:   []verify.Subject{{Name: doc.ID, Digest: map[string]string{"sha256": obj.SHA256}}},
		Predicate: pv,
	}, func(r *record.Record) { res.Version = r })
	if err != nil {
		return nil, err
	}
	res.Result = kind
	ps := []*pending{v}
	// Each provision is followed from the version it last stood in.
	f := t.follower(string(text))
	if prev != nil && doc.Current != nil && len(doc.Provisions) > 0 {
		if err := f.know(doc.Current.Text.SHA256, prev); err != nil {
			return ps, err
		}
	}
	for _, p := range doc.Provisions {
		from, at := doc.lastPlace(p)
		loc, err := f.locate(ctx, p.Quote, from, at)
		if err != nil {
			return ps, err // what is in the log is finished by the caller
		}
		s, err := t.prepareRecheck(ctx, doc.ID, p.RecordID, loc, v.sub.ID(), pv.Text, &res.Statuses)
		if err != nil {
			return ps, err
		}
		ps = append(ps, s)
	}
	return ps, nil
}

// resultOf rebuilds the result of a snapshot processed earlier.
func (t *Tracker) resultOf(ctx context.Context, res *TrackResult, r *record.Record) error {
	switch {
	case r.Statement.Version != nil:
		res.Version, res.Result = r, r.Statement.Version.Predicate.Kind
		sts, err := t.records(ctx, index.TrackingQuery{Document: res.Document, Kinds: []string{record.ProvisionStatus}})
		if err != nil {
			return err
		}
		for _, s := range sts {
			if s.Statement.ProvisionStatus.Predicate.Version == r.ID {
				res.Statuses = append(res.Statuses, s)
			}
		}
	case r.Statement.Extraction != nil:
		p := &r.Statement.Extraction.Predicate
		res.Extraction, res.Result = r, p.Result
		if p.Failure != nil {
			res.Reason = p.Failure.Reason + ": " + p.Failure.Message
		}
	}
	return nil
}

// prepareRecheck prepares the status statement of a provision re-checked
// against a new version (loc is where it stands there), appended to *out
// once published.
func (t *Tracker) prepareRecheck(ctx context.Context, doc, provID string, loc provision.Result, versionID string, txt verify.Text, out *[]*record.Record) (*pending, error) {
	ps := verify.ProvisionStatus{Provision: provID, Version: versionID, Text: txt, Status: loc.Status,
		RecordedAt: verify.FormatTime(time.Now()), Tool: archive.Tool()}
	switch loc.Status {
	case provision.Present:
		ps.Position = &verify.TextPositionSelector{Type: "TextPositionSelector", Start: loc.Position.Start, End: loc.Position.End}
	case provision.Changed:
		ps.Position = &verify.TextPositionSelector{Type: "TextPositionSelector", Start: loc.Position.Start, End: loc.Position.End}
		ps.Closest, ps.Similarity = loc.Closest, loc.Similarity
	case provision.Removed:
		ps.Similarity = loc.Similarity
		if el := loc.Elsewhere; el != nil {
			ps.Elsewhere = &verify.ProvisionElsewhere{Similarity: el.Similarity,
				Position: verify.TextPositionSelector{Type: "TextPositionSelector", Start: el.Position.Start, End: el.Position.End}}
		}
	}
	return t.submit(ctx, &verify.ProvisionStatusStatement{
		Type: verify.StatementType, PredicateType: verify.ProvisionStatusPredicateType,
		Subject:   []verify.Subject{{Name: doc, Digest: map[string]string{"sha256": txt.SHA256}}},
		Predicate: ps,
	}, func(r *record.Record) { *out = append(*out, r) })
}
