// Package record defines the one shape in which exhibit hands out a log
// entry of an archive: a [Record], whatever its statement's kind (a
// capture, or one of the tracking statements: declaration, version,
// extraction, provision, provision status). The write path returns it, the
// index stores and returns it, and the CLI, the JSON API and the pages
// show it.
//
// The statements themselves are specified in package verify and
// docs/FORMATS.md (in-toto Statement v1, https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md).
package record

import (
	"github.com/exhibit-archive/exhibit/verify"
)

// Kinds of record: the kind of the statement logged (see verify.Entry.Kind).
const (
	Capture         = "capture"
	Declaration     = "declaration"
	Version         = "version"
	Extraction      = "extraction"
	Provision       = "provision"
	ProvisionStatus = "provision-status"
	Analysis        = "analysis"
	Corroboration   = "corroboration"
)

// KindWithArticle returns kind with its indefinite article, for messages:
// "a version record", "an analysis record".
func KindWithArticle(kind string) string {
	if kind == Analysis || kind == Extraction {
		return "an " + kind
	}
	return "a " + kind
}

// Record is one entry of an archive's log: its record ID, its position,
// its statement, and the fields people search and cite by, derived from
// the statement (see [New]).
//
// Its JSON form is the API's and the CLI's (exhibit show -o json):
// record_id, index, kind, published (when known), then the derived fields
// of its kind, empty ones omitted. The statement, the exact entry and the
// checkpoint are not in it.
type Record struct {
	// ID is the record ID (EXR-…), derived from the exact log entry.
	ID string `json:"record_id"`
	// Index is the entry's index in the log.
	Index uint64 `json:"index"`
	// Kind is the statement's kind: Capture, Declaration, Version,
	// Extraction, Provision or ProvisionStatus.
	Kind string `json:"kind"`
	// Published is the tree size of the checkpoint the record was first
	// published with (so Published > Index), or zero where not known.
	Published uint64 `json:"published,omitempty"`

	// Fields of a capture.

	// SHA256 is, for a capture, its snapshot's digest (empty for a failed
	// capture); for a tracking statement, its subject's digest.
	SHA256    string `json:"sha256,omitempty"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"media_type,omitempty"`
	// Outcome is "captured", "http_error" or "failed".
	Outcome string `json:"outcome,omitempty"`
	Status  int    `json:"status,omitempty"`
	// Method is "fetch", "upload" or "browser".
	Method string `json:"method,omitempty"`
	// URL is the URL requested (a fetch) or claimed (an upload), or, for
	// an upload without one, the file name the statement's subject names.
	URL      string `json:"url,omitempty"`
	FinalURL string `json:"final_url,omitempty"`
	// Redirected reports a capture whose document came from another
	// URL than the one requested: a fetch that followed HTTP redirects,
	// or a browser capture whose main frame navigated by itself (a
	// script setting location, a meta refresh: Rendering.Navigations)
	// to a document at another URL. What it captured is what FinalURL
	// served (a new address, or a consent wall or login page in place of
	// the document asked for). False for a failed capture, whose Failure
	// says what happened.
	Redirected bool   `json:"redirected,omitempty"`
	Entity     string `json:"entity,omitempty"`
	Document   string `json:"document,omitempty"`
	// CapturedAt is the citation time (RFC 3339 UTC, see
	// verify.Statement.CapturedAt); Claimed reports a time claimed by the
	// supplier of an upload rather than observed.
	CapturedAt string          `json:"captured_at,omitempty"`
	Claimed    bool            `json:"claimed,omitempty"`
	Failure    *verify.Failure `json:"failure,omitempty"`
	// Rendering is a browser capture's rendering block (browser, viewport,
	// wait, and the screenshot, PDF, DOM and WARC by SHA-256), as signed.
	Rendering *verify.Rendering `json:"rendering,omitempty"`

	// Fields of a tracking statement.

	// DocumentID is the tracked document's ID.
	DocumentID string `json:"document_id,omitempty"`
	// Ref is the record the statement is about: the snapshot's record for
	// a version or an extraction, the version's for a provision, the
	// provision's for a provision status or an analysis, the previous
	// revision's for a declaration (empty for the first).
	Ref string `json:"ref,omitempty"`
	// At is the time the statement speaks for (RFC 3339 UTC): a
	// declaration's declared_at; a version's or extraction's snapshot
	// capture time; a provision's or status's recorded_at; an
	// analysis' analyzed_at.
	At string `json:"at,omitempty"`

	// Statement is the statement, parsed: exactly one of its fields is set.
	Statement *verify.Entry `json:"-"`
	// Payload is the statement's exact JSON bytes (the DSSE payload).
	Payload []byte `json:"-"`
	// Entry, when the holder has it, is the exact log entry: the DSSE
	// envelope whose payload is Payload. Nil when the record was read
	// from the index (the entry lives in the log).
	Entry []byte `json:"-"`
	// Checkpoint, when the holder has it, is the signed checkpoint of tree
	// size Published, as kept.
	Checkpoint []byte `json:"-"`
}

