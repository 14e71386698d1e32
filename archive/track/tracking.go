// Package track tracks documents over time in an archive: declarations
// of what part of which page is a document, its versions (its text, each
// time it changes), extractions (a snapshot confirming the current
// version, or giving no text, and why), provisions (quoted clauses, W3C
// TextQuoteSelector and TextPositionSelector, https://www.w3.org/TR/annotation-model/#selectors)
// and their statuses on every new version, and signed analyses of
// provisions (section 2.8). Each is an in-toto statement (docs/FORMATS.md
// section 2.7) logged through the archive's one write path; a document's
// state is folded from its records in the index.
package track

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/internal/keyed"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/verify"
)

// Tracking documents over time.
//
// A tracked document is declared (which URL, which part of the page) by a
// declaration statement; each revision of the declaration is a new
// statement naming the previous one. Every capture of a tracked document is
// an ordinary snapshot record. exhibit then extracts the document's text
// from the snapshot with the declaration's rules (package extract) and logs
// one of:
//
//   - a version statement, when the text differs from the current
//     version's (the first version, a change, or, after Reextract, a
//     technical upgrade), with the text stored content-addressed;
//   - an extraction statement that confirms the current version (its text
//     is unchanged: this is "last verified");
//   - an extraction statement that says why no text could be extracted
//     (the current version is kept, never emptied).
//
// Provisions quote a clause of a version (Quote); on every new version each
// provision of the document gets a provision-status statement: present,
// changed or removed. All of these are signed, logged and proved like
// captures; their formats are in the verify package and docs/FORMATS.md.

// DefaultEvery is how often a tracked document is captured unless its
// declaration says otherwise.
const DefaultEvery = 24 * time.Hour

// MinEvery is the shortest capture interval a declaration may set.
const MinEvery = time.Minute

// Declaration is what Track takes: where a tracked document is and what
// part of the page it is.
type Declaration struct {
	// ID is the document's ID, lowercase letters, digits and hyphens;
	// default: derived from Entity and Document ("github-privacy-policy").
	ID       string
	Entity   string
	Document string
	URL      string
	// Select and Remove are CSS selectors (see package extract);
	// SelectRanges and RemoveRanges Open Terms Archive range selectors.
	Select, Remove             []string
	SelectRanges, RemoveRanges []verify.Range
	// Render captures the document in a headless browser and extracts its
	// text from the DOM after scripts (see verify.Declaration.Render).
	Render bool
	// RenderWaitFor and RenderDelay, only with Render, are the wait
	// options of each rendering (render.Options.WaitFor and Delay): a
	// CSS selector the page must match to count as settled, and the
	// least wait after its load event, in whole milliseconds up to a
	// minute. Zero: render's defaults.
	RenderWaitFor string
	RenderDelay   time.Duration
	// Every is the capture interval; default DefaultEvery, at least
	// MinEvery.
	Every time.Duration
}

// DocumentIDFor derives a document ID from an entity and a document title:
// lowercase ASCII letters and digits, other runs of characters turned into
// single hyphens ("GitHub", "Privacy Policy" -> "github-privacy-policy").
// Letters outside ASCII are dropped.
func DocumentIDFor(entity, document string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(entity + " " + document) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
	}
	s := b.String()
	if len(s) > 100 {
		s = strings.TrimRight(s[:100], "-")
	}
	return s
}

// Tracker tracks the documents of one archive. It is safe for concurrent
// use.
type Tracker struct {
	a  *archive.Archive
	in *ingest.Ingester
	// declaring serialises declarations; docs serialises the versions
	// and provisions of each tracked document.
	declaring sync.Mutex
	docs      keyed.Mutex
}

// New returns the tracker of a. Reading (Document, Documents, Changes,
// VersionText) works on an archive opened for reading; the rest needs it
// opened for writing.
func New(a *archive.Archive) *Tracker { return &Tracker{a: a, in: ingest.New(a)} }

// SetRenderer has t render the documents tracked with Render with r (its
// browser binary and its limit on browsers at once), in place of a
// renderer with render's defaults.
func (t *Tracker) SetRenderer(r *render.Renderer) { t.in.SetRenderer(r) }

// pending is a tracking statement submitted to the log, and what to do
// with its record once acknowledged.
type pending struct {
	sub *archive.Submission
	set func(*record.Record)
}

// submit submits a tracking statement.
func (t *Tracker) submit(ctx context.Context, st any, set func(*record.Record)) (*pending, error) {
	sub, err := t.a.Submit(ctx, st)
	if err != nil {
		return nil, err
	}
	return &pending{sub: sub, set: set}, nil
}

// finish waits until the submitted statements are acknowledged, in order,
// and hands each its record.
func (t *Tracker) finish(ctx context.Context, ps ...*pending) error {
	subs := make([]*archive.Submission, len(ps))
	for i, p := range ps {
		subs[i] = p.sub
	}
	rs, err := t.a.Await(ctx, subs...)
	for i, r := range rs {
		if ps[i].set != nil {
			ps[i].set(r)
		}
	}
	return err
}

