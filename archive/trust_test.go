package archive_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/verify"
)

func result(rep *verify.Report, name string) *verify.Result {
	for i := range rep.Checks {
		if rep.Checks[i].Name == name {
			return &rep.Checks[i]
		}
	}
	return nil
}

// TestWitnessedTimestampedCapture: with three real witnesses (2 of 3) and a
// real TSA, a capture's bundle carries the cosigned checkpoint and its
// token, and verifies; with one witness down it still does; with two down a
// fail-closed archive refuses to acknowledge with ErrNoQuorum. A TSA outage
// loses nothing: the bundle says "pending", and is rewritten with the token
// once the TSA is back.
func TestWitnessedTimestampedCapture(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	rec, err := archivetest.UploadErr(t, tr.A)
	if err != nil {
		t.Fatal(err)
	}
	b, rep := tr.Check(t, rec)
	if !rep.Verified {
		t.Fatalf("not verified: %+v", rep.Checks)
	}
	if b.Timestamp == nil || b.TimestampStatus != "" || b.Witnessing != "" {
		t.Fatalf("bundle: timestamp %d bytes, status %q, witnessing %q", len(b.Timestamp), b.TimestampStatus, b.Witnessing)
	}
	if !rep.Witnessed.QuorumMet || len(rep.Witnessed.Cosignatures) < 2 {
		t.Fatalf("witnessed: %+v", rep.Witnessed)
	}
	if d := result(rep, verify.CheckTimestampToken).Detail; !strings.Contains(d, "existed no later than") {
		t.Errorf("timestamp detail %q", d)
	}
	if d := result(rep, verify.CheckWitnessCosignatures).Detail; !strings.Contains(d, "quorum two-of-three met") || !strings.Contains(d, "witnessed no later than") {
		t.Errorf("witness-cosignatures detail %q", d)
	}
	// The token is stored beside the checkpoint, as DER.
	tsr, err := tr.A.Timestamp(context.Background(), rep.Checkpoint.Size)
	if p := filepath.Join(tr.Dir, "checkpoints", ledger.CheckpointPath(rep.Checkpoint.Size)+".tsr"); !fileHolds(p, tsr) {
		t.Errorf("%s does not hold the token", p)
	}
	if err != nil || string(tsr) != string(b.Timestamp) {
		t.Fatalf("stored token: %v (same as the bundle's: %v)", err, string(tsr) == string(b.Timestamp))
	}

	set := schemaCompile(t)
	schemaMustValidate(t, "witnessed, time-stamped bundle", set.bundle, b.Marshal())

	// One witness down: still published, witnessed and verified.
	tr.Witnesses[2].Stop()
	rec2, err := archivetest.UploadErr(t, tr.A)
	if err != nil {
		t.Fatalf("capture with one witness down: %v", err)
	}
	b2, rep2 := tr.Check(t, rec2)
	if !rep2.Verified || len(rep2.Witnessed.Cosignatures) != 2 {
		t.Fatalf("one witness down: %+v", rep2.Checks)
	}
	if rep2.Checkpoint.Size == rep.Checkpoint.Size {
		t.Fatalf("both captures have checkpoint size %d", rep.Checkpoint.Size)
	}
	tamperTrust(t, tr, b, b2)

	// A signature by a key the policy does not name is ignored.
	extra := *b
	extra.Checkpoint += "— unknown.example " + base64.StdEncoding.EncodeToString(make([]byte, 76)) + "\n"
	rep3 := verify.Check(extra.Marshal(), tr.A.Key(), tr.Verify)
	if r := result(rep3, verify.CheckWitnessCosignatures); !rep3.Verified || !strings.Contains(r.Detail, "1 signature(s) by keys not in the policy ignored") {
		t.Errorf("bundle with an unknown signature: %+v", rep3.Checks)
	}

	// The TSA down: the record is kept, its bundle says "pending", and
	// reading never asks the TSA (nor writes anything).
	tr.TSAOff.Store(true)
	rec, err = archivetest.UploadErr(t, tr.A)
	if err != nil {
		t.Fatalf("capture with the TSA down: %v", err)
	}
	b, rep = tr.Check(t, rec)
	if b.TimestampStatus != verify.TimestampPending || b.Timestamp != nil {
		t.Fatalf("bundle with the TSA down: status %q, %d token bytes", b.TimestampStatus, len(b.Timestamp))
	}
	if r := result(rep, verify.CheckTimestampToken); r.OK || !errors.Is(r.Err, verify.ErrTimestampPending) {
		t.Fatalf("timestamp check of a pending bundle: %+v", r)
	}
	schemaMustValidate(t, "pending bundle", set.bundle, b.Marshal())
	if n, err := tr.A.RetryTimestamps(context.Background()); n != 1 || err == nil {
		t.Fatalf("retry with the TSA still down: %d pending, %v", n, err)
	}
	tr.TSAOff.Store(false)
	if n, err := tr.A.RetryTimestamps(context.Background()); n != 0 || err != nil {
		t.Fatalf("retry with the TSA back: %d pending, %v", n, err)
	}
	if b, rep := tr.Check(t, rec); !rep.Verified || b.Timestamp == nil {
		t.Fatalf("bundle after the retry: %+v", rep.Checks)
	}
	// The token is of the checkpoint the record was first published with.
	if b, _ := tr.Check(t, rec); b.Checkpoint != string(rec.Checkpoint) {
		t.Errorf("the bundle is not against the checkpoint the record was published with")
	}
	archivetest.AuditOK(t, tr.A)

	// Two witnesses down: fail closed, with a clear error.
	tr.Witnesses[1].Stop()
	_, err = archivetest.UploadErr(t, tr.A)
	var nq *trust.NoQuorumError
	if !errors.Is(err, trust.ErrNoQuorum) || !errors.As(err, &nq) || nq.Quorum != "two-of-three" {
		t.Fatalf("capture with two witnesses down: %v, want ErrNoQuorum", err)
	}
	for i, w := range nq.Witnesses {
		if down := i > 0; (w.Err != nil) != down {
			t.Errorf("witness %s: probe %v, want down=%v", w.Name, w.Err, down)
		}
	}
	t.Log(err)
}

