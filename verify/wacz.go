package verify

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"
)

// This file verifies WACZ packages: WACZ 1.1.1
// (https://specs.webrecorder.net/wacz/1.1.1/), a Frictionless data package
// in a zip whose datapackage.json names every file by SHA-256, signed as
// "WACZ Signing and Verification" 0.1.0
// (https://specs.webrecorder.net/wacz-auth/0.1.0/) describes in its
// anonymous form: datapackage-digest.json holds the SHA-256 of
// datapackage.json and, in signedData, an ECDSA signature of that hash
// string with the public key beside it.

// MediaTypeWACZ is the media type of a WACZ package.
const MediaTypeWACZ = "application/wacz"

// Fixed names and values of a WACZ package.
const (
	WACZVersion        = "1.1.1"
	WACZProfile        = "data-package"
	WACZDataPackage    = "datapackage.json"
	WACZDigestFile     = "datapackage-digest.json"
	WACZWARC           = "archive/data.warc.gz"
	WACZIndex          = "indexes/index.cdx"
	WACZPages          = "pages/pages.jsonl"
	waczMaxMetadata    = 16 << 20 // datapackage.json and datapackage-digest.json
	waczSignedDataHash = "sha256:"
)

// MaxWACZSize bounds the WACZ packages CheckWACZ reads: a browser capture's
// WARC (render's limits keep it well under 1 GiB) and small files beside it.
const MaxWACZSize = MaxPackageSize

// WACZPackage is datapackage.json of a WACZ 1.1.1 package. Fields appear
// in this order in the files exhibit writes.
type WACZPackage struct {
	// Profile is "data-package".
	Profile string `json:"profile"`
	// Resources lists every file of the package but datapackage.json and
	// datapackage-digest.json.
	Resources []WACZResource `json:"resources"`
	// WACZVersion is "1.1.1".
	WACZVersion string `json:"wacz_version"`
	Title       string `json:"title,omitempty"`
	// Software names the writer, e.g. "exhibit v1.4.0".
	Software string `json:"software"`
	// Created is when the package was made (RFC 3339, UTC).
	Created string `json:"created"`
	// MainPageURL and MainPageDate are the page ReplayWeb.page opens first
	// and when it was captured (RFC 3339, UTC).
	MainPageURL  string `json:"mainPageURL,omitempty"`
	MainPageDate string `json:"mainPageDate,omitempty"`
}

// WACZResource is one file of a WACZ package.
type WACZResource struct {
	// Name is the file's base name; Path its name in the zip.
	Name string `json:"name"`
	Path string `json:"path"`
	// Hash is "sha256:" and the lowercase hex SHA-256 of its bytes.
	Hash string `json:"hash"`
	// Bytes is its length.
	Bytes int64 `json:"bytes"`
}

// WACZDigest is datapackage-digest.json.
type WACZDigest struct {
	// Path is "datapackage.json"; Hash "sha256:" and its hex SHA-256.
	Path string `json:"path"`
	Hash string `json:"hash"`
	// SignedData is the signature of Hash; nil for an unsigned package.
	SignedData *WACZSignedData `json:"signedData,omitempty"`
}

// WACZSignedData is the anonymous signature form of WACZ Signing and
// Verification 0.1.0, as ArchiveWeb.page writes it and ReplayWeb.page
// checks it: Signature is the base64 ECDSA signature, with SHA-256, of the
// ASCII bytes of Hash (the string "sha256:…", not the digest it names),
// in the IEEE P1363 form WebCrypto uses (r and s, each as long as the
// curve's order) or in ASN.1 DER; PublicKey is the base64 DER
// SubjectPublicKeyInfo of a P-384 key (ReplayWeb.page imports only P-384)
// or a P-256 key.
type WACZSignedData struct {
	Hash     string `json:"hash"`
	Created  string `json:"created"`
	Software string `json:"software"`
	// Signature and PublicKey: see above.
	Signature string `json:"signature"`
	PublicKey string `json:"publicKey"`
	// TimeSignature, when set, is an RFC 3161 time-stamp over the ASCII
	// bytes of Signature (the base64 string), as authsign makes it: the
	// base64 of a DER TimeStampResp or TimeStampToken.
	TimeSignature string `json:"timeSignature,omitempty"`
}

