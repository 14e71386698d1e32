package verify

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

const (
	// StatementType is the in-toto Statement v1 "_type" value.
	StatementType = "https://in-toto.io/Statement/v1"
	// PayloadType is the DSSE payloadType of an in-toto statement.
	PayloadType = "application/vnd.in-toto+json"
	// CapturePredicateType is the predicateType of exhibit's capture
	// statements. The trailing version changes with any incompatible change
	// to [Capture].
	CapturePredicateType = "https://github.com/exhibit-archive/exhibit/capture/v1"
	// CapturePredicateTypeV2 is the predicateType of a capture made in a
	// browser (method "browser", docs/FORMATS.md section 2.10). Version 2
	// reads every version 1 predicate as it was; it adds the method
	// [MethodBrowser], the [Capture.Rendering] block and the failure
	// reasons of a browser. exhibit writes version 2 for browser captures
	// only, so that readers of version 1 keep reading fetches and uploads.
	CapturePredicateTypeV2 = "https://github.com/exhibit-archive/exhibit/capture/v2"
)

// IsCapturePredicate reports whether t is a capture predicate type of any
// version.
func IsCapturePredicate(t string) bool {
	return t == CapturePredicateType || t == CapturePredicateTypeV2
}

// Outcomes of a capture, in [Capture.Outcome].
const (
	// OutcomeCaptured: the document was fetched with a 2xx final status, or
	// received out of band; a snapshot exists.
	OutcomeCaptured = "captured"
	// OutcomeHTTPError: the server answered with a final non-2xx status; the
	// body it sent is kept as the snapshot and the record is flagged.
	OutcomeHTTPError = "http_error"
	// OutcomeFailed: no response body could be obtained (DNS, connection,
	// TLS, redirect loop, timeout, body over the limit). No snapshot exists.
	OutcomeFailed = "failed"
)

// Methods of a capture, in [Capture.Method].
const (
	// MethodFetch: exhibit fetched the document itself over HTTP(S).
	MethodFetch = "fetch"
	// MethodUpload: the document was handed to exhibit out of band; its URL
	// and time are claims by whoever supplied it (see [Capture.Claimed]).
	MethodUpload = "upload"
	// MethodBrowser: exhibit loaded the URL in a headless browser, which
	// fetched the document and everything the page loaded, ran its
	// scripts and rendered it (capture predicate version 2 only; see
	// [Rendering]).
	MethodBrowser = "browser"
)

// Statement is an in-toto Statement v1 whose predicate is a [Capture].
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     Capture   `json:"predicate"`
}

// Subject names the captured artifact. Name is the document's URL (or file
// name when no URL is known). Digest holds "sha256": the lowercase hex
// SHA-256 of the snapshot's bytes. For a failed capture, which has no
// snapshot, the digest is the SHA-256 of the UTF-8 bytes of Name, so that a
// failure can never be mistaken for the capture of an empty document.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Capture is exhibit's predicate: what was captured, how, and with what
// outcome. Fields under Observed are what exhibit itself saw; fields under
// Claimed are assertions made by whoever supplied an uploaded document, and
// are never merged with observations.
type Capture struct {
	Entity   string `json:"entity,omitempty"`
	Document string `json:"document,omitempty"`
	// Method is MethodFetch or MethodUpload.
	Method string `json:"method"`
	// Outcome is OutcomeCaptured, OutcomeHTTPError or OutcomeFailed.
	Outcome string `json:"outcome"`
	// Snapshot describes the stored bytes; nil when Outcome is OutcomeFailed.
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	// Failure says why a capture failed; nil unless Outcome is OutcomeFailed.
	Failure  *Failure     `json:"failure,omitempty"`
	Observed *Observation `json:"observed"`
	Claimed  *Claim       `json:"claimed,omitempty"`
	// Rendering describes the browser and what it rendered; set if and
	// only if Method is MethodBrowser (version 2).
	Rendering *Rendering `json:"rendering,omitempty"`
	Tool      Tool       `json:"tool"`
}

