package verify_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

// cosign returns the signature line of a tlog-cosignature v1 by c over the
// note text body at time ts.
func (c *testCosigner) cosign(body string, ts time.Time) string {
	t := uint64(ts.Unix())
	sig := ed25519.Sign(c.priv, verify.CosignedMessage(body, t))
	raw := binary.BigEndian.AppendUint32(nil, c.key.Hash)
	raw = binary.BigEndian.AppendUint64(raw, t)
	raw = append(raw, sig...)
	return "— " + c.key.Name + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
}

// testLog signs checkpoints as a log.
type testLog struct {
	signer note.Signer
	key    *verify.PublicKey
}

func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := verify.NewPublicKey(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{signer: ed25519NoteSigner{k, priv}, key: k}
}

type ed25519NoteSigner struct {
	k    *verify.PublicKey
	priv ed25519.PrivateKey
}

func (s ed25519NoteSigner) Name() string                    { return s.k.Name }
func (s ed25519NoteSigner) KeyHash() uint32                 { return s.k.Hash }
func (s ed25519NoteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.priv, msg), nil }

func (l *testLog) checkpoint(t testing.TB, size int) (body string, signed string) {
	t.Helper()
	body = fmt.Sprintf("%s\n%d\n%s\n", l.key.Name, size, base64.StdEncoding.EncodeToString(make([]byte, 32)))
	b, err := note.Sign(&note.Note{Text: body}, l.signer)
	if err != nil {
		t.Fatal(err)
	}
	return body, string(b)
}

func TestCosignerVKey(t *testing.T) {
	c := newTestCosigner(t, "witness.example/w1")
	k, err := verify.ParseCosignerVKey(c.key.VKey)
	if err != nil {
		t.Fatal(err)
	}
	if k.Name != c.key.Name || k.Hash != c.key.Hash || !k.Key.Equal(c.key.Key) {
		t.Errorf("ParseCosignerVKey(NewCosignerKey) = %+v, want %+v", k, c.key)
	}
	// An Ed25519 (0x01) note key is not a cosigner key, and vice versa.
	if _, err := verify.ParseCosignerVKey(testKey(t).VKey); !errors.Is(err, verify.ErrVKey) {
		t.Errorf("ParseCosignerVKey(log key) = %v, want ErrVKey", err)
	}
	if _, err := verify.ParseVKey(c.key.VKey); !errors.Is(err, verify.ErrVKey) {
		t.Errorf("ParseVKey(cosigner key) = %v, want ErrVKey", err)
	}
	// The spec's example key ID derivation: a changed name changes the ID.
	other := strings.Replace(c.key.VKey, "w1", "w2", 1)
	if _, err := verify.ParseCosignerVKey(other); !errors.Is(err, verify.ErrVKey) {
		t.Errorf("renamed key accepted: %v", err)
	}
}

