package wacz_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/verify"
)

type zfile struct {
	name string
	b    []byte
}

func unzipAll(t *testing.T, w []byte) []zfile {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(w), int64(len(w)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zfile
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zfile{f.Name, b})
	}
	return out
}

func rezip(t *testing.T, files []zfile) []byte {
	t.Helper()
	return rezipWith(t, files, zip.Store)
}

func rezipWith(t *testing.T, files []zfile, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(f.b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func edit(files []zfile, name string, f func([]byte) []byte) []zfile {
	out := make([]zfile, 0, len(files))
	for _, z := range files {
		if z.name == name {
			z.b = f(bytes.Clone(z.b))
		}
		out = append(out, z)
	}
	return out
}

// editJSON rewrites a JSON file of the package through v.
func editJSON[T any](t *testing.T, files []zfile, name string, f func(*T)) []zfile {
	return edit(files, name, func(b []byte) []byte {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		f(&v)
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return out
	})
}

// resign signs the hash with key as Build does, with WebCrypto's P1363
// form: what someone who rewrote datapackage.json would do.
func resign(t *testing.T, sd *verify.WACZSignedData, key *ecdsa.PrivateKey) {
	t.Helper()
	h := sha256.Sum256([]byte(sd.Hash))
	sig, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	r, s, err := parseASN1Sig(sig)
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 96)
	r.FillBytes(raw[:48])
	s.FillBytes(raw[48:])
	sd.Signature = base64.StdEncoding.EncodeToString(raw)
	if sd.PublicKey, err = wacz.PublicKey(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
}

// TestFlipByte flips one byte in each file of the zip in turn, in place
// (the zip's own CRC left as it was), and in a re-zipped copy (the CRC
// made to match): CheckWACZ refuses each and names the file.
func TestFlipByte(t *testing.T) {
	w := build(t, testInput(t))
	zr, err := zip.NewReader(bytes.NewReader(w), int64(len(w)))
	if err != nil {
		t.Fatal(err)
	}
	files := unzipAll(t, w)
	for i, f := range zr.File {
		for _, at := range []string{"first", "middle", "last"} {
			t.Run(f.Name+"/"+at, func(t *testing.T) {
				off, err := f.DataOffset()
				if err != nil {
					t.Fatal(err)
				}
				n := int64(f.UncompressedSize64)
				pos := map[string]int64{"first": 0, "middle": n / 2, "last": n - 1}[at]
				inPlace := bytes.Clone(w)
				inPlace[off+pos] ^= 0x01
				rezipped := rezip(t, edit(files, files[i].name, func(b []byte) []byte { b[pos] ^= 0x01; return b }))
				for form, data := range map[string][]byte{"in place": inPlace, "re-zipped": rezipped} {
					_, err := verify.CheckWACZ(data, verify.WACZOptions{})
					if err == nil {
						t.Fatalf("%s: a flipped byte at %d of %s was not caught", form, pos, f.Name)
					}
					// A flip in the digest file may break its JSON or its
					// signature; any other file is named.
					if f.Name != verify.WACZDigestFile && !strings.Contains(err.Error(), f.Name) {
						t.Errorf("%s: error %q does not name %s", form, err, f.Name)
					}
				}
			})
		}
	}
}

func TestCheckWACZRefuses(t *testing.T) {
	in := testInput(t)
	w := build(t, in)
	files := unzipAll(t, w)
	pub, _ := wacz.PublicKey(&in.Key.PublicKey)
	other, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// rehash rewrites datapackage-digest.json's hashes after an edit of
	// datapackage.json, keeping the old signature.
	rehash := func(fs []zfile) []zfile {
		var pkg []byte
		for _, f := range fs {
			if f.name == verify.WACZDataPackage {
				pkg = f.b
			}
		}
		return editJSON(t, fs, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.Hash = verify.WACZHash(pkg)
			d.SignedData.Hash = d.Hash
		})
	}
	for _, tc := range []struct {
		desc    string
		data    []byte
		opts    verify.WACZOptions
		wantErr error
	}{
		{"a file dropped", rezip(t, files[1:]), verify.WACZOptions{}, verify.ErrWACZ},
		{"datapackage.json dropped", rezip(t, append(files[:3:3], files[4])), verify.WACZOptions{}, verify.ErrWACZ},
		{"the digest dropped", rezip(t, files[:4]), verify.WACZOptions{}, verify.ErrWACZ},
		{"a file added", rezip(t, append(files[:5:5], zfile{"archive/extra.warc.gz", []byte("x")})), verify.WACZOptions{}, verify.ErrWACZ},
		{"a file twice", rezip(t, append(files[:5:5], files[1])), verify.WACZOptions{}, verify.ErrWACZ},
		{"a path escaping", rezip(t, append(files[:5:5], zfile{"../x", nil})), verify.WACZOptions{}, verify.ErrWACZ},
		{"a resource's hash changed", rezip(t, rehash(editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.Resources[1].Hash = verify.WACZHash([]byte("other"))
		}))), verify.WACZOptions{}, verify.ErrWACZ},
		{"a resource's size changed", rezip(t, rehash(editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.Resources[2].Bytes++
		}))), verify.WACZOptions{}, verify.ErrWACZ},
		{"a resource unlisted", rezip(t, rehash(editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.Resources = p.Resources[1:]
		}))), verify.WACZOptions{}, verify.ErrWACZ},
		{"another wacz_version", rezip(t, rehash(editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.WACZVersion = "1.2.0"
		}))), verify.WACZOptions{}, verify.ErrWACZ},
		{"datapackage.json edited, digest rehashed, old signature", rezip(t, rehash(editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.MainPageURL = "https://example.net/"
		}))), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"datapackage.json edited, digest not rehashed", rezip(t, editJSON(t, files, verify.WACZDataPackage, func(p *verify.WACZPackage) {
			p.Title = "other"
		})), verify.WACZOptions{}, verify.ErrWACZ},
		{"the digest's path", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) { d.Path = "other.json" })), verify.WACZOptions{}, verify.ErrWACZ},
		{"no signedData", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) { d.SignedData = nil })), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"signedData over another hash", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.SignedData.Hash = verify.WACZHash([]byte("other"))
			resign(t, d.SignedData, in.Key)
		})), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"a signature byte flipped", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			sig, _ := base64.StdEncoding.DecodeString(d.SignedData.Signature)
			sig[10] ^= 1
			d.SignedData.Signature = base64.StdEncoding.EncodeToString(sig)
		})), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"a truncated signature", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.SignedData.Signature = d.SignedData.Signature[:40]
		})), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"another public key", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.SignedData.PublicKey, _ = wacz.PublicKey(&other.PublicKey)
		})), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"a public key that is not one", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.SignedData.PublicKey = base64.StdEncoding.EncodeToString([]byte("not a key"))
		})), verify.WACZOptions{}, verify.ErrWACZSignature},
		{"re-signed with another key, that key not the expected one", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			resign(t, d.SignedData, other)
		})), verify.WACZOptions{PublicKey: pub}, verify.ErrWACZSignature},
		{"a bad timeSignature", rezip(t, editJSON(t, files, verify.WACZDigestFile, func(d *verify.WACZDigest) {
			d.SignedData.TimeSignature = base64.StdEncoding.EncodeToString([]byte("not a token"))
		})), verify.WACZOptions{Timestamp: &verify.TimestampOptions{Roots: x509.NewCertPool()}}, verify.ErrTimestamp},
		{"not a zip", []byte("PK not a zip"), verify.WACZOptions{}, verify.ErrWACZ},
		{"duplicate JSON keys", rezip(t, edit(files, verify.WACZDigestFile, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"path": "datapackage.json",`), []byte(`"path": "datapackage.json", "path": "datapackage.json",`), 1)
		})), verify.WACZOptions{}, verify.ErrWACZ},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := verify.CheckWACZ(tc.data, tc.opts)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("CheckWACZ = %v, want %v", err, tc.wantErr)
			}
		})
	}
	// The untouched package, re-zipped by another writer, still verifies;
	// a WARC deflated by it does not (replay could not seek in it).
	if _, err := verify.CheckWACZ(rezip(t, files), verify.WACZOptions{PublicKey: pub}); err != nil {
		t.Errorf("re-zipped: %v", err)
	}
	if _, err := verify.CheckWACZ(rezipWith(t, files, zip.Deflate), verify.WACZOptions{}); !errors.Is(err, verify.ErrWACZ) || !strings.Contains(err.Error(), "archive/data.warc.gz") {
		t.Errorf("WARC deflated: %v, want ErrWACZ naming it", err)
	}
}

// TestTimestamped time-stamps the signature with a real TSA
// (timestamp-server on loopback) and checks the token offline.
func TestTimestamped(t *testing.T) {
	tsa := tsatest.Start(t)
	trust := tsa.Options()
	in := testInput(t)
	in.TSA = &ledger.TSAClient{URL: tsa.TimestampURL, Trust: trust, HTTPClient: &http.Client{Timeout: 10 * time.Second}}
	w := build(t, in)
	got, err := verify.CheckWACZ(w, verify.WACZOptions{Timestamp: &trust})
	if err != nil {
		t.Fatalf("CheckWACZ: %v", err)
	}
	if got.Timestamp == nil || got.Timestamp.GenTime.Before(time.Now().Add(-time.Minute)) {
		t.Fatalf("timestamp %+v", got.Timestamp)
	}
	// Without roots the token is not checked; with another TSA's roots it
	// is refused.
	if got, err := verify.CheckWACZ(w, verify.WACZOptions{}); err != nil || got.Timestamp != nil {
		t.Errorf("without roots: %v, %+v", err, got)
	}
	_, pool := tsatest.UntrustedRoot(t)
	var te *verify.TimestampTrustError
	if _, err := verify.CheckWACZ(w, verify.WACZOptions{Timestamp: &verify.TimestampOptions{Roots: pool}}); !errors.As(err, &te) {
		t.Errorf("with another root: %v, want a TimestampTrustError", err)
	}
	// A token over another signature is refused.
	files := unzipAll(t, w)
	// The same signature in DER (which CheckWACZSignature accepts) is
	// another string: the token is not over it.
	var me *verify.TimestampMessageError
	der := rezip(t, editJSON(t, files, verify.WACZDigestFile, func(x *verify.WACZDigest) {
		h := sha256.Sum256([]byte(x.SignedData.Hash))
		sig, err := in.Key.Sign(nil, h[:], crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		x.SignedData.Signature = base64.StdEncoding.EncodeToString(sig)
	}))
	if _, err := verify.CheckWACZ(der, verify.WACZOptions{Timestamp: &trust}); !errors.As(err, &me) {
		t.Errorf("a token over another signature: %v, want a TimestampMessageError", err)
	}
	// A TSA that is down: Build fails with ErrTimestamp and writes nothing.
	tsa.Stop()
	var b bytes.Buffer
	if err := wacz.Build(context.Background(), &b, in); !errors.Is(err, wacz.ErrTimestamp) || b.Len() != 0 {
		t.Errorf("TSA down: %v, %d bytes written", err, b.Len())
	}
}

func parseASN1Sig(der []byte) (r, s *big.Int, err error) {
	var v struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &v); err != nil {
		return nil, nil, err
	}
	return v.R, v.S, nil
}
