package archive_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
)

// witnessPolicyLine returns a "witness" line with a fresh cosignature/v1
// key (C2SP tlog-cosignature: key type 0x04) and a URL nothing serves.
func witnessPolicyLine(t *testing.T, name string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := append([]byte{0x04}, pub...)
	h := sha256.Sum256(append([]byte(name+"\n"), key...))
	vkey := fmt.Sprintf("%s+%08x+%s", name, binary.BigEndian.Uint32(h[:4]), base64.StdEncoding.EncodeToString(key))
	return "witness W1 " + vkey + " http://127.0.0.1:1/witness\n"
}

func ecdsaKeyPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// selfSignedPEM returns the PEM of a fresh self-signed CA that signed
// nothing.
func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "unrelated root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// wroteNothing fails if Init left anything at dir.
func wroteNothing(t *testing.T, dir string) {
	t.Helper()
	if ents, err := os.ReadDir(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Init refused but wrote %d entries in %s (%v)", len(ents), dir, err)
	}
}

// TestInitWitnessKey: with a witness policy, Init refuses an ECDSA log key,
// which witnesses cannot verify, naming the fix, before writing anything;
// an Ed25519 key passes that check.
func TestInitWitnessKey(t *testing.T) {
	policy := []byte(witnessPolicyLine(t, "witness.example/w1") + "quorum W1\n")
	dir := filepath.Join(t.TempDir(), "archive")
	_, err := archive.Init(context.Background(), dir, archive.InitOptions{Origin: "init.example/log", KeyPEM: ecdsaKeyPEM(t), WitnessPolicy: policy})
	if !errors.Is(err, trust.ErrWitnessKey) || !errors.Is(err, archive.ErrInput) || !strings.Contains(err.Error(), "exhibit key rotate") {
		t.Fatalf("Init with an ECDSA key and witnesses: %v", err)
	}
	wroteNothing(t, dir)
	if _, err := archive.Init(context.Background(), dir, archive.InitOptions{Origin: "init.example/log", WitnessPolicy: policy}); err != nil {
		t.Fatalf("Init with an Ed25519 key and witnesses: %v", err)
	}
}

// TestInitProbesTSA: Init asks the TSA for a trial token before writing
// anything, and refuses a TSA that fails or whose token does not verify
// against the roots given; TSAUnchecked skips the request.
func TestInitProbesTSA(t *testing.T) {
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	tsa := tsatest.Start(t)
	for _, c := range []struct {
		name  string
		url   string
		roots []byte
	}{
		{"down", down.URL, tsa.ChainPEM},
		{"other-roots", tsa.URL + "/api/v1/timestamp", selfSignedPEM(t)},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "archive")
			_, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "init.example/log", TSAURL: c.url, TSARootsPEM: c.roots})
			if !errors.Is(err, trust.ErrTSACheck) {
				t.Fatalf("Init: %v, want ErrTSACheck", err)
			}
			wroteNothing(t, dir)
			if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "init.example/log", TSAURL: c.url, TSARootsPEM: c.roots, TSAUnchecked: true}); err != nil {
				t.Fatalf("Init with TSAUnchecked: %v", err)
			}
		})
	}
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "init.example/log", TSAURL: tsa.URL + "/api/v1/timestamp", TSARootsPEM: tsa.ChainPEM}); err != nil {
		t.Fatalf("Init with a working TSA: %v", err)
	}
}
