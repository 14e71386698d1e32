package verify

import (
	"bytes"
	"crypto"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// This file verifies RFC 3161 time-stamp tokens
// (https://www.rfc-editor.org/rfc/rfc3161), which are CMS SignedData
// (https://www.rfc-editor.org/rfc/rfc5652) around a TSTInfo, with the ESS
// signing-certificate attributes of RFC 2634 and RFC 5035.

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519         = asn1.ObjectIdentifier{1, 3, 101, 112}

	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
)

// Timestamp is a verified RFC 3161 time-stamp token: a trusted time-stamping
// authority (TSA) states that the message existed no later than GenTime.
type Timestamp struct {
	// GenTime is the time the TSA says it made the token, in UTC.
	GenTime time.Time
	// Accuracy is the TSA's stated accuracy of GenTime; zero if the token
	// does not state one.
	Accuracy time.Duration
	// TSA is the subject of the TSA's signing certificate, as
	// pkix.Name.String formats it.
	TSA string
	// Certificate is the TSA's signing certificate, and Chain the chain it
	// was verified along, from it to a trusted root.
	Certificate *x509.Certificate
	Chain       []*x509.Certificate
	// Serial is the token's serial number, unique per TSA.
	Serial *big.Int
	// Policy is the TSA policy under which the token was issued.
	Policy asn1.ObjectIdentifier
	// Nonce is the request's nonce echoed by the TSA, or nil.
	Nonce *big.Int
	// Hash is the hash algorithm of the message imprint.
	Hash crypto.Hash
}

// TimestampOptions configures [CheckTimestamp].
type TimestampOptions struct {
	// Roots are the trusted TSA roots. Required.
	Roots *x509.CertPool
	// Untrusted are extra certificates that may be the TSA's signing
	// certificate and its intermediates, for tokens that do not embed
	// them (a TSA asked with certReq embeds only its signing certificate).
	// Like the certificates in a token, they are only used to build a
	// chain to Roots.
	Untrusted []*x509.Certificate
}

// ErrTimestamp is wrapped by the errors [CheckTimestamp] returns for a
// malformed or unsupported time-stamp response or token.
var ErrTimestamp = errors.New("invalid RFC 3161 time-stamp token")

// TimestampStatusError reports a time-stamp response whose status is
// neither granted (0) nor grantedWithMods (1): the TSA refused.
type TimestampStatusError struct {
	Status   int
	Text     string
	FailInfo asn1.BitString
}

func (e *TimestampStatusError) Error() string {
	s := fmt.Sprintf("the TSA refused the time-stamp request: status %d", e.Status)
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	return s
}

// TimestampMessageError reports a valid token over another message: the
// token's message imprint is not the hash of the message given to
// [CheckTimestamp] (for exhibit: a token for another checkpoint).
type TimestampMessageError struct {
	Hash crypto.Hash
	// Want is the hash of the given message; Got the token's imprint.
	Want, Got []byte
}

func (e *TimestampMessageError) Error() string {
	return fmt.Sprintf("the time-stamp token is for another message: its %v imprint is %x, the message hashes to %x", e.Hash, e.Got, e.Want)
}

// TimestampTrustError reports a token whose signing certificate does not
// chain to the trusted roots, or is not a time-stamping certificate (RFC
// 3161 section 2.3: an extended key usage of id-kp-timeStamping only,
// marked critical).
type TimestampTrustError struct {
	TSA string
	Err error
}

func (e *TimestampTrustError) Error() string {
	return fmt.Sprintf("the time-stamping authority %q is not trusted: %v", e.TSA, e.Err)
}

func (e *TimestampTrustError) Unwrap() error { return e.Err }

// TimestampSignatureError reports a token whose CMS signature, message
// digest or signing-certificate attribute does not verify: it was altered.
type TimestampSignatureError struct {
	TSA string
	Err error
}

