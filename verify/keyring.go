package verify

import (
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/note"
)

// Keyring is the set of keys a verifier trusts for one log: after a key
// rotation (see docs/FORMATS.md, "Keys and rotation"), the log's current
// key and its earlier ones, all named by the log's origin. A checkpoint or
// a statement is trusted when at least one key of the ring signed it;
// signatures by keys outside the ring are ignored. The order is the order
// of preference when several keys signed: list the current key first.
type Keyring []*PublicKey

// ErrKeyring is wrapped by the errors [NewKeyring] returns.
var ErrKeyring = errors.New("invalid keyring")

// NewKeyring checks that keys is a usable keyring: at least one key, all
// with the same name (the log origin), no key listed twice.
func NewKeyring(keys ...*PublicKey) (Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrKeyring)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if k.Name != keys[0].Name {
			return nil, fmt.Errorf("%w: key %s is for log %q, not %q", ErrKeyring, k.VKey, k.Name, keys[0].Name)
		}
		id := publicKeyID(k.Key)
		if seen[id] {
			return nil, fmt.Errorf("%w: key %s is listed twice", ErrKeyring, k.VKey)
		}
		seen[id] = true
	}
	return Keyring(keys), nil
}

// Lookup returns the key of the ring whose vkey is vkey, or nil.
func (r Keyring) Lookup(vkey string) *PublicKey {
	for _, k := range r {
		if k.VKey == vkey {
			return k
		}
	}
	return nil
}

// OpenCheckpoint verifies a signed checkpoint against the ring and parses
// its body, as the function [OpenCheckpoint] does for one key: it must
// carry a valid signature by at least one key of the ring, and its origin
// must be that key's name. A signature line that claims to be by a key of
// the ring but does not verify is an error, even when another key (or the
// same key, on another line) signed; so is a signature in non-canonical
// base64.
// It returns the first key of the ring (in ring order) whose signature
// verified. Errors: a *CheckpointSignatureError (naming the ring's first
// key) when no key signed; ErrCheckpoint for a malformed body or a wrong
// origin.
func (r Keyring) OpenCheckpoint(signed []byte) (*Checkpoint, *PublicKey, error) {
	if len(r) == 0 {
		return nil, nil, fmt.Errorf("%w: no key", ErrKeyring)
	}
	var vs []note.Verifier
	seen := map[[2]any]bool{}
	for _, k := range r {
		// A key listed twice would make x/mod's VerifierList ambiguous.
		if id := [2]any{k.Name, k.Hash}; !seen[id] {
			seen[id] = true
			vs = append(vs, k.NoteVerifier())
		}
	}
	n, err := openNote(signed, vs...)
	if err != nil {
		return nil, nil, &CheckpointSignatureError{Origin: r[0].Name, KeyID: r[0].Hash, Err: err}
	}
	var key *PublicKey
	for _, k := range r {
		for _, s := range n.Sigs {
			if key == nil && s.Name == k.Name && s.Hash == k.Hash {
				key = k
			}
		}
	}
	cp, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, nil, err
	}
	if cp.Origin != key.Name {
		return nil, nil, fmt.Errorf("%w: origin %q is not the trusted log %q", ErrCheckpoint, cp.Origin, key.Name)
	}
	return cp, key, nil
}

// Signers returns the keys of the ring that signed a checkpoint, in ring
// order, checking each signature line by a key of the ring (the body is not
// parsed: use [Keyring.OpenCheckpoint] for that).
func (r Keyring) Signers(signed []byte) ([]*PublicKey, error) {
	var out []*PublicKey
	for _, k := range r {
		if _, err := openNote(signed, k.NoteVerifier()); err == nil {
			out = append(out, k)
		} else {
			var inv *note.InvalidSignatureError
			if errors.As(err, &inv) || errors.Is(err, ErrSignatureLine) {
				return nil, &CheckpointSignatureError{Origin: k.Name, KeyID: k.Hash, Err: err}
			}
		}
	}
	return out, nil
}

// OpenEntry checks the DSSE envelope in a log entry against the ring and
// parses its in-toto statement, as the function [OpenEntry] does for one
// key. It returns the first key of the ring (in ring order) with a valid
// signature in the envelope, and that signature's key ID (a hint: see
// [EnvelopeSignature]).
func (r Keyring) OpenEntry(entry []byte) (*Entry, *PublicKey, string, error) {
	env, err := ParseEnvelope(entry)
	if err != nil {
		return nil, nil, "", err
	}
	if env.PayloadType != PayloadType {
		return nil, nil, "", fmt.Errorf("%w: payloadType %q, want %q", ErrEnvelope, env.PayloadType, PayloadType)
	}
	key, keyID, err := r.verifyEnvelope(env)
	if err != nil {
		return nil, nil, "", err
	}
	e, err := ParseEntryStatement(env.Payload)
	if err != nil {
		return nil, key, keyID, err
	}
	return e, key, keyID, nil
}

func (r Keyring) verifyEnvelope(env *Envelope) (*PublicKey, string, error) {
	if len(r) == 0 {
		return nil, "", fmt.Errorf("%w: no key", ErrKeyring)
	}
	for _, k := range r {
		if id, err := env.Verify(k); err == nil {
			return k, id, nil
		}
	}
	if len(r) == 1 {
		return nil, "", fmt.Errorf("%w (%s+%08x)", ErrNoValidSignature, r[0].Name, r[0].Hash)
	}
	return nil, "", fmt.Errorf("%w (none of the %d keys of %s)", ErrNoValidSignature, len(r), r[0].Name)
}

// Signers returns the keys of the ring with a valid signature in the
// envelope, in ring order.
func (e *Envelope) Signers(r Keyring) []*PublicKey {
	var out []*PublicKey
	for _, k := range r {
		if _, err := e.Verify(k); err == nil {
			out = append(out, k)
		}
	}
	return out
}
