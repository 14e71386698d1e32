package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Predicate types of exhibit's tracking statements. Like the capture
// statement, each is an in-toto Statement v1 in a DSSE envelope, logged and
// proved the same way; only the predicate differs. See docs/FORMATS.md.
const (
	// DeclarationPredicateType: what part of a page is a tracked document
	// (one revision of its declaration).
	DeclarationPredicateType = "https://github.com/exhibit-archive/exhibit/declaration/v1"
	// VersionPredicateType: a new version of a tracked document's text.
	VersionPredicateType = "https://github.com/exhibit-archive/exhibit/version/v1"
	// ExtractionPredicateType: a snapshot of a tracked document that made no
	// new version, because its text is the current version's (it confirms
	// it) or because no text could be extracted (the reason is given).
	ExtractionPredicateType = "https://github.com/exhibit-archive/exhibit/extraction/v1"
	// ProvisionPredicateType: a quoted clause of a version's text.
	ProvisionPredicateType = "https://github.com/exhibit-archive/exhibit/provision/v1"
	// ProvisionStatusPredicateType: a provision re-checked against a newer
	// version of its document.
	ProvisionStatusPredicateType = "https://github.com/exhibit-archive/exhibit/provision-status/v1"
)

// Kinds of version, in [Version.Kind].
const (
	// VersionFirst is a document's first version.
	VersionFirst = "first"
	// VersionChange is a change of the document's text.
	VersionChange = "change"
	// VersionUpgrade is a technical upgrade: the same snapshot's text
	// extracted again after a declaration or extractor change. It is not a
	// change of the document.
	VersionUpgrade = "upgrade"
	// VersionLinks is a new text that differs from the previous
	// version's only in the targets of its links (where a link leads, not
	// what a reader reads). It is not counted as a change of the
	// document's text.
	VersionLinks = "links"
)

// Results of an extraction, in [Extraction.Result].
const (
	// ExtractionConfirmed: the snapshot's text equals the current version's.
	ExtractionConfirmed = "confirmed"
	// ExtractionFailed: no text could be extracted; Failure says why.
	ExtractionFailed = "failed"
)

// Statuses of a provision, in [ProvisionStatus.Status].
const (
	// ProvisionPresent: the quote stands verbatim in the new version.
	ProvisionPresent = "present"
	// ProvisionChanged: the quote is gone, but a passage close to it is
	// there (Closest, Similarity).
	ProvisionChanged = "changed"
	// ProvisionRemoved: the quote's passage is gone, and nothing close to
	// it is left in its place (a passage like it elsewhere, in Elsewhere,
	// is another clause).
	ProvisionRemoved = "removed"
)

// DeclarationStatement is an in-toto statement whose predicate is a
// [Declaration]. Its single subject is named by the document ID; its
// digest is the SHA-256 of the ID's UTF-8 bytes (a declaration describes no
// stored artifact).
type DeclarationStatement = TypedStatement[Declaration]

// VersionStatement's subject is the document ID with the SHA-256 of the
// version's text.
type VersionStatement = TypedStatement[Version]

// ExtractionStatement's subject is the document ID with the SHA-256 of the
// snapshot's bytes.
type ExtractionStatement = TypedStatement[Extraction]

// ProvisionStatement's subject is the document ID with the SHA-256 of the
// quoted version's text.
type ProvisionStatement = TypedStatement[Provision]

// ProvisionStatusStatement's subject is the document ID with the SHA-256
// of the newer version's text.
type ProvisionStatusStatement = TypedStatement[ProvisionStatus]

// TypedStatement is an in-toto Statement v1 with predicate P.
type TypedStatement[P any] struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     P         `json:"predicate"`
}

// SubjectDigest returns the subject's lowercase hex SHA-256.
func (s *TypedStatement[P]) SubjectDigest() string { return s.Subject[0].Digest["sha256"] }

// DocumentID returns the subject's name: the tracked document's ID.
func (s *TypedStatement[P]) DocumentID() string { return s.Subject[0].Name }

// Range is an Open Terms Archive range selector: the part of a page from
// just before or after the first element matching one CSS selector to just
// before or after the first matching another. Exactly one of StartBefore
// and StartAfter, and one of EndBefore and EndAfter, is set.
type Range struct {
	StartBefore string `json:"startBefore,omitempty"`
	StartAfter  string `json:"startAfter,omitempty"`
	EndBefore   string `json:"endBefore,omitempty"`
	EndAfter    string `json:"endAfter,omitempty"`
}

