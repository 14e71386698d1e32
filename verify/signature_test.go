package verify_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// logLine returns the checkpoint's signature line by the log, and the rest
// of the note around it.
func logLine(t *testing.T, cp string, key *verify.PublicKey) (before, line, after string) {
	t.Helper()
	prefix := "\u2014 " + key.Name + " "
	i := strings.Index(cp, "\n\n"+prefix)
	if i < 0 {
		t.Fatalf("no signature line by %s in %q", key.Name, cp)
	}
	i += 2
	j := i + strings.IndexByte(cp[i:], '\n') + 1
	return cp[:i], cp[i:j], cp[j:]
}

// garbageLine is a signature line by key (its name and key ID) whose
// signature is 64 bytes of garbage.
func garbageLine(key *verify.PublicKey) string {
	sig := append([]byte{byte(key.Hash >> 24), byte(key.Hash >> 16), byte(key.Hash >> 8), byte(key.Hash)}, bytes.Repeat([]byte{0x5a}, 64)...)
	return "\u2014 " + key.Name + " " + base64.StdEncoding.EncodeToString(sig) + "\n"
}

// nonCanonical re-spells a signature line's base64 with non-zero padding
// bits: it decodes (leniently) to the same bytes.
func nonCanonical(t *testing.T, line string) string {
	t.Helper()
	body := strings.TrimSuffix(line, "\n")
	k := strings.LastIndexByte(body, ' ')
	b64 := body[k+1:]
	pad := strings.Count(b64, "=")
	if pad == 0 {
		t.Fatalf("signature %q has no padding", b64)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := len(b64) - pad - 1
	c := alphabet[strings.IndexByte(alphabet, b64[last])+1]
	out := b64[:last] + string(c) + b64[last+1:]
	a, _ := base64.StdEncoding.DecodeString(b64)
	b, err := base64.StdEncoding.DecodeString(out)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("%q does not decode leniently to the same bytes as %q", out, b64)
	}
	return body[:k+1] + out + "\n"
}

// SignatureTampers are the signature-line tampers every verifier of exhibit
// must refuse (api's browser test runs the same ones through verify.js).
func signatureTampers(t *testing.T, key *verify.PublicKey) map[string]func(cp string) string {
	return map[string]func(string) string{
		"garbage line after the valid one": func(cp string) string {
			before, line, after := logLine(t, cp, key)
			return before + line + garbageLine(key) + after
		},
		"garbage line before the valid one": func(cp string) string {
			before, line, after := logLine(t, cp, key)
			return before + garbageLine(key) + line + after
		},
		"non-canonical base64 padding bits": func(cp string) string {
			before, line, after := logLine(t, cp, key)
			return before + nonCanonical(t, line) + after
		},
	}
}

// TestSignatureLeniency: a checkpoint whose log signature line is
// followed, or preceded, by a garbage line by the same key, or whose
// signature is spelt in non-canonical base64, fails checkpoint-signature,
// whatever the order of the lines.
func TestSignatureLeniency(t *testing.T) {
	key := testKey(t)
	orig := testdata(t, "bundle.json")
	if rep := verify.Check(orig, key, verify.Options{}); !rep.Verified {
		t.Fatalf("testdata bundle does not verify: %+v", rep.Failed())
	}
	for name, tamper := range signatureTampers(t, key) {
		t.Run(name, func(t *testing.T) {
			var b map[string]any
			if err := json.Unmarshal(orig, &b); err != nil {
				t.Fatal(err)
			}
			b["checkpoint"] = tamper(b["checkpoint"].(string))
			data, _ := json.Marshal(b)
			rep := verify.Check(data, key, verify.Options{})
			f := rep.Failed()
			if rep.Verified || f == nil || f.Name != verify.CheckCheckpointSignature {
				t.Fatalf("verified %v, first failure %+v; want checkpoint-signature to fail", rep.Verified, f)
			}
			var cse *verify.CheckpointSignatureError
			if !errors.As(f.Err, &cse) {
				t.Errorf("error %v is not a *CheckpointSignatureError", f.Err)
			}
			t.Log(f.Detail)
			// Each of the ways to open a checkpoint refuses it.
			cp := []byte(b["checkpoint"].(string))
			if _, err := verify.OpenCheckpoint(cp, key); err == nil {
				t.Error("OpenCheckpoint accepted it")
			}
			if _, err := (verify.Keyring{key}).Signers(cp); err == nil {
				t.Error("Keyring.Signers accepted it")
			}
		})
	}
}

// TestCosignatureLeniency: a garbage cosignature line by a witness after its
// valid one is refused, as for the log's own key, and so is a cosignature in
// non-canonical base64.
func TestCosignatureLeniency(t *testing.T) {
	log := newTestLog(t, "example.com/log")
	w := newTestCosigner(t, "w1.example")
	p, err := verify.ParsePolicy([]byte("log " + log.key.VKey + "\nwitness W1 " + w.key.VKey + "\nquorum W1\n"))
	if err != nil {
		t.Fatal(err)
	}
	body, signed := log.checkpoint(t, 5)
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	valid := w.cosign(body, at)
	if _, err := verify.OpenWitnessed([]byte(signed+valid), p); err != nil {
		t.Fatalf("valid cosignature: %v", err)
	}
	raw := binary.BigEndian.AppendUint32(nil, w.key.Hash)
	raw = binary.BigEndian.AppendUint64(raw, uint64(at.Unix()))
	raw = append(raw, bytes.Repeat([]byte{0x5a}, 64)...)
	garbage := "\u2014 " + w.key.Name + " " + base64.StdEncoding.EncodeToString(raw) + "\n"
	for name, n := range map[string]string{
		"garbage after valid":  signed + valid + garbage,
		"garbage before valid": signed + garbage + valid,
		"non-canonical base64": signed + nonCanonical(t, valid),
	} {
		if _, err := verify.OpenWitnessed([]byte(n), p); err == nil {
			t.Errorf("%s: accepted", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
