package verify

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// algCosignatureV1 is the signed-note signature type of C2SP
// tlog-cosignature v1: a timestamped Ed25519 signature.
const algCosignatureV1 = 0x04

// CosignerKey is a witness's C2SP tlog-cosignature v1 verifier key
// (https://c2sp.org/tlog-cosignature): an Ed25519 public key whose
// signatures are timestamped.
type CosignerKey struct {
	// Name is the key name, conventionally a schema-less URL naming the
	// witness.
	Name string
	// Hash is the key ID: the first four bytes of
	// SHA-256(name || "\n" || 0x04 || key).
	Hash uint32
	Key  ed25519.PublicKey
	// VKey is the key in C2SP vkey form, "name+hex8+base64".
	VKey string
}

// ParseCosignerVKey parses a tlog-cosignature v1 verifier key,
// "name+hex8+base64", where the base64 decodes to the signature type byte
// 0x04 followed by a 32-byte Ed25519 public key. The key ID in the text must
// match the one computed. Errors wrap ErrVKey.
func ParseCosignerVKey(vkey string) (*CosignerKey, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || len(hash16) != 8 {
		return nil, fmt.Errorf("%w %q: want name+hex8+base64", ErrVKey, vkey)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '+' }) {
		return nil, fmt.Errorf("%w %q: the key name has a space, + or control character", ErrVKey, vkey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("%w %q: key ID: %v", ErrVKey, vkey, err)
	}
	raw, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(raw) < 1 {
		return nil, fmt.Errorf("%w %q: key is not base64", ErrVKey, vkey)
	}
	if raw[0] != algCosignatureV1 {
		return nil, fmt.Errorf("%w %q: signature type 0x%02x, want 0x04 (tlog-cosignature v1, timestamped Ed25519)", ErrVKey, vkey, raw[0])
	}
	if len(raw) != 1+ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w %q: Ed25519 key is %d bytes, want %d", ErrVKey, vkey, len(raw)-1, ed25519.PublicKeySize)
	}
	k := &CosignerKey{Name: name, Hash: uint32(h), Key: ed25519.PublicKey(raw[1:]), VKey: vkey}
	if want := cosignerKeyHash(name, k.Key); want != k.Hash {
		return nil, fmt.Errorf("%w %q: key ID %08x does not match the key (want %08x)", ErrVKey, vkey, k.Hash, want)
	}
	return k, nil
}

// NewCosignerKey builds the tlog-cosignature v1 verifier key named name for
// an Ed25519 public key.
func NewCosignerKey(name string, key ed25519.PublicKey) (*CosignerKey, error) {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '+' }) {
		return nil, fmt.Errorf("%w: key name %q is empty or has a space, + or control character", ErrVKey, name)
	}
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 key is %d bytes, want %d", ErrVKey, len(key), ed25519.PublicKeySize)
	}
	h := cosignerKeyHash(name, key)
	vkey := fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(append([]byte{algCosignatureV1}, key...)))
	return &CosignerKey{Name: name, Hash: h, Key: key, VKey: vkey}, nil
}

func cosignerKeyHash(name string, key ed25519.PublicKey) uint32 {
	sum := sha256.Sum256(append(append([]byte(name+"\n"), algCosignatureV1), key...))
	return binary.BigEndian.Uint32(sum[:4])
}

// CosignedMessage returns the message a tlog-cosignature v1 signs for a
// checkpoint body (the note text, ending in a newline) at POSIX time t:
//
//	cosignature/v1\ntime <t>\n<body>
func CosignedMessage(body string, t uint64) []byte {
	return fmt.Appendf(nil, "cosignature/v1\ntime %d\n%s", t, body)
}

// NoteVerifier returns a golang.org/x/mod/sumdb/note verifier for this
// witness's cosignatures. The signature it verifies is the
// timestamped_signature: an 8-byte big-endian POSIX timestamp (at most
// 2^63-1) followed by a 64-byte Ed25519 signature over [CosignedMessage].
func (k *CosignerKey) NoteVerifier() note.Verifier { return cosignerVerifier{k} }

type cosignerVerifier struct{ k *CosignerKey }

func (v cosignerVerifier) Name() string    { return v.k.Name }
func (v cosignerVerifier) KeyHash() uint32 { return v.k.Hash }
func (v cosignerVerifier) Verify(msg, sig []byte) bool {
	t, ok := cosignatureTime(sig)
	if !ok {
		return false
	}
	return ed25519.Verify(v.k.Key, CosignedMessage(string(msg), t), sig[8:])
}

// cosignatureTime splits a timestamped_signature.
func cosignatureTime(sig []byte) (uint64, bool) {
	if len(sig) != 8+ed25519.SignatureSize {
		return 0, false
	}
	t := binary.BigEndian.Uint64(sig)
	return t, t <= math.MaxInt64
}

// Cosignature is a valid cosignature by a witness of the policy.
type Cosignature struct {
	// Witness is the witness's name in the policy.
	Witness string
	// KeyName is the name in the signature line (the witness key's name).
	KeyName string
	// Time is the cosignature's timestamp, in UTC: the witness states
	// that, at that time, this was the largest consistent checkpoint of
	// the log it had seen. The checkpoint was thus witnessed no later than
	// Time.
	Time time.Time
}

