package verify

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
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
	if errors.Is(e.Err, ErrSignatureLine) {
		return fmt.Sprintf("checkpoint of %s is not a well-formed signed note: %v", e.Origin, e.Err)
	}
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
	n, err := openNote(signed, key.NoteVerifier())
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

// ErrSignatureLine is wrapped by the errors about a signature line of a
// signed note that golang.org/x/mod/sumdb/note accepts but C2SP
// signed-note does not allow.
var ErrSignatureLine = errors.New("malformed signature line")

// openNote is note.Open made as strict as C2SP signed-note
// (https://c2sp.org/signed-note) and exhibit's in-browser verifier:
//
//   - every signature's base64 must be canonical (RFC 4648 section 3.5:
//     zero padding bits), as the standard encoder writes it, so that one
//     signature has one spelling;
//   - every signature line by a known key must verify. note.Open checks
//     only the first line of each key and skips later ones, so a valid
//     line followed by a garbage line by the same key would pass, while a
//     garbage line first fails: the order of the lines must not matter.
//
// Errors: those of note.Open; a *note.InvalidSignatureError for any line
// by a known key that does not verify; ErrSignatureLine (wrapped, naming
// the line) for non-canonical base64.
func openNote(signed []byte, verifiers ...note.Verifier) (*note.Note, error) {
	n, err := note.Open(signed, note.VerifierList(verifiers...))
	if err != nil {
		return nil, err
	}
	// note.Open accepted the shape: a text, a blank line, then signature
	// lines "— <name> <base64>\n".
	split := bytes.LastIndex(signed, []byte("\n\n"))
	text, sigs := signed[:split+1], signed[split+2:]
	for i, line := range strings.Split(strings.TrimSuffix(string(sigs), "\n"), "\n") {
		name, b64, _ := strings.Cut(strings.TrimPrefix(line, "\u2014 "), " ")
		sig, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(sig) != b64 {
			return nil, fmt.Errorf("%w %d (by %s): its base64 is not in canonical form (RFC 4648 section 3.5)", ErrSignatureLine, i+1, name)
		}
		hash := binary.BigEndian.Uint32(sig[:4])
		for _, v := range verifiers {
			if v.Name() == name && v.KeyHash() == hash && !v.Verify(text, sig[4:]) {
				return nil, &note.InvalidSignatureError{Name: name, Hash: hash}
			}
		}
	}
	return n, nil
}
