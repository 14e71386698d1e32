// Package cite renders an archive's records for people: the citation
// record of a capture, and the one-line citation a lawyer can paste into a
// filing; and, for a tracking statement, one line that says what it
// attests. Times are given in UTC (RFC 3339 in the fields, "8 May 2026,
// 11:13:55 UTC" in the text).
package cite

import (
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

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
	// RedirectedTo is the final URL when the document archived came from
	// another URL than the one requested: the server redirected the
	// request (a new address, a consent wall, a login page), or, in a
	// browser capture, the page navigated by itself (a script setting
	// location, a meta refresh) to another document. The document
	// archived is what that URL served, not necessarily the document
	// asked for, and the citation says so. Empty when neither happened
	// (record.Record.Redirected), and for a failed capture (Failure says
	// what happened).
	RedirectedTo string `json:"redirected_to,omitempty"`
	// Redirection says how, in words: "redirected to URL", "navigated
	// by script to URL", "navigated by meta refresh to URL, then
	// redirected to URL2" (see Redirection). Empty when RedirectedTo is.
	Redirection string `json:"redirection,omitempty"`
	// Redirects are the redirect responses the fetch received, in order
	// (verify.Observation.Redirects); for a browser capture, those of the
	// request for the document taken.
	Redirects []verify.Hop `json:"redirects,omitempty"`
	// Navigations are a browser capture's client-side navigations of
	// the main frame, in order (verify.Rendering.Navigations).
	Navigations []verify.Navigation `json:"navigations,omitempty"`
	// ResponseHeaders are the final response's header fields as the
	// statement signs them: New sets them when the statement holds them;
	// when it names a stored headers object instead (headers_sha256), a
	// caller that reads the store sets them (archive.ResponseHeaders).
	// KeyHeaders are the ones shown to people.
	ResponseHeaders map[string][]string `json:"response_headers,omitempty"`
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

// New builds the citation of a capture record from its statement and the
// checkpoint it is proved against.
func New(r *record.Record, cp *verify.Checkpoint, vkey string) *Citation {
	st := r.Statement.Capture
	p := &st.Predicate
	c := &Citation{
		Entity:         r.Entity,
		Document:       r.Document,
		RecordID:       r.ID,
		CapturedAt:     r.CapturedAt,
		Claimed:        r.Claimed,
		Uploaded:       p.Method == verify.MethodUpload,
		Method:         p.Method,
		Outcome:        p.Outcome,
		URL:            st.Subject[0].Name,
		LogOrigin:      cp.Origin,
		LogIndex:       r.Index,
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
	if p.Rendering != nil {
		c.Navigations = p.Rendering.Navigations
	}
	if p.Failure != nil {
		c.Failure = p.Failure.Reason + ": " + p.Failure.Message
	}
	if o := p.Observed; o != nil {
		c.Status = o.Status
		c.FinalURL = o.FinalURL
		c.Redirects = o.Redirects
		c.ResponseHeaders = o.Headers
		if r.Redirected {
			c.RedirectedTo = o.FinalURL
			c.Redirection = Redirection(r)
		}
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

// KeyHeaders are the response header fields a citation record shows, in
// this order: the server's clock when it answered (Date, RFC 9110 section
// 6.6.1), when it says the document last changed (Last-Modified, section
// 8.8.2), its software (Server) and the media type (Content-Type).
var KeyHeaders = []string{"Date", "Last-Modified", "Server", "Content-Type"}

// Header is one response header field, its values joined with ", " (RFC
// 9110 section 5.3).
type Header struct{ Name, Value string }

// KeyResponseHeaders returns the KeyHeaders that c.ResponseHeaders holds,
// in KeyHeaders order.
func (c *Citation) KeyResponseHeaders() []Header {
	var hs []Header
	for _, n := range KeyHeaders {
		if v, ok := c.ResponseHeaders[n]; ok {
			hs = append(hs, Header{n, strings.Join(v, ", ")})
		}
	}
	return hs
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
// statement; a failed capture says it failed; a redirect to another URL
// ("redirected to https://…/login", "navigated by script to
// https://…/other"), an HTTP error status and an untrusted TLS
// certificate are said too.
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
	if c.Redirection != "" {
		b.WriteString(", ")
		b.WriteString(c.Redirection)
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

// Redirection says, for people, how a capture's document came from
// another URL than the one requested (r.Redirected), naming the URL whose
// document was captured: "redirected to URL" when the server redirected
// the request; when the page navigated by itself, "navigated by script to
// URL" (by meta refresh, by a Refresh header, by a form, by a link, by a
// reload; "navigated to URL" for other navigations), with ", then
// redirected to URL2" when the server redirected that navigation. It
// returns "" when r was not redirected.
func Redirection(r *record.Record) string {
	if !r.Redirected {
		return ""
	}
	if r.Rendering == nil || len(r.Rendering.Navigations) == 0 {
		return "redirected to " + r.FinalURL
	}
	n := r.Rendering.Navigations[len(r.Rendering.Navigations)-1]
	s := "navigated"
	if by := navigationBy[n.Kind]; by != "" {
		s += " " + by
	}
	if n.URL == r.FinalURL || n.URL == "" {
		return s + " to " + r.FinalURL
	}
	return s + " to " + n.URL + ", then redirected to " + r.FinalURL
}

// navigationBy words verify.Navigation.Kind.
var navigationBy = map[string]string{
	"script":       "by script",
	"meta-refresh": "by meta refresh",
	"http-refresh": "by a Refresh header",
	"form":         "by a form",
	"link":         "by a link",
	"reload":       "by a reload",
}

// HumanTime renders t as "8 May 2026, 11:13:55 UTC".
func HumanTime(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04:05 UTC") }

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
	case e.Analysis != nil:
		return describeAnalysis(&e.Analysis.Predicate, doc)
	case e.Corroboration != nil:
		return describeCorroboration(&e.Corroboration.Predicate)
	case e.ProvisionStatus != nil:
		p := &e.ProvisionStatus.Predicate
		s := fmt.Sprintf("provision %s is %s in version %s of %s (text SHA-256 %s)", p.Provision, strings.ToUpper(p.Status), p.Version, doc, p.Text.SHA256)
		switch p.Status {
		case verify.ProvisionPresent:
			s += fmt.Sprintf(", at code points [%d, %d)", p.Position.Start, p.Position.End)
		case verify.ProvisionChanged:
			s += fmt.Sprintf("; the closest passage, at [%d, %d), is %.1f%% similar: %q", p.Position.Start, p.Position.End, p.Similarity*100, abbreviate(p.Closest, 200))
		case verify.ProvisionRemoved:
			s += fmt.Sprintf("; nothing left at its place is more than %.1f%% similar", p.Similarity*100)
			if el := p.Elsewhere; el != nil {
				s += fmt.Sprintf(" (another passage, %.1f%% similar, stands at code points [%d, %d); it is not the provision)", el.Similarity*100, el.Position.Start, el.Position.End)
			}
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
