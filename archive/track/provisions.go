package track

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/provision"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/textdiff"
	"github.com/exhibit-archive/exhibit/verify"
)

// ProvisionInfo is a provision with its current status and history.
type ProvisionInfo struct {
	RecordID string                      `json:"record_id"`
	Version  string                      `json:"version"`
	Quote    verify.TextQuoteSelector    `json:"quote"`
	Position verify.TextPositionSelector `json:"position"`
	Label    string                      `json:"label,omitempty"`
	// RecordedAt is when the quote was made, RFC 3339 UTC.
	RecordedAt string `json:"recorded_at"`
	// Status is the latest status ("present" until a newer version is
	// checked), as of version StatusVersion.
	Status        string `json:"status"`
	StatusVersion string `json:"status_version"`
	// StatusVersionKind is that version's kind: a status taken in an
	// "upgrade" reflects a re-extraction, not a change of the document.
	StatusVersionKind string        `json:"status_version_kind"`
	History           []*StatusInfo `json:"history,omitempty"`
}

// StatusInfo is one provision-status record.
type StatusInfo struct {
	RecordID string `json:"record_id"`
	Version  string `json:"version"`
	// VersionKind is the kind of that version ("change", "upgrade").
	VersionKind string                       `json:"version_kind"`
	Status      string                       `json:"status"`
	Position    *verify.TextPositionSelector `json:"position,omitempty"`
	Closest     string                       `json:"closest,omitempty"`
	Similarity  float64                      `json:"similarity,omitempty"`
	// Elsewhere (removed only) notes a passage like the quote outside the
	// provision's place: not the provision.
	Elsewhere  *verify.ProvisionElsewhere `json:"elsewhere,omitempty"`
	RecordedAt string                     `json:"recorded_at"`
}

// lastPlace returns where provision p last stood: the text digest of the
// version of its latest present or changed status and its passage there,
// or, before any, those of the version quoted and the quote. The digest
// is "" when that version is not among the document's.
func (d *Document) lastPlace(p *ProvisionInfo) (string, provision.Position) {
	numbers := map[string]int{}
	digests := map[string]string{}
	for _, v := range d.Versions {
		numbers[v.RecordID], digests[v.RecordID] = v.Number, v.Text.SHA256
	}
	version, pos := p.Version, p.Position
	for _, h := range p.History {
		if (h.Status == verify.ProvisionPresent || h.Status == verify.ProvisionChanged) && h.Position != nil && numbers[h.Version] >= numbers[version] {
			version, pos = h.Version, *h.Position
		}
	}
	return digests[version], provision.Position{Start: pos.Start, End: pos.End}
}

// follower re-checks provisions against one new text, each followed from
// the text of the version it last stood in ([provision.Diff.Follow]); it
// diffs each earlier text once.
type follower struct {
	t    *Tracker
	text string
	// diffs by the earlier text's digest; nil when that text is not in
	// the store or too large to diff.
	diffs map[string]*provision.Diff
}

func (t *Tracker) follower(text string) *follower {
	return &follower{t: t, text: text, diffs: map[string]*provision.Diff{}}
}

// know gives the follower an earlier text it need not read from the
// store.
func (f *follower) know(digest string, text []byte) error {
	if _, ok := f.diffs[digest]; ok {
		return nil
	}
	d, err := provision.NewDiff(string(text), f.text)
	if errors.Is(err, textdiff.ErrTooLarge) {
		d, err = nil, nil
	}
	f.diffs[digest] = d
	return err
}

// locate re-checks q, whose passage stood at at in the text with the
// given digest, against the new text. When that text is unknown ("") or
// not in the store, or too large to diff, the quote selector alone
// decides ([provision.Locate]).
func (f *follower) locate(ctx context.Context, q verify.TextQuoteSelector, from string, at provision.Position) (provision.Result, error) {
	pq := provision.Quote{Exact: q.Exact, Prefix: q.Prefix, Suffix: q.Suffix}
	if from == "" {
		return provision.Locate(f.text, pq), nil
	}
	if _, ok := f.diffs[from]; !ok {
		old, err := f.t.Text(ctx, from)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.diffs[from] = nil
		case err != nil:
			return provision.Result{}, err
		default:
			if err := f.know(from, old); err != nil {
				return provision.Result{}, err
			}
		}
	}
	if d := f.diffs[from]; d != nil {
		return d.Follow(pq, at), nil
	}
	return provision.Locate(f.text, pq), nil
}

