package archive_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"golang.org/x/mod/sumdb/note"
)

// capture opens the archive for writing, captures text, checks the bundle
// under the archive's keys and closes it again.
func captureClosed(t *testing.T, dir, text string) []byte {
	t.Helper()
	ctx := context.Background()
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	f := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(f, []byte(text), 0o644)
	rec, err := ingest.New(a).File(ctx, f, ingest.FileOptions{URL: "https://rotate.example/" + text})
	if err != nil {
		t.Fatal(err)
	}
	b := archivetest.Bundle(t, a, rec)
	if rep := verify.Check(b, a.Key(), verify.Options{Keys: a.Keys()[1:]}); !rep.Verified {
		t.Fatalf("bundle does not verify under the archive's keys: %+v", rep.Failed())
	}
	return b
}

// reindexAndAudit checks that the archive audits clean, reindexes, and
// audits clean again.
func reindexAndAudit(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	archivetest.AuditOK(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatalf("Reindex: %v", err)
	}
	archivetest.AuditOK(t, a)
}

// verifies reports whether bundle verifies when only keys are trusted, and
// the first failed check otherwise.
func verifies(bundle []byte, keys ...*verify.PublicKey) (bool, string) {
	rep := verify.Check(bundle, keys[0], verify.Options{Keys: keys[1:]})
	if rep.Verified {
		return true, ""
	}
	return false, rep.Failed().Name
}

func checkpointOf(t *testing.T, bundle []byte) []byte {
	t.Helper()
	b, err := verify.ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(b.Checkpoint)
}