// Snapshot describes the stored bytes of a capture: the response body after
// transfer- and content-decoding, as a reader sees it.
type Snapshot struct {
	// SHA256 is the lowercase hex SHA-256 of the bytes; it equals the
	// subject's digest.
	SHA256 string `json:"sha256"`
	// Size is the length in bytes.
	Size int64 `json:"size"`
	// MediaType is the Content-Type the server sent (for a fetch) or the
	// one detected from the file (for an upload).
	MediaType string `json:"media_type,omitempty"`
}

// failureReasons are the values of Failure.Reason.
var failureReasons = map[string]bool{
	"dns": true, "connect": true, "connection_reset": true, "tls": true,
	"redirect_loop": true, "too_many_redirects": true, "timeout": true,
	"body_too_large": true, "bad_url": true, "protocol": true, "other": true,
}

// browserFailureReasons are the values of Failure.Reason a browser capture
// (version 2) may have besides failureReasons.
var browserFailureReasons = map[string]bool{
	"browser_unavailable": true, "browser_crashed": true, "page_too_large": true,
}

// Failure records why no snapshot could be taken.
type Failure struct {
	// Reason is one of: "dns", "connect", "connection_reset", "tls",
	// "redirect_loop", "too_many_redirects", "timeout", "body_too_large",
	// "bad_url", "protocol", "other"; and of a browser capture also
	// "browser_unavailable" (the browser could not be started),
	// "browser_crashed" (the browser or the page's renderer died) and
	// "page_too_large" (the page loaded more than the limit).
	Reason string `json:"reason"`
	// Message is the error text, for humans.
	Message string `json:"message"`
}

// Observation is what exhibit observed itself.
type Observation struct {
	// StartedAt is when exhibit began the request (fetch) or received the
	// file (upload), RFC 3339 UTC with millisecond precision.
	StartedAt string `json:"started_at"`
	// DurationMS is the time from StartedAt to the end of the body, in
	// milliseconds.
	DurationMS int64 `json:"duration_ms"`

	// Fetch only.
	RequestedURL string `json:"requested_url,omitempty"`
	FinalURL     string `json:"final_url,omitempty"`
	// Redirects lists every redirect response in order: at most 10 that
	// were followed, plus, when the capture failed with too_many_redirects
	// or redirect_loop, the one that was refused.
	Redirects []Hop `json:"redirects,omitempty"`
	// Status is the last HTTP status code received: the final response's,
	// or for a failed capture the response being processed when it failed
	// (a refused redirect, or a body over the limit); 0 when no response
	// arrived.
	Status int `json:"status,omitempty"`
	// Protocol is the HTTP version of the final response, e.g. "HTTP/1.1".
	Protocol string `json:"protocol,omitempty"`
	// Headers are the final response's header fields as received, with names
	// in canonical form (as Go's net/http gives them) and values in order.
	// Nil when HeadersDigest is set instead.
	Headers map[string][]string `json:"headers,omitempty"`
	// HeadersDigest is the SHA-256 of a stored JSON object holding Headers,
	// used in place of Headers when they would push the entry over the
	// tlog-tiles size limit.
	HeadersDigest string `json:"headers_sha256,omitempty"`
	// PeerAddress is the server's "ip:port" for the final request.
	PeerAddress string `json:"peer_address,omitempty"`
	TLS         *TLS   `json:"tls,omitempty"`
	UserAgent   string `json:"user_agent,omitempty"`

	// Upload only: the name of the file exhibit was given.
	FileName string `json:"file_name,omitempty"`
}

// Hop is one redirect response.
type Hop struct {
	URL      string `json:"url"`
	Status   int    `json:"status"`
	Location string `json:"location"`
}

