package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// BundleMediaType is the media_type of exhibit's JSON evidence bundle.
const BundleMediaType = "application/vnd.exhibit.bundle.v1+json"

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// MaxEntrySize is the largest log entry C2SP tlog-tiles allows, in bytes.
const MaxEntrySize = 1<<16 - 1

// Bundle is an evidence bundle: one log entry, its position, an inclusion
// proof and the signed checkpoint the proof leads to. Its JSON form:
//
//	{
//	  "media_type": "application/vnd.exhibit.bundle.v1+json",
//	  "record_id": "EXR-…",
//	  "entry": "<base64 of the exact log entry bytes: a DSSE envelope>",
//	  "index": 1234,
//	  "inclusion_proof": ["<base64 32-byte hash>", …],
//	  "checkpoint": "<signed note text, with any witness cosignature lines>",
//	  "timestamp": "<base64 DER RFC 3161 TimeStampResp over the checkpoint body>",
//	  "timestamp_status": "pending",
//	  "witnessing": "fail-open"
//	}
//
// Byte fields are standard base64 with padding. inclusion_proof is ordered
// leaf side first (RFC 6962 section 2.1.1) and is empty for a tree of one
// entry. The last three fields are optional, and at most one of timestamp
// and timestamp_status is present. Nothing in a bundle is trusted until
// [Check] passes: the verifier key comes from elsewhere.
type Bundle struct {
	MediaType      string   `json:"media_type"`
	RecordID       string   `json:"record_id"`
	Entry          []byte   `json:"entry"`
	Index          uint64   `json:"index"`
	InclusionProof [][]byte `json:"inclusion_proof"`
	Checkpoint     string   `json:"checkpoint"`
	// Timestamp, if set, is an RFC 3161 TimeStampResp (DER) from the
	// archive's time-stamping authority over the checkpoint's body (see
	// [CheckpointBody]): the checkpoint, and so the entry, existed no later
	// than its time. It is what exhibit keeps beside the checkpoint,
	// checkpoints/<tree size path>.tsr (docs/FORMATS.md 5.7).
	Timestamp []byte `json:"timestamp,omitempty"`
	// TimestampStatus is [TimestampPending] when the archive has a
	// time-stamping authority but has no token for the checkpoint yet (the
	// authority was unreachable); a fresh bundle will carry it. Otherwise
	// empty.
	TimestampStatus string `json:"timestamp_status,omitempty"`
	// Witnessing is [WitnessingFailOpen] when the archive publishes
	// checkpoints even without its witness quorum, so that a checkpoint
	// lacking the quorum is reported, not rejected. It is a statement by
	// the archive, not authenticated: it only turns a missing quorum from
	// a failure into a warning. Otherwise empty.
	Witnessing string `json:"witnessing,omitempty"`
}

// Values of [Bundle.TimestampStatus] and [Bundle.Witnessing].
const (
	TimestampPending   = "pending"
	WitnessingFailOpen = "fail-open"
)

// maxTimestampSize bounds a bundle's time-stamp token, as TSAClient bounds
// a TSA's answer.
const maxTimestampSize = 1 << 20

// ErrBundle is wrapped by the errors [ParseBundle] and [ParseProof] return.
var ErrBundle = errors.New("invalid bundle")

// ErrNotBundle is wrapped (beside ErrBundle) by the error [ParseBundle]
// returns for input in neither of a bundle's forms: not a JSON object (its
// first non-blank byte is not "{") and not a tlog-proof (it does not start
// with [ProofHeader]). Empty input, `null` and random bytes are not
// bundles; a JSON object or a tlog-proof that fails to parse is a bundle
// that fails.
var ErrNotBundle = errors.New("neither an exhibit JSON bundle nor a C2SP tlog-proof")