func envelopeOf(t *testing.T, bundle []byte) *verify.Envelope {
	t.Helper()
	b, err := verify.ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	e, err := verify.ParseEnvelope(b.Entry)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// xmodOpens reports whether golang.org/x/mod/sumdb/note, an independent
// implementation, opens the checkpoint with the Ed25519 vkey alone.
func xmodOpens(t *testing.T, signed []byte, vkey string) bool {
	t.Helper()
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	_, err = note.Open(signed, note.VerifierList(v))
	return err == nil
}

// TestRotate: a rotation with overlap, then the end of the overlap. Old
// bundles keep verifying under the old key alone; during the overlap new
// checkpoints and envelopes carry both signatures, so new bundles verify
// under either key; after retirement only under the new one. Reindex and
// audit are clean throughout.
func TestRotate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a")
	cfg, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "rotate.example/log"})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := cfg.Key()
	b1 := captureClosed(t, dir, "before")

	cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nw, _ := cfg.Key()
	if len(cfg.PreviousKeys) != 1 || cfg.PreviousKeys[0].VKey != old.VKey || !cfg.PreviousKeys[0].Overlap || cfg.PreviousKeys[0].RetiredAt != "" {
		t.Fatalf("previous keys after rotation: %+v", cfg.PreviousKeys)
	}
	if fi, err := os.Stat(filepath.Join(dir, cfg.KeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new key file %s: %v, %v; want mode 0600", cfg.KeyFile, fi, err)
	}
	if reread, err := archive.ReadConfig(dir); err != nil || reread.VKey != nw.VKey || len(reread.PreviousKeys) != 1 {
		t.Fatalf("exhibit.json after rotation: %+v, %v", reread, err)
	}
	if _, err := archive.Rotate(ctx, dir, archive.RotateOptions{KeyPEM: archivetest.ReadFile(t, filepath.Join(dir, "key.pem"))}); !errors.Is(err, archive.ErrKeyKnown) {
		t.Errorf("rotating back to the old key: %v, want ErrKeyKnown", err)
	}
	b2 := captureClosed(t, dir, "during")

	// The checkpoint carries both signatures: each key alone opens it.
	for _, k := range []*verify.PublicKey{old, nw} {
		if !xmodOpens(t, checkpointOf(t, b2), k.VKey) {
			t.Errorf("x/mod note does not open the overlap checkpoint with %s alone", k.VKey)
		}
	}
	// The envelope carries both signatures, the new key's first, each
	// with its key ID.
	if s := envelopeOf(t, b2).Signatures; len(s) != 2 || s[0].KeyID != nw.KeyID() || s[1].KeyID != old.KeyID() {
		t.Errorf("overlap envelope signatures %+v, want the new key's then the old key's", s)
	}
	for _, tc := range []struct {
		desc   string
		bundle []byte
		keys   []*verify.PublicKey
		want   bool
		failed string
	}{
		{"old bundle, old key", b1, []*verify.PublicKey{old}, true, ""},
		{"old bundle, new key", b1, []*verify.PublicKey{nw}, false, verify.CheckCheckpointSignature},
		{"old bundle, both keys", b1, []*verify.PublicKey{nw, old}, true, ""},
		{"overlap bundle, old key", b2, []*verify.PublicKey{old}, true, ""},
		{"overlap bundle, new key", b2, []*verify.PublicKey{nw}, true, ""},
	} {
		if got, failed := verifies(tc.bundle, tc.keys...); got != tc.want || failed != tc.failed {
			t.Errorf("%s: verified %v (failed %q), want %v (%q)", tc.desc, got, failed, tc.want, tc.failed)
		}
	}
	rep := verify.Check(b1, nw, verify.Options{Keys: []*verify.PublicKey{old}})
	if rep.Key == nil || rep.Key.VKey != old.VKey || rep.StatementKey.VKey != old.VKey {
		t.Errorf("the report names %v and %v, want the old key", rep.Key, rep.StatementKey)
	}
	reindexAndAudit(t, dir)

	// End the overlap.
	if _, err := archive.Retire(ctx, dir, nw.VKey, nil); !errors.Is(err, archive.ErrNotOverlapping) {
		t.Errorf("retiring the current key: %v, want ErrNotOverlapping", err)
	}
	if cfg, err = archive.Retire(ctx, dir, old.VKey, nil); err != nil {
		t.Fatal(err)
	}
	if p := cfg.PreviousKeys[0]; p.Overlap || p.RetiredAt == "" {
		t.Errorf("after retire: %+v", p)
	}
	if _, err := archive.Retire(ctx, dir, old.VKey, nil); !errors.Is(err, archive.ErrNotOverlapping) {
		t.Errorf("retiring twice: %v, want ErrNotOverlapping", err)
	}
	b3 := captureClosed(t, dir, "after")
	if xmodOpens(t, checkpointOf(t, b3), old.VKey) {
		t.Error("the old key still signs checkpoints after retirement")
	}
	if s := envelopeOf(t, b3).Signatures; len(s) != 1 || s[0].KeyID != nw.KeyID() {
		t.Errorf("envelope after retirement %+v, want the new key's signature only", s)
	}
	for _, tc := range []struct {
		desc   string
		bundle []byte
		keys   []*verify.PublicKey
		want   bool
	}{
		{"new bundle, old key", b3, []*verify.PublicKey{old}, false},
		{"new bundle, new key", b3, []*verify.PublicKey{nw}, true},
		{"old bundle, old key", b1, []*verify.PublicKey{old}, true},
		{"overlap bundle, new key", b2, []*verify.PublicKey{nw}, true},
	} {
		if got, failed := verifies(tc.bundle, tc.keys...); got != tc.want {
			t.Errorf("%s: verified %v (failed %q), want %v", tc.desc, got, failed, tc.want)
		}
	}
	reindexAndAudit(t, dir)

	// A read-only open reads the log under the keyring.
	a, err := archive.Open(ctx, dir, archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	if _, cp, err := a.Checkpoint(ctx); err != nil || cp.Size != 3 {
		t.Errorf("checkpoint %v, %v; want size 3", cp, err)
	}
	if got := len(a.Keys()); got != 2 {
		t.Errorf("%d keys, want 2", got)
	}
}

// TestRotateNoOverlap: the old key stops signing at once.
func TestRotateNoOverlap(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a")
	cfg, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "rotate.example/log"})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := cfg.Key()
	b1 := captureClosed(t, dir, "before")
	if cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{NoOverlap: true}); err != nil {
		t.Fatal(err)
	}
	if p := cfg.PreviousKeys[0]; p.Overlap || p.RetiredAt == "" {
		t.Errorf("previous key %+v, want retired", p)
	}
	nw, _ := cfg.Key()
	b2 := captureClosed(t, dir, "after")
	if ok, _ := verifies(b2, old); ok {
		t.Error("a bundle made after a rotation without overlap verifies under the old key")
	}
	if ok, f := verifies(b1, old); !ok {
		t.Errorf("the old bundle fails %s under the old key", f)
	}
	if ok, f := verifies(b2, nw); !ok {
		t.Errorf("the new bundle fails %s under the new key", f)
	}
	reindexAndAudit(t, dir)
}

