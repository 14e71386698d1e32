package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/merkle/rfc6962"
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
	// Select and Remove are CSS selectors (see package extract).
	Select []string
	Remove []string
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

// TrackRecord is a logged tracking statement.
type TrackRecord struct {
	RecordID string `json:"record_id"`
	Index    uint64 `json:"index"`
	// Kind is "declaration", "version", "extraction", "provision" or
	// "provision-status".
	Kind     string `json:"kind"`
	Document string `json:"document_id"`
	// Bundle is the path of the record's evidence bundle file.
	Bundle string `json:"bundle,omitempty"`

	Entry    *verify.Entry `json:"-"`
	RawEntry []byte        `json:"-"`
}

// trackingRow derives the index row of a tracking statement.
func trackingRow(e *verify.Entry, entry []byte, idx uint64) *index.TrackingRecord {
	r := &index.TrackingRecord{
		RecordID:  verify.RecordID(entry),
		LeafIndex: idx,
		Kind:      e.Kind(),
		Document:  e.DocumentID(),
		Entry:     entry,
	}
	switch {
	case e.Declaration != nil:
		r.Ref, r.At = e.Declaration.Predicate.Previous, e.Declaration.Predicate.DeclaredAt
	case e.Version != nil:
		r.Ref, r.At = e.Version.Predicate.Snapshot.RecordID, e.Version.Predicate.Snapshot.CapturedAt
	case e.Extraction != nil:
		r.Ref, r.At = e.Extraction.Predicate.Snapshot.RecordID, e.Extraction.Predicate.Snapshot.CapturedAt
	case e.Provision != nil:
		r.Ref, r.At = e.Provision.Predicate.Version, e.Provision.Predicate.RecordedAt
	case e.ProvisionStatus != nil:
		r.Ref, r.At = e.ProvisionStatus.Predicate.Provision, e.ProvisionStatus.Predicate.RecordedAt
	}
	return r
}

// trackPending is a tracking statement signed and handed to the log, not
// yet published.
type trackPending struct {
	ent   *verify.Entry
	entry []byte
	add   *ledger.Pending
	// set, if not nil, receives the record once published.
	set func(*TrackRecord)
}

// recordID is the pending statement's record ID (known before the entry is
// published: it derives from the entry alone).
func (p *trackPending) recordID() string { return verify.RecordID(p.entry) }

// prepareTracking signs a tracking statement and hands it to the log.
func (a *Archive) prepareTracking(ctx context.Context, st any, set func(*TrackRecord)) (*trackPending, error) {
	if a.writer == nil {
		return nil, errors.New("archive opened read-only")
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	// Never log what a verifier would reject.
	ent, err := verify.ParseEntryStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("refusing to log: %w", err)
	}
	entry, err := a.signer.SignStatement(payload)
	if err != nil {
		return nil, err
	}
	if len(entry) > verify.MaxEntrySize {
		return nil, fmt.Errorf("the signed %s statement is %d bytes, over the log's entry limit of %d", ent.Kind(), len(entry), verify.MaxEntrySize)
	}
	add, err := a.writer.Add(context.WithoutCancel(ctx), entry)
	if err != nil {
		return nil, err
	}
	return &trackPending{ent: ent, entry: entry, add: add, set: set}, nil
}

// finishTracking waits for the checkpoint that publishes each prepared
// statement, writes its bundle and indexes it, in order. Like a capture, a
// tracking record is acknowledged only once durable. Once handed to the
// log an entry is in it whether or not the caller still waits, so this
// runs regardless of ctx, within a bound.
func (a *Archive) finishTracking(ctx context.Context, ps ...*trackPending) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), appendTimeout)
	defer cancel()
	return a.finishTrackingWith(ctx, a.wait, ps)
}

func (a *Archive) finishTrackingWith(ctx context.Context, wait func(context.Context, *ledger.Pending) (uint64, []byte, error), ps []*trackPending) error {
	for i, p := range ps {
		idx, signedCP, err := wait(ctx, p.add)
		if err != nil {
			rest := ps[i:]
			a.finishLater(err, p.entry, func(ctx context.Context) error {
				return a.finishTrackingWith(ctx, a.waitKept, rest)
			})
			return err
		}
		cp, err := a.openCheckpoint(signedCP)
		if err != nil {
			return fmt.Errorf("checkpoint published for entry %d: %w", idx, err)
		}
		bundle, err := a.reader.Prove(ctx, p.entry, idx, signedCP, cp)
		if err != nil {
			return err
		}
		row := trackingRow(p.ent, p.entry, idx)
		r := &TrackRecord{RecordID: row.RecordID, Index: idx, Kind: row.Kind, Document: row.Document,
			Bundle: a.bundlePath(row.RecordID), Entry: p.ent, RawEntry: p.entry}
		a.stamp(ctx, bundle, cp.Size, row.RecordID)
		if err := writeBundle(r.Bundle, bundle); err != nil {
			return fmt.Errorf("writing bundle: %w", err)
		}
		if err := a.index.AddTracking(ctx, row); err != nil {
			return err
		}
		if p.set != nil {
			p.set(r)
		}
	}
	return nil
}