// ParseBundle decodes a bundle in either of its two forms: exhibit's JSON
// (detected by a leading "{") or C2SP tlog-proof text (see [ParseProof]).
// It checks shape only: required fields are present, hashes are 32 bytes,
// the checkpoint is UTF-8. The JSON must be strict: unknown, duplicate or
// differently cased keys, trailing data and non-standard base64 are
// rejected. The entry's size limit is checked by [Check] (leaf-hash).
func ParseBundle(b []byte) (*Bundle, error) {
	if bytes.HasPrefix(b, []byte(ProofHeader)) {
		return ParseProof(b)
	}
	t := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("%w: %w: it is empty", ErrBundle, ErrNotBundle)
	case len(t) == 0 || t[0] != '{':
		return nil, fmt.Errorf("%w: %w (a JSON object, or text whose first line is %s)", ErrBundle, ErrNotBundle, ProofHeader)
	}
	var raw struct {
		MediaType      *string  `json:"media_type"`
		RecordID       *string  `json:"record_id"`
		Entry          []byte   `json:"entry"`
		Index          *uint64  `json:"index"`
		InclusionProof [][]byte `json:"inclusion_proof"`
		Checkpoint     *string  `json:"checkpoint"`
		// Optional: present means non-empty (decodeStrict).
		Timestamp       []byte `json:"timestamp,omitempty"`
		TimestampStatus string `json:"timestamp_status,omitempty"`
		Witnessing      string `json:"witnessing,omitempty"`
	}
	if err := decodeStrict(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBundle, err)
	}
	switch {
	case raw.MediaType == nil || *raw.MediaType != BundleMediaType:
		return nil, fmt.Errorf("%w: media_type is not %q", ErrBundle, BundleMediaType)
	case raw.RecordID == nil:
		return nil, fmt.Errorf("%w: missing record_id", ErrBundle)
	case raw.Index == nil:
		return nil, fmt.Errorf("%w: missing index", ErrBundle)
	case raw.Checkpoint == nil || *raw.Checkpoint == "":
		return nil, fmt.Errorf("%w: missing checkpoint", ErrBundle)
	}
	bun := &Bundle{
		MediaType:       *raw.MediaType,
		RecordID:        *raw.RecordID,
		Entry:           raw.Entry,
		Index:           *raw.Index,
		InclusionProof:  raw.InclusionProof,
		Checkpoint:      *raw.Checkpoint,
		Timestamp:       raw.Timestamp,
		TimestampStatus: raw.TimestampStatus,
		Witnessing:      raw.Witnessing,
	}
	switch {
	case bun.TimestampStatus != "" && bun.TimestampStatus != TimestampPending:
		return nil, fmt.Errorf("%w: timestamp_status is %q, want %q or absent", ErrBundle, bun.TimestampStatus, TimestampPending)
	case bun.TimestampStatus != "" && bun.Timestamp != nil:
		return nil, fmt.Errorf("%w: timestamp_status %q beside a timestamp", ErrBundle, bun.TimestampStatus)
	case bun.Witnessing != "" && bun.Witnessing != WitnessingFailOpen:
		return nil, fmt.Errorf("%w: witnessing is %q, want %q or absent", ErrBundle, bun.Witnessing, WitnessingFailOpen)
	case len(bun.Timestamp) > maxTimestampSize:
		return nil, fmt.Errorf("%w: timestamp is %d bytes, at most %d are accepted", ErrBundle, len(bun.Timestamp), maxTimestampSize)
	}
	if bun.InclusionProof == nil {
		bun.InclusionProof = [][]byte{}
	}
	if err := bun.checkShape(); err != nil {
		return nil, err
	}
	return bun, nil
}

func (b *Bundle) checkShape() error {
	if len(b.Entry) == 0 {
		return fmt.Errorf("%w: missing entry", ErrBundle)
	}
	if !utf8.ValidString(b.Checkpoint) {
		return fmt.Errorf("%w: checkpoint is not valid UTF-8", ErrBundle)
	}
	if len(b.InclusionProof) > 64 {
		return fmt.Errorf("%w: inclusion proof has %d hashes, at most 64 are possible", ErrBundle, len(b.InclusionProof))
	}
	for i, h := range b.InclusionProof {
		if len(h) != 32 {
			return fmt.Errorf("%w: inclusion_proof[%d] is %d bytes, want 32", ErrBundle, i, len(h))
		}
	}
	return nil
}