// QuoteOptions describe a provision: the quoted text and, to tell a
// repeated quote apart, the text just before and after it.
type QuoteOptions struct {
	Exact, Prefix, Suffix string
	Label                 string
}

// Quote records a provision: a clause quoted from a version's text. The
// quote must stand in the text exactly once with the given prefix and
// suffix, or archive.ErrInput is returned, wrapping provision.ErrNotFound or
// provision.ErrAmbiguous. If newer versions of the document exist, the
// provision is followed through each of them in order (each from the last
// one it stood in), and the statuses are returned.
func (t *Tracker) Quote(ctx context.Context, versionID string, o QuoteOptions) (*record.Record, []*record.Record, error) {
	if err := archive.CheckText(map[string]string{"label": o.Label}); err != nil {
		return nil, nil, err
	}
	v, text, err := t.VersionText(ctx, versionID)
	if err != nil {
		return nil, nil, err
	}
	// Version texts are in Unicode normalisation form C; a quote typed
	// or copied in another form ("e" and a combining accent) is the same
	// text.
	o.Exact, o.Prefix, o.Suffix = norm.NFC.String(o.Exact), norm.NFC.String(o.Prefix), norm.NFC.String(o.Suffix)
	defer t.docs.Lock(v.DocumentID)()
	pv := &v.Statement.Version.Predicate
	q, pos, err := provision.Find(string(text), provision.Quote{Exact: o.Exact, Prefix: o.Prefix, Suffix: o.Suffix})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w, in version %d of %s (%s)", archive.ErrInput, err, pv.Number, v.DocumentID, v.ID)
	}
	existing, err := t.records(ctx, index.TrackingQuery{Document: v.DocumentID, Kinds: []string{record.Provision}, Ref: v.ID})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range existing {
		if ep := e.Statement.Provision.Predicate; ep.Position.Start == pos.Start && ep.Position.End == pos.End {
			return nil, nil, fmt.Errorf("%w: this passage of version %d is already quoted as provision %s", archive.ErrInput, pv.Number, e.ID)
		}
	}
	var prov *record.Record
	var statuses []*record.Record
	pp, err := t.submit(ctx, &verify.ProvisionStatement{
		Type: verify.StatementType, PredicateType: verify.ProvisionPredicateType,
		Subject: []verify.Subject{{Name: v.DocumentID, Digest: map[string]string{"sha256": pv.Text.SHA256}}},
		Predicate: verify.Provision{
			Version:    v.ID,
			Text:       pv.Text,
			Quote:      verify.TextQuoteSelector{Type: "TextQuoteSelector", Exact: q.Exact, Prefix: q.Prefix, Suffix: q.Suffix},
			Position:   verify.TextPositionSelector{Type: "TextPositionSelector", Start: pos.Start, End: pos.End},
			Label:      o.Label,
			RecordedAt: verify.FormatTime(time.Now()),
			Tool:       archive.Tool(),
		},
	}, func(r *record.Record) { prov = r })
	if err != nil {
		return nil, nil, err
	}
	ps := []*pending{pp}
	// Carry it through the versions that came after the one quoted, in
	// order, each from the last version it stood in.
	later, err := t.records(ctx, index.TrackingQuery{Document: v.DocumentID, Kinds: []string{record.Version}})
	if err == nil {
		sort.SliceStable(later, func(i, j int) bool {
			return later[i].Statement.Version.Predicate.Number < later[j].Statement.Version.Predicate.Number
		})
		quote := pp.sub.Record().Statement.Provision.Predicate.Quote
		from, fromText, at := pv.Text.SHA256, text, pos
		for _, lv := range later {
			lp := &lv.Statement.Version.Predicate
			if lp.Number <= pv.Number {
				continue
			}
			var lt []byte
			if lt, err = t.Text(ctx, lp.Text.SHA256); err != nil {
				break
			}
			f := t.follower(string(lt))
			var loc provision.Result
			if err = f.know(from, fromText); err != nil {
				break
			}
			if loc, err = f.locate(ctx, quote, from, at); err != nil {
				break
			}
			var s *pending
			if s, err = t.prepareRecheck(ctx, v.DocumentID, pp.sub.ID(), loc, lv.ID, lp.Text, &statuses); err != nil {
				break
			}
			ps = append(ps, s)
			if loc.Status != provision.Removed {
				from, fromText, at = lp.Text.SHA256, lt, loc.Position
			}
		}
	}
	// What was handed to the log is finished even after an error.
	if ferr := t.finish(ctx, ps...); ferr != nil {
		return nil, nil, ferr
	}
	if err != nil {
		return nil, nil, err
	}
	return prov, statuses, nil
}