// TestWitnessFailOpen: with two of three witnesses down, a fail-open
// archive still publishes; its bundles say so, and verify with the quorum
// reported as not met.
func TestWitnessFailOpen(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{FailOpen: true})
	tr.Witnesses[1].Stop()
	tr.Witnesses[2].Stop()
	rec, err := archivetest.UploadErr(t, tr.A)
	if err != nil {
		t.Fatalf("fail-open capture with two witnesses down: %v", err)
	}
	b, rep := tr.Check(t, rec)
	if b.Witnessing != verify.WitnessingFailOpen {
		t.Errorf("witnessing %q, want %q", b.Witnessing, verify.WitnessingFailOpen)
	}
	// The mark is unsigned: it counts only for a verifier who accepts
	// fail-open for this log.
	if r := result(rep, verify.CheckWitnessCosignatures); r.OK || !errors.Is(r.Err, verify.ErrQuorum) || !strings.Contains(r.Detail, "--accept-fail-open") {
		t.Fatalf("fail-open bundle, verifier not accepting fail-open: %+v", r)
	}
	opts := tr.Verify
	opts.AcceptFailOpen = true
	rep = verify.Check(b.Marshal(), tr.A.Key(), opts)
	if !rep.Verified || rep.Witnessed.QuorumMet {
		t.Fatalf("fail-open bundle: verified %v, %+v", rep.Verified, rep.Checks)
	}
	if d := result(rep, verify.CheckWitnessCosignatures).Detail; !strings.Contains(d, "NOT met") {
		t.Errorf("witness-cosignatures detail %q", d)
	}
	// Without the fail-open mark the same checkpoint fails the check.
	b.Witnessing = ""
	rep = verify.Check(b.Marshal(), tr.A.Key(), opts)
	if r := result(rep, verify.CheckWitnessCosignatures); r.OK || !errors.Is(r.Err, verify.ErrQuorum) {
		t.Fatalf("unmarked bundle without the quorum: %+v", r)
	}
	// The audit accepts a kept checkpoint without the quorum in a
	// fail-open archive.
	archivetest.AuditOK(t, tr.A)
}