// logOne submits one tracking statement and waits for its record.
func (t *Tracker) logOne(ctx context.Context, st any) (*record.Record, error) {
	return t.a.Log(ctx, st)
}

// records returns the tracking records q selects, in log order.
func (t *Tracker) records(ctx context.Context, q index.TrackingQuery) ([]*record.Record, error) {
	return t.a.Index().Tracking(ctx, q)
}

// ErrNoDocument is returned for a document ID that is not tracked.
var ErrNoDocument = errors.New("no such tracked document")

// ErrTracked is returned by Track for a document that is already tracked.
var ErrTracked = errors.New("the document is already tracked")

func (d *Declaration) check() error {
	if d.Every == 0 {
		d.Every = DefaultEvery
	}
	if d.Every < MinEvery {
		return fmt.Errorf("%w: every %s is shorter than the minimum %s", archive.ErrInput, d.Every, MinEvery)
	}
	if d.Entity == "" || d.Document == "" {
		return fmt.Errorf("%w: a tracked document needs an entity and a document title", archive.ErrInput)
	}
	if err := archive.CheckText(map[string]string{"entity": d.Entity, "document": d.Document, "url": d.URL}); err != nil {
		return err
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", archive.ErrInput, d.URL)
	}
	if err := archive.CheckNoCredentials(u); err != nil {
		return err
	}
	if d.ID == "" {
		if d.ID = DocumentIDFor(d.Entity, d.Document); d.ID == "" {
			return fmt.Errorf("%w: no document ID can be made from %q and %q (it takes ASCII letters or digits): give one with --id", archive.ErrInput, d.Entity, d.Document)
		}
	}
	if err := verify.CheckDocumentID(d.ID); err != nil {
		return fmt.Errorf("%w: %v", archive.ErrInput, err)
	}
	if err := rules(d.Select, d.Remove, d.SelectRanges, d.RemoveRanges).Check(); err != nil {
		return fmt.Errorf("%w: %v", archive.ErrInput, err)
	}
	return d.checkRenderWait()
}

// checkRenderWait checks the wait options of a rendered declaration.
func (d *Declaration) checkRenderWait() error {
	if !d.Render && (d.RenderWaitFor != "" || d.RenderDelay != 0) {
		return fmt.Errorf("%w: a render wait (selector %q, delay %s) without render", archive.ErrInput, d.RenderWaitFor, d.RenderDelay)
	}
	if d.RenderDelay < 0 || d.RenderDelay > verify.MaxRenderDelayMS*time.Millisecond || d.RenderDelay%time.Millisecond != 0 {
		return fmt.Errorf("%w: render delay %s: want whole milliseconds, 1ms to %s", archive.ErrInput, d.RenderDelay, verify.MaxRenderDelayMS*time.Millisecond)
	}
	if d.RenderWaitFor != "" {
		if strings.TrimSpace(d.RenderWaitFor) == "" || strings.ContainsFunc(d.RenderWaitFor, verify.IsControl) {
			return fmt.Errorf("%w: render wait-for selector %q is blank or has a control character", archive.ErrInput, d.RenderWaitFor)
		}
	}
	return nil
}

// Track declares a new tracked document (revision 1 of its declaration).
// It refuses, with ErrTracked, an ID or an entity and title already
// tracked, and with archive.ErrInput a bad URL, selector or interval.
func (t *Tracker) Declare(ctx context.Context, d Declaration) (*record.Record, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	t.declaring.Lock()
	defer t.declaring.Unlock()
	docs, err := t.declarations(ctx)
	if err != nil {
		return nil, err
	}
	for _, st := range docs {
		p := &st.Predicate
		if st.DocumentID() == d.ID {
			return nil, fmt.Errorf("%w: %s", ErrTracked, d.ID)
		}
		if p.Entity == d.Entity && p.Document == d.Document {
			return nil, fmt.Errorf("%w: %s %s is tracked as %s", ErrTracked, d.Entity, d.Document, st.DocumentID())
		}
	}
	return t.declare(ctx, d, 1, "")
}

func (t *Tracker) declare(ctx context.Context, d Declaration, revision int, previous string) (*record.Record, error) {
	st := verify.DeclarationStatement{
		Type:          verify.StatementType,
		PredicateType: verify.DeclarationPredicateType,
		Subject:       []verify.Subject{{Name: d.ID, Digest: map[string]string{"sha256": verify.SHA256Hex([]byte(d.ID))}}},
		Predicate: verify.Declaration{
			Entity: d.Entity, Document: d.Document, URL: d.URL,
			Select: d.Select, Remove: d.Remove,
			SelectRanges: d.SelectRanges, RemoveRanges: d.RemoveRanges,
			Render:        d.Render,
			RenderWaitFor: d.RenderWaitFor, RenderDelayMS: d.RenderDelay.Milliseconds(),
			EverySeconds: int64(d.Every / time.Second),
			Revision:     revision, Previous: previous,
			DeclaredAt: verify.FormatTime(time.Now()),
			Tool:       archive.Tool(),
		},
	}
	return t.logOne(ctx, &st)
}

