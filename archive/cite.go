package archive

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/verify"
)

// ErrNotFound is returned for a record ID the archive does not hold.
var ErrNotFound = index.ErrNotFound

// Get returns the record with the given ID (any form ParseRecordID
// accepts). The statement's signature is checked before it is returned.
func (a *Archive) Get(ctx context.Context, id string) (*Record, error) {
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	ir, err := a.index.Get(ctx, canon)
	if err != nil {
		return nil, err
	}
	return a.recordFromIndex(ir)
}

// Prove returns a fresh evidence bundle for the record against the latest
// published checkpoint. The proof is checked before it is returned. With a
// TSA, the bundle carries the checkpoint's time-stamp token, fetched now if
// need be, or says it is pending.
func (a *Archive) Prove(ctx context.Context, id string) (*Record, *verify.Bundle, error) {
	r, b, _, err := a.prove(ctx, id)
	return r, b, err
}

// prove is Prove, also returning the verified checkpoint the bundle holds.
func (a *Archive) prove(ctx context.Context, id string) (*Record, *verify.Bundle, *verify.Checkpoint, error) {
	r, err := a.Get(ctx, id)
	if err != nil {
		return nil, nil, nil, err
	}
	signed, cp, err := a.reader.Checkpoint(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := a.reader.Prove(ctx, r.Entry, r.Index, signed, cp)
	if err != nil {
		return nil, nil, nil, err
	}
	a.stamp(ctx, b, cp.Size, "")
	return r, b, cp, nil
}

// Citation is a citation record: what a filing needs to identify a capture
// and where to check it.
type Citation struct {
	Entity   string `json:"entity"`
	Document string `json:"document"`
	RecordID string `json:"record_id"`
	// CapturedAt is the time the citation gives (RFC 3339 UTC): when
	// exhibit fetched the document; for an upload, the fetch time its
	// supplier stated (then Claimed is true) or else when exhibit received
	// it.
	CapturedAt string `json:"captured_at"`
	Claimed    bool   `json:"claimed"`
	// Uploaded is true for a copy supplied to exhibit out of band: its URL
	// (and any fetch time) are the supplier's claims, not observations.
	Uploaded   bool   `json:"uploaded"`
	ReceivedAt string `json:"received_at,omitempty"`
	Method     string `json:"method"`
	Outcome    string `json:"outcome"`
	Status     int    `json:"status,omitempty"`
	SHA256     string `json:"sha256,omitempty"`
	Size       int64  `json:"size,omitempty"`
	MediaType  string `json:"media_type,omitempty"`
	// URL is the document's URL: observed for a fetch, claimed for an
	// upload (empty when the supplier named none; FileName is then what
	// the subject names).
	URL      string `json:"url,omitempty"`
	FileName string `json:"file_name,omitempty"`
	FinalURL string `json:"final_url,omitempty"`
	// TLS summarises the final connection's TLS, e.g. "TLS 1.3,
	// TLS_AES_128_GCM_SHA256, certificate verified"; TLSVerified is false
	// when the certificate was not trusted (a capture with
	// --insecure-skip-verify). Both are empty without TLS.
	TLS         string `json:"tls,omitempty"`
	TLSVerified *bool  `json:"tls_verified,omitempty"`
	Failure     string `json:"failure,omitempty"`
	LogOrigin   string `json:"log_origin"`
	LogIndex    uint64 `json:"log_index"`
	// The checkpoint the record was proved against: its tree size and root
	// hash (hex).
	CheckpointSize uint64 `json:"checkpoint_size"`
	CheckpointRoot string `json:"checkpoint_root"`
	LogKey         string `json:"log_key"`
	// Text is the one-line citation for a legal filing.
	Text string `json:"citation"`
}

// Cite builds the citation record of a record, proved against the latest
// checkpoint.
func (a *Archive) Cite(ctx context.Context, id string) (*Citation, *verify.Bundle, error) {
	r, b, cp, err := a.prove(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	return NewCitation(r.Statement, r.RecordID, r.Index, cp, a.key.VKey), b, nil
}

// NewCitation builds a citation from a verified statement and checkpoint.
func NewCitation(st *verify.Statement, recordID string, index uint64, cp *verify.Checkpoint, vkey string) *Citation {
	p := &st.Predicate
	at, claimed := st.CapturedAt()
	c := &Citation{
		Entity:         p.Entity,
		Document:       p.Document,
		RecordID:       recordID,
		CapturedAt:     verify.FormatTime(at),
		Claimed:        claimed,
		Uploaded:       p.Method == verify.MethodUpload,
		Method:         p.Method,
		Outcome:        p.Outcome,
		URL:            st.Subject[0].Name,
		LogOrigin:      cp.Origin,
		LogIndex:       index,
		CheckpointSize: cp.Size,
		CheckpointRoot: fmt.Sprintf("%x", cp.Hash),
		LogKey:         vkey,
	}
	if c.Uploaded {
		c.ReceivedAt = p.Observed.StartedAt
		c.FileName = p.Observed.FileName
		if p.Claimed == nil || p.Claimed.URL == "" {
			c.URL = ""
		}
	}
	if p.Snapshot != nil {
		c.SHA256, c.Size, c.MediaType = p.Snapshot.SHA256, p.Snapshot.Size, p.Snapshot.MediaType
	}
	if p.Failure != nil {
		c.Failure = p.Failure.Reason + ": " + p.Failure.Message
	}
	if o := p.Observed; o != nil {
		c.Status = o.Status
		c.FinalURL = o.FinalURL
		if o.RequestedURL != "" {
			c.URL = o.RequestedURL
		}
		if t := o.TLS; t != nil {
			v := t.Verified
			c.TLSVerified = &v
			c.TLS = TLSSummary(t)
		}
	}
	c.Text = c.line()
	return c
}

// TLSSummary renders a TLS observation for people, e.g. "TLS 1.3,
// TLS_AES_128_GCM_SHA256, certificate verified".
func TLSSummary(t *verify.TLS) string {
	var parts []string
	if t.Version != "" {
		parts = append(parts, t.Version)
	}
	if t.CipherSuite != "" {
		parts = append(parts, t.CipherSuite)
	}
	if t.Verified {
		parts = append(parts, "certificate verified")
	} else {
		parts = append(parts, "certificate NOT verified")
	}
	return strings.Join(parts, ", ")
}

// line renders the one-line citation, e.g.
//
//	Zoom, “Zoom Privacy Statement” (captured 8 May 2026, 11:13:55 UTC), exhibit record EXR-…, SHA-256 7e03…d725, log example.org/log #1234
//
// An upload says it is a supplied copy, with the stated fetch time as a
// statement; a failed capture says it failed; an HTTP error status and an
// untrusted TLS certificate are said too.
func (c *Citation) line() string {
	var b strings.Builder
	if c.Entity != "" {
		b.WriteString(c.Entity)
		b.WriteString(", ")
	}
	doc := c.Document
	if doc == "" {
		doc = c.URL
	}
	if doc == "" {
		doc = c.FileName
	}
	fmt.Fprintf(&b, "“%s” (", doc)
	t, _ := verify.ParseTime(c.CapturedAt)
	switch {
	case c.Outcome == verify.OutcomeFailed:
		fmt.Fprintf(&b, "capture failed %s", HumanTime(t))
	case c.Uploaded:
		rt, _ := verify.ParseTime(c.ReceivedAt)
		if c.Claimed {
			fmt.Fprintf(&b, "copy supplied to exhibit %s, stated as fetched %s", rt.UTC().Format("2 January 2006"), HumanTime(t))
		} else {
			fmt.Fprintf(&b, "copy supplied to exhibit %s", HumanTime(rt))
		}
	default:
		fmt.Fprintf(&b, "captured %s", HumanTime(t))
	}
	if c.Outcome == verify.OutcomeHTTPError {
		fmt.Fprintf(&b, "; HTTP %d", c.Status)
	}
	if c.TLSVerified != nil && !*c.TLSVerified && c.Outcome != verify.OutcomeFailed {
		b.WriteString("; TLS certificate not verified")
	}
	fmt.Fprintf(&b, "), exhibit record %s", c.RecordID)
	if c.SHA256 != "" {
		fmt.Fprintf(&b, ", SHA-256 %s…%s", c.SHA256[:4], c.SHA256[len(c.SHA256)-4:])
	}
	fmt.Fprintf(&b, ", log %s #%d", c.LogOrigin, c.LogIndex)
	return b.String()
}

// HumanTime renders t as "8 May 2026, 11:13:55 UTC".
func HumanTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04:05 UTC") }

// SearchQuery selects records; see index.SearchQuery.
type SearchQuery = index.SearchQuery

// Search returns the records matching q, newest first, each with its
// statement's signature checked.
func (a *Archive) Search(ctx context.Context, q SearchQuery) ([]*Record, error) {
	irs, err := a.index.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]*Record, 0, len(irs))
	for _, ir := range irs {
		r, err := a.recordFromIndex(ir)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