func (e *TimestampSignatureError) Error() string {
	return fmt.Sprintf("the time-stamp token's signature by %q does not verify: %v", e.TSA, e.Err)
}

func (e *TimestampSignatureError) Unwrap() error { return e.Err }

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"`
	FailInfo     asn1.BitString  `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     []byte `asn1:"explicit,optional,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional,default:false"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrTimestamp, fmt.Sprintf(format, args...))
}

// unmarshalAll is asn1.Unmarshal that refuses trailing data.
func unmarshalAll(b []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrTimestamp, what, err)
	}
	if len(rest) > 0 {
		return malformed("%s: %d bytes of trailing data", what, len(rest))
	}
	return nil
}

// CheckTimestamp verifies an RFC 3161 time-stamp over message. der is either
// a TimeStampResp (the body of the TSA's application/timestamp-reply, as
// "openssl ts -reply" reads it and exhibit stores it in .tsr files) or a bare
// TimeStampToken (a CMS ContentInfo), in DER.
//
// It checks, in order: that the response status is granted; that the token
// is CMS SignedData with one signer over an id-ct-TSTInfo; that the signed
// attributes carry the TSTInfo content type and its digest, and, if
// present, an ESS signing-certificate (v1 or v2) attribute whose first hash
// is the signer's certificate (found in the token or in opts.Untrusted by
// issuer and serial number or subject key identifier); that the signature
// over the signed attributes verifies with that certificate's key (RSA
// PKCS #1 v1.5, ECDSA or Ed25519); that the certificate chains to
// opts.Roots at the token's genTime and is a time-stamping certificate; and
// last that the TSTInfo message imprint is the SHA-256, SHA-384 or SHA-512
// of message. So an altered token is reported as altered, not as a token
// for another message.
//
// Errors: ErrTimestamp for a malformed or unsupported token; a
// *TimestampStatusError for a refusal; a *TimestampMessageError for a
// token over another message; a *TimestampTrustError for an untrusted TSA;
// a *TimestampSignatureError for a signature that does not verify.
func CheckTimestamp(der, message []byte, opts TimestampOptions) (*Timestamp, error) {
	if opts.Roots == nil {
		return nil, errors.New("CheckTimestamp: no trusted TSA roots given")
	}
	token, err := timestampToken(der)
	if err != nil {
		return nil, err
	}
	var ci contentInfo
	if err := unmarshalAll(token, &ci, "ContentInfo"); err != nil {
		return nil, err
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, malformed("content type %v is not SignedData", ci.ContentType)
	}
	var sd signedData
	if err := unmarshalAll(ci.Content.Bytes, &sd, "SignedData"); err != nil {
		return nil, err
	}
	if !sd.EncapContentInfo.ContentType.Equal(oidTSTInfo) {
		return nil, malformed("encapsulated content type %v is not id-ct-TSTInfo", sd.EncapContentInfo.ContentType)
	}
	if sd.EncapContentInfo.Content == nil {
		return nil, malformed("the TSTInfo is not encapsulated")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, malformed("%d signers, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]

	var info tstInfo
	if err := unmarshalAll(sd.EncapContentInfo.Content, &info, "TSTInfo"); err != nil {
		return nil, err
	}
	if info.Version != 1 {
		return nil, malformed("TSTInfo version %d, want 1", info.Version)
	}

	certs, err := tokenCertificates(sd.Certificates)
	if err != nil {
		return nil, err
	}
	certs = append(certs, opts.Untrusted...)
	signer, err := findSigner(si.SID, certs)
	if err != nil {
		return nil, err
	}
	tsa := signer.Subject.String()
	if err := checkSignerInfo(si, sd.EncapContentInfo.Content, signer); err != nil {
		if errors.Is(err, ErrTimestamp) {
			return nil, err
		}
		return nil, &TimestampSignatureError{TSA: tsa, Err: err}
	}

	inter := x509.NewCertPool()
	for _, c := range certs {
		inter.AddCert(c)
	}
	chains, err := signer.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   info.GenTime,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, &TimestampTrustError{TSA: tsa, Err: err}
	}
	if err := checkTimestampingEKU(signer); err != nil {
		return nil, &TimestampTrustError{TSA: tsa, Err: err}
	}

	h, err := hashFromOID(info.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil {
		return nil, malformed("message imprint: %v", err)
	}
	if got, want := info.MessageImprint.HashedMessage, digest(h, message); !bytes.Equal(got, want) {
		return nil, &TimestampMessageError{Hash: h, Want: want, Got: got}
	}

	return &Timestamp{
		GenTime:     info.GenTime.UTC(),
		Accuracy:    time.Duration(info.Accuracy.Seconds)*time.Second + time.Duration(info.Accuracy.Millis)*time.Millisecond + time.Duration(info.Accuracy.Micros)*time.Microsecond,
		TSA:         tsa,
		Certificate: signer,
		Chain:       chains[0],
		Serial:      info.SerialNumber,
		Policy:      info.Policy,
		Nonce:       info.Nonce,
		Hash:        h,
	}, nil
}

// timestampToken returns the TimeStampToken in der, a TimeStampResp or a
// token.
func timestampToken(der []byte) ([]byte, error) {
	var outer asn1.RawValue
	if err := unmarshalAll(der, &outer, "time-stamp response"); err != nil {
		return nil, err
	}
	if outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return nil, malformed("not a SEQUENCE")
	}
	var first asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &first); err != nil {
		return nil, malformed("empty SEQUENCE: %v", err)
	}
	if first.Tag == asn1.TagOID {
		return der, nil // a ContentInfo: a bare token
	}
	var resp timeStampResp
	if err := unmarshalAll(der, &resp, "TimeStampResp"); err != nil {
		return nil, err
	}
	if s := resp.Status.Status; s != 0 && s != 1 {
		var text []string
		for _, v := range resp.Status.StatusString {
			text = append(text, string(v.Bytes))
		}
		return nil, &TimestampStatusError{Status: s, Text: strings.Join(text, "; "), FailInfo: resp.Status.FailInfo}
	}
	if len(resp.Token.FullBytes) == 0 {
		return nil, malformed("the response is granted but carries no token")
	}
	return resp.Token.FullBytes, nil
}

