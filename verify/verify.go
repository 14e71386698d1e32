package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

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

	// Set when the corresponding checks passed.
	Statement  *Statement  `json:"-"`
	Checkpoint *Checkpoint `json:"-"`
	Bundle     *Bundle     `json:"-"`
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
	// RecordID, if set, is the record ID the verifier was cited (in a
	// filing, say); check "record-id" then also requires the entry's ID to
	// be this one, so that a valid bundle of another record is rejected.
	RecordID string
}

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
	r.RecordID = b.RecordID
	r.Checks[0].Detail = fmt.Sprintf("entry of %d bytes at index %d, %d proof hashes", len(b.Entry), b.Index, len(b.InclusionProof))

	// checkpoint-signature
	cp, err := OpenCheckpoint([]byte(b.Checkpoint), key)
	if add(CheckCheckpointSignature, err, fmt.Sprintf("signed by %s+%08x; tree size %d, root %x", key.Name, key.Hash, safeSize(cp), safeRoot(cp))) {
		r.Checkpoint = cp
	}

	// statement-signature
	st, keyID, err := openStatement(b.Entry, key)
	if add(CheckStatementSignature, err, fmt.Sprintf("DSSE signature verifies under the trusted key (keyid %s), over an in-toto statement (%s)", shortKeyID(keyID), CapturePredicateType)) {
		r.Statement = st
	}

	// record-id
	leaf := rfc6962.DefaultHasher.HashLeaf(b.Entry)
	want := RecordIDFromLeafHash(leaf)
	err = nil
	detail := want + " recomputed from the entry"
	if got, perr := ParseRecordID(b.RecordID); perr != nil {
		err = perr
	} else if got != want {
		err = &RecordIDMismatchError{Cited: b.RecordID, Computed: want}
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
		err := proof.VerifyInclusion(rfc6962.DefaultHasher, b.Index, cp.Size, leaf, b.InclusionProof, cp.Hash)
		if err != nil {
			err = fmt.Errorf("entry at index %d does not lead to the root of tree size %d: %w", b.Index, cp.Size, err)
		}
		add(CheckInclusionProof, err, fmt.Sprintf("index %d is in the tree of size %d with root %x", b.Index, cp.Size, cp.Hash))
	}

	// snapshot-digest
	if opts.Snapshot != nil {
		if st == nil {
			add(CheckSnapshotDigest, errors.New("not checked: the statement is not trusted"), "")
		} else {
			add(CheckSnapshotDigest, checkSnapshot(st, opts.Snapshot), "snapshot SHA-256 "+st.SubjectDigest()+" matches the statement")
		}
	}
	return r.finish()
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
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("snapshot SHA-256 is %s, but the statement signs %s", e.Got, e.Want)
}

// ErrNoSnapshot is returned by the snapshot check for a failed capture,
// which has no snapshot to compare.
var ErrNoSnapshot = errors.New("the record is a failed capture: it has no snapshot")

func checkSnapshot(st *Statement, r io.Reader) error {
	if st.Predicate.Outcome == OutcomeFailed {
		return ErrNoSnapshot
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("reading snapshot: %w", err)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want := st.SubjectDigest(); got != want {
		return &DigestMismatchError{Want: want, Got: got}
	}
	return nil
}

// OpenStatement checks the DSSE envelope in entry against key and parses its
// in-toto statement. It returns ErrEnvelope, ErrNoValidSignature or
// ErrStatement (wrapped) on failure.
func OpenStatement(entry []byte, key *PublicKey) (*Statement, error) {
	st, _, err := openStatement(entry, key)
	return st, err
}

func openStatement(entry []byte, key *PublicKey) (*Statement, string, error) {
	env, err := ParseEnvelope(entry)
	if err != nil {
		return nil, "", err
	}
	if env.PayloadType != PayloadType {
		return nil, "", fmt.Errorf("%w: payloadType %q, want %q", ErrEnvelope, env.PayloadType, PayloadType)
	}
	keyID, err := env.Verify(key)
	if err != nil {
		return nil, "", fmt.Errorf("%w (%s+%08x)", err, key.Name, key.Hash)
	}
	st, err := ParseStatement(env.Payload)
	if err != nil {
		return nil, keyID, err
	}
	return st, keyID, nil
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
