package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// Names of the checks [Check] reports, in the order it runs them.
const (
	CheckBundleParse         = "bundle-parse"
	CheckCheckpointSignature = "checkpoint-signature"
	CheckStatementSignature  = "statement-signature"
	CheckRecordID            = "record-id"
	CheckLeafHash            = "leaf-hash"
	CheckInclusionProof      = "inclusion-proof"
	CheckSnapshotDigest      = "snapshot-digest"
	CheckArtefactDigest      = "artefact-digest"
	CheckWACZArtefact        = "wacz"
	CheckProvisionQuote      = "provision-quote"
	CheckWitnessCosignatures = "witness-cosignatures"
	CheckTimestampToken      = "timestamp"
)

// Result is the outcome of one named check. Detail says what was found:
// on success the value checked (a hash, a key, a size), on failure why.
type Result struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Err is the error behind a failed check, for errors.Is/As.
	Err error `json:"-"`
}

// Report is the outcome of verifying one bundle.
type Report struct {
	Verified bool     `json:"verified"`
	RecordID string   `json:"record_id"`
	Checks   []Result `json:"checks"`

	// Set when the corresponding checks passed. Entry is the statement
	// opened, of any predicate type; Statement is Entry.Capture (nil for a
	// tracking statement).
	Entry      *Entry      `json:"-"`
	Statement  *Statement  `json:"-"`
	Checkpoint *Checkpoint `json:"-"`
	Bundle     *Bundle     `json:"-"`
	// Key is the trusted key whose signature on the checkpoint verified
	// (the first in the order key, Options.Keys), and StatementKey the one
	// whose DSSE signature on the statement verified.
	Key          *PublicKey `json:"-"`
	StatementKey *PublicKey `json:"-"`
	// Witnessed is the checkpoint checked against Options.Policy (check
	// "witness-cosignatures"), set when every cosignature verified, whether
	// or not the quorum is met (see Witnessed.QuorumMet).
	Witnessed *Witnessed `json:"-"`
	// Timestamp is the bundle's verified time-stamp (check "timestamp").
	Timestamp *Timestamp `json:"-"`
}

// Failed returns the first failed check, or nil.
func (r *Report) Failed() *Result {
	for i := range r.Checks {
		if !r.Checks[i].OK {
			return &r.Checks[i]
		}
	}
	return nil
}

// Options for [Check].
type Options struct {
	// Snapshot, if set, is read to the end and its SHA-256 compared with the
	// statement subject's digest (check "snapshot-digest").
	Snapshot io.Reader
	// Artefacts, if set, are files of a browser capture's rendering, by
	// their name in the rendering block (see [ArtefactKinds]): each
	// is read to the end and its SHA-256 compared with the one the
	// statement names (check "artefact-digest", once per artefact, in
	// name order). A "wacz" artefact whose digest matches is then checked
	// as a WACZ package (check "wacz", see [CheckWACZ]; its timeSignature
	// against Timestamps, if set); it is read into memory, at most
	// MaxWACZSize bytes.
	Artefacts map[string]io.Reader
	// ArtefactFiles, optional, names the file each of Artefacts was read
	// from (by the same name), for the report's messages: a failure then
	// names the artefact and its file.
	ArtefactFiles map[string]string
	// RecordID, if set, is the record ID the verifier was cited (in a
	// filing, say); check "record-id" then also requires the entry's ID to
	// be this one, so that a valid bundle of another record is rejected.
	RecordID string
	// Text, if set, is a version's text, for a provision's bundle: check
	// "provision-quote" then requires its SHA-256 to be the provision's and
	// the quote to stand at the stated position (see [CheckQuote]), so that
	// the quote was in the document's text. For any other kind of record
	// the check fails. (A version's text is checked as Snapshot: check
	// "snapshot-digest" compares any statement's subject digest, which for
	// a version is its text's.)
	Text []byte
	// Policy, if set, is a witness trust policy (C2SP tlog-policy). Check
	// "witness-cosignatures" then verifies the checkpoint's cosignatures
	// with [OpenWitnessed], names the witnesses that signed and when, and
	// requires the quorum. The policy must list the trusted log key.
	Policy *Policy
	// AcceptFailOpen says the verifier knows, from the log's operator,
	// that the log publishes fail-open (checkpoints without the witnesses'
	// quorum when they are unreachable), and accepts a bundle marked
	// [WitnessingFailOpen] without the quorum, reported as "NOT met". The
	// mark is not signed: anyone can add it to a bundle. Without this
	// option a missing quorum fails whatever the bundle says.
	AcceptFailOpen bool
	// Keys are further keys of the same log trusted beside the key given
	// to [Check]: after a key rotation, the log's earlier or later keys
	// (see [Keyring]). The checkpoint and the statement must each carry a
	// valid signature by at least one of them; Report.Key and
	// Report.StatementKey say which.
	Keys []*PublicKey
	// Timestamps, if set, are the trusted time-stamping authorities. Check
	// "timestamp" then requires the bundle's RFC 3161 token to verify over
	// the checkpoint's body (see [CheckTimestamp]); a bundle without one
	// fails it, saying whether its token is pending.
	Timestamps *TimestampOptions
}