// ReextractReport is what Reextract found and recorded.
type ReextractReport struct {
	Document string `json:"document_id"`
	// Snapshots is the number of stored snapshots extracted again (each
	// snapshot of the document once, but those that were HTTP errors);
	// Differ lists those whose text now differs from the text recorded
	// last for them (their version's, the one they confirmed, or none
	// for a failed extraction that now succeeds).
	Snapshots int      `json:"snapshots"`
	Differ    []string `json:"differ"`
	// Upgrade is the version recorded when the newest snapshot's text
	// differs from the current version's: of kind "upgrade" when a
	// snapshot behind the current version now gives that text (a
	// technical upgrade, not a change of the document), else "links" or
	// "change". Nil when nothing changed.
	Upgrade *record.Record `json:"upgrade,omitempty"`
	// Statuses are the provision statuses the upgrade made.
	Statuses []*record.Record `json:"provision_statuses,omitempty"`
}

// Reextract extracts the text of every stored snapshot of a tracked
// document again (but HTTP error pages), with the current declaration and
// extractor, and reports which now give a different text than was
// recorded for them. History is not rewritten: if the newest snapshot that
// extracts gives a text other than the current version's, one version is
// recorded from it, of kind "upgrade" if a snapshot behind the current
// version gives that text too (else "links" or "change"), and the
// document's provisions are re-checked against it.
func (t *Tracker) Reextract(ctx context.Context, id string) (*ReextractReport, error) {
	if err := t.a.Writable(); err != nil {
		return nil, err
	}
	defer t.docs.Lock(id)()
	doc, err := t.Document(ctx, id)
	if err != nil {
		return nil, err
	}
	rep := &ReextractReport{Document: id, Differ: []string{}}
	// Every snapshot behind the document, with the text recorded for it.
	// (each once: the text recorded last for it counts; a failed
	// extraction recorded none).
	type snap struct {
		ref  verify.SnapshotRef
		text string // recorded text digest
	}
	recorded := map[string]*snap{}
	var snaps []*snap
	record := func(ref verify.SnapshotRef, text string) {
		if s, ok := recorded[ref.RecordID]; ok {
			s.text = text
			return
		}
		s := &snap{ref, text}
		recorded[ref.RecordID] = s
		snaps = append(snaps, s)
	}
	for _, f := range doc.Failures {
		if f.Failure.Reason != "http_error" { // an error page is no version of anything
			record(f.Snapshot, "")
		}
	}
	for _, v := range doc.Versions {
		record(v.Snapshot, v.Text.SHA256)
		for _, c := range v.Confirmations {
			record(c.Snapshot, v.Text.SHA256)
		}
	}
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].ref.CapturedAt < snaps[j].ref.CapturedAt })
	rules := doc.rules()
	var newest *snap
	var newestOut *extract.Result
	// Texts the snapshots behind the current version give now: if the
	// newest text is one of them, the document did not change, its
	// extraction did.
	again := map[string]bool{}
	for _, s := range snaps {
		rec, err := t.a.Get(ctx, s.ref.RecordID)
		if err != nil {
			return nil, err
		}
		body, err := t.readSnapshot(ctx, s.ref.SHA256)
		if err != nil {
			return nil, err
		}
		rep.Snapshots++
		out, err := extract.ExtractURL(body, rec.MediaType, pageURL(rec), rules)
		if err != nil {
			if s.text != "" {
				rep.Differ = append(rep.Differ, s.ref.RecordID)
			}
			continue
		}
		if verify.SHA256Hex([]byte(out.Text)) != s.text {
			rep.Differ = append(rep.Differ, s.ref.RecordID)
		}
		if doc.Current != nil && s.text == doc.Current.Text.SHA256 {
			again[out.Text] = true
		}
		newest, newestOut = s, out
	}
	if newest == nil || doc.Current == nil || verify.SHA256Hex([]byte(newestOut.Text)) == doc.Current.Text.SHA256 {
		return rep, nil
	}
	// An upgrade only if a snapshot behind the current version now gives
	// the new text; otherwise the document changed too (a snapshot that
	// failed before, of a redesigned page, may hold new words).
	kind := verify.VersionUpgrade
	var cur []byte
	if !again[newestOut.Text] {
		var err error
		cur, err = t.Text(ctx, doc.Current.Text.SHA256)
		switch {
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		case err == nil && extract.WithoutLinkTargets(string(cur)) == extract.WithoutLinkTargets(newestOut.Text):
			kind = verify.VersionLinks
		default:
			kind = verify.VersionChange
		}
	}
	res := &TrackResult{Document: id}
	ps, perr := t.prepareVersion(ctx, res, doc, doc.Declaration, newest.ref, kind, []byte(newestOut.Text), newestOut, cur)
	if err := errors.Join(t.finish(ctx, ps...), perr); err != nil {
		return nil, err
	}
	rep.Upgrade, rep.Statuses = res.Version, res.Statuses
	return rep, nil
}

