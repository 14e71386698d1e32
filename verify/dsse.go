package verify

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// Envelope is a DSSE v1 envelope in its JSON serialisation. Payload and each
// signature's Sig are standard base64 (RFC 4648 section 4) in the JSON.
type Envelope struct {
	PayloadType string              `json:"payloadType"`
	Payload     []byte              `json:"payload"`
	Signatures  []EnvelopeSignature `json:"signatures"`
}

// EnvelopeSignature is one DSSE signature. KeyID is a hint, not trusted:
// exhibit sets it to the lowercase hex SHA-256 of the signing key's
// PKIX (SubjectPublicKeyInfo) DER encoding; see [KeyID].
type EnvelopeSignature struct {
	KeyID string `json:"keyid"`
	Sig   []byte `json:"sig"`
}

// ErrEnvelope is wrapped by every error [ParseEnvelope] returns.
var ErrEnvelope = errors.New("invalid DSSE envelope")

// ParseEnvelope decodes a DSSE envelope, rejecting non-strict JSON (unknown,
// duplicate or differently cased keys, trailing data, non-standard base64)
// and envelopes without a payload or signature.
func ParseEnvelope(b []byte) (*Envelope, error) {
	var e Envelope
	if err := decodeStrict(b, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	if e.PayloadType == "" || len(e.Payload) == 0 {
		return nil, fmt.Errorf("%w: missing payloadType or payload", ErrEnvelope)
	}
	if len(e.Signatures) == 0 {
		return nil, fmt.Errorf("%w: no signatures", ErrEnvelope)
	}
	return &e, nil
}

// PAE is DSSE's pre-authentication encoding, the bytes that are signed:
//
//	"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
//
// where LEN is the ASCII decimal byte length and SP a space.
func PAE(payloadType string, payload []byte) []byte {
	var b bytes.Buffer
	b.WriteString("DSSEv1 ")
	b.WriteString(strconv.Itoa(len(payloadType)))
	b.WriteByte(' ')
	b.WriteString(payloadType)
	b.WriteByte(' ')
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteByte(' ')
	b.Write(payload)
	return b.Bytes()
}

// ErrNoValidSignature is returned by [Envelope.Verify] when no signature in
// the envelope verifies under the given key.
var ErrNoValidSignature = errors.New("no valid signature by the trusted key")

// Verify checks that at least one of the envelope's signatures is a valid
// signature over PAE(PayloadType, Payload) by key. Signatures by other keys
// are ignored. It returns the key ID of the signature that verified.
func (e *Envelope) Verify(key *PublicKey) (string, error) {
	msg := PAE(e.PayloadType, e.Payload)
	for _, s := range e.Signatures {
		if key.verify(msg, s.Sig) {
			return s.KeyID, nil
		}
	}
	return "", ErrNoValidSignature
}