func TestOpenWitnessed(t *testing.T) {
	log := newTestLog(t, "example.com/log")
	ws := []*testCosigner{newTestCosigner(t, "w1.example"), newTestCosigner(t, "w2.example"), newTestCosigner(t, "w3.example")}
	stranger := newTestCosigner(t, "stranger.example")
	policy := "log " + log.key.VKey + "\n"
	for i, w := range ws {
		policy += fmt.Sprintf("witness W%d %s\n", i+1, w.key.VKey)
	}
	policy += "group two 2 W1 W2 W3\nquorum two\n"
	p, err := verify.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	body, signed := log.checkpoint(t, 5)
	otherBody, _ := log.checkpoint(t, 6)
	t1 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Second)

	t.Run("quorum met", func(t *testing.T) {
		n := signed + ws[0].cosign(body, t1) + stranger.cosign(body, t1) + ws[2].cosign(body, t2)
		w, err := verify.OpenWitnessed([]byte(n), p)
		if err != nil {
			t.Fatal(err)
		}
		if !w.QuorumMet || w.Unknown != 1 || len(w.Cosignatures) != 2 {
			t.Fatalf("got %+v, want quorum met, 1 unknown, 2 cosignatures", w)
		}
		if got, want := w.Cosignatures[1], (verify.Cosignature{Witness: "W3", KeyName: "w3.example", Time: t2}); got != want {
			t.Errorf("cosignature %+v, want %+v", got, want)
		}
		if w.Body != body || w.Checkpoint.Size != 5 || w.Log.VKey != log.key.VKey {
			t.Errorf("checkpoint not reported: %+v", w)
		}
	})
	t.Run("quorum not met", func(t *testing.T) {
		n := signed + ws[1].cosign(body, t1) + ws[1].cosign(body, t2) + stranger.cosign(body, t1)
		w, err := verify.OpenWitnessed([]byte(n), p)
		var qe *verify.QuorumError
		if !errors.As(err, &qe) || !errors.Is(err, verify.ErrQuorum) {
			t.Fatalf("err = %v, want a *QuorumError", err)
		}
		if w == nil || w.QuorumMet || len(w.Cosignatures) != 1 || strings.Join(qe.Signed, ",") != "W2" {
			t.Errorf("got %+v, %+v; want one cosignature by W2 (the duplicate counted once)", w, qe)
		}
	})
	t.Run("tampered cosignature", func(t *testing.T) {
		line := ws[0].cosign(body, t1)
		raw, _ := base64.StdEncoding.DecodeString(strings.Fields(line)[2])
		raw[20] ^= 1
		n := signed + "— w1.example " + base64.StdEncoding.EncodeToString(raw) + "\n" + ws[1].cosign(body, t1) + ws[2].cosign(body, t1)
		_, err := verify.OpenWitnessed([]byte(n), p)
		var ce *verify.CosignatureError
		if !errors.As(err, &ce) || ce.Witness != "W1" {
			t.Fatalf("err = %v, want a *CosignatureError for W1", err)
		}
	})
	t.Run("cosignature over another checkpoint", func(t *testing.T) {
		n := signed + ws[0].cosign(otherBody, t1) + ws[1].cosign(body, t1)
		_, err := verify.OpenWitnessed([]byte(n), p)
		var ce *verify.CosignatureError
		if !errors.As(err, &ce) || ce.Witness != "W1" {
			t.Fatalf("err = %v, want a *CosignatureError for W1", err)
		}
	})
	t.Run("tampered timestamp", func(t *testing.T) {
		line := ws[0].cosign(body, t1)
		raw, _ := base64.StdEncoding.DecodeString(strings.Fields(line)[2])
		raw[11]++ // the low byte of the timestamp
		n := signed + "— w1.example " + base64.StdEncoding.EncodeToString(raw) + "\n"
		var ce *verify.CosignatureError
		if _, err := verify.OpenWitnessed([]byte(n), p); !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *CosignatureError", err)
		}
	})
	t.Run("no log signature", func(t *testing.T) {
		n := body + "\n" + ws[0].cosign(body, t1) + ws[1].cosign(body, t1)
		var se *verify.CheckpointSignatureError
		if _, err := verify.OpenWitnessed([]byte(n), p); !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *CheckpointSignatureError", err)
		}
	})
	t.Run("log not in policy", func(t *testing.T) {
		other := newTestLog(t, "example.com/other")
		ob, os := other.checkpoint(t, 1)
		n := os + ws[0].cosign(ob, t1) + ws[1].cosign(ob, t1)
		if _, err := verify.OpenWitnessed([]byte(n), p); !errors.Is(err, verify.ErrCheckpoint) {
			t.Fatalf("err = %v, want ErrCheckpoint", err)
		}
	})
	t.Run("same origin, other key", func(t *testing.T) {
		impostor := newTestLog(t, "example.com/log")
		ib, is := impostor.checkpoint(t, 5)
		n := is + ws[0].cosign(ib, t1) + ws[1].cosign(ib, t1)
		var se *verify.CheckpointSignatureError
		if _, err := verify.OpenWitnessed([]byte(n), p); !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *CheckpointSignatureError", err)
		}
	})
}

func ExampleOpenWitnessed() {
	// A real deployment reads the policy from a file; the keys here are
	// made up on the spot.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	logKey, _ := verify.NewPublicKey("example.com/log", pub)
	wpub, wpriv, _ := ed25519.GenerateKey(rand.Reader)
	witness, _ := verify.NewCosignerKey("witness.example/w1", wpub)
	policy, _ := verify.ParsePolicy([]byte("log " + logKey.VKey + "\nwitness W1 " + witness.VKey + "\nquorum W1\n"))

	body := "example.com/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"
	signed, _ := note.Sign(&note.Note{Text: body}, ed25519NoteSigner{logKey, priv})
	ts := uint64(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).Unix())
	cosig := binary.BigEndian.AppendUint32(nil, witness.Hash)
	cosig = binary.BigEndian.AppendUint64(cosig, ts)
	cosig = append(cosig, ed25519.Sign(wpriv, verify.CosignedMessage(body, ts))...)
	signed = fmt.Appendf(signed, "— %s %s\n", witness.Name, base64.StdEncoding.EncodeToString(cosig))

	w, err := verify.OpenWitnessed(signed, policy)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range w.Cosignatures {
		fmt.Printf("witnessed by %s no later than %s\n", c.Witness, c.Time.Format(time.RFC3339))
	}
	fmt.Println("quorum met:", w.QuorumMet)
	// Output:
	// witnessed by W1 no later than 2026-11-29T12:00:00Z
	// quorum met: true
}

func TestCheckpointBody(t *testing.T) {
	log := newTestLog(t, "example.com/log")
	body, signed := log.checkpoint(t, 3)
	got, err := verify.CheckpointBody([]byte(signed + newTestCosigner(t, "w.example").cosign(body, time.Now())))
	if err != nil || string(got) != body {
		t.Errorf("CheckpointBody = %q, %v; want %q", got, err, body)
	}
	for _, bad := range []string{body, body + "\n", "a\n\nb\n", ""} {
		if _, err := verify.CheckpointBody([]byte(bad)); !errors.Is(err, verify.ErrCheckpoint) {
			t.Errorf("CheckpointBody(%q) = %v, want ErrCheckpoint", bad, err)
		}
	}
}
