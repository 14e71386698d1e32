package archive_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
)

// TestKMSKeys goes through sigstore's KMS registry with its in-memory
// fakekms:// provider, the path awskms://, gcpkms:// and hashivault:// keys
// take: an ECDSA KMS key becomes the current key beside the Ed25519 file
// key, which keeps cosigning (and may not be retired); an Ed25519 KMS key
// may start an archive.
func TestKMSKeys(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, ec)
	dir := filepath.Join(t.TempDir(), "a")
	cfg, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "kms.example/log"})
	if err != nil {
		t.Fatal(err)
	}
	ed, _ := cfg.Key()
	if cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{KMS: "fakekms://exhibit"}); err != nil {
		t.Fatal(err)
	}
	if cfg.KMS != "fakekms://exhibit" || cfg.KeyFile != "" {
		t.Errorf("config after rotating to a KMS key: kms %q, key_file %q", cfg.KMS, cfg.KeyFile)
	}
	kms, _ := cfg.Key()
	if _, ok := kms.Key.(*ecdsa.PublicKey); !ok {
		t.Fatalf("KMS key %T", kms.Key)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(f, []byte("terms"), 0o644)
	rec, err := ingest.New(a).File(ctx, f, ingest.FileOptions{URL: "https://kms.example/terms"})
	if err != nil {
		t.Fatal(err)
	}
	b := archivetest.Bundle(t, a, rec)
	a.Close(ctx)
	if !xmodOpens(t, checkpointOf(t, b), ed.VKey) {
		t.Error("the Ed25519 file key does not sign beside the KMS key")
	}
	for _, k := range []*verify.PublicKey{ed, kms} {
		if ok, f := verifies(b, k); !ok {
			t.Errorf("bundle under %s alone fails %s", k.VKey, f)
		}
	}
	if s := envelopeOf(t, b).Signatures; len(s) != 2 || s[0].KeyID != kms.KeyID() {
		t.Errorf("envelope signatures %+v, want the KMS key's first", s)
	}
	if _, err := archive.Retire(ctx, dir, ed.VKey, nil); !errors.Is(err, archive.ErrNoEd25519Signer) {
		t.Errorf("retiring the Ed25519 key beside an ECDSA KMS key: %v, want ErrNoEd25519Signer", err)
	}
	a, err = archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	archivetest.AuditOK(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	archivetest.AuditOK(t, a)
	a.Close(ctx)

	// The same KMS key, but the provider gives another key: Open refuses.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := archive.Open(context.WithValue(context.Background(), fake.KmsCtxKey{}, other), dir, archive.OpenOptions{Write: true}); !errors.Is(err, archive.ErrKeyMismatch) {
		t.Errorf("Open with a KMS key that is not the configured one: %v, want ErrKeyMismatch", err)
	}

	// An Ed25519 KMS key starts an archive; no key file is written.
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	ctx2 := context.WithValue(context.Background(), fake.KmsCtxKey{}, edPriv)
	dir2 := filepath.Join(t.TempDir(), "b")
	if cfg, err = archive.Init(ctx2, dir2, archive.InitOptions{Origin: "kms.example/log", KMS: "fakekms://ed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir2, "key.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("key.pem written for a KMS key: %v", err)
	}
	a, err = archive.Open(ctx2, dir2, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	rec, err = ingest.New(a).File(ctx2, f, ingest.FileOptions{URL: "https://kms.example/terms"})
	if err != nil {
		t.Fatal(err)
	}
	b = archivetest.Bundle(t, a, rec)
	a.Close(ctx2)
	if k, _ := cfg.Key(); !xmodOpens(t, checkpointOf(t, b), k.VKey) {
		t.Error("the Ed25519 KMS key's checkpoint does not open with x/mod note")
	}
	if _, err := ledger.NewKMSSigner(ctx2, "fakekms://ed", "kms.example/log"); err != nil {
		t.Fatal(err)
	}
}
