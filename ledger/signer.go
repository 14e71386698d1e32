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
)

// Signer signs checkpoints and statements with the archive key. It is a
// golang.org/x/mod/sumdb/note.Signer whose name is the log origin. It is safe
// for concurrent use.
type Signer struct {
	sv  signature.SignerVerifier
	pub *verify.PublicKey
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
func (s *Signer) SignStatement(statement []byte) ([]byte, error) {
	sig, err := s.sv.SignMessage(bytes.NewReader(verify.PAE(verify.PayloadType, statement)))
	if err != nil {
		return nil, fmt.Errorf("signing statement: %w", err)
	}
	return json.Marshal(verify.Envelope{
		PayloadType: verify.PayloadType,
		Payload:     statement,
		Signatures:  []verify.EnvelopeSignature{{KeyID: s.pub.KeyID(), Sig: sig}},
	})
}