func tokenCertificates(raw asn1.RawValue) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := raw.Bytes
	for len(rest) > 0 {
		var c asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &c); err != nil {
			return nil, malformed("certificates: %v", err)
		}
		if c.Class != asn1.ClassUniversal || c.Tag != asn1.TagSequence {
			continue // another CertificateChoices alternative
		}
		cert, err := x509.ParseCertificate(c.FullBytes)
		if err != nil {
			return nil, malformed("certificates: %v", err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

// findSigner finds the certificate a SignerIdentifier names: an
// IssuerAndSerialNumber, or a [0] SubjectKeyIdentifier.
func findSigner(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if err := unmarshalAll(sid.FullBytes, &ias, "signer identifier"); err != nil {
			return nil, err
		}
		for _, c := range certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c, nil
			}
		}
		return nil, malformed("the signing certificate (serial %x) is neither in the token nor among the untrusted certificates given", ias.Serial)
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0:
		for _, c := range certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, nil
			}
		}
		return nil, malformed("the signing certificate (key ID %x) is neither in the token nor among the untrusted certificates given", sid.Bytes)
	}
	return nil, malformed("unknown signer identifier")
}

func checkTimestampingEKU(c *x509.Certificate) error {
	if len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(c.UnknownExtKeyUsage) > 0 {
		return errors.New("the signing certificate's extended key usage is not id-kp-timeStamping alone")
	}
	for _, e := range c.Extensions {
		if e.Id.Equal(oidExtKeyUsage) && !e.Critical {
			return errors.New("the signing certificate's extended key usage extension is not critical")
		}
	}
	return nil
}