// TLS describes the final connection's TLS session.
type TLS struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	ServerName  string `json:"server_name,omitempty"`
	// Verified reports whether the peer chain verifies for the host name
	// against the trusted roots (the system's). It is checked even when the
	// capture ran with --insecure-skip-verify, and tells the truth either
	// way. Version and CipherSuite are empty when the handshake failed.
	Verified bool `json:"verified"`
	// CertificateChainSHA256 is the SHA-256 of the stored object holding the
	// peer certificate chain as concatenated PEM blocks, leaf first.
	CertificateChainSHA256 string `json:"certificate_chain_sha256,omitempty"`
	// Certificates is the number of certificates in that chain.
	Certificates int `json:"certificates"`
	// LeafSubject is the leaf certificate's subject, for humans.
	LeafSubject string `json:"leaf_subject,omitempty"`
}

// Claim holds what the supplier of an uploaded document asserted.
type Claim struct {
	URL string `json:"url,omitempty"`
	// FetchedAt is the claimed fetch time, RFC 3339 UTC.
	FetchedAt string `json:"fetched_at,omitempty"`
}

// Tool names the software that made the statement.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ErrStatement is wrapped by every error [ParseStatement] returns.
var ErrStatement = errors.New("invalid statement")

// ParseStatement decodes an in-toto statement and checks that it is one of
// exhibit's capture statements: the _type, predicateType, a single subject
// with a lowercase hex "sha256" digest, a known method and outcome, a
// snapshot whose digest equals the subject's (unless failed), a failure
// reason (if failed) and RFC 3339 UTC times. The JSON must be strict (see
// the rules in docs/FORMATS.md): no unknown, duplicate or differently cased
// keys and no trailing data, so that nothing in a signed statement goes
// unread and every reader reads the same values.
func ParseStatement(payload []byte) (*Statement, error) {
	var s Statement
	if err := decodeStrict(payload, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatement, err)
	}
	return &s, nil
}