// WACZOptions configures [CheckWACZ].
type WACZOptions struct {
	// PublicKey, if set, is the base64 SubjectPublicKeyInfo the signature
	// must be made with.
	PublicKey string
	// Timestamp holds the TSA roots a timeSignature is checked against;
	// with none, a timeSignature is reported as not checked.
	Timestamp *TimestampOptions
}

// WACZ is a verified WACZ package.
type WACZ struct {
	Package WACZPackage
	Digest  WACZDigest
	// Timestamp is the verified time-stamp of the signature, nil if the
	// package has none or no TSA roots were given.
	Timestamp *Timestamp
}

// Errors of CheckWACZ. Each error it returns wraps one of them.
var (
	// ErrWACZ: the zip or its datapackage files are malformed, or the
	// files are not those datapackage.json lists.
	ErrWACZ = errors.New("invalid WACZ")
	// ErrWACZSignature: no signature, or one that does not verify, or one
	// by another key than WACZOptions.PublicKey.
	ErrWACZSignature = errors.New("WACZ signature does not verify")
)

// WACZFileError reports a file of a WACZ whose SHA-256 or length is not
// the one datapackage.json (or, for datapackage.json, datapackage-digest.json)
// gives.
type WACZFileError struct {
	Path string
	// Want and Got are "sha256:…" hashes, or lengths in bytes when the
	// hashes agree.
	Want, Got string
}

func (e *WACZFileError) Error() string {
	return fmt.Sprintf("WACZ file %s: %s, but datapackage lists %s", e.Path, e.Got, e.Want)
}

func (e *WACZFileError) Unwrap() error { return ErrWACZ }

// WACZHash returns "sha256:" and the lowercase hex SHA-256 of b, the hash
// form of datapackage.json and datapackage-digest.json.
func WACZHash(b []byte) string {
	s := sha256.Sum256(b)
	return waczSignedDataHash + hex.EncodeToString(s[:])
}

