package verify

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint:
//
//	<origin>\n<decimal tree size>\n<base64 root hash>\n[<extension line>\n]...
type Checkpoint struct {
	Origin     string
	Size       uint64
	Hash       []byte
	Extensions []string
}

// ErrCheckpoint is wrapped by the errors [ParseCheckpoint] and
// [OpenCheckpoint] return for malformed checkpoints.
var ErrCheckpoint = errors.New("invalid checkpoint")

// ParseCheckpoint parses a checkpoint body (the note text, without
// signatures). It does not check any signature: use [OpenCheckpoint].
func ParseCheckpoint(text string) (*Checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("%w: body does not end in a newline", ErrCheckpoint)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: %d lines, want at least 3", ErrCheckpoint, len(lines))
	}
	if lines[0] == "" {
		return nil, fmt.Errorf("%w: empty origin", ErrCheckpoint)
	}
	if len(lines[1]) > 1 && lines[1][0] == '0' {
		return nil, fmt.Errorf("%w: tree size %q has a leading zero", ErrCheckpoint, lines[1])
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: tree size %q: %v", ErrCheckpoint, lines[1], err)
	}
	hash, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(hash) != 32 {
		return nil, fmt.Errorf("%w: root hash %q is not 32 bytes of base64", ErrCheckpoint, lines[2])
	}
	for _, ext := range lines[3:] {
		if ext == "" {
			return nil, fmt.Errorf("%w: empty extension line", ErrCheckpoint)
		}
	}
	return &Checkpoint{Origin: lines[0], Size: size, Hash: hash, Extensions: lines[3:]}, nil
}

// CheckpointSignatureError reports a checkpoint that carries no valid
// signature by the trusted key. Err is the underlying note error.
type CheckpointSignatureError struct {
	Origin string
	KeyID  uint32
	Err    error
}

func (e *CheckpointSignatureError) Error() string {
	return fmt.Sprintf("checkpoint has no valid signature by %s (key ID %08x): %v", e.Origin, e.KeyID, e.Err)
}

func (e *CheckpointSignatureError) Unwrap() error { return e.Err }

// OpenCheckpoint verifies a signed checkpoint (a C2SP signed note) against
// key and parses its body. The checkpoint must be signed by key, and its
// origin must equal the key's name. Signatures by other keys (for example
// witness cosignatures) are ignored. Errors: a *CheckpointSignatureError when
// the signature is missing or invalid; ErrCheckpoint for a malformed body or
// a wrong origin.
func OpenCheckpoint(signed []byte, key *PublicKey) (*Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(key.NoteVerifier()))
	if err != nil {
		return nil, &CheckpointSignatureError{Origin: key.Name, KeyID: key.Hash, Err: err}
	}
	cp, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	if cp.Origin != key.Name {
		return nil, fmt.Errorf("%w: origin %q is not the trusted log %q", ErrCheckpoint, cp.Origin, key.Name)
	}
	return cp, nil
}

// CheckpointBody returns the text of a signed note (a signed checkpoint):
// everything up to and including the newline before the blank line that
// precedes the signature lines. This is what exhibit time-stamps (RFC
// 3161) and what witnesses cosign, so that adding signatures later changes
// neither. It checks the note's shape, not its signatures.
func CheckpointBody(signed []byte) ([]byte, error) {
	i := bytes.LastIndex(signed, []byte("\n\n"))
	if i < 0 || !bytes.HasSuffix(signed, []byte("\n")) || !bytes.HasPrefix(signed[i+2:], []byte("— ")) {
		return nil, fmt.Errorf("%w: not a signed note (want a body, a blank line, then signature lines)", ErrCheckpoint)
	}
	return signed[:i+1], nil
}