// tamperTrust checks that each forgery of a witnessed, time-stamped bundle
// is rejected by the check it concerns, and only by it. b and other are
// valid bundles at different checkpoints.
func tamperTrust(t *testing.T, tr *archivetest.Trusted, b, other *verify.Bundle) {
	t.Helper()
	sigLine := func(cp, name string) string {
		for l := range strings.Lines(cp) {
			if strings.HasPrefix(l, "— "+name+" ") {
				return l
			}
		}
		return ""
	}
	// Tessera publishes once a quorum answers: find a witness that
	// cosigned both.
	var mine, theirs string
	for _, w := range tr.Witnesses {
		mine, theirs = sigLine(b.Checkpoint, w.Key.Name), sigLine(other.Checkpoint, w.Key.Name)
		if mine != "" && theirs != "" {
			break
		}
	}
	if mine == "" || theirs == "" {
		t.Fatalf("no witness cosigned both\n%s\n%s", b.Checkpoint, other.Checkpoint)
	}
	flipped := []byte(mine)
	i := len(flipped) - 20 // in the Ed25519 signature's base64
	if flipped[i] == 'A' {
		flipped[i] = 'B'
	} else {
		flipped[i] = 'A'
	}
	_, untrusted := tsatest.UntrustedRoot(t)

	for _, c := range []struct {
		name   string
		mutate func(*verify.Bundle, *verify.Options)
		check  string
		target any
	}{
		{"tampered cosignature", func(b *verify.Bundle, _ *verify.Options) {
			b.Checkpoint = strings.Replace(b.Checkpoint, mine, string(flipped), 1)
		}, verify.CheckWitnessCosignatures, new(*verify.CosignatureError)},
		{"cosignature over another checkpoint", func(b *verify.Bundle, _ *verify.Options) {
			b.Checkpoint = strings.Replace(b.Checkpoint, mine, theirs, 1)
		}, verify.CheckWitnessCosignatures, new(*verify.CosignatureError)},
		{"token over another checkpoint", func(b *verify.Bundle, _ *verify.Options) {
			b.Timestamp = other.Timestamp
		}, verify.CheckTimestampToken, new(*verify.TimestampMessageError)},
		{"untrusted TSA", func(_ *verify.Bundle, o *verify.Options) {
			o.Timestamps = &verify.TimestampOptions{Roots: untrusted}
		}, verify.CheckTimestampToken, new(*verify.TimestampTrustError)},
		{"no token", func(b *verify.Bundle, _ *verify.Options) {
			b.Timestamp = nil
		}, verify.CheckTimestampToken, &verify.ErrNoTimestamp},
	} {
		t.Run(c.name, func(t *testing.T) {
			forged := *b
			opts := tr.Verify
			c.mutate(&forged, &opts)
			rep := verify.Check(forged.Marshal(), tr.A.Key(), opts)
			for _, r := range rep.Checks {
				if r.OK == (r.Name == c.check) {
					t.Errorf("check %s: ok=%v: %s", r.Name, r.OK, r.Detail)
				}
			}
			r := result(rep, c.check)
			if r == nil {
				t.Fatalf("no %s check", c.check)
			}
			if e, ok := c.target.(*error); ok {
				if !errors.Is(r.Err, *e) {
					t.Errorf("%s: %v, want %v", c.check, r.Err, *e)
				}
			} else if !errors.As(r.Err, c.target) {
				t.Errorf("%s: %v (%T), want %T", c.check, r.Err, r.Err, c.target)
			}
		})
	}
}