// TestRotateECDSA: an archive made with an ECDSA P-256 key rotates to
// Ed25519; rotations and retirements that would leave no Ed25519 checkpoint
// signer are refused.
func TestRotateECDSA(t *testing.T) {
	ctx := context.Background()
	ecPEM := func() []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		b, err := cryptoutils.MarshalPrivateKeyToPEM(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	dir := filepath.Join(t.TempDir(), "a")
	cfg, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "rotate.example/log", KeyPEM: ecPEM()})
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := cfg.Key()
	b1 := captureClosed(t, dir, "ecdsa")
	for _, o := range []archive.RotateOptions{{KeyPEM: ecPEM()}, {KeyPEM: ecPEM(), NoOverlap: true}} {
		if _, err := archive.Rotate(ctx, dir, o); !errors.Is(err, archive.ErrNoEd25519Signer) {
			t.Errorf("ECDSA to ECDSA (no overlap: %v): %v, want ErrNoEd25519Signer", o.NoOverlap, err)
		}
	}
	if cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	ed, _ := cfg.Key()
	b2 := captureClosed(t, dir, "overlap")
	signed := checkpointOf(t, b2)
	if !xmodOpens(t, signed, ed.VKey) {
		t.Error("x/mod note does not open the checkpoint with the Ed25519 key")
	}
	_, sigs, _ := strings.Cut(string(signed), "\n\n")
	if n, _ := note.Open(signed, note.VerifierList(ed.NoteVerifier())); n == nil || !strings.HasPrefix(sigs, "— "+n.Sigs[0].Name+" "+n.Sigs[0].Base64+"\n") {
		t.Errorf("the Ed25519 signature is not the checkpoint's first line:\n%s", sigs)
	}
	if _, err := verify.OpenCheckpoint(signed, ec); err != nil {
		t.Errorf("the ECDSA key does not cosign during the overlap: %v", err)
	}
	if ok, f := verifies(b1, ec); !ok {
		t.Errorf("old ECDSA bundle fails %s", f)
	}
	if cfg, err = archive.Retire(ctx, dir, ec.VKey, nil); err != nil {
		t.Fatal(err)
	}
	// An ECDSA key (as a KMS key without Ed25519 would be) may become the
	// current key while the Ed25519 key keeps signing; ending that
	// overlap is refused.
	if cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{KeyPEM: ecPEM()}); err != nil {
		t.Fatal(err)
	}
	b3 := captureClosed(t, dir, "ecdsa-again")
	if !xmodOpens(t, checkpointOf(t, b3), ed.VKey) {
		t.Error("the Ed25519 key does not sign beside the current ECDSA key")
	}
	if _, err := archive.Retire(ctx, dir, ed.VKey, nil); !errors.Is(err, archive.ErrNoEd25519Signer) {
		t.Errorf("retiring the only Ed25519 signer: %v, want ErrNoEd25519Signer", err)
	}
	reindexAndAudit(t, dir)
}