// ErrTimestampPending is the "timestamp" check's error for a bundle whose
// token the archive has not obtained yet ("timestamp_status": "pending").
var ErrTimestampPending = errors.New("time-stamp pending: the archive had no token for this checkpoint yet (its time-stamping authority was unreachable); ask the archive for a fresh bundle later")

// ErrNoTimestamp is the "timestamp" check's error for a bundle that carries
// no time-stamp token and does not say one is pending.
var ErrNoTimestamp = errors.New("the bundle carries no time-stamp token")

// Check verifies an evidence bundle, given as bytes in either form (JSON or
// tlog-proof), against the trusted log key. It runs every check it can and
// reports each by name; Verified is true only when all passed. A check that
// cannot run because an earlier one failed is reported as failed with the
// reason. Check never returns an error: every problem is a failed check.
func Check(bundle []byte, key *PublicKey, opts Options) *Report {
	r := &Report{}
	add := func(name string, err error, okDetail string) bool {
		res := Result{Name: name, OK: err == nil, Detail: okDetail, Err: err}
		if err != nil {
			res.Detail = err.Error()
		}
		r.Checks = append(r.Checks, res)
		return err == nil
	}

	b, err := ParseBundle(bundle)
	if !add(CheckBundleParse, err, "") {
		return r.finish()
	}
	r.Bundle = b
	r.Checks[0].Detail = fmt.Sprintf("entry of %d bytes at index %d, %d proof hashes", len(b.Entry), b.Index, len(b.InclusionProof))

	ring := Keyring{key}
	for _, k := range opts.Keys {
		if ring.Lookup(k.VKey) == nil {
			ring = append(ring, k)
		}
	}

	// checkpoint-signature
	cp, cpKey, err := ring.OpenCheckpoint([]byte(b.Checkpoint))
	detail := ""
	if cpKey != nil {
		detail = fmt.Sprintf("signed by %s+%08x; tree size %d, root %x", cpKey.Name, cpKey.Hash, safeSize(cp), safeRoot(cp))
		if len(ring) > 1 {
			detail = fmt.Sprintf("signed by %s (one of %d trusted keys); tree size %d, root %x", cpKey.VKey, len(ring), safeSize(cp), safeRoot(cp))
		}
	}
	if add(CheckCheckpointSignature, err, detail) {
		r.Checkpoint, r.Key = cp, cpKey
	}

	// statement-signature
	ent, entKey, keyID, err := ring.OpenEntry(b.Entry)
	var ptype string
	if ent != nil {
		ptype = ent.PredicateType
	}
	detail = fmt.Sprintf("DSSE signature verifies under the trusted key (keyid %s), over an in-toto statement (%s)", shortKeyID(keyID), ptype)
	if len(ring) > 1 && entKey != nil {
		detail = fmt.Sprintf("DSSE signature verifies under the trusted key %s (keyid %s), over an in-toto statement (%s)", entKey.VKey, shortKeyID(keyID), ptype)
	}
	if add(CheckStatementSignature, err, detail) {
		r.Entry, r.Statement, r.StatementKey = ent, ent.Capture, entKey
	}

	// record-id
	leaf := rfc6962.DefaultHasher.HashLeaf(b.Entry)
	want := RecordIDFromLeafHash(leaf)
	err = nil
	detail = want + " recomputed from the entry"
	r.RecordID = want // what the report prints: the canonical ID, from the entry
	if got, perr := ParseRecordID(b.RecordID); perr != nil {
		err = perr
	} else if got != want {
		err = &RecordIDMismatchError{Cited: b.RecordID, Computed: want}
	} else if b.RecordID != want {
		err = fmt.Errorf("%w: the bundle's record_id %q is not in canonical form %s (a bundle carries the ID as exhibit writes it; only IDs typed by people are normalised)", ErrRecordID, b.RecordID, want)
	} else if opts.RecordID != "" {
		cited, perr := ParseRecordID(opts.RecordID)
		switch {
		case perr != nil:
			err = perr
		case cited != want:
			err = &RecordIDMismatchError{Cited: opts.RecordID, Computed: want}
		default:
			detail += ", and it is the cited " + cited
		}
	}
	add(CheckRecordID, err, detail)

	// leaf-hash
	err = nil
	if len(b.Entry) > MaxEntrySize {
		err = fmt.Errorf("entry is %d bytes, over the tlog-tiles limit of %d", len(b.Entry), MaxEntrySize)
	}
	add(CheckLeafHash, err, fmt.Sprintf("%x = SHA-256(0x00 || entry of %d bytes)", leaf, len(b.Entry)))

	// inclusion-proof
	if cp == nil {
		add(CheckInclusionProof, errors.New("not checked: the checkpoint is not trusted"), "")
	} else if len(b.Entry) > MaxEntrySize {
		add(CheckInclusionProof, errors.New("not checked: the entry is over the size limit"), "")
	} else {
		err := ProofError(proof.VerifyInclusion(rfc6962.DefaultHasher, b.Index, cp.Size, leaf, b.InclusionProof, cp.Hash))
		if err != nil {
			err = fmt.Errorf("entry at index %d does not lead to the root of tree size %d: %w", b.Index, cp.Size, err)
		}
		add(CheckInclusionProof, err, fmt.Sprintf("index %d is in the tree of size %d with root %x", b.Index, cp.Size, cp.Hash))
	}

	// snapshot-digest
	if opts.Snapshot != nil {
		switch {
		case r.Entry == nil:
			add(CheckSnapshotDigest, errors.New("not checked: the statement is not trusted"), "")
		case r.Entry.Capture != nil:
			add(CheckSnapshotDigest, checkSnapshot(r.Statement, opts.Snapshot), "snapshot SHA-256 "+r.Statement.SubjectDigest()+" matches the statement")
		default:
			add(CheckSnapshotDigest, checkDigest(r.Entry.SubjectDigest(), opts.Snapshot), "SHA-256 "+r.Entry.SubjectDigest()+" matches the "+r.Entry.Kind()+" statement's subject")
		}
	}

	// artefact-digest
	for _, name := range sortedKeys(opts.Artefacts) {
		switch {
		case r.Entry == nil:
			add(CheckArtefactDigest, fmt.Errorf("%s not checked: the statement is not trusted", name), "")
		case r.Statement == nil:
			add(CheckArtefactDigest, fmt.Errorf("%s: %w: the record is a %s statement", name, ErrNoArtefact, r.Entry.Kind()), "")
		default:
			what := name
			if f := opts.ArtefactFiles[name]; f != "" {
				what = fmt.Sprintf("%s (file %s)", name, f)
			}
			a := r.Statement.Predicate.Rendering.Artefact(name)
			if a == nil {
				add(CheckArtefactDigest, fmt.Errorf("%s: %w", what, ErrNoArtefact), "")
				break
			}
			src := opts.Artefacts[name]
			var held bytes.Buffer
			if name == "wacz" {
				src = io.TeeReader(io.LimitReader(src, MaxWACZSize+1), &held)
			}
			err := checkDigest(a.SHA256, src)
			var dm *DigestMismatchError
			if errors.As(err, &dm) {
				dm.What = what
			} else if err != nil {
				err = fmt.Errorf("%s: %w", what, err)
			}
			if add(CheckArtefactDigest, err, fmt.Sprintf("%s SHA-256 %s matches the statement", name, a.SHA256)) && name == "wacz" {
				w, err := CheckWACZ(held.Bytes(), WACZOptions{Timestamp: opts.Timestamps})
				if err != nil {
					err = fmt.Errorf("%s: %w", what, err)
				}
				add(CheckWACZArtefact, err, WACZDetail(w))
			}
		}
	}

	// provision-quote
	if opts.Text != nil {
		switch {
		case r.Entry == nil:
			add(CheckProvisionQuote, errors.New("not checked: the statement is not trusted"), "")
		case r.Entry.Provision == nil:
			add(CheckProvisionQuote, fmt.Errorf("the record is a %s statement, not a provision: there is no quote to check", r.Entry.Kind()), "")
		default:
			p := &r.Entry.Provision.Predicate
			add(CheckProvisionQuote, CheckQuote(p, opts.Text), fmt.Sprintf("the quote stands at code points [%d, %d) of the version's text (SHA-256 %s)", p.Position.Start, p.Position.End, p.Text.SHA256))
		}
	}

	// witness-cosignatures
	if opts.Policy != nil {
		r.checkWitnesses(b, ring, opts.Policy, cp != nil, opts.AcceptFailOpen)
	}

	// timestamp
	if opts.Timestamps != nil {
		r.checkTimestamp(b, *opts.Timestamps, cp != nil)
	}
	return r.finish()
}

