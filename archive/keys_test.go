package archive_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/mod/sumdb/note"
)

// TestExistingKeys: init --key takes an Ed25519 or ECDSA P-256 key; the
// log works with either, and other keys are refused.
func TestExistingKeys(t *testing.T) {
	ctx := context.Background()
	edPEM, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPEM, err := cryptoutils.MarshalPrivateKeyToPEM(ec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		pem    []byte
		xmodOK bool // x/mod's note verifies Ed25519 only
	}{
		{"ed25519", edPEM, true},
		{"ecdsa-p256", ecPEM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a")
			cfg, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "keys.example/log", KeyPEM: tc.pem})
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(filepath.Join(dir, "key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("key.pem mode %v, %v; want 0600", fi.Mode().Perm(), err)
			}
			if _, err := verify.ParseVKey(cfg.VKey); err != nil {
				t.Fatalf("vkey %s: %v", cfg.VKey, err)
			}
			a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close(ctx)
			f := filepath.Join(t.TempDir(), "doc.txt")
			os.WriteFile(f, []byte("terms"), 0o644)
			rec, err := ingest.New(a).File(ctx, f, ingest.FileOptions{URL: "https://keys.example/terms"})
			if err != nil {
				t.Fatal(err)
			}
			archivetest.Check(t, a, rec, verify.Options{})
			signed, _, _ := a.Checkpoint(ctx)
			if v, err := note.NewVerifier(cfg.VKey); tc.xmodOK {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := note.Open(signed, note.VerifierList(v)); err != nil {
					t.Errorf("x/mod note.Open: %v", err)
				}
			}
		})
	}

	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaPEM, _ := cryptoutils.MarshalPrivateKeyToPEM(rsaKey)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384PEM, _ := cryptoutils.MarshalPrivateKeyToPEM(p384)
	for name, pem := range map[string][]byte{"rsa": rsaPEM, "p384": p384PEM, "garbage": []byte("not a key")} {
		dir := filepath.Join(t.TempDir(), name)
		_, err := archive.Init(ctx, dir, archive.InitOptions{KeyPEM: pem})
		if err == nil {
			t.Errorf("Init accepted a %s key", name)
		}
		if name != "garbage" && !errors.Is(err, ledger.ErrKeyType) {
			t.Errorf("%s key: %v, want ErrKeyType", name, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("refused %s key left %s behind", name, dir)
		}
	}
}