// TestRotateWitnessed: an archive with real omniwitness witnesses that know
// only its first key. A rotation with overlap keeps the quorum (the old
// key still signs, and the policy lists it); a rotation without overlap,
// or ending the overlap, is refused while the policy lists no Ed25519
// signing key. Once the policy lists the new key the overlap may end, but
// witnesses still configured for the old key no longer cosign: the
// operator must give them the new key first.
func TestRotateWitnessed(t *testing.T) {
	ctx := context.Background()
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{})
	old := tr.A.Key()
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := archive.Rotate(ctx, tr.Dir, archive.RotateOptions{NoOverlap: true}); !errors.Is(err, archive.ErrPolicyKey) {
		t.Fatalf("rotation without overlap, policy naming the old key: %v, want ErrPolicyKey", err)
	}
	cfg, err := archive.Rotate(ctx, tr.Dir, archive.RotateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nw, _ := cfg.Key()
	capture := func(text string) ([]byte, error) {
		a, err := archive.Open(ctx, tr.Dir, archive.OpenOptions{Write: true, WitnessWait: 3 * time.Second,
			Ledger: ledger.Config{WitnessTimeout: time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			a.Close(cctx)
		}()
		f := filepath.Join(t.TempDir(), "doc.txt")
		os.WriteFile(f, []byte(text), 0o644)
		rec, err := ingest.New(a).File(ctx, f, ingest.FileOptions{URL: "https://rotate.example/" + text})
		if err != nil {
			return nil, err
		}
		return archivetest.Bundle(t, a, rec), nil
	}
	b, err := capture("overlap")
	if err != nil {
		t.Fatalf("capture during the overlap: %v", err)
	}
	for _, keys := range [][]*verify.PublicKey{{old}, {nw, old}} {
		o := tr.Verify
		o.Keys = keys[1:]
		if rep := verify.Check(b, keys[0], o); !rep.Verified {
			t.Errorf("overlap bundle under %d key(s) with the policy: %+v", len(keys), rep.Failed())
		}
	}
	if _, err := archive.Retire(ctx, tr.Dir, old.VKey, nil); !errors.Is(err, archive.ErrPolicyKey) {
		t.Fatalf("retiring the key the policy names: %v, want ErrPolicyKey", err)
	}
	// A new policy naming only the new key: the archive keeps a line for
	// the old one, whose checkpoints older records carry.
	text := archivetest.ReadFile(t, filepath.Join(tr.Dir, "witness-policy.txt"))
	var witnesses []string
	for _, l := range strings.Split(string(text), "\n") {
		if !strings.HasPrefix(l, "log ") {
			witnesses = append(witnesses, l)
		}
	}
	newPolicy := []byte("log " + nw.VKey + "\n" + strings.Join(witnesses, "\n"))
	if _, err := archive.Retire(ctx, tr.Dir, old.VKey, newPolicy); err != nil {
		t.Fatal(err)
	}
	stored := archivetest.ReadFile(t, filepath.Join(tr.Dir, "witness-policy.txt"))
	if !strings.Contains(string(stored), "log "+old.VKey+"\n") || !strings.HasSuffix(string(stored), string(newPolicy)) {
		t.Errorf("the stored witness policy does not keep the old key beside the new one:\n%s", stored)
	}
	pol, err := verify.ParsePolicy(stored)
	if err != nil {
		t.Fatal(err)
	}
	o := tr.Verify
	o.Policy = pol
	if rep := verify.Check(b, old, o); !rep.Verified {
		t.Errorf("an overlap bundle against the stored policy after retire: %+v", rep.Failed())
	}
	var nq *trust.NoQuorumError
	if _, err := capture("after"); !errors.As(err, &nq) {
		t.Errorf("capture with witnesses that do not know the new key: %v, want a *NoQuorumError", err)
	}
}