func (r *Report) checkWitnesses(b *Bundle, ring Keyring, p *Policy, trusted, acceptFailOpen bool) {
	res := Result{Name: CheckWitnessCosignatures}
	defer func() {
		if res.Err != nil {
			res.Detail = res.Err.Error()
		}
		r.Checks = append(r.Checks, res)
	}()
	if !trusted {
		res.Err = errors.New("not checked: the checkpoint is not trusted")
		return
	}
	if !policyListsAny(p, ring) {
		res.Err = fmt.Errorf("the witness policy does not list the trusted log key %s", ring[0].VKey)
		return
	}
	w, err := OpenWitnessed([]byte(b.Checkpoint), p)
	if w == nil {
		res.Err = err
		return
	}
	var qe *QuorumError
	if err != nil && !errors.As(err, &qe) {
		res.Err = err
		return
	}
	r.Witnessed = w
	var d strings.Builder
	if w.QuorumMet {
		fmt.Fprintf(&d, "quorum %s met", p.Quorum)
	} else {
		fmt.Fprintf(&d, "quorum %s NOT met", p.Quorum)
	}
	if len(w.Cosignatures) == 0 {
		d.WriteString("; no cosignature by a policy witness")
	}
	for i, c := range w.Cosignatures {
		sep := "; "
		if i > 0 {
			sep = ", "
		}
		fmt.Fprintf(&d, "%s%s (%s) witnessed no later than %s", sep, c.Witness, c.KeyName, c.Time.UTC().Format(time.RFC3339))
	}
	if w.Unknown > 0 {
		fmt.Fprintf(&d, "; %d signature(s) by keys not in the policy ignored", w.Unknown)
	}
	res.Detail = d.String()
	switch {
	case w.QuorumMet:
		res.OK = true
	case b.Witnessing == WitnessingFailOpen && acceptFailOpen:
		res.OK = true
		res.Detail += " (marked fail-open, which the verifier accepts for this log: accepted without the quorum)"
	case b.Witnessing == WitnessingFailOpen:
		res.Err = fmt.Errorf("%s: %w (the bundle is marked fail-open, an unsigned claim; accept it only if you know the log publishes fail-open: exhibit verify --accept-fail-open)", res.Detail, qe)
		res.Detail = res.Err.Error()
	default:
		res.Err = fmt.Errorf("%s: %w", res.Detail, qe)
		res.Detail = res.Err.Error()
	}
}

