package ledger

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"

	"github.com/exhibit-archive/exhibit/verify"
)

// TSAClient asks an RFC 3161 time-stamping authority
// (https://www.rfc-editor.org/rfc/rfc3161) for time-stamps over HTTP
// (section 3.4: POST application/timestamp-query), and verifies what it
// answers before returning it. It is safe for concurrent use.
type TSAClient struct {
	// URL is the TSA's time-stamping endpoint.
	URL string
	// Trust says which TSAs to trust. Roots is required.
	Trust verify.TimestampOptions
	// HTTPClient makes the requests. If nil, http.DefaultClient.
	HTTPClient *http.Client
}

// TSAError reports a TSA that could not be reached (StatusCode 0, Err the
// cause) or answered with an HTTP error (StatusCode, Body).
type TSAError struct {
	URL        string
	StatusCode int
	Body       string
	Err        error
}

func (e *TSAError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("time-stamping authority %s is unavailable: %v", e.URL, e.Err)
	}
	return fmt.Sprintf("time-stamping authority %s answered %d %s: %q", e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

func (e *TSAError) Unwrap() error { return e.Err }

// ErrTSANonce is returned when a TSA's token does not echo the request's
// nonce: a replayed or misdirected answer.
var ErrTSANonce = errors.New("the time-stamp token does not carry the request's nonce")

var oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}

type timeStampReq struct {
	Version        int
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	Nonce   *big.Int
	CertReq bool `asn1:"optional,default:false"`
}

// Timestamp asks the TSA to time-stamp the SHA-256 of message, with a
// random 64-bit nonce and certReq set (so that the token carries the TSA's
// signing certificate), and verifies the answer with verify.CheckTimestamp
// against c.Trust and the nonce. It returns the TimeStampResp (DER: what
// exhibit stores in .tsr files and "openssl ts -verify -in" reads) and the
// verified time-stamp.
//
// Errors: a *TSAError when the TSA is unreachable or answers an HTTP error;
// the errors of verify.CheckTimestamp (a refusal, an untrusted TSA, a token
// for another message, an altered or malformed token); ErrTSANonce.
func (c *TSAClient) Timestamp(ctx context.Context, message []byte) ([]byte, *verify.Timestamp, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(message)
	var tsq timeStampReq
	tsq.Version = 1
	tsq.MessageImprint.HashAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidSHA256, Parameters: asn1.NullRawValue}
	tsq.MessageImprint.HashedMessage = sum[:]
	tsq.Nonce = nonce
	tsq.CertReq = true
	der, err := asn1.Marshal(tsq)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(der))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/timestamp-query")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, &TSAError{URL: c.URL, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, &TSAError{URL: c.URL, Err: err}
	}
	// RFC 3161 expects 200; sigstore's timestamp-server answers 201.
	if resp.StatusCode/100 != 2 {
		if len(body) > 512 {
			body = body[:512]
		}
		return nil, nil, &TSAError{URL: c.URL, StatusCode: resp.StatusCode, Body: string(body)}
	}
	ts, err := verify.CheckTimestamp(body, message, c.Trust)
	if err != nil {
		return nil, nil, fmt.Errorf("time-stamp from %s: %w", c.URL, err)
	}
	if ts.Nonce == nil || ts.Nonce.Cmp(nonce) != 0 {
		return nil, nil, fmt.Errorf("time-stamp from %s: %w", c.URL, ErrTSANonce)
	}
	return body, ts, nil
}

// TimestampCheckpoint time-stamps a signed checkpoint's body (see
// verify.CheckpointBody), so that cosignatures added later leave the token
// valid.
func (c *TSAClient) TimestampCheckpoint(ctx context.Context, signedCP []byte) ([]byte, *verify.Timestamp, error) {
	body, err := verify.CheckpointBody(signedCP)
	if err != nil {
		return nil, nil, err
	}
	return c.Timestamp(ctx, body)
}