// Declaration says where a tracked document is and what part of the page
// it is, as Open Terms Archive's declarations do.
type Declaration struct {
	Entity   string `json:"entity"`
	Document string `json:"document"`
	URL      string `json:"url"`
	// Select are CSS selectors (Selectors Level 4, as cascadia reads them)
	// of the parts of the page that are the document; none means the whole
	// body. Remove are selectors of parts to drop from those.
	Select []string `json:"select,omitempty"`
	Remove []string `json:"remove,omitempty"`
	// SelectRanges and RemoveRanges are Open Terms Archive range
	// selectors: parts of the page from one point to another, selected or
	// removed (see [Range]).
	SelectRanges []Range `json:"select_ranges,omitempty"`
	RemoveRanges []Range `json:"remove_ranges,omitempty"`
	// Render, if true, has the document captured in a browser (capture
	// method "browser", predicate version 2) and its text extracted from
	// the rendering's DOM after scripts instead of the response body: a
	// version's or extraction's snapshot.sha256 is then the DOM
	// artefact's digest. Absent (false) for a plain fetch.
	Render bool `json:"render,omitempty"`
	// RenderWaitFor and RenderDelayMS, only with Render, are the wait
	// options of its renderings: a CSS selector the page must match to
	// count as settled, and the least wait after its load event in
	// milliseconds (1 to [MaxRenderDelayMS]). Absent: render's defaults.
	RenderWaitFor string `json:"render_wait_for,omitempty"`
	RenderDelayMS int64  `json:"render_delay_ms,omitempty"`
	// EverySeconds is how often the document is captured, in seconds.
	EverySeconds int64 `json:"every_seconds"`
	// Revision counts the declaration's revisions, from 1; Previous is the
	// record ID of revision Revision-1 (empty for revision 1).
	Revision int    `json:"revision"`
	Previous string `json:"previous,omitempty"`
	// DeclaredAt is when this revision was made, RFC 3339 UTC.
	DeclaredAt string `json:"declared_at"`
	Tool       Tool   `json:"tool"`
}

// SnapshotRef names the capture a version or extraction was made from.
type SnapshotRef struct {
	RecordID string `json:"record_id"`
	SHA256   string `json:"sha256"`
	// CapturedAt is the capture's citation time, RFC 3339 UTC.
	CapturedAt string `json:"captured_at"`
}

