// Package wacz writes a browser capture's WARC as a WACZ 1.1.1 package
// (https://specs.webrecorder.net/wacz/1.1.1/), signed in the anonymous
// form of "WACZ Signing and Verification" 0.1.0
// (https://specs.webrecorder.net/wacz-auth/0.1.0/) and, where a
// time-stamping authority is given, time-stamped over its signature as
// that specification's timeSignature is (RFC 3161,
// https://www.rfc-editor.org/rfc/rfc3161).
//
// A package holds, in this order, each stored in the zip (not deflated):
//
//	archive/data.warc.gz     the WARC, byte for byte as given
//	indexes/index.cdx        its CDXJ index, as pywb and py-wacz write it
//	pages/pages.jsonl        the captured pages (JSON Lines, "json-pages-1.0")
//	datapackage.json         every file above by path, SHA-256 and length
//	datapackage-digest.json  the SHA-256 of datapackage.json, and signedData
//
// The package is deterministic: the same Input gives the same bytes (zip
// times are Input.Created; the ECDSA signature is RFC 6979's deterministic
// one), except for a time-stamp token, which the TSA makes anew each time.
// The verify package checks what this package writes ([verify.CheckWACZ]).
package wacz

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// Page is a page of the package, listed in pages/pages.jsonl.
type Page struct {
	// URL is the page's URL as captured; TS when it was captured.
	URL string
	TS  time.Time
	// Title is the document's title and Text its visible text, both
	// optional (Text feeds ReplayWeb.page's full-text search).
	Title string
	Text  string
}

// Stamper obtains RFC 3161 time-stamps; ledger.TSAClient is one. Timestamp
// returns the DER TimeStampResp over message (SHA-256 imprint), checked
// against the TSA's roots.
type Stamper interface {
	Timestamp(ctx context.Context, message []byte) ([]byte, *verify.Timestamp, error)
}

// Input is what Build packages.
type Input struct {
	// WARC is a WARC/1.1 file, one gzip member per record (so that the
	// index can give each record's offset and length in the file).
	// Required.
	WARC []byte
	// Pages are the captured pages; the first is the package's main page.
	// At least one is required.
	Pages []Page
	// Created is when the package was made: datapackage.json's and
	// signedData's created, and every zip entry's modification time.
	// Required; exhibit gives the capture's time.
	Created time.Time
	// Software names the writer, e.g. "exhibit v1.4.0".
	Software string
	// Title is the package's title; empty for none.
	Title string
	// Key signs the package: an ECDSA P-384 key (what ReplayWeb.page
	// verifies); see NewKey. Required.
	Key *ecdsa.PrivateKey
	// TSA, if set, time-stamps the signature (signedData.timeSignature).
	TSA Stamper
}

// Errors of Build.
var (
	// ErrInput: the Input is missing a required field or its WARC cannot
	// be indexed.
	ErrInput = errors.New("wacz: bad input")
	// ErrTimestamp: the TSA did not time-stamp the signature. The
	// caller may build again without a TSA.
	ErrTimestamp = errors.New("wacz: time-stamping the signature failed")
)

// NewKey returns a new ECDSA P-384 signing key.
func NewKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
}