// logTracking signs, logs and publishes one tracking statement.
func (a *Archive) logTracking(ctx context.Context, st any) (*TrackRecord, error) {
	var r *TrackRecord
	p, err := a.prepareTracking(ctx, st, func(tr *TrackRecord) { r = tr })
	if err != nil {
		return nil, err
	}
	if err := a.finishTracking(ctx, p); err != nil {
		return nil, err
	}
	return r, nil
}

// GetTracking returns the tracking record with the given ID, its signature
// checked.
func (a *Archive) GetTracking(ctx context.Context, id string) (*TrackRecord, error) {
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	row, err := a.index.GetTracking(ctx, canon)
	if err != nil {
		return nil, err
	}
	return a.trackFromIndex(row)
}

func (a *Archive) trackFromIndex(row *index.TrackingRecord) (*TrackRecord, error) {
	leaf := rfc6962.DefaultHasher.HashLeaf(row.Entry)
	if got := verify.RecordIDFromLeafHash(leaf); got != row.RecordID {
		return nil, fmt.Errorf("record %s in the index holds the entry of %s", row.RecordID, got)
	}
	ent, err := a.opened.get(leaf, func() (*verify.Entry, error) { return a.openEntry(row.Entry) })
	if err != nil {
		return nil, fmt.Errorf("record %s in the index: %w", row.RecordID, err)
	}
	r := &TrackRecord{RecordID: row.RecordID, Index: row.LeafIndex, Kind: row.Kind, Document: row.Document, Entry: ent, RawEntry: row.Entry}
	if p := a.bundlePath(r.RecordID); fileExists(p) {
		r.Bundle = p
	}
	return r, nil
}

// ProveEntry returns a fresh evidence bundle for a record of any kind
// (capture or tracking) against the latest checkpoint, and its statement.
func (a *Archive) ProveEntry(ctx context.Context, id string) (*verify.Entry, *verify.Bundle, error) {
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, nil, err
	}
	var raw []byte
	var idx uint64
	if ir, err := a.index.Get(ctx, canon); err == nil {
		raw, idx = ir.Entry, ir.LeafIndex
	} else if !errors.Is(err, ErrNotFound) {
		return nil, nil, err
	} else {
		row, err := a.index.GetTracking(ctx, canon)
		if err != nil {
			return nil, nil, err
		}
		raw, idx = row.Entry, row.LeafIndex
	}
	ent, err := a.openEntry(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("record %s in the index: %w", canon, err)
	}
	signed, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	b, err := a.reader.Prove(ctx, raw, idx, signed, cp)
	if err != nil {
		return nil, nil, err
	}
	a.stamp(ctx, b, cp.Size, "")
	return ent, b, nil
}

// RecordBundle returns the bundle the archive wrote when it logged the
// record (id in any form verify.ParseRecordID accepts): proved against the
// checkpoint published with the entry, with that checkpoint's witness
// cosignatures and its RFC 3161 token, or "pending" if it had none then
// and the retry loop has not rewritten the file since. The file is parsed
// but not verified. It returns an error wrapping ErrNotFound when the
// archive holds no bundle file for the record (an imported record, say).
func (a *Archive) RecordBundle(id string) (*verify.Bundle, error) {
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(a.bundlePath(canon))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("bundle of record %s: %w", canon, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	b, err := verify.ParseBundle(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.bundlePath(canon), err)
	}
	return b, nil
}