// checkSignerInfo checks the signed attributes and the signature.
func checkSignerInfo(si signerInfo, content []byte, cert *x509.Certificate) error {
	if len(si.SignedAttrs.FullBytes) == 0 {
		return malformed("no signed attributes")
	}
	h, err := hashFromOID(si.DigestAlgorithm.Algorithm)
	if err != nil {
		return malformed("digest algorithm: %v", err)
	}
	attrs := map[string][]byte{} // OID -> the single value's DER
	rest := si.SignedAttrs.Bytes
	for len(rest) > 0 {
		var a attribute
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return malformed("signed attributes: %v", err)
		}
		var v asn1.RawValue
		if r, err := asn1.Unmarshal(a.Values.Bytes, &v); err != nil || len(r) > 0 || a.Values.Tag != asn1.TagSet {
			return malformed("signed attribute %v does not hold exactly one value", a.Type)
		}
		if _, dup := attrs[a.Type.String()]; dup {
			return malformed("signed attribute %v appears twice", a.Type)
		}
		attrs[a.Type.String()] = v.FullBytes
	}

	var ct asn1.ObjectIdentifier
	if v, ok := attrs[oidAttrContentType.String()]; !ok {
		return malformed("no content-type signed attribute")
	} else if err := unmarshalAll(v, &ct, "content-type attribute"); err != nil {
		return err
	} else if !ct.Equal(oidTSTInfo) {
		return fmt.Errorf("the signed content type %v is not id-ct-TSTInfo", ct)
	}
	var md []byte
	if v, ok := attrs[oidAttrMessageDigest.String()]; !ok {
		return malformed("no message-digest signed attribute")
	} else if err := unmarshalAll(v, &md, "message-digest attribute"); err != nil {
		return err
	}
	if want := digest(h, content); !bytes.Equal(md, want) {
		return fmt.Errorf("the signed message digest %x is not the %v of the TSTInfo (%x)", md, h, want)
	}
	if err := checkSigningCertificate(attrs, cert); err != nil {
		return err
	}

	alg, err := signatureAlgorithm(si.SignatureAlgorithm.Algorithm, h)
	if err != nil {
		return malformed("%v", err)
	}
	// The signature is over the DER of the attributes as a SET OF, not as
	// the [0] IMPLICIT field (RFC 5652 section 5.4).
	signed := append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	return cert.CheckSignature(alg, signed, si.Signature)
}

// checkSigningCertificate checks the ESS signing-certificate attribute (RFC
// 2634, SHA-1) or signing-certificate-v2 attribute (RFC 5035), if present:
// its first certificate hash must be the signer's.
func checkSigningCertificate(attrs map[string][]byte, cert *x509.Certificate) error {
	v2 := true
	v, ok := attrs[oidAttrSigningCertV2.String()]
	if !ok {
		if v, ok = attrs[oidAttrSigningCert.String()]; !ok {
			return nil
		}
		v2 = false
	}
	// SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), ... }
	var sc struct {
		Certs []asn1.RawValue
		Rest  asn1.RawValue `asn1:"optional"`
	}
	if err := unmarshalAll(v, &sc, "signing-certificate attribute"); err != nil {
		return err
	}
	if len(sc.Certs) == 0 {
		return malformed("empty signing-certificate attribute")
	}
	// ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, ... }
	// ESSCertID   ::= SEQUENCE { certHash OCTET STRING (SHA-1), ... }
	h := crypto.SHA1
	if v2 {
		h = crypto.SHA256
	}
	rest := sc.Certs[0].Bytes
	var f asn1.RawValue
	var err error
	if rest, err = asn1.Unmarshal(rest, &f); err != nil {
		return malformed("signing-certificate attribute: %v", err)
	}
	if v2 && f.Tag == asn1.TagSequence {
		var alg pkix.AlgorithmIdentifier
		if err := unmarshalAll(f.FullBytes, &alg, "signing-certificate hash algorithm"); err != nil {
			return err
		}
		if h, err = hashFromOID(alg.Algorithm); err != nil {
			return malformed("signing-certificate attribute: %v", err)
		}
		if _, err = asn1.Unmarshal(rest, &f); err != nil {
			return malformed("signing-certificate attribute: %v", err)
		}
	}
	if f.Tag != asn1.TagOctetString {
		return malformed("signing-certificate attribute: no certificate hash")
	}
	if want := digest(h, cert.Raw); !bytes.Equal(f.Bytes, want) {
		return fmt.Errorf("the signing-certificate attribute names another certificate (%v %x, the signer's is %x)", h, f.Bytes, want)
	}
	return nil
}

func hashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	case oid.Equal(oidSHA1):
		return 0, errors.New("SHA-1 is not accepted")
	}
	return 0, fmt.Errorf("unsupported hash algorithm %v", oid)
}

// digest hashes b with SHA-1 (only for ESS certificate IDs) or SHA-2.
func digest(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(b)
		return s[:]
	case crypto.SHA384:
		s := sha512.Sum384(b)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(b)
		return s[:]
	case crypto.SHA1:
		s := sha1.Sum(b)
		return s[:]
	}
	return nil
}

func signatureAlgorithm(oid asn1.ObjectIdentifier, h crypto.Hash) (x509.SignatureAlgorithm, error) {
	byHash := func(a256, a384, a512 x509.SignatureAlgorithm) x509.SignatureAlgorithm {
		switch h {
		case crypto.SHA384:
			return a384
		case crypto.SHA512:
			return a512
		}
		return a256
	}
	switch {
	case oid.Equal(oidRSAEncryption):
		return byHash(x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA), nil
	case oid.Equal(oidSHA256WithRSA):
		return x509.SHA256WithRSA, nil
	case oid.Equal(oidSHA384WithRSA):
		return x509.SHA384WithRSA, nil
	case oid.Equal(oidSHA512WithRSA):
		return x509.SHA512WithRSA, nil
	case oid.Equal(oidECPublicKey):
		return byHash(x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512), nil
	case oid.Equal(oidECDSAWithSHA256):
		return x509.ECDSAWithSHA256, nil
	case oid.Equal(oidECDSAWithSHA384):
		return x509.ECDSAWithSHA384, nil
	case oid.Equal(oidECDSAWithSHA512):
		return x509.ECDSAWithSHA512, nil
	case oid.Equal(oidEd25519):
		return x509.PureEd25519, nil
	}
	return 0, fmt.Errorf("unsupported signature algorithm %v", oid)
}

// ParseCertificatesPEM parses every CERTIFICATE block in pemData, in order.
// It fails if there is none, or if a block does not parse.
func ParseCertificatesPEM(pemData []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, pemData = pem.Decode(pemData)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

// ParseTSARoots reads a TSA's trust anchors from PEM: either the root
// certificate alone or the TSA's whole certificate chain (as sigstore's
// timestamp-server serves it at /api/v1/timestamp/certchain). Self-signed
// certificates become Roots; the others are Untrusted, used only to build a
// chain to a root. If no certificate is self-signed, every certificate is a
// root (trusting that intermediate or TSA certificate directly).
func ParseTSARoots(pemData []byte) (TimestampOptions, error) {
	certs, err := ParseCertificatesPEM(pemData)
	if err != nil {
		return TimestampOptions{}, fmt.Errorf("TSA roots: %w", err)
	}
	opts := TimestampOptions{Roots: x509.NewCertPool()}
	n := 0
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			opts.Roots.AddCert(c)
			n++
		} else {
			opts.Untrusted = append(opts.Untrusted, c)
		}
	}
	if n == 0 {
		for _, c := range certs {
			opts.Roots.AddCert(c)
		}
		opts.Untrusted = nil
	}
	return opts, nil
}
