package verify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CorroborationPredicateType: what an independent web archive held of a
// captured URL near the capture's time, as a Memento TimeGate (RFC 7089)
// answered (docs/FORMATS.md section 2.9).
const CorroborationPredicateType = "https://github.com/exhibit-archive/exhibit/corroboration/v1"

// Results of a corroboration, in [Corroboration.Result].
const (
	// CorroborationFound: the archive named a memento (URI-M and datetime).
	CorroborationFound = "found"
	// CorroborationNone: the archive answered that it holds no memento of
	// the URL.
	CorroborationNone = "none"
)

// CorroborationStatement's subject is named by the captured URL, with the
// SHA-256 of the capture's snapshot, as the capture statement's.
type CorroborationStatement = TypedStatement[Corroboration]

// Corroboration records what a Memento TimeGate answered when asked for
// its copy of a captured URL nearest the capture's time. It says what the
// other archive held, not that its copy has the same bytes: the archive
// may serve a different rendering.
type Corroboration struct {
	// Capture is the capture's record ID; URL the URL asked for (the URL
	// the capture requested); CapturedAt its citation time, the datetime
	// asked for (Accept-Datetime).
	Capture    string `json:"capture"`
	URL        string `json:"url"`
	CapturedAt string `json:"captured_at"`
	// TimeGate is the TimeGate URL asked (its prefix and the URL, without
	// a fragment).
	TimeGate string `json:"timegate"`
	// Result is CorroborationFound or CorroborationNone; Status is the
	// TimeGate's HTTP status.
	Result string `json:"result"`
	Status int    `json:"status"`
	// Memento (URI-M) and MementoDatetime (RFC 3339 UTC, from the
	// memento's Memento-Datetime header) when found.
	Memento         string `json:"memento,omitempty"`
	MementoDatetime string `json:"memento_datetime,omitempty"`
	// CheckedAt is when the TimeGate was asked.
	CheckedAt string `json:"checked_at"`
	Tool      Tool   `json:"tool"`
}

func checkAbsoluteURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsFunc(v, IsControl) {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", name, v)
	}
	return nil
}

// checkCorroboration checks a corroboration statement: the envelope
// fields as a capture's (one subject, named by the URL, with a SHA-256),
// then the predicate.
func checkCorroboration(s *CorroborationStatement) error {
	if s.Type != StatementType {
		return fmt.Errorf("_type is %q, want %q", s.Type, StatementType)
	}
	if s.PredicateType != CorroborationPredicateType {
		return fmt.Errorf("predicateType is %q, want %q", s.PredicateType, CorroborationPredicateType)
	}
	if len(s.Subject) != 1 {
		return fmt.Errorf("%d subjects, want 1", len(s.Subject))
	}
	sub := s.Subject[0]
	if d, ok := sub.Digest["sha256"]; !ok || !IsSHA256Hex(d) || len(sub.Digest) != 1 {
		return fmt.Errorf("subject digest %v: want sha256 alone, 64 lowercase hex digits", sub.Digest)
	}
	p := &s.Predicate
	if sub.Name != p.URL {
		return fmt.Errorf("subject name %q differs from url %q", sub.Name, p.URL)
	}
	if err := checkRecordIDs(map[string]string{"capture": p.Capture}); err != nil {
		return err
	}
	for name, v := range map[string]string{"url": p.URL, "timegate": p.TimeGate} {
		if err := checkAbsoluteURL(name, v); err != nil {
			return err
		}
	}
	if p.Status < 100 || p.Status > 599 {
		return fmt.Errorf("status %d is not an HTTP status", p.Status)
	}
	switch p.Result {
	case CorroborationFound:
		if err := checkAbsoluteURL("memento", p.Memento); err != nil {
			return err
		}
		if err := checkTimes(map[string]string{"memento_datetime": p.MementoDatetime}); err != nil {
			return err
		}
	case CorroborationNone:
		if p.Memento != "" || p.MementoDatetime != "" {
			return errors.New("a corroboration with result none names no memento")
		}
	default:
		return fmt.Errorf("result %q: want found or none", p.Result)
	}
	if p.Tool.Name == "" {
		return errors.New("predicate has no tool name")
	}
	return checkTimes(map[string]string{"captured_at": p.CapturedAt, "checked_at": p.CheckedAt})
}