func (a *Archive) trackingRecords(ctx context.Context, q index.TrackingQuery) ([]*TrackRecord, error) {
	rows, err := a.index.Tracking(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*TrackRecord, 0, len(rows))
	for _, row := range rows {
		r, err := a.trackFromIndex(row)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
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
		return fmt.Errorf("%w: every %s is shorter than the minimum %s", ErrInput, d.Every, MinEvery)
	}
	if d.Entity == "" || d.Document == "" {
		return fmt.Errorf("%w: a tracked document needs an entity and a document title", ErrInput)
	}
	if err := checkText(map[string]string{"entity": d.Entity, "document": d.Document, "url": d.URL}); err != nil {
		return err
	}
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q is not an http(s) URL", ErrInput, d.URL)
	}
	if err := checkNoCredentials(u); err != nil {
		return err
	}
	if d.ID == "" {
		if d.ID = DocumentIDFor(d.Entity, d.Document); d.ID == "" {
			return fmt.Errorf("%w: no document ID can be made from %q and %q (it takes ASCII letters or digits): give one with --id", ErrInput, d.Entity, d.Document)
		}
	}
	if err := verify.CheckDocumentID(d.ID); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	if err := (extract.Rules{Select: d.Select, Remove: d.Remove}).Check(); err != nil {
		return fmt.Errorf("%w: %v", ErrInput, err)
	}
	return nil
}

// Track declares a new tracked document (revision 1 of its declaration).
// It refuses, with ErrTracked, an ID or an entity and title already
// tracked, and with ErrInput a bad URL, selector or interval.
func (a *Archive) Track(ctx context.Context, d Declaration) (*TrackRecord, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	a.declaring.Lock()
	defer a.declaring.Unlock()
	docs, err := a.declarations(ctx)
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
	return a.declare(ctx, d, 1, "")
}

func (a *Archive) declare(ctx context.Context, d Declaration, revision int, previous string) (*TrackRecord, error) {
	st := verify.DeclarationStatement{
		Type:          verify.StatementType,
		PredicateType: verify.DeclarationPredicateType,
		Subject:       []verify.Subject{{Name: d.ID, Digest: map[string]string{"sha256": verify.SHA256Hex([]byte(d.ID))}}},
		Predicate: verify.Declaration{
			Entity: d.Entity, Document: d.Document, URL: d.URL,
			Select: d.Select, Remove: d.Remove,
			EverySeconds: int64(d.Every / time.Second),
			Revision:     revision, Previous: previous,
			DeclaredAt: verify.FormatTime(time.Now()),
			Tool:       tool(),
		},
	}
	return a.logTracking(ctx, &st)
}

// DeclarationEdit changes a declaration; nil fields are kept.
type DeclarationEdit struct {
	URL            *string
	Select, Remove *[]string
	Every          *time.Duration
}