func (r *Report) checkTimestamp(b *Bundle, opts TimestampOptions, trusted bool) {
	res := Result{Name: CheckTimestampToken}
	defer func() {
		if res.Err != nil {
			res.Detail = res.Err.Error()
		}
		r.Checks = append(r.Checks, res)
	}()
	switch {
	case !trusted:
		res.Err = errors.New("not checked: the checkpoint is not trusted")
		return
	case b.Timestamp == nil && b.TimestampStatus == TimestampPending:
		res.Err = ErrTimestampPending
		return
	case b.Timestamp == nil:
		res.Err = ErrNoTimestamp
		return
	}
	body, err := CheckpointBody([]byte(b.Checkpoint))
	if err != nil {
		res.Err = err
		return
	}
	ts, err := CheckTimestamp(b.Timestamp, body, opts)
	if err != nil {
		res.Err = err
		return
	}
	r.Timestamp = ts
	res.OK = true
	res.Detail = TimestampDetail(ts)
}

// TimestampDetail says what a verified token attests: "the checkpoint
// existed no later than <RFC 3339 time> (TSA <subject>, serial <hex>[,
// accuracy ±<duration>])".
func TimestampDetail(ts *Timestamp) string {
	d := fmt.Sprintf("the checkpoint existed no later than %s (TSA %s, serial %x)", ts.GenTime.UTC().Format(time.RFC3339Nano), ts.TSA, ts.Serial)
	if ts.Accuracy > 0 {
		d += fmt.Sprintf(", accuracy ±%s", ts.Accuracy)
	}
	return d
}