// New returns the record of a statement (parsed from payload) with the
// given ID at index, its fields derived from the statement.
func New(id string, index uint64, st *verify.Entry, payload []byte) *Record {
	r := &Record{ID: id, Index: index, Kind: st.Kind(), Statement: st, Payload: payload}
	switch {
	case st.Capture != nil:
		c := st.Capture
		p := &c.Predicate
		at, claimed := c.CapturedAt()
		r.Method, r.Outcome, r.Entity, r.Document = p.Method, p.Outcome, p.Entity, p.Document
		r.URL = c.Subject[0].Name
		r.CapturedAt, r.Claimed = verify.FormatTime(at), claimed
		r.Failure, r.Rendering = p.Failure, p.Rendering
		if p.Snapshot != nil {
			r.SHA256, r.Size, r.MediaType = p.Snapshot.SHA256, p.Snapshot.Size, p.Snapshot.MediaType
		}
		if o := p.Observed; o != nil {
			r.Status, r.FinalURL = o.Status, o.FinalURL
			// A followed redirect never ends where it started: a
			// request for a URL already requested is a redirect loop,
			// a failure.
			if p.Method != verify.MethodUpload && o.RequestedURL != "" {
				r.URL = o.RequestedURL
			}
			// A page that navigated by itself may end where it
			// started (a reload): only another URL is a move.
			navigated := p.Rendering != nil && len(p.Rendering.Navigations) > 0 && o.FinalURL != "" && o.FinalURL != r.URL
			r.Redirected = (len(o.Redirects) > 0 || navigated) && p.Outcome != verify.OutcomeFailed
		}
	case st.Declaration != nil:
		p := &st.Declaration.Predicate
		r.Ref, r.At = p.Previous, p.DeclaredAt
		r.Entity, r.Document, r.URL = p.Entity, p.Document, p.URL
	case st.Version != nil:
		p := &st.Version.Predicate
		r.Ref, r.At = p.Snapshot.RecordID, p.Snapshot.CapturedAt
	case st.Extraction != nil:
		p := &st.Extraction.Predicate
		r.Ref, r.At = p.Snapshot.RecordID, p.Snapshot.CapturedAt
	case st.Provision != nil:
		p := &st.Provision.Predicate
		r.Ref, r.At = p.Version, p.RecordedAt
	case st.ProvisionStatus != nil:
		p := &st.ProvisionStatus.Predicate
		r.Ref, r.At = p.Provision, p.RecordedAt
	case st.Analysis != nil:
		p := &st.Analysis.Predicate
		r.Ref, r.At = p.Provision, p.AnalyzedAt
	case st.Corroboration != nil:
		p := &st.Corroboration.Predicate
		r.Ref, r.At, r.URL = p.Capture, p.CheckedAt, p.URL
	}
	if st.Capture == nil {
		r.DocumentID = st.DocumentID()
		r.SHA256 = st.SubjectDigest()
	}
	return r
}

// FromEntry returns the record of the exact log entry at index, whose
// statement st the caller opened (its signature checked) from entry.
func FromEntry(entry []byte, index uint64, st *verify.Entry, payload []byte) *Record {
	r := New(verify.RecordID(entry), index, st, payload)
	r.Entry = entry
	return r
}
