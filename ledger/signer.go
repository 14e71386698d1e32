package ledger

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"golang.org/x/mod/sumdb/note"
)

// Signer signs checkpoints and statements with the archive key. It is a
// golang.org/x/mod/sumdb/note.Signer whose name is the log origin. It is safe
// for concurrent use.
//
// A Signer may carry cosigners (see [Signer.WithCosigners]): other keys of
// the same log that sign every checkpoint and statement beside it, as
// during the overlap of a key rotation, or a KMS key that cannot sign
// Ed25519 beside an Ed25519 file key.
type Signer struct {
	sv        signature.SignerVerifier
	pub       *verify.PublicKey
	cosigners []*Signer
}

// GenerateKey makes a new Ed25519 private key with sigstore/sigstore and
// returns it PEM-encoded (PKCS #8, "PRIVATE KEY").
func GenerateKey() ([]byte, error) {
	_, priv, err := signature.NewDefaultED25519SignerVerifier()
	if err != nil {
		return nil, fmt.Errorf("generating Ed25519 key: %w", err)
	}
	return cryptoutils.MarshalPrivateKeyToPEM(priv)
}

// ErrKeyType is returned for private keys other than Ed25519 and ECDSA P-256.
var ErrKeyType = errors.New("unsupported key type: want Ed25519 or ECDSA P-256")

// NewSigner loads a PEM private key (PKCS #8, or SEC 1 "EC PRIVATE KEY";
// unencrypted) through sigstore/sigstore and names it origin. Ed25519 keys
// sign pure Ed25519; ECDSA P-256 keys sign SHA-256 digests, ASN.1 DER
// encoded.
func NewSigner(keyPEM []byte, origin string) (*Signer, error) {
	if blk, _ := pem.Decode(keyPEM); blk != nil && (blk.Type == "ENCRYPTED PRIVATE KEY" || blk.Headers["Proc-Type"] != "") {
		return nil, errors.New("the private key is encrypted: exhibit needs it unencrypted (e.g. openssl pkey -in key.pem -out plain.pem), kept with mode 0600")
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(keyPEM, cryptoutils.SkipPassword)
	if err != nil {
		return nil, fmt.Errorf("reading private key (want an unencrypted PEM Ed25519 or ECDSA P-256 key): %w", err)
	}
	var pubKey any
	switch k := priv.(type) {
	case ed25519.PrivateKey:
		pubKey = k.Public().(ed25519.PublicKey)
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w (ECDSA on %s)", ErrKeyType, k.Curve.Params().Name)
		}
		pubKey = &k.PublicKey
	default:
		return nil, fmt.Errorf("%w (%T)", ErrKeyType, priv)
	}
	sv, err := signature.LoadSignerVerifier(priv, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading signer: %w", err)
	}
	pub, err := verify.NewPublicKey(origin, pubKey)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, pub: pub}, nil
}

// WithCosigners returns a signer that signs as s and then as each of
// cosigners, which must be keys of the same log (same name) and distinct
// from s. Their own cosigners are ignored. Checkpoints then carry one
// signature line per key (Ed25519 keys first, see [OpenWriter]) and
// statement envelopes one DSSE signature per key, s's first, each with its
// key ID.
func (s *Signer) WithCosigners(cosigners ...*Signer) (*Signer, error) {
	keys := []*verify.PublicKey{s.pub}
	out := &Signer{sv: s.sv, pub: s.pub}
	for _, c := range cosigners {
		keys = append(keys, c.pub)
		out.cosigners = append(out.cosigners, &Signer{sv: c.sv, pub: c.pub})
	}
	if _, err := verify.NewKeyring(keys...); err != nil {
		return nil, fmt.Errorf("cosigners: %w", err)
	}
	return out, nil
}

// Cosigners returns the keys that sign beside s (see [Signer.WithCosigners]).
func (s *Signer) Cosigners() []*Signer { return s.cosigners }

// Keys returns the keys that sign: s's, then its cosigners'.
func (s *Signer) Keys() verify.Keyring {
	r := verify.Keyring{s.pub}
	for _, c := range s.cosigners {
		r = append(r, c.pub)
	}
	return r
}

// checkpointSigners returns the note signers of a checkpoint: every key that
// signs, Ed25519 keys first (a public log's primary signature, the one
// witnesses and most checkpoint clients verify, must be Ed25519), and in
// the order s, cosigners otherwise.
func (s *Signer) checkpointSigners() []note.Signer {
	all := append([]*Signer{s}, s.cosigners...)
	var ed, other []note.Signer
	for _, x := range all {
		if _, ok := x.pub.Key.(ed25519.PublicKey); ok {
			ed = append(ed, x)
		} else {
			other = append(other, x)
		}
	}
	return append(ed, other...)
}

// Name returns the key name: the log origin.
func (s *Signer) Name() string { return s.pub.Name }

// KeyHash returns the C2SP signed-note key ID.
func (s *Signer) KeyHash() uint32 { return s.pub.Hash }

// Sign signs msg (a note text) and returns the raw signature.
func (s *Signer) Sign(msg []byte) ([]byte, error) {
	return s.sv.SignMessage(bytes.NewReader(msg))
}

// PublicKey returns the verifier key.
func (s *Signer) PublicKey() *verify.PublicKey { return s.pub }

// SignStatement wraps an in-toto statement (JSON) in a DSSE envelope signed
// over PAE("application/vnd.in-toto+json", statement), and returns the
// envelope's compact JSON: the exact bytes that become the log entry.
// With cosigners, the envelope carries one signature per key, s's first.
func (s *Signer) SignStatement(statement []byte) ([]byte, error) {
	pae := verify.PAE(verify.PayloadType, statement)
	var sigs []verify.EnvelopeSignature
	for _, x := range append([]*Signer{s}, s.cosigners...) {
		sig, err := x.sv.SignMessage(bytes.NewReader(pae))
		if err != nil {
			return nil, fmt.Errorf("signing statement with %s: %w", x.pub.VKey, err)
		}
		sigs = append(sigs, verify.EnvelopeSignature{KeyID: x.pub.KeyID(), Sig: sig})
	}
	return json.Marshal(verify.Envelope{
		PayloadType: verify.PayloadType,
		Payload:     statement,
		Signatures:  sigs,
	})
}