func (r *Report) finish() *Report {
	r.Verified = len(r.Checks) > 0 && r.Failed() == nil
	return r
}

// RecordIDMismatchError reports a cited record ID that is not the one
// derived from the entry.
type RecordIDMismatchError struct {
	Cited, Computed string
}

func (e *RecordIDMismatchError) Error() string {
	return fmt.Sprintf("record ID %s is cited, but the entry's ID is %s", e.Cited, e.Computed)
}

// DigestMismatchError reports a snapshot whose SHA-256 is not the one the
// statement signs.
type DigestMismatchError struct {
	Want, Got string
	// What is the rendering artefact compared (a name of
	// [ArtefactKinds]), or empty for the snapshot.
	What string
}

func (e *DigestMismatchError) Error() string {
	what := e.What
	if what == "" {
		what = "snapshot"
	}
	return fmt.Sprintf("%s SHA-256 is %s, but the statement signs %s", what, e.Got, e.Want)
}

// ErrNoArtefact is returned by the artefact check for a name the
// statement's rendering block does not hold (no rendering, a failed
// capture, or an unknown name).
var ErrNoArtefact = errors.New("the statement names no such rendering artefact")

// ErrNoSnapshot is returned by the snapshot check for a failed capture,
// which has no snapshot to compare.
var ErrNoSnapshot = errors.New("the record is a failed capture: it has no snapshot")

func checkSnapshot(st *Statement, r io.Reader) error {
	if st.Predicate.Outcome == OutcomeFailed {
		return ErrNoSnapshot
	}
	return checkDigest(st.SubjectDigest(), r)
}

func checkDigest(want string, r io.Reader) error {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading snapshot: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got != want {
		return &DigestMismatchError{Want: want, Got: got}
	}
	return nil
}

// OpenStatement checks the DSSE envelope in entry against key and parses its
// in-toto statement, which must be a capture statement (see [OpenEntry] for
// any kind). It returns ErrEnvelope, ErrNoValidSignature or ErrStatement
// (wrapped) on failure.
func OpenStatement(entry []byte, key *PublicKey) (*Statement, error) {
	e, err := OpenEntry(entry, key)
	if err != nil {
		return nil, err
	}
	if e.Capture == nil {
		return nil, fmt.Errorf("%w: a %s statement, not a capture", ErrStatement, e.Kind())
	}
	return e.Capture, nil
}

func shortKeyID(id string) string {
	if len(id) > 16 {
		return id[:16] + "…"
	}
	if id == "" {
		return "(no key ID)"
	}
	return id
}

func safeSize(cp *Checkpoint) uint64 {
	if cp == nil {
		return 0
	}
	return cp.Size
}

func safeRoot(cp *Checkpoint) []byte {
	if cp == nil {
		return nil
	}
	return cp.Hash
}

// policyListsAny reports whether the policy lists a key of the ring as a
// log.
func policyListsAny(p *Policy, ring Keyring) bool {
	for _, l := range p.Logs {
		if ring.Lookup(l.Key.VKey) != nil {
			return true
		}
	}
	return false
}

// ProofError makes an error of package transparency-dev/merkle/proof
// readable on one line: a root mismatch gives both roots in hex (the
// package prints them as lists of bytes, over several lines). It wraps
// err, and returns nil for nil.
func ProofError(err error) error {
	var rm proof.RootMismatchError
	if !errors.As(err, &rm) {
		return err
	}
	return &proofError{err: err, msg: fmt.Sprintf("the proof leads to root %x, not to the expected root %x", rm.CalculatedRoot, rm.ExpectedRoot)}
}

type proofError struct {
	err error
	msg string
}

func (e *proofError) Error() string { return e.msg }
func (e *proofError) Unwrap() error { return e.err }
