package verify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Signature type bytes of C2SP signed-note.
const (
	algEd25519 = 0x01
	algECDSA   = 0x02
)

// PublicKey is a log's verifier key: the key that signs both checkpoints
// (as C2SP signed notes) and statements (as DSSE envelopes).
type PublicKey struct {
	// Name is the key name, which is also the log's origin.
	Name string
	// Hash is the C2SP signed-note key ID.
	Hash uint32
	// Key is an ed25519.PublicKey or an *ecdsa.PublicKey on P-256.
	Key any
	// VKey is the key in C2SP vkey form, "name+hex8+base64".
	VKey string
}

// ErrVKey is wrapped by the errors [ParseVKey] returns.
var ErrVKey = errors.New("invalid verifier key")

// ParseVKey parses a C2SP signed-note verifier key, "name+hex8+base64",
// where the base64 decodes to a signature type byte followed by the key:
// 0x01 and a 32-byte Ed25519 public key (key ID as signed-note specifies),
// or 0x02 and a PKIX DER ECDSA P-256 public key (key ID: the first four bytes
// of SHA-256 of the DER, as transparency-dev/witness defines). The key ID in
// the text must match the one computed.
func ParseVKey(vkey string) (*PublicKey, error) {
	vkey = strings.TrimSpace(vkey)
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || name == "" || len(hash16) != 8 {
		return nil, fmt.Errorf("%w %q: want name+hex8+base64", ErrVKey, vkey)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("%w %q: the key name has a space or control character", ErrVKey, vkey)
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, fmt.Errorf("%w %q: key ID: %v", ErrVKey, vkey, err)
	}
	raw, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(raw) < 2 {
		return nil, fmt.Errorf("%w %q: key is not base64", ErrVKey, vkey)
	}
	pk := &PublicKey{Name: name, Hash: uint32(h), VKey: vkey}
	switch raw[0] {
	case algEd25519:
		if len(raw) != 1+ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w %q: Ed25519 key is %d bytes, want %d", ErrVKey, vkey, len(raw)-1, ed25519.PublicKeySize)
		}
		pk.Key = ed25519.PublicKey(raw[1:])
	case algECDSA:
		k, err := x509.ParsePKIXPublicKey(raw[1:])
		if err != nil {
			return nil, fmt.Errorf("%w %q: ECDSA key: %v", ErrVKey, vkey, err)
		}
		ek, ok := k.(*ecdsa.PublicKey)
		if !ok || ek.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w %q: not an ECDSA P-256 key", ErrVKey, vkey)
		}
		pk.Key = ek
	default:
		return nil, fmt.Errorf("%w %q: unsupported signature type 0x%02x", ErrVKey, vkey, raw[0])
	}
	want, err := keyHash(name, pk.Key)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrVKey, vkey, err)
	}
	if want != pk.Hash {
		return nil, fmt.Errorf("%w %q: key ID %08x does not match the key (want %08x)", ErrVKey, vkey, pk.Hash, want)
	}
	return pk, nil
}

// NewPublicKey builds the verifier key named name for an Ed25519 or ECDSA
// P-256 public key.
func NewPublicKey(name string, key any) (*PublicKey, error) {
	if name == "" || strings.ContainsAny(name, "+ \t\n") {
		return nil, fmt.Errorf("%w: key name %q is empty or has a space or +", ErrVKey, name)
	}
	raw, err := keyBytes(key)
	if err != nil {
		return nil, err
	}
	h, err := keyHash(name, key)
	if err != nil {
		return nil, err
	}
	vkey := fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(raw))
	return &PublicKey{Name: name, Hash: h, Key: key, VKey: vkey}, nil
}

// keyBytes is the signature type byte followed by the encoded key.
func keyBytes(key any) ([]byte, error) {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return append([]byte{algEd25519}, k...), nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ECDSA key is not on P-256")
		}
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			return nil, err
		}
		return append([]byte{algECDSA}, der...), nil
	default:
		return nil, fmt.Errorf("unsupported key type %T (want Ed25519 or ECDSA P-256)", key)
	}
}

func keyHash(name string, key any) (uint32, error) {
	raw, err := keyBytes(key)
	if err != nil {
		return 0, err
	}
	var sum [32]byte
	if raw[0] == algECDSA {
		sum = sha256.Sum256(raw[1:])
	} else {
		sum = sha256.Sum256(append([]byte(name+"\n"), raw...))
	}
	return binary.BigEndian.Uint32(sum[:4]), nil
}

// KeyID returns the DSSE key ID exhibit uses for key: the lowercase hex
// SHA-256 of its PKIX DER encoding.
func (k *PublicKey) KeyID() string {
	der, err := x509.MarshalPKIXPublicKey(k.Key)
	if err != nil {
		return ""
	}
	return SHA256Hex(der)
}

// NoteVerifier returns a golang.org/x/mod/sumdb/note verifier for checkpoints
// signed by this key.
func (k *PublicKey) NoteVerifier() note.Verifier { return noteVerifier{k} }

func (k *PublicKey) verify(msg, sig []byte) bool {
	switch key := k.Key.(type) {
	case ed25519.PublicKey:
		return ed25519.Verify(key, msg, sig)
	case *ecdsa.PublicKey:
		d := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(key, d[:], sig)
	}
	return false
}

type noteVerifier struct{ k *PublicKey }

func (v noteVerifier) Name() string                { return v.k.Name }
func (v noteVerifier) KeyHash() uint32             { return v.k.Hash }
func (v noteVerifier) Verify(msg, sig []byte) bool { return v.k.verify(msg, sig) }

// SHA256Hex returns the lowercase hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