// PublicKey returns the form signedData.publicKey gives a key in: the
// base64 DER SubjectPublicKeyInfo.
func PublicKey(k *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// Build writes the WACZ package of in to w. It returns an error wrapping
// ErrInput for an incomplete Input or a WARC it cannot index, ErrTimestamp
// when in.TSA fails, or w's error. Nothing is written to w before the
// package is complete.
func Build(ctx context.Context, w io.Writer, in Input) error {
	switch {
	case len(in.WARC) == 0:
		return fmt.Errorf("%w: no WARC", ErrInput)
	case len(in.Pages) == 0:
		return fmt.Errorf("%w: no page", ErrInput)
	case in.Created.Year() < 1980 || in.Created.Year() > 2107:
		return fmt.Errorf("%w: creation time %v is not one a zip can hold (1980 to 2107)", ErrInput, in.Created)
	case in.Key == nil || in.Key.Curve != elliptic.P384():
		return fmt.Errorf("%w: the signing key is not an ECDSA P-384 key", ErrInput)
	}
	created := in.Created.UTC().Truncate(time.Second)
	index, err := Index(in.WARC, "data.warc.gz")
	if err != nil {
		return err
	}
	pages, err := pagesJSONL(in.Pages)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		b    []byte
	}{
		{verify.WACZWARC, in.WARC},
		{verify.WACZIndex, index},
		{verify.WACZPages, pages},
	}
	pkg := verify.WACZPackage{
		Profile:      verify.WACZProfile,
		WACZVersion:  verify.WACZVersion,
		Title:        in.Title,
		Software:     in.Software,
		Created:      created.Format(time.RFC3339),
		MainPageURL:  in.Pages[0].URL,
		MainPageDate: in.Pages[0].TS.UTC().Format(time.RFC3339),
	}
	for _, f := range files {
		pkg.Resources = append(pkg.Resources, verify.WACZResource{
			Name: baseName(f.path), Path: f.path, Hash: verify.WACZHash(f.b), Bytes: int64(len(f.b)),
		})
	}
	pkgJSON, err := json.MarshalIndent(pkg, "", "  ")
	if err != nil {
		return err
	}
	sd, err := sign(ctx, in, verify.WACZHash(pkgJSON), created)
	if err != nil {
		return err
	}
	digestJSON, err := json.MarshalIndent(verify.WACZDigest{Path: verify.WACZDataPackage, Hash: sd.Hash, SignedData: sd}, "", "  ")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range append(files, struct {
		path string
		b    []byte
	}{verify.WACZDataPackage, pkgJSON}, struct {
		path string
		b    []byte
	}{verify.WACZDigestFile, digestJSON}) {
		if err := storeFile(zw, f.path, f.b, created); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// storeFile adds b to zw uncompressed, with its sizes and CRC in the local
// header (no data descriptor), so that a reader can seek to any file.
func storeFile(zw *zip.Writer, name string, b []byte, mod time.Time) error {
	h := &zip.FileHeader{
		Name:   name,
		Method: zip.Store,
		// CreateRaw leaves the MS-DOS time as given (UTC, 2 s steps).
		ModifiedTime:       uint16(mod.Hour()<<11 | mod.Minute()<<5 | mod.Second()/2),
		ModifiedDate:       uint16((mod.Year()-1980)<<9 | int(mod.Month())<<5 | mod.Day()),
		CRC32:              crc32.ChecksumIEEE(b),
		CompressedSize64:   uint64(len(b)),
		UncompressedSize64: uint64(len(b)),
	}
	fw, err := zw.CreateRaw(h)
	if err != nil {
		return err
	}
	_, err = fw.Write(b)
	return err
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// sign makes the anonymous signedData over hash: a deterministic (RFC
// 6979) ECDSA P-384 signature with SHA-256 of hash's ASCII bytes, in the
// IEEE P1363 form (r then s, 48 bytes each) WebCrypto and so
// ReplayWeb.page verify; then, with a TSA, a time-stamp over the base64
// signature string.
func sign(ctx context.Context, in Input, hash string, created time.Time) (*verify.WACZSignedData, error) {
	pub, err := PublicKey(&in.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256([]byte(hash))
	der, err := in.Key.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		return nil, err
	}
	raw := make([]byte, 96)
	rs.R.FillBytes(raw[:48])
	rs.S.FillBytes(raw[48:])
	sd := &verify.WACZSignedData{
		Hash:      hash,
		Created:   created.Format(time.RFC3339),
		Software:  in.Software,
		Signature: base64.StdEncoding.EncodeToString(raw),
		PublicKey: pub,
	}
	if in.TSA != nil {
		tsr, _, err := in.TSA.Timestamp(ctx, []byte(sd.Signature))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTimestamp, err)
		}
		sd.TimeSignature = base64.StdEncoding.EncodeToString(tsr)
	}
	return sd, nil
}

// pagesJSONL writes pages/pages.jsonl: a header line, then one line per
// page with a stable id (the first 16 hex digits of the SHA-256 of its
// URL and time), url, ts (RFC 3339 UTC), and title and text when set.
func pagesJSONL(pages []Page) ([]byte, error) {
	type header struct {
		Format string `json:"format"`
		ID     string `json:"id"`
		Title  string `json:"title"`
	}
	type line struct {
		ID    string `json:"id"`
		URL   string `json:"url"`
		TS    string `json:"ts"`
		Title string `json:"title,omitempty"`
		Text  string `json:"text,omitempty"`
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(header{"json-pages-1.0", "pages", "All Pages"}); err != nil {
		return nil, err
	}
	for i, p := range pages {
		if p.URL == "" || p.TS.IsZero() {
			return nil, fmt.Errorf("%w: page %d has no URL or time", ErrInput, i)
		}
		ts := p.TS.UTC().Format(time.RFC3339Nano)
		id := sha256.Sum256([]byte(p.URL + " " + ts))
		if err := enc.Encode(line{hex.EncodeToString(id[:8]), p.URL, ts, p.Title, p.Text}); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