// CheckWACZ verifies a WACZ package held in data, in this order:
//   - the zip: at most MaxPackageEntries entries (checked from its end
//     records before the directory is parsed), at most MaxWACZSize bytes
//     in all, no name twice, no name with "..", a leading "/" or "\";
//   - datapackage-digest.json: path "datapackage.json", whose SHA-256 is
//     its hash;
//   - datapackage.json: profile "data-package", wacz_version "1.1.1",
//     and resources that are exactly the zip's other files (directories
//     aside), each with its SHA-256 and length; the WARCs under archive/
//     stored uncompressed (replay reads records at the index's offsets);
//   - the signature: signedData's hash is the digest's, its signature
//     verifies with its publicKey (and that is opts.PublicKey, if set);
//   - the timeSignature, if present and opts.Timestamp is set, is a
//     trusted RFC 3161 token over the signature.
//
// It returns the first failure: an error wrapping ErrWACZ (a
// *WACZFileError for a file whose bytes are not those listed),
// ErrWACZSignature, or one of CheckTimestamp's errors. The package is
// read from memory; nothing is decompressed beyond the sizes the zip
// declares.
func CheckWACZ(data []byte, opts WACZOptions) (*WACZ, error) {
	if int64(len(data)) > MaxWACZSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrWACZ, len(data), int64(MaxWACZSize))
	}
	if err := checkZipDirectory(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWACZ, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWACZ, err)
	}
	files := map[string]*zip.File{}
	var total uint64
	for _, f := range zr.File {
		n := f.Name
		if strings.HasSuffix(n, "/") && f.UncompressedSize64 == 0 {
			continue // a directory entry
		}
		if n == "" || strings.HasPrefix(n, "/") || strings.Contains(n, "\\") || strings.Contains("/"+n+"/", "/../") {
			return nil, fmt.Errorf("%w: file name %q is not a relative path", ErrWACZ, n)
		}
		if _, dup := files[n]; dup {
			return nil, fmt.Errorf("%w: %s is in the zip twice", ErrWACZ, n)
		}
		if total += f.UncompressedSize64; total > MaxWACZSize {
			return nil, fmt.Errorf("%w: its files hold more than %d bytes", ErrWACZ, int64(MaxWACZSize))
		}
		files[n] = f
	}
	read := func(name string, max int64) ([]byte, error) {
		f := files[name]
		if f == nil {
			return nil, fmt.Errorf("%w: no %s", ErrWACZ, name)
		}
		if f.UncompressedSize64 > uint64(max) {
			return nil, fmt.Errorf("%w: %s is %d bytes, more than %d", ErrWACZ, name, f.UncompressedSize64, max)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrWACZ, name, err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, max+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrWACZ, name, err)
		}
		return b, nil
	}

	var w WACZ
	digestJSON, err := read(WACZDigestFile, waczMaxMetadata)
	if err != nil {
		return nil, err
	}
	if err := waczJSON(digestJSON, &w.Digest); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWACZ, WACZDigestFile, err)
	}
	if w.Digest.Path != WACZDataPackage {
		return nil, fmt.Errorf("%w: %s names path %q, want %q", ErrWACZ, WACZDigestFile, w.Digest.Path, WACZDataPackage)
	}
	pkgJSON, err := read(WACZDataPackage, waczMaxMetadata)
	if err != nil {
		return nil, err
	}
	if got := WACZHash(pkgJSON); got != w.Digest.Hash {
		return nil, &WACZFileError{Path: WACZDataPackage, Want: w.Digest.Hash, Got: got}
	}
	if err := waczJSON(pkgJSON, &w.Package); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrWACZ, WACZDataPackage, err)
	}
	p := &w.Package
	if p.Profile != WACZProfile || p.WACZVersion != WACZVersion {
		return nil, fmt.Errorf("%w: %s has profile %q and wacz_version %q, want %q and %q", ErrWACZ, WACZDataPackage, p.Profile, p.WACZVersion, WACZProfile, WACZVersion)
	}
	listed := map[string]bool{}
	for i, r := range p.Resources {
		if listed[r.Path] {
			return nil, fmt.Errorf("%w: %s lists %s twice", ErrWACZ, WACZDataPackage, r.Path)
		}
		listed[r.Path] = true
		if r.Path == WACZDataPackage || r.Path == WACZDigestFile {
			return nil, fmt.Errorf("%w: %s lists %s as a resource", ErrWACZ, WACZDataPackage, r.Path)
		}
		f := files[r.Path]
		if f == nil {
			return nil, fmt.Errorf("%w: %s lists resource %d, %s, which the zip does not hold", ErrWACZ, WACZDataPackage, i, r.Path)
		}
		if strings.HasPrefix(r.Path, "archive/") && f.Method != zip.Store {
			return nil, fmt.Errorf("%w: %s is compressed in the zip (method %d); WARCs must be stored", ErrWACZ, r.Path, f.Method)
		}
		if err := checkWACZFile(f, r); err != nil {
			return nil, err
		}
	}
	for _, n := range sortedKeys(files) {
		if !listed[n] && n != WACZDataPackage && n != WACZDigestFile {
			return nil, fmt.Errorf("%w: the zip holds %s, which %s does not list", ErrWACZ, n, WACZDataPackage)
		}
	}

	sd := w.Digest.SignedData
	if sd == nil {
		return nil, fmt.Errorf("%w: %s has no signedData", ErrWACZSignature, WACZDigestFile)
	}
	if sd.Hash != w.Digest.Hash {
		return nil, fmt.Errorf("%w: signedData signs hash %s, but datapackage.json is %s", ErrWACZSignature, sd.Hash, w.Digest.Hash)
	}
	if opts.PublicKey != "" && sd.PublicKey != opts.PublicKey {
		return nil, fmt.Errorf("%w: signed by public key %s, want %s", ErrWACZSignature, sd.PublicKey, opts.PublicKey)
	}
	if err := CheckWACZSignature(sd); err != nil {
		return nil, err
	}
	if sd.TimeSignature != "" && opts.Timestamp != nil {
		der, err := base64.StdEncoding.DecodeString(sd.TimeSignature)
		if err != nil {
			return nil, fmt.Errorf("%w: timeSignature is not base64: %w", ErrTimestamp, err)
		}
		if w.Timestamp, err = CheckTimestamp(der, []byte(sd.Signature), *opts.Timestamp); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

// checkWACZFile hashes one file of the zip against its resource entry.
func checkWACZFile(f *zip.File, r WACZResource) error {
	if f.UncompressedSize64 != uint64(r.Bytes) {
		return &WACZFileError{Path: r.Path, Want: fmt.Sprintf("%d bytes", r.Bytes), Got: fmt.Sprintf("%d bytes", f.UncompressedSize64)}
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrWACZ, r.Path, err)
	}
	defer rc.Close()
	h := sha256.New()
	// archive/zip checks the CRC-32 at the end and refuses more bytes
	// than the declared size.
	if _, err := io.Copy(h, rc); err != nil {
		return &WACZFileError{Path: r.Path, Want: r.Hash, Got: err.Error()}
	}
	if got := waczSignedDataHash + hex.EncodeToString(h.Sum(nil)); got != r.Hash {
		return &WACZFileError{Path: r.Path, Want: r.Hash, Got: got}
	}
	return nil
}

