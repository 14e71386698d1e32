package ledger_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
	"golang.org/x/mod/sumdb/note"
)

// TestCosigners: a signer with a cosigner signs checkpoints (through
// Tessera's additional signers) and envelopes with both keys, Ed25519 first
// on checkpoints, and x/mod's note package opens the checkpoint with either
// key alone.
func TestCosigners(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		desc               string
		primaryECDSA, coEC bool
	}{
		{"Ed25519 with Ed25519", false, false},
		{"ECDSA with Ed25519", true, false},
		{"Ed25519 with ECDSA", false, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p, c := newSigner(t, tc.primaryECDSA), newSigner(t, tc.coEC)
			s, err := p.WithCosigners(c)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			w, err := ledger.OpenWriter(ctx, dir, s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
			if err != nil {
				t.Fatal(err)
			}
			_, pub, err := w.Append(ctx, []byte("entry"))
			signed := pub.Signed
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Close(ctx); err != nil {
				t.Fatal(err)
			}
			for _, k := range []*verify.PublicKey{p.PublicKey(), c.PublicKey()} {
				if _, err := note.Open(signed, note.VerifierList(k.NoteVerifier())); err != nil {
					t.Errorf("x/mod note.Open with %s alone: %v", k.VKey, err)
				}
				if _, _, err := ledger.NewReader(dir, k).Checkpoint(ctx); err != nil {
					t.Errorf("reader with %s alone: %v", k.VKey, err)
				}
			}
			// The first signature line is by an Ed25519 key.
			_, sigs, _ := strings.Cut(string(signed), "\n\n")
			first := strings.Fields(strings.SplitN(sigs, "\n", 2)[0])[1]
			ed := p
			if tc.primaryECDSA {
				ed = c
			}
			if first != ed.Name() {
				t.Fatalf("first signature line %q", sigs)
			}
			n, _ := note.Open(signed, note.VerifierList(ed.PublicKey().NoteVerifier()))
			if len(n.Sigs) != 1 || n.Sigs[0].Hash != ed.KeyHash() || !strings.HasPrefix(sigs, "— "+n.Sigs[0].Name+" "+n.Sigs[0].Base64) {
				t.Errorf("the first signature line is not the Ed25519 key's:\n%s", sigs)
			}

			env, err := s.SignStatement([]byte(`{"a":1}`))
			if err != nil {
				t.Fatal(err)
			}
			e, err := verify.ParseEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Signatures) != 2 || e.Signatures[0].KeyID != p.PublicKey().KeyID() || e.Signatures[1].KeyID != c.PublicKey().KeyID() {
				t.Fatalf("envelope signatures %+v, want the primary's then the cosigner's", e.Signatures)
			}
			if got := e.Signers(s.Keys()); len(got) != 2 {
				t.Errorf("%d signatures verify, want 2", len(got))
			}
		})
	}
	a := newSigner(t, false)
	if _, err := a.WithCosigners(a); !errors.Is(err, verify.ErrKeyring) {
		t.Errorf("a key as its own cosigner: %v, want ErrKeyring", err)
	}
}

// TestKMSSigner goes through sigstore's KMS registry with its in-memory
// fakekms:// provider (the code path awskms://, gcpkms:// and
// hashivault:// take), and checks the error for a provider that is not
// compiled in.
func TestKMSSigner(t *testing.T) {
	ctx := context.Background()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		desc string
		priv any
	}{{"ECDSA P-256", ec}, {"Ed25519", ed}} {
		t.Run(tc.desc, func(t *testing.T) {
			kctx := context.WithValue(ctx, fake.KmsCtxKey{}, tc.priv)
			k, err := ledger.NewKMSSigner(kctx, "fakekms://key", "ledger.example/log")
			if err != nil {
				t.Fatal(err)
			}
			file := newSigner(t, false)
			s, err := file.WithCosigners(k)
			if err != nil {
				t.Fatal(err)
			}
			w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(ctx)
			_, pub, err := w.Append(ctx, []byte("entry"))
			signed := pub.Signed
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verify.OpenCheckpoint(signed, k.PublicKey()); err != nil {
				t.Errorf("checkpoint by the KMS key: %v", err)
			}
			env, _ := s.SignStatement([]byte(`{}`))
			e, _ := verify.ParseEnvelope(env)
			if _, err := e.Verify(k.PublicKey()); err != nil {
				t.Errorf("envelope by the KMS key: %v", err)
			}
		})
	}
	t.Setenv("PATH", t.TempDir())
	for _, ref := range []string{"awskms:///arn:aws:kms:eu-west-1:1:key/x", "hashivault://exhibit", "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k"} {
		if _, err := ledger.NewKMSSigner(ctx, ref, "ledger.example/log"); !errors.Is(err, ledger.ErrNoKMSProvider) {
			t.Errorf("NewKMSSigner(%s) = %v, want ErrNoKMSProvider", ref, err)
		}
	}
	for ref, want := range map[string]bool{"awskms:///x": true, "hashivault://k": true, "key.pem": false, "/a/b://c": false, "./x": false} {
		if got := ledger.IsKMSRef(ref); got != want {
			t.Errorf("IsKMSRef(%q) = %v, want %v", ref, got, want)
		}
	}
}