// EditDeclaration records a new revision of a document's declaration. It
// returns ErrNoDocument for an unknown ID, and ErrInput for an edit that
// changes nothing or sets a bad value.
func (a *Archive) EditDeclaration(ctx context.Context, id string, e DeclarationEdit) (*TrackRecord, error) {
	a.declaring.Lock()
	defer a.declaring.Unlock()
	cur, rec, err := a.declaration(ctx, id)
	if err != nil {
		return nil, err
	}
	p := &cur.Predicate
	d := Declaration{ID: id, Entity: p.Entity, Document: p.Document, URL: p.URL, Select: p.Select, Remove: p.Remove, Every: time.Duration(p.EverySeconds) * time.Second}
	if e.URL != nil {
		d.URL = *e.URL
	}
	if e.Select != nil {
		d.Select = *e.Select
	}
	if e.Remove != nil {
		d.Remove = *e.Remove
	}
	if e.Every != nil {
		d.Every = *e.Every
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	if d.URL == p.URL && equalStrings(d.Select, p.Select) && equalStrings(d.Remove, p.Remove) && int64(d.Every/time.Second) == p.EverySeconds {
		return nil, fmt.Errorf("%w: the edit changes nothing in revision %d of %s", ErrInput, p.Revision, id)
	}
	return a.declare(ctx, d, p.Revision+1, rec)
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
func (a *Archive) declarations(ctx context.Context) ([]*verify.DeclarationStatement, error) {
	recs, err := a.trackingRecords(ctx, index.TrackingQuery{Kinds: []string{"declaration"}})
	if err != nil {
		return nil, err
	}
	latest := map[string]int{}
	var out []*verify.DeclarationStatement
	for _, r := range recs {
		st := r.Entry.Declaration
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
func (a *Archive) declaration(ctx context.Context, id string) (*verify.DeclarationStatement, string, error) {
	recs, err := a.trackingRecords(ctx, index.TrackingQuery{Document: id, Kinds: []string{"declaration"}})
	if err != nil {
		return nil, "", err
	}
	if len(recs) == 0 {
		return nil, "", fmt.Errorf("%w: %s (exhibit track list shows those tracked)", ErrNoDocument, id)
	}
	last := recs[len(recs)-1]
	return last.Entry.Declaration, last.RecordID, nil
}

// readSnapshot reads a stored snapshot whole, up to extract.MaxInput+1
// bytes (extract refuses anything longer with a clear reason).
func (a *Archive) readSnapshot(ctx context.Context, digest string) ([]byte, error) {
	rc, err := a.store.Get(ctx, digest)
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
func (a *Archive) Text(ctx context.Context, digest string) ([]byte, error) {
	rc, err := a.store.Get(ctx, digest)
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

// Describe says in one line what a tracking statement attests, for
// people (verify's and show's output, record pages). For a capture it
// returns "".
func Describe(e *verify.Entry) string {
	doc := e.DocumentID()
	switch {
	case e.Declaration != nil:
		p := &e.Declaration.Predicate
		sel := "the whole body"
		if len(p.Select) > 0 {
			sel = strings.Join(p.Select, ", ")
		}
		if len(p.Remove) > 0 {
			sel += " without " + strings.Join(p.Remove, ", ")
		}
		return fmt.Sprintf("declaration revision %d of %s (%s %s): %s, the part %s, captured every %s; declared %s",
			p.Revision, doc, p.Entity, p.Document, p.URL, sel, time.Duration(p.EverySeconds)*time.Second, p.DeclaredAt)
	case e.Version != nil:
		p := &e.Version.Predicate
		return fmt.Sprintf("version %d (%s) of %s: text SHA-256 %s (%d bytes), extracted by %s %s from snapshot %s (SHA-256 %s, captured %s) with declaration %s",
			p.Number, p.Kind, doc, p.Text.SHA256, p.Text.Size, p.Extractor.Name, p.Extractor.Version, p.Snapshot.RecordID, p.Snapshot.SHA256, p.Snapshot.CapturedAt, p.Declaration)
	case e.Extraction != nil:
		p := &e.Extraction.Predicate
		if p.Result == verify.ExtractionConfirmed {
			return fmt.Sprintf("snapshot %s of %s (captured %s) has the text of version %s (SHA-256 %s): it confirms it", p.Snapshot.RecordID, doc, p.Snapshot.CapturedAt, p.Version, p.TextSHA256)
		}
		return fmt.Sprintf("no text could be extracted from snapshot %s of %s (captured %s): %s: %s", p.Snapshot.RecordID, doc, p.Snapshot.CapturedAt, p.Failure.Reason, p.Failure.Message)
	case e.Provision != nil:
		p := &e.Provision.Predicate
		return fmt.Sprintf("provision of %s: %q stands at code points [%d, %d) of the text of version %s (SHA-256 %s); quoted %s",
			doc, abbreviate(p.Quote.Exact, 200), p.Position.Start, p.Position.End, p.Version, p.Text.SHA256, p.RecordedAt)
	case e.ProvisionStatus != nil:
		p := &e.ProvisionStatus.Predicate
		s := fmt.Sprintf("provision %s is %s in version %s of %s (text SHA-256 %s)", p.Provision, strings.ToUpper(p.Status), p.Version, doc, p.Text.SHA256)
		switch p.Status {
		case verify.ProvisionPresent:
			s += fmt.Sprintf(", at code points [%d, %d)", p.Position.Start, p.Position.End)
		case verify.ProvisionChanged:
			s += fmt.Sprintf("; the closest passage, at [%d, %d), is %.1f%% similar: %q", p.Position.Start, p.Position.End, p.Similarity*100, abbreviate(p.Closest, 200))
		case verify.ProvisionRemoved:
			s += fmt.Sprintf("; no passage is more than %.1f%% similar", p.Similarity*100)
		}
		return s
	}
	return ""
}

func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// entryCache keeps tracking statements whose signatures were checked, by
// the RFC 6962 leaf hash of their exact entry bytes, so that folding a
// document's history (every round of exhibit track run, every page) does
// not verify the same signatures again: the same bytes verify the same
// way. It holds at most maxOpened entries and is emptied when full.
type entryCache struct {
	mu sync.Mutex
	m  map[[32]byte]*verify.Entry
}

const maxOpened = 50_000

func (c *entryCache) get(leaf []byte, open func() (*verify.Entry, error)) (*verify.Entry, error) {
	var k [32]byte
	copy(k[:], leaf)
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return e, nil
	}
	e, err := open()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxOpened {
		c.m = map[[32]byte]*verify.Entry{}
	}
	c.m[k] = e
	c.mu.Unlock()
	return e, nil
}