// CheckWACZSignature verifies an anonymous WACZ signature: Signature, with
// SHA-256, over the ASCII bytes of Hash, by PublicKey. It returns an error
// wrapping ErrWACZSignature.
func CheckWACZSignature(sd *WACZSignedData) error {
	der, err := base64.StdEncoding.DecodeString(sd.PublicKey)
	if err != nil {
		return fmt.Errorf("%w: publicKey is not base64: %w", ErrWACZSignature, err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return fmt.Errorf("%w: publicKey: %w", ErrWACZSignature, err)
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || (pub.Curve != elliptic.P384() && pub.Curve != elliptic.P256()) {
		return fmt.Errorf("%w: publicKey is a %T, not an ECDSA P-384 or P-256 key", ErrWACZSignature, k)
	}
	sig, err := base64.StdEncoding.DecodeString(sd.Signature)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64: %w", ErrWACZSignature, err)
	}
	digest := sha256.Sum256([]byte(sd.Hash))
	if n := (pub.Curve.Params().BitSize + 7) / 8; len(sig) == 2*n {
		r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
		if ecdsa.Verify(pub, digest[:], r, s) {
			return nil
		}
	} else if ecdsa.VerifyASN1(pub, digest[:], sig) {
		return nil
	}
	return fmt.Errorf("%w: the signature of %s does not verify with its public key", ErrWACZSignature, sd.Hash)
}

// waczJSON decodes a WACZ metadata file: one JSON object, no key twice
// (two readers would pick different values), unknown fields allowed (WACZ
// writers add their own; the hash chain covers the bytes).
func waczJSON(b []byte, v any) error {
	if err := checkDuplicateKeys(b, false); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// WACZDetail describes a verified WACZ in a report: its files, its signing
// key, and its time-stamp when one was checked. It is "" for nil.
func WACZDetail(w *WACZ) string {
	if w == nil {
		return ""
	}
	var paths []string
	for _, r := range w.Package.Resources {
		paths = append(paths, r.Path)
	}
	d := fmt.Sprintf("WACZ %s: %s match datapackage.json %s; signed by P-384 key %s", w.Package.WACZVersion, strings.Join(paths, ", "), w.Digest.Hash, keyFingerprint(w.Digest.SignedData.PublicKey))
	switch {
	case w.Timestamp != nil:
		d += fmt.Sprintf("; the signature existed no later than %s (TSA %s)", w.Timestamp.GenTime.UTC().Format(time.RFC3339), w.Timestamp.TSA)
	case w.Digest.SignedData.TimeSignature != "":
		d += "; its timeSignature was not checked (no trusted TSA roots given)"
	}
	return d
}

// keyFingerprint names a base64 SubjectPublicKeyInfo by "sha256:" and the
// first 16 hex digits of its DER's SHA-256.
func keyFingerprint(spki string) string {
	der, _ := base64.StdEncoding.DecodeString(spki)
	return WACZHash(der)[:len(waczSignedDataHash)+16]
}