// Change is one version of kind "change" of a tracked document.
type Change struct {
	Document string `json:"document_id"`
	Entity   string `json:"entity"`
	Title    string `json:"document"`
	// Version is the new version's record ID and number; Previous the
	// record ID of the version it replaced.
	Version  string `json:"version"`
	Number   int    `json:"number"`
	Previous string `json:"previous"`
	// CapturedAt is when the snapshot that showed the change was
	// captured, RFC 3339 UTC: the change happened no later than this.
	CapturedAt string `json:"captured_at"`
	// Snapshot is the record ID of that capture.
	Snapshot string `json:"snapshot"`
}

// Changes lists the changes (versions of kind "change"; first versions and
// technical upgrades are not changes) captured at or after since, newest
// first, optionally of one entity only.
func (t *Tracker) Changes(ctx context.Context, since time.Time, entity string) ([]*Change, error) {
	recs, err := t.records(ctx, index.TrackingQuery{Kinds: []string{record.Version}, Since: verify.FormatTime(since)})
	if err != nil {
		return nil, err
	}
	decls, err := t.declarations(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]*verify.Declaration{}
	for _, d := range decls {
		byID[d.DocumentID()] = &d.Predicate
	}
	out := []*Change{}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		p := &r.Statement.Version.Predicate
		d := byID[r.DocumentID]
		if p.Kind != verify.VersionChange || d == nil || (entity != "" && d.Entity != entity) {
			continue
		}
		out = append(out, &Change{Document: r.DocumentID, Entity: d.Entity, Title: d.Document, Version: r.ID,
			Number: p.Number, Previous: p.Previous, CapturedAt: p.Snapshot.CapturedAt, Snapshot: p.Snapshot.RecordID})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CapturedAt > out[j].CapturedAt })
	return out, nil
}

// ErrNotVersion is returned (wrapped with archive.ErrInput) for a record that is
// not a version where a version is wanted.
var ErrNotVersion = fmt.Errorf("%w: not a version record", archive.ErrInput)

// VersionText returns a version record and its text, checked against the
// digest the version signs. A record of another kind is ErrNotVersion.
func (t *Tracker) VersionText(ctx context.Context, versionID string) (*record.Record, []byte, error) {
	v, err := t.a.Get(ctx, versionID)
	if err != nil {
		return nil, nil, err
	}
	if v.Statement.Version == nil {
		return nil, nil, fmt.Errorf("%w: %s is %s record", ErrNotVersion, v.ID, record.KindWithArticle(v.Kind))
	}
	text, err := t.Text(ctx, v.Statement.Version.Predicate.Text.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return v, text, nil
}

// daysRE matches a whole number of days, "30d".
var daysRE = regexp.MustCompile(`^([0-9]{1,5})d$`)

// ParseSince reads how far back to look: a number of days ("30d", at most
// 99999), a non-negative Go duration ("12h"), an RFC 3339 time, or a date
// (2026-05-08, midnight UTC); durations count back from now.
func ParseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil // midnight UTC
	}
	if m := daysRE.FindStringSubmatch(v); m != nil {
		n, _ := strconv.Atoi(m[1])
		return now.AddDate(0, 0, -n), nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a number of days (30d), a duration (12h), a date (2026-05-08) or an RFC 3339 time (2026-05-08T00:00:00Z)", v)
}