// TestWitnessRefusesFork: a witness that has cosigned a fork of the log (a
// checkpoint of the same size with another root, signed by the same key)
// refuses the archive's checkpoints. With the two others the quorum is
// still met and the refusal is only reported; with one of them down too, a
// fail-closed capture gives up with ErrNoQuorum after the witness wait
// instead of retrying forever.
func TestWitnessRefusesFork(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{})
	ctx := context.Background()
	s, err := ledger.NewSigner(tr.KeyPEM, "trust.example/log")
	if err != nil {
		t.Fatal(err)
	}
	fork, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := fork.Append(ctx, []byte("a forked entry")); err != nil {
		t.Fatal(err)
	}
	forkCP, _, err := fork.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fork.Close(ctx)
	w1 := &ledger.WitnessClient{URL: tr.Witnesses[0].URL, Key: tr.Witnesses[0].Key}
	if _, err := w1.AddCheckpoint(ctx, 0, nil, forkCP); err != nil {
		t.Fatalf("W1 would not cosign the fork: %v", err)
	}

	rec, err := archivetest.UploadErr(t, tr.A)
	if err != nil {
		t.Fatalf("capture with W1 refusing: %v", err)
	}
	_, rep := tr.Check(t, rec)
	if !rep.Verified || !rep.Witnessed.QuorumMet {
		t.Fatalf("with W1 refusing: %+v", rep.Checks)
	}
	for _, c := range rep.Witnessed.Cosignatures {
		if c.Witness == "W1" {
			t.Errorf("W1 cosigned a checkpoint inconsistent with the fork it saw")
		}
	}

	tr.Witnesses[2].Stop()
	start := time.Now()
	_, err = archivetest.UploadErr(t, tr.A)
	var nq *trust.NoQuorumError
	if !errors.As(err, &nq) {
		t.Fatalf("capture with W1 refusing and W3 down: %v, want a *NoQuorumError", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("the capture gave up after %s", d)
	}
	if nq.Witnesses[0].Err != nil || nq.Witnesses[2].Err == nil {
		t.Errorf("probes: %+v", nq.Witnesses)
	}
}

// TestLatePublication: a capture whose caller stopped waiting for the
// witnesses (here after 1 ms, with all three up) is reported with its
// record ID, and the open archive still publishes it once they cosign: it
// is indexed and proves, so that a long-running writer (exhibit serve)
// serves it, and a client that retries finds it.
func TestLatePublication(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{})
	ctx := context.Background()
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}
	a := archivetest.Open(t, tr.Dir, archive.OpenOptions{Write: true, WitnessWait: time.Millisecond})
	tr.A = a
	_, err := archivetest.UploadErr(t, a)
	var nq *trust.NoQuorumError
	if !errors.As(err, &nq) || nq.RecordID == "" || !strings.Contains(err.Error(), nq.RecordID) {
		t.Fatalf("capture: %v, want a *NoQuorumError naming the record", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec, err := a.Get(ctx, nq.RecordID)
		if err == nil {
			if _, rep := tr.Check(t, rec); !rep.Verified {
				t.Fatalf("late bundle: %+v", rep.Failed())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s not published and indexed 20 s later: %v", nq.RecordID, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWitnessedRepublication: a witnessed log that stays idle publishes its
// checkpoint again, newly cosigned (Tessera's republication, here every
// 500ms): the checkpoint first published stays the kept evidence, the
// archive goes on logging, a writer opened after it too, and the audit is
// clean. (An archive used to become unwritable after ten idle minutes.)
func TestWitnessedRepublication(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	ctx := context.Background()
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}
	o := tr.Open
	o.Ledger.RepublishInterval = 500 * time.Millisecond
	tr.A = archivetest.Open(t, tr.Dir, o)
	first := archivetest.Upload(t, tr.A)
	published := filepath.Join(tr.Dir, "log", "checkpoint")
	republished := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !time.Now().After(deadline) {
			if b, err := os.ReadFile(published); err == nil && !bytes.Equal(b, first.Checkpoint) && bytes.HasPrefix(b, first.Checkpoint[:bytes.Index(first.Checkpoint, []byte("\n\n"))]) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("the log did not republish its checkpoint, newly cosigned")
	}
	republished()
	second := archivetest.Upload(t, tr.A)
	if second.Published <= first.Published {
		t.Fatalf("second record published with %d, first with %d", second.Published, first.Published)
	}
	if err := tr.A.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Idle, closed: reopen and let it republish, then reopen again.
	tr.A = archivetest.Open(t, tr.Dir, o)
	first = second
	republished()
	tr.A = archivetest.Reopen(t, tr.A, o)
	third := archivetest.Upload(t, tr.A)
	for _, r := range []*record.Record{first, second, third} {
		b, rep := tr.Check(t, r)
		if !rep.Verified {
			t.Fatalf("%s: %+v", r.ID, rep.Failed())
		}
		if b.Checkpoint != string(archivetest.ReadFile(t, tr.A.CheckpointFile(r.Published))) {
			t.Errorf("%s: bundle not against its kept checkpoint %d", r.ID, r.Published)
		}
	}
	archivetest.AuditOK(t, tr.A)
}

func fileHolds(path string, b []byte) bool {
	got, err := os.ReadFile(path)
	return err == nil && string(got) == string(b)
}