func (s *Statement) check() error {
	if s.Type != StatementType {
		return fmt.Errorf("_type is %q, want %q", s.Type, StatementType)
	}
	if !IsCapturePredicate(s.PredicateType) {
		return fmt.Errorf("predicateType is %q, want %q or %q", s.PredicateType, CapturePredicateType, CapturePredicateTypeV2)
	}
	v2 := s.PredicateType == CapturePredicateTypeV2
	if len(s.Subject) != 1 {
		return fmt.Errorf("%d subjects, want 1", len(s.Subject))
	}
	sub := s.Subject[0]
	if sub.Name == "" {
		return errors.New("subject has no name")
	}
	d, ok := sub.Digest["sha256"]
	if !ok || !IsSHA256Hex(d) {
		return fmt.Errorf("subject digest sha256 %q is not 64 lowercase hex digits", d)
	}
	if len(sub.Digest) != 1 {
		return fmt.Errorf("subject has %d digests, want sha256 alone", len(sub.Digest))
	}
	if s.Predicate.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	texts := map[string]string{"subject name": sub.Name, "entity": s.Predicate.Entity, "document": s.Predicate.Document}
	if o := s.Predicate.Observed; o != nil {
		texts["observed.requested_url"], texts["observed.final_url"], texts["observed.file_name"] = o.RequestedURL, o.FinalURL, o.FileName
	}
	if c := s.Predicate.Claimed; c != nil {
		texts["claimed.url"] = c.URL
	}
	for name, v := range texts {
		if strings.ContainsFunc(v, IsControl) {
			return fmt.Errorf("%s %q has a control character", name, v)
		}
	}
	p := &s.Predicate
	switch {
	case p.Method == MethodFetch, p.Method == MethodUpload:
		if p.Rendering != nil {
			return fmt.Errorf("method %q with a rendering block (only %q has one)", p.Method, MethodBrowser)
		}
	case p.Method == MethodBrowser && v2:
		if p.Rendering == nil {
			return fmt.Errorf("method %q without a rendering block", p.Method)
		}
		if p.Claimed != nil {
			return errors.New("a browser capture with claims (only uploads carry claims)")
		}
		if err := p.Rendering.check(p.Outcome); err != nil {
			return fmt.Errorf("rendering: %v", err)
		}
	default:
		return fmt.Errorf("unknown method %q for %s", p.Method, s.PredicateType)
	}
	if p.Observed == nil {
		return errors.New("predicate has no observed block")
	}
	if _, err := ParseTime(p.Observed.StartedAt); err != nil {
		return fmt.Errorf("observed.started_at: %v", err)
	}
	if p.Claimed != nil && p.Claimed.FetchedAt != "" {
		if _, err := ParseTime(p.Claimed.FetchedAt); err != nil {
			return fmt.Errorf("claimed.fetched_at: %v", err)
		}
	}
	if p.Method == MethodUpload && p.Outcome != OutcomeCaptured {
		return fmt.Errorf("an upload with outcome %q (uploads are always %q)", p.Outcome, OutcomeCaptured)
	}
	if p.Method == MethodFetch && p.Claimed != nil {
		return errors.New("a fetch with claims (only uploads carry claims)")
	}
	if p.Outcome == OutcomeCaptured && p.Method != MethodUpload && (p.Observed.Status < 200 || p.Observed.Status > 299) {
		return fmt.Errorf("outcome %q with HTTP status %d", p.Outcome, p.Observed.Status)
	}
	if p.Outcome == OutcomeHTTPError && p.Observed.Status >= 200 && p.Observed.Status <= 299 {
		return fmt.Errorf("outcome %q with HTTP status %d", p.Outcome, p.Observed.Status)
	}
	switch p.Outcome {
	case OutcomeCaptured, OutcomeHTTPError:
		if p.Snapshot == nil {
			return fmt.Errorf("outcome %q without a snapshot", p.Outcome)
		}
		if p.Snapshot.SHA256 != d {
			return fmt.Errorf("snapshot sha256 %s differs from subject digest %s", p.Snapshot.SHA256, d)
		}
		if p.Snapshot.Size < 0 {
			return fmt.Errorf("negative snapshot size %d", p.Snapshot.Size)
		}
		if p.Failure != nil {
			return fmt.Errorf("outcome %q with a failure", p.Outcome)
		}
	case OutcomeFailed:
		if p.Snapshot != nil {
			return errors.New("failed capture with a snapshot")
		}
		if p.Failure == nil || !failureReasons[p.Failure.Reason] && !(p.Method == MethodBrowser && browserFailureReasons[p.Failure.Reason]) {
			return fmt.Errorf("failed capture without a known failure reason (%+v)", p.Failure)
		}
		if want := SHA256Hex([]byte(sub.Name)); d != want {
			return fmt.Errorf("failed capture's subject digest is %s, want SHA-256 of its name %s", d, want)
		}
	default:
		return fmt.Errorf("unknown outcome %q", p.Outcome)
	}
	return nil
}

// CapturedAt is the time the citation gives for a capture: the observed
// start time for a fetch, the claimed fetch time for an upload that has one
// (claimed reports which), else the time exhibit received it.
func (s *Statement) CapturedAt() (t time.Time, claimed bool) {
	p := &s.Predicate
	if p.Method == MethodUpload && p.Claimed != nil && p.Claimed.FetchedAt != "" {
		t, _ = ParseTime(p.Claimed.FetchedAt)
		return t, true
	}
	t, _ = ParseTime(p.Observed.StartedAt)
	return t, false
}

// SubjectDigest returns the subject's lowercase hex SHA-256.
func (s *Statement) SubjectDigest() string { return s.Subject[0].Digest["sha256"] }

// TimeFormat is the layout of every time in a statement: RFC 3339, UTC,
// millisecond precision.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders t in UTC with [TimeFormat].
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses an RFC 3339 time that must be in UTC ("Z").
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	if len(s) == 0 || s[len(s)-1] != 'Z' {
		return time.Time{}, fmt.Errorf("time %q is not in UTC (no trailing Z)", s)
	}
	return t, nil
}

// IsSHA256Hex reports whether s is a SHA-256 digest in lowercase hex: 64
// characters 0-9, a-f.
func IsSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IsControl reports C0 and C1 control characters, DEL, and the Unicode
// text-direction marks, overrides and isolates (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069), which can make text read differently
// from what it is. Statements may not hold them in the fields people read.
func IsControl(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}