// DeclarationEdit changes a declaration; nil fields are kept.
type DeclarationEdit struct {
	URL                        *string
	Select, Remove             *[]string
	SelectRanges, RemoveRanges *[]verify.Range
	Every                      *time.Duration
	// RenderWaitFor and RenderDelay set the wait options of a rendered
	// document (an empty selector and a zero delay remove them).
	RenderWaitFor *string
	RenderDelay   *time.Duration
}

// EditDeclaration records a new revision of a document's declaration. It
// returns ErrNoDocument for an unknown ID, and archive.ErrInput for an edit that
// changes nothing or sets a bad value.
func (t *Tracker) EditDeclaration(ctx context.Context, id string, e DeclarationEdit) (*record.Record, error) {
	t.declaring.Lock()
	defer t.declaring.Unlock()
	cur, rec, err := t.declaration(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &cur.Predicate
	d := Declaration{ID: id, Entity: p.Entity, Document: p.Document, URL: p.URL, Select: p.Select, Remove: p.Remove,
		SelectRanges: p.SelectRanges, RemoveRanges: p.RemoveRanges, Render: p.Render, Every: time.Duration(p.EverySeconds) * time.Second,
		RenderWaitFor: p.RenderWaitFor, RenderDelay: time.Duration(p.RenderDelayMS) * time.Millisecond}
	if e.URL != nil {
		d.URL = *e.URL
	}
	if e.Select != nil {
		d.Select = *e.Select
	}
	if e.Remove != nil {
		d.Remove = *e.Remove
	}
	if e.SelectRanges != nil {
		d.SelectRanges = *e.SelectRanges
	}
	if e.RemoveRanges != nil {
		d.RemoveRanges = *e.RemoveRanges
	}
	if e.Every != nil {
		d.Every = *e.Every
	}
	if e.RenderWaitFor != nil {
		d.RenderWaitFor = *e.RenderWaitFor
	}
	if e.RenderDelay != nil {
		d.RenderDelay = *e.RenderDelay
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.URL == p.URL && equalStrings(d.Select, p.Select) && equalStrings(d.Remove, p.Remove) &&
		slices.Equal(d.SelectRanges, p.SelectRanges) && slices.Equal(d.RemoveRanges, p.RemoveRanges) && int64(d.Every/time.Second) == p.EverySeconds &&
		d.RenderWaitFor == p.RenderWaitFor && d.RenderDelay.Milliseconds() == p.RenderDelayMS {
		return nil, fmt.Errorf("%w: the edit changes nothing in revision %d of %s", archive.ErrInput, p.Revision, id)
	}
	return t.declare(ctx, d, p.Revision+1, rec)
}

// rules returns the extraction rules of a declaration.
func rules(sel, rem []string, selR, remR []verify.Range) extract.Rules {
	return extract.Rules{Select: sel, Remove: rem, SelectRanges: selR, RemoveRanges: remR}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// declarations returns the latest revision of every declaration, in the
// order the documents were first declared.
func (t *Tracker) declarations(ctx context.Context) ([]*verify.DeclarationStatement, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Kinds: []string{record.Declaration}})
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	var out []*verify.DeclarationStatement
	for _, r := range recs {
		st := r.Statement.Declaration
		if i, ok := latest[st.DocumentID()]; ok {
			out[i] = st
			continue
		}
		latest[st.DocumentID()] = len(out)
		out = append(out, st)
	}
	return out, nil
}

// declaration returns the latest declaration revision of a document and
// its record ID.
func (t *Tracker) declaration(ctx context.Context, id string) (*verify.DeclarationStatement, string, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Document: id, Kinds: []string{record.Declaration}})
	if err != nil {
		return nil, "", err
	}
	if len(recs) == 0 {
		return nil, "", fmt.Errorf("%w: %s (exhibit track list shows those tracked)", ErrNoDocument, id)
	}
	last := recs[len(recs)-1]
	return last.Statement.Declaration, last.ID, nil
}

// readSnapshot reads a stored snapshot whole, up to extract.MaxInput+1
// bytes (extract refuses anything longer with a clear reason).
func (t *Tracker) readSnapshot(ctx context.Context, digest string) ([]byte, error) {
	rc, err := t.a.Store().Get(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, extract.MaxInput+1)); err != nil {
		return nil, fmt.Errorf("reading snapshot %s: %w", digest, err)
	}
	return buf.Bytes(), nil
}

// Text returns the stored text of a version, checked against the digest
// its statement signs.
func (t *Tracker) Text(ctx context.Context, digest string) ([]byte, error) {
	rc, err := t.a.Store().Get(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading text %s: %w", digest, err)
	}
	if got := verify.SHA256Hex(b); got != digest {
		return nil, fmt.Errorf("text %s: stored bytes hash to %s", digest, got)
	}
	return b, nil
}