// Witnessed is a checkpoint verified against a [Policy].
type Witnessed struct {
	// Checkpoint is the parsed checkpoint body.
	Checkpoint *Checkpoint
	// Body is the signed note's text: the checkpoint body, ending in a
	// newline, without the signatures.
	Body string
	// Log is the policy log whose signature verified.
	Log *PublicKey
	// Cosignatures are the valid cosignatures by policy witnesses, in the
	// order of their signature lines.
	Cosignatures []Cosignature
	// Unknown counts the signature lines by keys the policy does not name;
	// they are ignored.
	Unknown int
	// QuorumMet reports whether the cosigning witnesses satisfy the
	// policy's quorum.
	QuorumMet bool
}

// Signed returns the set of policy witnesses that cosigned, as
// [Policy.Satisfied] takes it.
func (w *Witnessed) Signed() map[string]bool {
	m := map[string]bool{}
	for _, c := range w.Cosignatures {
		m[c.Witness] = true
	}
	return m
}

// ErrQuorum is wrapped by [QuorumError].
var ErrQuorum = errors.New("witness quorum not met")

// QuorumError reports a checkpoint whose valid cosignatures do not satisfy
// the policy's quorum.
type QuorumError struct {
	// Quorum is the policy's quorum name.
	Quorum string
	// Signed are the policy witnesses that did cosign, in signature order.
	Signed []string
}

func (e *QuorumError) Error() string {
	if len(e.Signed) == 0 {
		return fmt.Sprintf("%v: quorum %s needs cosignatures and the checkpoint has none from the policy's witnesses", ErrQuorum, e.Quorum)
	}
	return fmt.Sprintf("%v: quorum %s is not satisfied by the cosignatures of %s", ErrQuorum, e.Quorum, strings.Join(e.Signed, ", "))
}

func (e *QuorumError) Unwrap() error { return ErrQuorum }

// CosignatureError reports a signature line that claims to be by a policy
// witness (its name and key ID match) but does not verify: the checkpoint or
// the cosignature was altered, or the cosignature is over another
// checkpoint.
type CosignatureError struct {
	Witness string
	KeyName string
	KeyID   uint32
}

func (e *CosignatureError) Error() string {
	return fmt.Sprintf("the cosignature by witness %s (key %s, ID %08x) does not verify over this checkpoint", e.Witness, e.KeyName, e.KeyID)
}

// OpenWitnessed verifies a signed checkpoint (a C2SP signed note) against a
// policy: it must carry a valid signature by one of the policy's logs whose
// name is the checkpoint's origin (a log whose key was rotated may be listed
// once per key; any of them will do, see [Policy.LogKeys]), and its body must be a C2SP
// tlog-checkpoint. Every signature line by a policy witness is then checked
// as a tlog-cosignature v1; lines by keys the policy does not name are
// ignored, as tlog-cosignature requires, and counted in Witnessed.Unknown.
// Duplicate lines by one key count once.
//
// Errors: ErrCheckpoint for a malformed note or body or an origin that is no
// policy log; a *CheckpointSignatureError when the log's signature is
// missing or invalid; a *CosignatureError for a line by a policy witness that
// does not verify. When every signature verifies but the quorum is not met,
// OpenWitnessed returns the Witnessed result (so that callers can say who
// signed) together with a *QuorumError.
func OpenWitnessed(signed []byte, p *Policy) (*Witnessed, error) {
	body, _, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return nil, fmt.Errorf("%w: not a signed note (no blank line before the signatures)", ErrCheckpoint)
	}
	origin, _, _ := strings.Cut(body, "\n")
	ring := p.LogKeys(origin)
	if len(ring) == 0 {
		return nil, fmt.Errorf("%w: origin %q is not a log of the policy", ErrCheckpoint, origin)
	}
	cp, logKey, err := ring.OpenCheckpoint(signed)
	if err != nil {
		return nil, err
	}

	var verifiers []note.Verifier
	for _, k := range ring {
		verifiers = append(verifiers, k.NoteVerifier())
	}
	for _, w := range p.Witnesses {
		verifiers = append(verifiers, w.Key.NoteVerifier())
	}
	n, err := openNote(signed, verifiers...)
	if err != nil {
		var inv *note.InvalidSignatureError
		if errors.As(err, &inv) {
			for _, w := range p.Witnesses {
				if w.Key.Name == inv.Name && w.Key.Hash == inv.Hash {
					return nil, &CosignatureError{Witness: w.Name, KeyName: inv.Name, KeyID: inv.Hash}
				}
			}
		}
		// Any other error is about the note itself, which
		// OpenCheckpoint already accepted; report it as it is.
		return nil, &CheckpointSignatureError{Origin: logKey.Name, KeyID: logKey.Hash, Err: err}
	}

	out := &Witnessed{Checkpoint: cp, Body: n.Text, Log: logKey, Unknown: len(n.UnverifiedSigs)}
	for _, s := range n.Sigs {
		w := witnessByKey(p, s.Name, s.Hash)
		if w == nil {
			continue // a signature by the log
		}
		raw, _ := base64.StdEncoding.DecodeString(s.Base64)
		t, _ := cosignatureTime(raw[4:])
		out.Cosignatures = append(out.Cosignatures, Cosignature{
			Witness: w.Name,
			KeyName: s.Name,
			Time:    time.Unix(int64(t), 0).UTC(),
		})
	}
	out.QuorumMet = p.Satisfied(out.Signed())
	if !out.QuorumMet {
		qe := &QuorumError{Quorum: p.Quorum}
		for _, c := range out.Cosignatures {
			qe.Signed = append(qe.Signed, c.Witness)
		}
		return out, qe
	}
	return out, nil
}

func witnessByKey(p *Policy, name string, hash uint32) *PolicyWitness {
	for i := range p.Witnesses {
		if k := p.Witnesses[i].Key; k.Name == name && k.Hash == hash {
			return &p.Witnesses[i]
		}
	}
	return nil
}
