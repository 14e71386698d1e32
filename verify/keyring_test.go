package verify_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

// ringKey is an Ed25519 log key with its note signer.
type ringKey struct {
	pub    *verify.PublicKey
	priv   ed25519.PrivateKey
	signer note.Signer
}

func newRingKey(t *testing.T, origin string) ringKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := verify.NewPublicKey(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	skey := "PRIVATE+KEY+" + origin + "+" + pk.VKey[len(origin)+1:len(origin)+9] + "+" + b64(append([]byte{1}, priv.Seed()...))
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return ringKey{pk, priv, s}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestKeyring(t *testing.T) {
	const origin = "example.org/log"
	a, b, other := newRingKey(t, origin), newRingKey(t, origin), newRingKey(t, origin)
	body := "example.org/log\n1\n" + b64(make([]byte, 32)) + "\n"
	sign := func(keys ...ringKey) []byte {
		var ss []note.Signer
		for _, k := range keys {
			ss = append(ss, k.signer)
		}
		n, err := note.Sign(&note.Note{Text: body}, ss...)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		desc    string
		ring    verify.Keyring
		signed  []byte
		want    *verify.PublicKey
		wantErr bool
	}{
		{"old key alone, ring of both", verify.Keyring{b.pub, a.pub}, sign(a), a.pub, false},
		{"both keys, ring prefers its first", verify.Keyring{b.pub, a.pub}, sign(a, b), b.pub, false},
		{"both keys, old key alone", verify.Keyring{a.pub}, sign(b, a), a.pub, false},
		{"both keys, new key alone", verify.Keyring{b.pub}, sign(b, a), b.pub, false},
		{"new key only, old ring", verify.Keyring{a.pub}, sign(b), nil, true},
		{"untrusted key", verify.Keyring{a.pub, b.pub}, sign(other), nil, true},
		{"a key listed twice", verify.Keyring{a.pub, a.pub}, sign(a), a.pub, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cp, k, err := tc.ring.OpenCheckpoint(tc.signed)
			if tc.wantErr {
				var se *verify.CheckpointSignatureError
				if !errors.As(err, &se) {
					t.Fatalf("OpenCheckpoint = %v, want a *CheckpointSignatureError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := k.VKey, tc.want.VKey; got != want {
				t.Errorf("verified by %s, want %s", got, want)
			}
			if cp.Size != 1 {
				t.Errorf("size %d, want 1", cp.Size)
			}
		})
	}

	if _, err := verify.NewKeyring(a.pub, a.pub); !errors.Is(err, verify.ErrKeyring) {
		t.Errorf("NewKeyring(a, a) = %v, want ErrKeyring", err)
	}
	o := newRingKey(t, "other.org/log")
	if _, err := verify.NewKeyring(a.pub, o.pub); !errors.Is(err, verify.ErrKeyring) {
		t.Errorf("NewKeyring with two origins = %v, want ErrKeyring", err)
	}

	// An envelope with two signatures verifies under either key.
	st := []byte(`{"x":1}`)
	pae := verify.PAE(verify.PayloadType, st)
	env := &verify.Envelope{PayloadType: verify.PayloadType, Payload: st, Signatures: []verify.EnvelopeSignature{
		{KeyID: b.pub.KeyID(), Sig: ed25519.Sign(b.priv, pae)},
		{KeyID: a.pub.KeyID(), Sig: ed25519.Sign(a.priv, pae)},
	}}
	if got := env.Signers(verify.Keyring{a.pub, b.pub, other.pub}); len(got) != 2 || got[0] != a.pub || got[1] != b.pub {
		t.Errorf("Signers = %v, want a and b", got)
	}
	for _, k := range []*verify.PublicKey{a.pub, b.pub} {
		if id, err := env.Verify(k); err != nil || id != k.KeyID() {
			t.Errorf("Verify(%s) = %q, %v; want its key ID", k.VKey, id, err)
		}
	}
	if _, err := env.Verify(other.pub); !errors.Is(err, verify.ErrNoValidSignature) {
		t.Errorf("Verify(other) = %v, want ErrNoValidSignature", err)
	}
}

// TestOpenWitnessedRotated: a policy that lists a rotated log once per key
// accepts a checkpoint signed by either key, or both, with its witnesses'
// cosignatures; a policy that lists only the old key rejects a checkpoint
// the new key alone signed.
func TestOpenWitnessedRotated(t *testing.T) {
	oldLog, newLog := newTestLog(t, "example.com/log"), newTestLog(t, "example.com/log")
	w := newTestCosigner(t, "w1.example")
	parse := func(text string) *verify.Policy {
		p, err := verify.ParsePolicy([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	both := parse("log " + newLog.key.VKey + "\nlog " + oldLog.key.VKey + "\nwitness W1 " + w.key.VKey + "\nquorum W1\n")
	oldOnly := parse("log " + oldLog.key.VKey + "\nwitness W1 " + w.key.VKey + "\nquorum W1\n")
	if got := both.LogKeys("example.com/log"); len(got) != 2 || got[0] != both.Logs[0].Key {
		t.Fatalf("LogKeys = %v, want both keys in file order", got)
	}
	body := "example.com/log\n5\n" + b64(make([]byte, 32)) + "\n"
	sign := func(logs ...*testLog) string {
		var ss []note.Signer
		for _, l := range logs {
			ss = append(ss, l.signer)
		}
		n, err := note.Sign(&note.Note{Text: body}, ss...)
		if err != nil {
			t.Fatal(err)
		}
		return string(n) + w.cosign(body, time.Unix(1_800_000_000, 0))
	}
	for _, tc := range []struct {
		desc    string
		p       *verify.Policy
		signed  string
		wantLog *verify.PublicKey
		unknown int // the new key's line, when the policy does not list it
	}{
		{"old key, both listed", both, sign(oldLog), oldLog.key, 0},
		{"new key, both listed", both, sign(newLog), newLog.key, 0},
		{"both keys, both listed", both, sign(oldLog, newLog), newLog.key, 0},
		{"both keys, old listed", oldOnly, sign(newLog, oldLog), oldLog.key, 1},
		{"new key, old listed", oldOnly, sign(newLog), nil, 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := verify.OpenWitnessed([]byte(tc.signed), tc.p)
			if tc.wantLog == nil {
				var se *verify.CheckpointSignatureError
				if !errors.As(err, &se) {
					t.Fatalf("OpenWitnessed = %v, want a *CheckpointSignatureError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.QuorumMet || got.Log.VKey != tc.wantLog.VKey || got.Unknown != tc.unknown {
				t.Errorf("got %+v (log %s), want quorum met by log %s, %d unknown", got, got.Log.VKey, tc.wantLog.VKey, tc.unknown)
			}
		})
	}
}

// ExampleKeyring: after a key rotation a verifier trusts the log's old and
// new keys; a bundle verifies when one of them signed its checkpoint and
// one its statement. Here the bundle predates the rotation, so the old key
// (the one in testdata/log.vkey) verifies it.
func ExampleKeyring() {
	bundle, _ := os.ReadFile("testdata/bundle.json")
	vkey, _ := os.ReadFile("testdata/log.vkey")
	old, _ := verify.ParseVKey(string(vkey))
	newPub := ed25519.NewKeyFromSeed(make([]byte, 32)).Public()
	nw, _ := verify.NewPublicKey(old.Name, newPub)

	rep := verify.Check(bundle, nw, verify.Options{Keys: []*verify.PublicKey{old}})
	fmt.Println("verified:", rep.Verified)
	fmt.Println("checkpoint signed by the old key:", rep.Key == old)
	fmt.Println("statement signed by the old key:", rep.StatementKey == old)
	fmt.Println("under the new key alone:", verify.Check(bundle, nw, verify.Options{}).Verified)
	// Output:
	// verified: true
	// checkpoint signed by the old key: true
	// statement signed by the old key: true
	// under the new key alone: false
}