// Extractor names the software and version that extracted a text. Its
// output for a given snapshot and rules is deterministic, so anyone with
// that version can extract again and compare.
type Extractor struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Text describes a stored text: its SHA-256 (the object's name in the
// snapshot store), length in bytes and media type.
type Text struct {
	SHA256    string `json:"sha256"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
}

// Values of [Decoding.From].
const (
	DecodedFromBOM     = "bom"
	DecodedFromUTF8    = "utf-8"
	DecodedFromHeader  = "header"
	DecodedFromMeta    = "meta"
	DecodedFromDefault = "default"
)

// Decoding says how a snapshot's bytes were decoded to text.
type Decoding struct {
	// Charset is the WHATWG name of the encoding used ("utf-8",
	// "windows-1252", ...).
	Charset string `json:"charset"`
	// From is what decided it: a byte order mark ("bom"), the body being
	// valid UTF-8 ("utf-8"), the Content-Type header ("header"), a <meta>
	// in the page ("meta"), or nothing ("default": windows-1252).
	From string `json:"from"`
	// Declared is the encoding the header or page declared when another
	// was used (a body that is valid UTF-8 is read as UTF-8).
	Declared string `json:"declared,omitempty"`
	// Replaced counts the bytes the decoding could not read, each shown as
	// U+FFFD in the text: a version with Replaced > 0 lost characters.
	Replaced int `json:"replaced,omitempty"`
}

// Version is a version of a tracked document: its text, extracted from a
// snapshot with a declaration revision and an extractor. One is recorded
// only when the text differs from the document's current version.
type Version struct {
	// Number counts the document's versions, from 1, upgrades included.
	Number int `json:"number"`
	// Kind is VersionFirst, VersionChange, VersionUpgrade or VersionLinks.
	Kind string `json:"kind"`
	// Previous is the record ID of version Number-1 (empty for the first).
	Previous string `json:"previous,omitempty"`
	// Declaration is the record ID of the declaration revision used.
	Declaration string      `json:"declaration"`
	Snapshot    SnapshotRef `json:"snapshot"`
	Extractor   Extractor   `json:"extractor"`
	Text        Text        `json:"text"`
	// Decoding says how the snapshot's bytes were decoded to text (HTML
	// and plain text; absent for PDF and in versions recorded before it
	// was recorded).
	Decoding *Decoding `json:"decoding,omitempty"`
	// RecordedAt is when the version was recorded, RFC 3339 UTC.
	RecordedAt string `json:"recorded_at"`
	Tool       Tool   `json:"tool"`
}

// Extraction records a snapshot of a tracked document that made no new
// version.
type Extraction struct {
	// Result is ExtractionConfirmed or ExtractionFailed.
	Result      string      `json:"result"`
	Declaration string      `json:"declaration"`
	Snapshot    SnapshotRef `json:"snapshot"`
	Extractor   Extractor   `json:"extractor"`
	// Confirmed: the record ID of the version confirmed, and its text's
	// SHA-256.
	Version    string `json:"version,omitempty"`
	TextSHA256 string `json:"text_sha256,omitempty"`
	// Failed: why.
	Failure    *Failure `json:"failure,omitempty"`
	RecordedAt string   `json:"recorded_at"`
	Tool       Tool     `json:"tool"`
}

// TextQuoteSelector is the W3C Web Annotation TextQuoteSelector
// (https://www.w3.org/TR/annotation-model/#text-quote-selector): the quoted
// text and, to tell repeated quotes apart, what comes just before and after.
type TextQuoteSelector struct {
	Type   string `json:"type"` // "TextQuoteSelector"
	Exact  string `json:"exact"`
	Prefix string `json:"prefix,omitempty"`
	Suffix string `json:"suffix,omitempty"`
}

// TextPositionSelector is the W3C Web Annotation TextPositionSelector
// (https://www.w3.org/TR/annotation-model/#text-position-selector): the
// quote's start and end offsets in the text, in Unicode code points, end
// exclusive.
type TextPositionSelector struct {
	Type  string `json:"type"` // "TextPositionSelector"
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Provision quotes one clause of a version's text.
type Provision struct {
	// Version is the record ID of the version quoted; Text its text.
	Version  string               `json:"version"`
	Text     Text                 `json:"text"`
	Quote    TextQuoteSelector    `json:"quote"`
	Position TextPositionSelector `json:"position"`
	// Label is an optional name for the clause, for humans.
	Label      string `json:"label,omitempty"`
	RecordedAt string `json:"recorded_at"`
	Tool       Tool   `json:"tool"`
}

// ProvisionStatus records a provision re-checked against a newer version.
type ProvisionStatus struct {
	// Provision is the provision's record ID; Version the record ID of the
	// version checked, and Text its text.
	Provision string `json:"provision"`
	Version   string `json:"version"`
	Text      Text   `json:"text"`
	// Status is ProvisionPresent, ProvisionChanged or ProvisionRemoved.
	Status string `json:"status"`
	// Position is where the quote (present) or the closest passage
	// (changed) stands in the text; absent when removed.
	Position *TextPositionSelector `json:"position,omitempty"`
	// Closest is the closest passage's text (changed only).
	Closest string `json:"closest,omitempty"`
	// Similarity of the closest passage to the quote, from 0 to 1 with
	// three decimals: 1 - (Levenshtein distance in code points) / (the
	// longer one's length). Set when changed, or when removed and
	// something of the provision's passage is left (below 0.5).
	Similarity float64 `json:"similarity,omitempty"`
	// Elsewhere (removed only, optional) notes a passage at least 0.5
	// similar to the quote that stands elsewhere in the text, outside the
	// provision's place: not the provision's position.
	Elsewhere  *ProvisionElsewhere `json:"elsewhere,omitempty"`
	RecordedAt string              `json:"recorded_at"`
	Tool       Tool                `json:"tool"`
}

// ProvisionElsewhere is a passage like a removed provision's quote that
// stands outside the provision's place in the version: a note for the
// reader, not where the provision is.
type ProvisionElsewhere struct {
	// Position is the passage's, in the version's text.
	Position TextPositionSelector `json:"position"`
	// Similarity of the passage to the quote, as in ProvisionStatus, from
	// 0.5 to 1 (1: the quote verbatim).
	Similarity float64 `json:"similarity"`
}

// Entry is a log entry's statement, opened: PredicateType says which one
// of the fields is set.
type Entry struct {
	PredicateType   string
	Capture         *Statement
	Declaration     *DeclarationStatement
	Version         *VersionStatement
	Extraction      *ExtractionStatement
	Provision       *ProvisionStatement
	ProvisionStatus *ProvisionStatusStatement
	Analysis        *AnalysisStatement
	Corroboration   *CorroborationStatement
}

// Statement returns the statement held: the one field of e that is set.
func (e *Entry) Statement() any {
	switch {
	case e.Capture != nil:
		return e.Capture
	case e.Declaration != nil:
		return e.Declaration
	case e.Version != nil:
		return e.Version
	case e.Extraction != nil:
		return e.Extraction
	case e.Provision != nil:
		return e.Provision
	case e.ProvisionStatus != nil:
		return e.ProvisionStatus
	case e.Analysis != nil:
		return e.Analysis
	case e.Corroboration != nil:
		return e.Corroboration
	}
	return nil
}

// SubjectDigest returns the statement subject's lowercase hex SHA-256.
func (e *Entry) SubjectDigest() string {
	if e.Capture != nil {
		return e.Capture.SubjectDigest()
	}
	return e.subject().Digest["sha256"]
}

// DocumentID returns the tracked document's ID (the subject's name) of a
// tracking statement, or "" for a capture or a corroboration.
func (e *Entry) DocumentID() string {
	if e.Capture != nil || e.Corroboration != nil {
		return ""
	}
	return e.subject().Name
}

func (e *Entry) subject() Subject {
	switch {
	case e.Declaration != nil:
		return e.Declaration.Subject[0]
	case e.Version != nil:
		return e.Version.Subject[0]
	case e.Extraction != nil:
		return e.Extraction.Subject[0]
	case e.Provision != nil:
		return e.Provision.Subject[0]
	case e.ProvisionStatus != nil:
		return e.ProvisionStatus.Subject[0]
	case e.Analysis != nil:
		return e.Analysis.Subject[0]
	case e.Corroboration != nil:
		return e.Corroboration.Subject[0]
	}
	return Subject{}
}

// Kind is a short name for the statement's kind: "capture",
// "declaration", "version", "extraction", "provision",
// "provision-status", "analysis" or "corroboration".
func (e *Entry) Kind() string { return kindOf(e.PredicateType) }

func kindOf(predicateType string) string {
	switch predicateType {
	case CapturePredicateType, CapturePredicateTypeV2:
		return "capture"
	case DeclarationPredicateType:
		return "declaration"
	case VersionPredicateType:
		return "version"
	case ExtractionPredicateType:
		return "extraction"
	case ProvisionPredicateType:
		return "provision"
	case ProvisionStatusPredicateType:
		return "provision-status"
	case AnalysisPredicateType:
		return "analysis"
	case CorroborationPredicateType:
		return "corroboration"
	}
	return ""
}

// ParseEntryStatement decodes an in-toto statement of any of exhibit's
// predicate types, strictly (as [ParseStatement]), and checks its rules.
// Errors wrap ErrStatement.
func ParseEntryStatement(payload []byte) (*Entry, error) {
	var head struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	e := &Entry{PredicateType: head.PredicateType}
	var err error
	switch head.PredicateType {
	case CapturePredicateType, CapturePredicateTypeV2:
		e.Capture, err = ParseStatement(payload)
		return e, err
	case DeclarationPredicateType:
		e.Declaration, err = parseTyped(payload, head.PredicateType, checkDeclaration)
	case VersionPredicateType:
		e.Version, err = parseTyped(payload, head.PredicateType, checkVersion)
	case ExtractionPredicateType:
		e.Extraction, err = parseTyped(payload, head.PredicateType, checkExtraction)
	case ProvisionPredicateType:
		e.Provision, err = parseTyped(payload, head.PredicateType, checkProvision)
	case ProvisionStatusPredicateType:
		e.ProvisionStatus, err = parseTyped(payload, head.PredicateType, checkProvisionStatus)
	case AnalysisPredicateType:
		e.Analysis, err = parseTyped(payload, head.PredicateType, checkAnalysis)
	case CorroborationPredicateType:
		var s CorroborationStatement
		if err = decodeStrict(payload, &s); err == nil {
			err = checkCorroboration(&s)
		}
		e.Corroboration = &s
	default:
		return nil, fmt.Errorf("%w: unknown predicateType %q", ErrStatement, head.PredicateType)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStatement, kindOf(head.PredicateType), err)
	}
	return e, nil
}

// OpenEntry checks the DSSE envelope in entry against key and parses its
// statement, of any of exhibit's predicate types. It returns ErrEnvelope,
// ErrNoValidSignature or ErrStatement (wrapped) on failure.
func OpenEntry(entry []byte, key *PublicKey) (*Entry, error) {
	e, _, err := openEntry(entry, key)
	return e, err
}

func openEntry(entry []byte, key *PublicKey) (*Entry, string, error) {
	e, _, keyID, err := Keyring{key}.OpenEntry(entry)
	return e, keyID, err
}

func parseTyped[P any](payload []byte, predicateType string, check func(*TypedStatement[P]) error) (*TypedStatement[P], error) {
	var s TypedStatement[P]
	if err := decodeStrict(payload, &s); err != nil {
		return nil, err
	}
	if err := checkTyped(&s, predicateType, check); err != nil {
		return nil, err
	}
	return &s, nil
}

// checkTyped checks a tracking statement's envelope fields (type,
// predicate type, one subject named by a document ID with a SHA-256
// digest), then its predicate with check.
func checkTyped[P any](s *TypedStatement[P], predicateType string, check func(*TypedStatement[P]) error) error {
	if s.Type != StatementType {
		return fmt.Errorf("_type is %q, want %q", s.Type, StatementType)
	}
	if s.PredicateType != predicateType {
		return fmt.Errorf("predicateType is %q, want %q", s.PredicateType, predicateType)
	}
	if len(s.Subject) != 1 {
		return fmt.Errorf("%d subjects, want 1", len(s.Subject))
	}
	sub := s.Subject[0]
	if err := CheckDocumentID(sub.Name); err != nil {
		return fmt.Errorf("subject name: %v", err)
	}
	d, ok := sub.Digest["sha256"]
	if !ok || !IsSHA256Hex(d) {
		return fmt.Errorf("subject digest sha256 %q is not 64 lowercase hex digits", d)
	}
	if len(sub.Digest) != 1 {
		return fmt.Errorf("subject has %d digests, want sha256 alone", len(sub.Digest))
	}
	return check(s)
}

// NewEntry wraps a statement of one of exhibit's predicate types (a
// pointer to a Statement, DeclarationStatement, VersionStatement,
// ExtractionStatement, ProvisionStatement or ProvisionStatusStatement) in
// an Entry, and checks its rules as ParseEntryStatement does once it has
// decoded one. It is for the statements a writer builds, before it signs
// them: what strict decoding also rejects (unknown or duplicate keys,
// non-canonical encodings) cannot come out of encoding/json. Errors wrap
// ErrStatement.
func NewEntry(st any) (*Entry, error) {
	var e *Entry
	var err error
	switch s := st.(type) {
	case *Statement:
		e = &Entry{PredicateType: s.PredicateType, Capture: s}
		if !IsCapturePredicate(s.PredicateType) {
			err = fmt.Errorf("predicateType is %q, want %q or %q", s.PredicateType, CapturePredicateType, CapturePredicateTypeV2)
		} else {
			err = s.check()
		}
	case *DeclarationStatement:
		e = &Entry{PredicateType: s.PredicateType, Declaration: s}
		err = checkTyped(s, DeclarationPredicateType, checkDeclaration)
	case *VersionStatement:
		e = &Entry{PredicateType: s.PredicateType, Version: s}
		err = checkTyped(s, VersionPredicateType, checkVersion)
	case *ExtractionStatement:
		e = &Entry{PredicateType: s.PredicateType, Extraction: s}
		err = checkTyped(s, ExtractionPredicateType, checkExtraction)
	case *ProvisionStatement:
		e = &Entry{PredicateType: s.PredicateType, Provision: s}
		err = checkTyped(s, ProvisionPredicateType, checkProvision)
	case *ProvisionStatusStatement:
		e = &Entry{PredicateType: s.PredicateType, ProvisionStatus: s}
		err = checkTyped(s, ProvisionStatusPredicateType, checkProvisionStatus)
	case *AnalysisStatement:
		e = &Entry{PredicateType: s.PredicateType, Analysis: s}
		err = checkTyped(s, AnalysisPredicateType, checkAnalysis)
	case *CorroborationStatement:
		e = &Entry{PredicateType: s.PredicateType, Corroboration: s}
		err = checkCorroboration(s)
	default:
		return nil, fmt.Errorf("%w: %T is not one of exhibit's statements", ErrStatement, st)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStatement, kindOf(e.PredicateType), err)
	}
	return e, nil
}

// CheckDocumentID checks a tracked document's ID: 1 to 100 characters,
// lowercase ASCII letters, digits and single hyphens, starting and ending
// with a letter or digit (for example "github-privacy-policy").
func CheckDocumentID(id string) error {
	if id == "" || len(id) > 100 {
		return fmt.Errorf("document ID %q must be 1 to 100 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '-' && i > 0 && i < len(id)-1 && id[i-1] != '-':
		default:
			return fmt.Errorf("document ID %q: only lowercase letters, digits and single inner hyphens are allowed", id)
		}
	}
	return nil
}

func checkTimes(fields map[string]string) error {
	for name, v := range fields {
		if _, err := ParseTime(v); err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
	}
	return nil
}

func checkRecordIDs(fields map[string]string) error {
	for name, v := range fields {
		got, err := ParseRecordID(v)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if got != v {
			return fmt.Errorf("%s: record ID %q is not in canonical form %q", name, v, got)
		}
	}
	return nil
}

func checkText(name string, t Text) error {
	if !IsSHA256Hex(t.SHA256) {
		return fmt.Errorf("%s.sha256 %q is not 64 lowercase hex digits", name, t.SHA256)
	}
	if t.Size < 0 {
		return fmt.Errorf("%s.size is negative", name)
	}
	if t.MediaType == "" {
		return fmt.Errorf("%s has no media_type", name)
	}
	return nil
}

func checkSnapshotRef(r SnapshotRef) error {
	if !IsSHA256Hex(r.SHA256) {
		return fmt.Errorf("snapshot.sha256 %q is not 64 lowercase hex digits", r.SHA256)
	}
	return checkTimes(map[string]string{"snapshot.captured_at": r.CapturedAt})
}

// MaxRenderDelayMS bounds [Declaration.RenderDelayMS]: a minute, a
// render's whole time limit by default.
const MaxRenderDelayMS = 60000

func checkDeclaration(s *DeclarationStatement) error {
	p := &s.Predicate
	if want := SHA256Hex([]byte(s.DocumentID())); s.SubjectDigest() != want {
		return fmt.Errorf("subject digest is %s, want SHA-256 of the document ID %s", s.SubjectDigest(), want)
	}
	if p.Entity == "" || p.Document == "" || p.URL == "" {
		return errors.New("a declaration needs an entity, a document title and a URL")
	}
	for name, v := range map[string]string{"entity": p.Entity, "document": p.Document, "url": p.URL} {
		if strings.ContainsFunc(v, IsControl) {
			return fmt.Errorf("%s %q has a control character", name, v)
		}
	}
	sels := append(append([]string(nil), p.Select...), p.Remove...)
	for _, r := range append(append([]Range(nil), p.SelectRanges...), p.RemoveRanges...) {
		if (r.StartBefore == "") == (r.StartAfter == "") || (r.EndBefore == "") == (r.EndAfter == "") {
			return fmt.Errorf("range %+v: want one of startBefore and startAfter, and one of endBefore and endAfter", r)
		}
		sels = append(sels, r.StartBefore+r.StartAfter, r.EndBefore+r.EndAfter)
	}
	for _, sel := range sels {
		if strings.TrimSpace(sel) == "" || strings.ContainsFunc(sel, IsControl) {
			return fmt.Errorf("selector %q is empty or has a control character", sel)
		}
	}
	if !p.Render && (p.RenderWaitFor != "" || p.RenderDelayMS != 0) {
		return errors.New("render_wait_for or render_delay_ms without render")
	}
	if p.RenderWaitFor != "" && (strings.TrimSpace(p.RenderWaitFor) == "" || strings.ContainsFunc(p.RenderWaitFor, IsControl)) {
		return fmt.Errorf("render_wait_for %q is blank or has a control character", p.RenderWaitFor)
	}
	if p.RenderDelayMS < 0 || p.RenderDelayMS > MaxRenderDelayMS {
		return fmt.Errorf("render_delay_ms is %d, want 1 to %d", p.RenderDelayMS, MaxRenderDelayMS)
	}
	if p.EverySeconds < 60 {
		return fmt.Errorf("every_seconds is %d, want at least 60", p.EverySeconds)
	}
	if p.Revision < 1 {
		return fmt.Errorf("revision %d, want 1 or more", p.Revision)
	}
	if (p.Revision == 1) != (p.Previous == "") {
		return fmt.Errorf("revision %d with previous %q (only revision 1 has none)", p.Revision, p.Previous)
	}
	if p.Previous != "" {
		if err := checkRecordIDs(map[string]string{"previous": p.Previous}); err != nil {
			return err
		}
	}
	if p.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	return checkTimes(map[string]string{"declared_at": p.DeclaredAt})
}

func checkVersion(s *VersionStatement) error {
	p := &s.Predicate
	if s.SubjectDigest() != p.Text.SHA256 {
		return fmt.Errorf("subject digest %s differs from text.sha256 %s", s.SubjectDigest(), p.Text.SHA256)
	}
	switch p.Kind {
	case VersionFirst, VersionChange, VersionUpgrade, VersionLinks:
	default:
		return fmt.Errorf("unknown kind %q", p.Kind)
	}
	if d := p.Decoding; d != nil {
		switch d.From {
		case DecodedFromBOM, DecodedFromUTF8, DecodedFromHeader, DecodedFromMeta, DecodedFromDefault:
		default:
			return fmt.Errorf("decoding.from %q: want bom, utf-8, header, meta or default", d.From)
		}
		if d.Charset == "" || strings.ContainsFunc(d.Charset+d.Declared, IsControl) || d.Replaced < 0 {
			return fmt.Errorf("decoding %+v: want a charset, no control characters and replaced ≥ 0", *d)
		}
	}
	if p.Number < 1 {
		return fmt.Errorf("number %d, want 1 or more", p.Number)
	}
	if (p.Kind == VersionFirst) != (p.Number == 1) || (p.Number == 1) != (p.Previous == "") {
		return fmt.Errorf("version %d of kind %q with previous %q (only the first version, number 1, has none)", p.Number, p.Kind, p.Previous)
	}
	ids := map[string]string{"declaration": p.Declaration, "snapshot.record_id": p.Snapshot.RecordID}
	if p.Previous != "" {
		ids["previous"] = p.Previous
	}
	if err := checkRecordIDs(ids); err != nil {
		return err
	}
	if err := checkSnapshotRef(p.Snapshot); err != nil {
		return err
	}
	if err := checkText("text", p.Text); err != nil {
		return err
	}
	if p.Extractor.Name == "" || p.Extractor.Version == "" || p.Tool.Name == "" {
		return errors.New("extractor name and version and tool name are required")
	}
	return checkTimes(map[string]string{"recorded_at": p.RecordedAt})
}

func checkExtraction(s *ExtractionStatement) error {
	p := &s.Predicate
	if s.SubjectDigest() != p.Snapshot.SHA256 {
		return fmt.Errorf("subject digest %s differs from snapshot.sha256 %s", s.SubjectDigest(), p.Snapshot.SHA256)
	}
	ids := map[string]string{"declaration": p.Declaration, "snapshot.record_id": p.Snapshot.RecordID}
	switch p.Result {
	case ExtractionConfirmed:
		if p.Failure != nil || !IsSHA256Hex(p.TextSHA256) {
			return errors.New("a confirmed extraction needs text_sha256 and no failure")
		}
		ids["version"] = p.Version
	case ExtractionFailed:
		if p.Failure == nil || p.Failure.Reason == "" || p.Version != "" || p.TextSHA256 != "" {
			return errors.New("a failed extraction needs a failure reason, and no version or text")
		}
		if strings.ContainsFunc(p.Failure.Reason, IsControl) {
			return errors.New("failure reason has a control character")
		}
	default:
		return fmt.Errorf("unknown result %q", p.Result)
	}
	if err := checkRecordIDs(ids); err != nil {
		return err
	}
	if err := checkSnapshotRef(p.Snapshot); err != nil {
		return err
	}
	if p.Extractor.Name == "" || p.Extractor.Version == "" || p.Tool.Name == "" {
		return errors.New("extractor name and version and tool name are required")
	}
	return checkTimes(map[string]string{"recorded_at": p.RecordedAt})
}

func checkProvision(s *ProvisionStatement) error {
	p := &s.Predicate
	if s.SubjectDigest() != p.Text.SHA256 {
		return fmt.Errorf("subject digest %s differs from text.sha256 %s", s.SubjectDigest(), p.Text.SHA256)
	}
	if err := checkRecordIDs(map[string]string{"version": p.Version}); err != nil {
		return err
	}
	if err := checkText("text", p.Text); err != nil {
		return err
	}
	if p.Quote.Type != "TextQuoteSelector" || p.Position.Type != "TextPositionSelector" {
		return fmt.Errorf("selector types %q and %q, want TextQuoteSelector and TextPositionSelector", p.Quote.Type, p.Position.Type)
	}
	n := utf8.RuneCountInString(p.Quote.Exact)
	if n == 0 {
		return errors.New("the quote is empty")
	}
	if p.Position.Start < 0 || p.Position.End-p.Position.Start != n {
		return fmt.Errorf("position [%d, %d) does not span the quote's %d code points", p.Position.Start, p.Position.End, n)
	}
	if strings.ContainsFunc(p.Label, IsControl) {
		return errors.New("label has a control character")
	}
	if p.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	return checkTimes(map[string]string{"recorded_at": p.RecordedAt})
}

func checkProvisionStatus(s *ProvisionStatusStatement) error {
	p := &s.Predicate
	if s.SubjectDigest() != p.Text.SHA256 {
		return fmt.Errorf("subject digest %s differs from text.sha256 %s", s.SubjectDigest(), p.Text.SHA256)
	}
	if err := checkRecordIDs(map[string]string{"provision": p.Provision, "version": p.Version}); err != nil {
		return err
	}
	if err := checkText("text", p.Text); err != nil {
		return err
	}
	if p.Similarity < 0 || p.Similarity > 1 || math.Round(p.Similarity*1000)/1000 != p.Similarity {
		return fmt.Errorf("similarity %v is not in [0, 1] with at most three decimals", p.Similarity)
	}
	switch p.Status {
	case ProvisionPresent:
		if p.Position == nil || p.Closest != "" || p.Similarity != 0 {
			return errors.New("a present provision has a position, and no closest passage or similarity")
		}
	case ProvisionChanged:
		if p.Position == nil || p.Closest == "" {
			return errors.New("a changed provision has a position and a closest passage")
		}
		if utf8.RuneCountInString(p.Closest) != p.Position.End-p.Position.Start {
			return fmt.Errorf("position [%d, %d) does not span the closest passage", p.Position.Start, p.Position.End)
		}
	case ProvisionRemoved:
		if p.Position != nil || p.Closest != "" {
			return errors.New("a removed provision has no position or closest passage")
		}
	default:
		return fmt.Errorf("unknown status %q", p.Status)
	}
	if el := p.Elsewhere; el != nil {
		if p.Status != ProvisionRemoved {
			return fmt.Errorf("a %s provision has no passage elsewhere (only a removed one does)", p.Status)
		}
		if el.Position.Type != "TextPositionSelector" || el.Position.Start < 0 || el.Position.End <= el.Position.Start {
			return fmt.Errorf("elsewhere.position %+v is not a TextPositionSelector with 0 <= start < end", el.Position)
		}
		if el.Similarity < 0.5 || el.Similarity > 1 || math.Round(el.Similarity*1000)/1000 != el.Similarity {
			return fmt.Errorf("elsewhere.similarity %v is not in [0.5, 1] with at most three decimals", el.Similarity)
		}
	}
	if p.Position != nil && (p.Position.Type != "TextPositionSelector" || p.Position.Start < 0 || p.Position.End <= p.Position.Start) {
		return fmt.Errorf("position %+v is not a TextPositionSelector with 0 <= start < end", *p.Position)
	}
	if p.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	return checkTimes(map[string]string{"recorded_at": p.RecordedAt})
}

// QuoteError reports a quote that does not stand where a provision says.
type QuoteError struct{ Reason string }

func (e *QuoteError) Error() string { return e.Reason }

// CheckQuote checks that the provision's quote stands at its stated
// position in text (which must be the version's text: its SHA-256 is
// compared with the provision's) and that the prefix and suffix, when
// present, stand just before and after it. Positions are in Unicode code
// points. Every failure is a *QuoteError.
func CheckQuote(p *Provision, text []byte) error {
	if got := SHA256Hex(text); got != p.Text.SHA256 {
		return &QuoteError{fmt.Sprintf("the text given has SHA-256 %s, but the provision quotes the version text with SHA-256 %s: give that version's text", got, p.Text.SHA256)}
	}
	if !utf8.Valid(text) {
		return &QuoteError{"the text is not valid UTF-8"}
	}
	runes := []rune(string(text))
	s, e := p.Position.Start, p.Position.End
	if s < 0 || e > len(runes) || s >= e {
		return &QuoteError{fmt.Sprintf("position [%d, %d) is outside the text's %d code points", s, e, len(runes))}
	}
	if got := string(runes[s:e]); got != p.Quote.Exact {
		return &QuoteError{fmt.Sprintf("the text at [%d, %d) is %q, not the quote", s, e, abbreviate(got, 80))}
	}
	if pre := []rune(p.Quote.Prefix); len(pre) > 0 && (s < len(pre) || string(runes[s-len(pre):s]) != p.Quote.Prefix) {
		return &QuoteError{"the quote's prefix does not stand just before it"}
	}
	if suf := []rune(p.Quote.Suffix); len(suf) > 0 && (e+len(suf) > len(runes) || string(runes[e:e+len(suf)]) != p.Quote.Suffix) {
		return &QuoteError{"the quote's suffix does not stand just after it"}
	}
	return nil
}

func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
