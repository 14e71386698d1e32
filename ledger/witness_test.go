package ledger_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/witnesstest"
	"github.com/exhibit-archive/exhibit/verify"
	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// appendN appends n entries and returns the checkpoint that covers them.
func appendN(t *testing.T, w *ledger.Writer, n int) []byte {
	t.Helper()
	var cp []byte
	for i := range n {
		var err error
		var pub ledger.Published
		if _, pub, err = w.Append(context.Background(), fmt.Appendf(nil, "entry %d at %d", i, time.Now().UnixNano())); err != nil {
			t.Fatal(err)
		}
		cp = pub.Signed
	}
	signed, _, err := w.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(signed) == 0 {
		return cp
	}
	return signed
}

// TestWitnessCosign gets real cosignatures from three omniwitness processes
// on exhibit checkpoints, under a 2-of-3 policy, and checks them with
// package verify and with transparency-dev/formats (an independent
// implementation).
func TestWitnessCosign(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	ws := witnesstest.Start(t, 3, s.PublicKey())
	w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)

	policyText := "log " + s.PublicKey().VKey + "\n"
	for _, x := range ws {
		policyText += x.PolicyLine()
	}
	policyText += "group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"
	policy, err := verify.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	wit, err := ledger.NewWitnesses(policy, w.Reader, &http.Client{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}

	cp1 := appendN(t, w, 3)
	cosigned1, res, err := wit.Cosign(ctx, cp1)
	if err != nil {
		t.Fatalf("Cosign: %v\n%s", err, ws[0].Output())
	}
	if !res.QuorumMet || len(res.Cosignatures) != 3 {
		t.Fatalf("got %+v, want 3 cosignatures and the quorum met", res)
	}
	for i, c := range res.Cosignatures {
		if c.Witness != ws[i].Name || c.KeyName != ws[i].Key.Name {
			t.Errorf("cosignature %d by %s (%s), want %s", i, c.Witness, c.KeyName, ws[i].Name)
		}
		if d := time.Since(c.Time); d < -2*time.Second || d > time.Minute {
			t.Errorf("cosignature by %s at %v, not about now", c.Witness, c.Time)
		}
		t.Logf("witnessed by %s no later than %s", c.Witness, c.Time.Format(time.RFC3339))
	}
	// An independent check: transparency-dev/formats' cosignature verifier.
	for _, x := range ws {
		v, err := f_note.NewVerifierForCosignatureV1(x.Key.VKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := note.Open(cosigned1, note.VerifierList(v)); err != nil {
			t.Errorf("transparency-dev/formats rejects %s's cosignature: %v", x.Name, err)
		}
	}

	// The log grows: the witnesses need a consistency proof from the size
	// they cosigned.
	cp2 := appendN(t, w, 5)
	cosigned2, res2, err := wit.Cosign(ctx, cp2)
	if err != nil || !res2.QuorumMet || res2.Checkpoint.Size <= res.Checkpoint.Size {
		t.Fatalf("second Cosign: %v, %+v", err, res2)
	}

	// A fresh Witnesses (a restarted archive) learns the witnesses' sizes
	// from their 409 answers.
	wit2, err := ledger.NewWitnesses(policy, w.Reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	cp3 := appendN(t, w, 2)
	if _, res3, err := wit2.Cosign(ctx, cp3); err != nil || len(res3.Cosignatures) != 3 {
		t.Fatalf("Cosign after restart: %v, %+v", err, res3)
	}

	sigLines := func(signed []byte) []string {
		_, sigs, _ := strings.Cut(string(signed), "\n\n")
		lines := strings.SplitAfter(sigs, "\n")
		return lines[:len(lines)-1] // the empty string after the last newline
	}
	lines1, lines2 := sigLines(cosigned1), sigLines(cosigned2)
	body2, _ := verify.CheckpointBody(cp2)

	t.Run("tampered cosignature", func(t *testing.T) {
		f := strings.Fields(lines2[1])
		raw, _ := base64.StdEncoding.DecodeString(f[2])
		raw[len(raw)-1] ^= 1
		bad := string(body2) + "\n" + lines2[0] + "— " + f[1] + " " + base64.StdEncoding.EncodeToString(raw) + "\n" + lines2[2] + lines2[3]
		var ce *verify.CosignatureError
		if _, err := verify.OpenWitnessed([]byte(bad), policy); !errors.As(err, &ce) || ce.Witness != "W1" {
			t.Fatalf("err = %v, want a *CosignatureError for W1", err)
		}
	})
	t.Run("cosignature over another checkpoint", func(t *testing.T) {
		// W1's real cosignature of checkpoint 1 pasted under checkpoint 2.
		bad := string(body2) + "\n" + lines2[0] + lines1[1]
		var ce *verify.CosignatureError
		if _, err := verify.OpenWitnessed([]byte(bad), policy); !errors.As(err, &ce) || ce.Witness != "W1" {
			t.Fatalf("err = %v, want a *CosignatureError for W1", err)
		}
	})
	t.Run("unknown witness ignored", func(t *testing.T) {
		p, err := verify.ParsePolicy([]byte("log " + s.PublicKey().VKey + "\n" + ws[0].PolicyLine() + ws[1].PolicyLine() + "group both all W1 W2\nquorum both\n"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := verify.OpenWitnessed(cosigned2, p)
		if err != nil || !got.QuorumMet || got.Unknown != 1 || len(got.Cosignatures) != 2 {
			t.Fatalf("OpenWitnessed = %+v, %v; want W1 and W2, one unknown signature ignored", got, err)
		}
	})
	t.Run("2 of 3 met with one signature dropped", func(t *testing.T) {
		two := string(body2) + "\n" + lines2[0] + lines2[1] + lines2[3]
		got, err := verify.OpenWitnessed([]byte(two), policy)
		if err != nil || !got.QuorumMet || fmt.Sprint(got.Signed()) != "map[W1:true W3:true]" {
			t.Fatalf("OpenWitnessed = %+v, %v", got, err)
		}
	})
	t.Run("2 of 3 not met with two witnesses down", func(t *testing.T) {
		ws[1].Stop()
		ws[2].Stop()
		cp4 := appendN(t, w, 1)
		out, got, err := wit.Cosign(ctx, cp4)
		var qe *verify.QuorumError
		if !errors.As(err, &qe) || got == nil || got.QuorumMet || fmt.Sprint(qe.Signed) != "[W1]" {
			t.Fatalf("Cosign = %+v, %v; want a *QuorumError with W1 alone", got, err)
		}
		t.Logf("as reported: %v", err)
		if _, err := verify.OpenWitnessed(out, policy); !errors.As(err, &qe) {
			t.Errorf("OpenWitnessed of the partly cosigned checkpoint = %v, want a *QuorumError", err)
		}
	})
}

// TestWitnessRefusals: the witness refuses what it must, and the client
// says so with typed errors.
func TestWitnessRefusals(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	ws := witnesstest.Start(t, 1, s.PublicKey())
	w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	cp := appendN(t, w, 2)
	c := &ledger.WitnessClient{URL: ws[0].URL, Key: ws[0].Key}

	// Another log's checkpoint: unknown origin.
	other := newSigner(t, false)
	ocp, err := note.Sign(&note.Note{Text: "other.example/log\n1\n" + base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n"}, other)
	if err != nil {
		t.Fatal(err)
	}
	var he *ledger.WitnessHTTPError
	if _, err := c.AddCheckpoint(ctx, 0, nil, ocp); !errors.As(err, &he) || he.StatusCode != http.StatusNotFound {
		t.Errorf("unknown log: %v, want a 404 *WitnessHTTPError", err)
	}
	// Our origin, signed by another key: forbidden.
	body, err := verify.CheckpointBody(cp)
	if err != nil {
		t.Fatal(err)
	}
	fcp, err := note.Sign(&note.Note{Text: string(body)}, other)
	if err != nil {
		t.Fatal(err)
	}
	// tlog-witness wants 403 here; omniwitness
	// v0.0.0-20260720115447-2e1c6971d19e answers 500.
	if _, err := c.AddCheckpoint(ctx, 0, nil, fcp); !errors.As(err, &he) || he.StatusCode != http.StatusForbidden && he.StatusCode != http.StatusInternalServerError {
		t.Errorf("wrong log key: %v, want a 403 (or omniwitness's 500) *WitnessHTTPError", err)
	} else if he.StatusCode != http.StatusForbidden {
		t.Logf("omniwitness refuses a checkpoint signed by another key with %d, not tlog-witness's 403", he.StatusCode)
	}
	if _, err := c.AddCheckpoint(ctx, 0, nil, cp); err != nil {
		t.Fatal(err)
	}
	// The witness now holds size 2: old 0 conflicts and says so.
	var ce *ledger.WitnessConflictError
	if _, err := c.AddCheckpoint(ctx, 0, nil, cp); !errors.As(err, &ce) || ce.Size != 2 {
		t.Errorf("stale old size: %v, want a *WitnessConflictError with size 2", err)
	}
	// A client configured with the wrong witness key rejects the answer.
	wrong := &ledger.WitnessClient{URL: ws[0].URL, Key: witnesstestKey(t, ws[0].Key.Name)}
	if _, err := wrong.AddCheckpoint(ctx, 2, nil, cp); !errors.Is(err, ledger.ErrBadCosignature) {
		t.Errorf("wrong witness key: %v, want ErrBadCosignature", err)
	}
}

// witnesstestKey is a cosigner key with the given name that no witness
// holds.
func witnesstestKey(t *testing.T, name string) *verify.CosignerKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := verify.NewCosignerKey(name, pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestWriterWitnessPolicy: with Config.WitnessPolicy, Tessera gets real
// omniwitness cosignatures before publishing, and publishes nothing while
// the quorum cannot be met.
func TestWriterWitnessPolicy(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	ws := witnesstest.Start(t, 3, s.PublicKey())
	policyText := "log " + s.PublicKey().VKey + "\n" + ws[0].PolicyLine() + ws[1].PolicyLine() + ws[2].PolicyLine() +
		"group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"
	policy, err := verify.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}

	for _, bad := range []string{
		"quorum none # trailing comment\n", // Tessera would accept it; exhibit's parser does not
		"log " + newSigner(t, false).PublicKey().VKey + "\nquorum none\n",
		"log " + s.PublicKey().VKey + "\nwitness W1 " + ws[0].Key.VKey + "\nquorum W1\n", // no URL
	} {
		if _, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir()), WitnessPolicy: []byte(bad)}); err == nil {
			t.Errorf("OpenWriter accepted the witness policy %q", bad)
		}
	}

	w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir()), WitnessPolicy: []byte(policyText), WitnessTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		// Close waits for the last entry's checkpoint, which the missing
		// quorum holds back: give up soon.
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_ = w.Close(cctx)
	}()
	for i := range 3 {
		_, pub, err := w.Append(ctx, fmt.Appendf(nil, "witnessed entry %d", i))
		cp := pub.Signed
		if err != nil {
			t.Fatal(err)
		}
		got, err := verify.OpenWitnessed(cp, policy)
		if err != nil || !got.QuorumMet || len(got.Cosignatures) < 2 {
			t.Fatalf("published checkpoint %d: %+v, %v\n%s", i, got, err, cp)
		}
	}
	published, _, err := w.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	ws[1].Stop()
	ws[2].Stop()
	actx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, _, err := w.Append(actx, []byte("not witnessed")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append with the quorum unreachable: %v, want it to wait until its deadline", err)
	}
	now, _, err := w.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(now) != string(published) {
		t.Errorf("a checkpoint was published without the quorum:\n%s", now)
	}
}

// TestWriterWitnessFailOpen: with Config.WitnessFailOpen, a checkpoint is
// published without the quorum once the witness timeout passes, with the
// cosignatures that were gathered.
func TestWriterWitnessFailOpen(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	ws := witnesstest.Start(t, 3, s.PublicKey())
	policyText := "log " + s.PublicKey().VKey + "\n" + ws[0].PolicyLine() + ws[1].PolicyLine() + ws[2].PolicyLine() +
		"group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"
	policy, err := verify.ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir()), WitnessPolicy: []byte(policyText), WitnessTimeout: time.Second, WitnessFailOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	ws[1].Stop()
	ws[2].Stop()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, pub, err := w.Append(actx, []byte("published fail-open"))
	cp := pub.Signed
	if err != nil {
		t.Fatalf("Append with the quorum unreachable, fail-open: %v", err)
	}
	got, err := verify.OpenWitnessed(cp, policy)
	var qe *verify.QuorumError
	if !errors.As(err, &qe) || got == nil || got.QuorumMet || len(got.Cosignatures) != 1 || got.Cosignatures[0].Witness != "W1" {
		t.Fatalf("fail-open checkpoint: %+v, %v\n%s", got, err, cp)
	}
}