// Marshal returns the bundle's JSON form,
// indented, with a final newline.
func (b *Bundle) Marshal() []byte {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		panic(err) // Bundle holds only marshalable types.
	}
	return append(out, '\n')
}

// MarshalProof returns the bundle in C2SP tlog-proof form:
//
//	c2sp.org/tlog-proof@v1
//	extra <base64 of the log entry>
//	index <decimal index>
//	<base64 hash>        (zero or more, leaf side first)
//	<empty line>
//	<signed checkpoint, verbatim>
//
// exhibit puts the log entry in the "extra" line so that the proof stands
// alone; the record ID is recomputed from it. The form has no place for a
// time-stamp token or the witnessing mode: they are left out (witness
// cosignatures are in the checkpoint, and stay).
func (b *Bundle) MarshalProof() []byte {
	var w bytes.Buffer
	w.WriteString(ProofHeader + "\n")
	w.WriteString("extra " + base64.StdEncoding.EncodeToString(b.Entry) + "\n")
	w.WriteString("index " + strconv.FormatUint(b.Index, 10) + "\n")
	for _, h := range b.InclusionProof {
		w.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	w.WriteString("\n")
	w.WriteString(b.Checkpoint)
	return w.Bytes()
}

// ParseProof parses the C2SP tlog-proof form written by [Bundle.MarshalProof].
// The "extra" line is required (it carries the entry). RecordID is set to
// the ID recomputed from the entry, MediaType to [BundleMediaType]. Errors
// name the line (counted from 1) they are about, however long the lines.
func ParseProof(text []byte) (*Bundle, error) {
	rest := text
	line := 0
	next := func() (string, bool) {
		line++
		if len(rest) == 0 {
			return "", false
		}
		l, after, _ := bytes.Cut(rest, []byte("\n"))
		rest = after
		return string(l), true
	}
	errAt := func(format string, args ...any) error {
		return fmt.Errorf("%w: tlog-proof line %d: %s", ErrBundle, line, fmt.Sprintf(format, args...))
	}
	if l, ok := next(); !ok || l != ProofHeader {
		return nil, errAt("want %q", ProofHeader)
	}
	l, _ := next()
	extra, ok := strings.CutPrefix(l, "extra ")
	if !ok {
		return nil, errAt("want \"extra <base64 entry>\": exhibit's proofs carry the log entry there")
	}
	entry, err := base64.StdEncoding.Strict().DecodeString(extra)
	if err != nil {
		return nil, errAt("extra: %v", err)
	}
	l, _ = next()
	idx, ok := strings.CutPrefix(l, "index ")
	if !ok {
		return nil, errAt("want \"index <n>\"")
	}
	if len(idx) > 1 && idx[0] == '0' {
		return nil, errAt("index %q has a leading zero", abbreviate(idx, 40))
	}
	index, err := strconv.ParseUint(idx, 10, 64)
	if err != nil {
		return nil, errAt("index %q is not a decimal number below 2^64", abbreviate(idx, 40))
	}
	if bytes.IndexByte(text, '\r') >= 0 {
		return nil, fmt.Errorf("%w: tlog-proof has a carriage return: lines end in a newline alone", ErrBundle)
	}
	proof := [][]byte{}
	for {
		l, ok := next()
		if !ok {
			return nil, errAt("missing empty line before the checkpoint")
		}
		if l == "" {
			break
		}
		h, err := base64.StdEncoding.Strict().DecodeString(l)
		if err != nil || len(h) != 32 {
			return nil, errAt("proof hash %q is not 32 bytes of base64", abbreviate(l, 80))
		}
		proof = append(proof, h)
	}
	// The checkpoint is the rest of the text, verbatim.
	if len(rest) == 0 {
		line++ // where it should begin
		return nil, errAt("missing checkpoint")
	}
	b := &Bundle{
		MediaType:      BundleMediaType,
		RecordID:       RecordID(entry),
		Entry:          entry,
		Index:          index,
		InclusionProof: proof,
		Checkpoint:     string(rest),
	}
	if err := b.checkShape(); err != nil {
		return nil, err
	}
	return b, nil
}
