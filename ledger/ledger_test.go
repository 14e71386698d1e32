package ledger_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

func newSigner(t *testing.T, ecdsaKey bool) *ledger.Signer {
	t.Helper()
	var pem []byte
	var err error
	if ecdsaKey {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		pem, err = cryptoutils.MarshalPrivateKeyToPEM(k)
	} else {
		pem, err = ledger.GenerateKey()
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(pem, "ledger.example/log")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerNotes(t *testing.T) {
	for _, ec := range []bool{false, true} {
		s := newSigner(t, ec)
		msg, err := note.Sign(&note.Note{Text: "ledger.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := verify.OpenCheckpoint(msg, s.PublicKey()); err != nil {
			t.Errorf("ecdsa=%v: our checkpoint does not open: %v", ec, err)
		}
		if !ec {
			v, err := note.NewVerifier(s.PublicKey().VKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
				t.Errorf("x/mod rejects our Ed25519 note: %v", err)
			}
		}
		// Another key of the same name does not verify it.
		other := newSigner(t, ec)
		if _, err := verify.OpenCheckpoint(msg, other.PublicKey()); err == nil {
			t.Errorf("ecdsa=%v: checkpoint opened with another key", ec)
		}
	}
}

func TestSignStatement(t *testing.T) {
	for _, ec := range []bool{false, true} {
		s := newSigner(t, ec)
		st := verify.Statement{
			Type: verify.StatementType, PredicateType: verify.CapturePredicateType,
			Subject: []verify.Subject{{Name: "https://ledger.example/a", Digest: map[string]string{"sha256": verify.SHA256Hex([]byte("a"))}}},
			Predicate: verify.Capture{
				Method: verify.MethodUpload, Outcome: verify.OutcomeCaptured,
				Snapshot: &verify.Snapshot{SHA256: verify.SHA256Hex([]byte("a")), Size: 1},
				Observed: &verify.Observation{StartedAt: "2026-01-02T03:04:05.000Z"},
				Tool:     verify.Tool{Name: "exhibit", Version: "test"},
			},
		}
		payload, _ := json.Marshal(st)
		entry, err := s.SignStatement(payload)
		if err != nil {
			t.Fatal(err)
		}
		got, err := verify.OpenStatement(entry, s.PublicKey())
		if err != nil {
			t.Fatalf("ecdsa=%v: OpenStatement: %v", ec, err)
		}
		if got.Subject[0].Name != "https://ledger.example/a" {
			t.Errorf("subject %q", got.Subject[0].Name)
		}
		env, _ := verify.ParseEnvelope(entry)
		if env.Signatures[0].KeyID != s.PublicKey().KeyID() || len(env.Signatures[0].KeyID) != 64 {
			t.Errorf("keyid %q, want %q", env.Signatures[0].KeyID, s.PublicKey().KeyID())
		}
		if _, err := verify.OpenStatement(entry, newSigner(t, ec).PublicKey()); err == nil {
			t.Errorf("ecdsa=%v: statement opened with another key", ec)
		}
	}
}

// TestWriter appends concurrently and checks checkpoints, inclusion and
// consistency proofs and the entries read back.
func TestWriter(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	dir := t.TempDir()
	w, err := ledger.OpenWriter(ctx, dir, s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	entries := make([][]byte, n)
	idx := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		entries[i] = []byte(fmt.Sprintf("entry %d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, pub, err := w.Append(ctx, entries[i])
			cp := pub.Signed
			if err != nil {
				t.Error(err)
				return
			}
			c, err := verify.OpenCheckpoint(cp, s.PublicKey())
			if err != nil || c.Size <= j {
				t.Errorf("Append returned checkpoint %v (%v) not covering index %d", c, err, j)
			}
			idx[i] = j
		}()
	}
	wg.Wait()
	if _, _, err := w.Append(ctx, make([]byte, verify.MaxEntrySize+1)); err == nil {
		t.Error("Append accepted an entry over the tlog-tiles limit")
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	r := ledger.NewReader(dir, s.PublicKey())
	signed, cp, err := r.Checkpoint(ctx)
	if err != nil || cp.Size != n {
		t.Fatalf("checkpoint %v, %v; want size %d", cp, err, n)
	}
	for i := range n {
		b, err := r.Prove(ctx, entries[i], idx[i], signed, cp)
		if err != nil {
			t.Fatalf("Prove %d: %v", i, err)
		}
		if rep := verify.Check(b.Marshal(), s.PublicKey(), verify.Options{}); rep.Failed().Name != verify.CheckStatementSignature {
			// The entries are not statements, so only that check may fail.
			t.Errorf("bundle %d: first failure %+v", i, rep.Failed())
		}
	}
	// A wrong entry at a real index does not get a proof.
	if _, err := r.Prove(ctx, []byte("forged"), idx[0], signed, cp); err == nil {
		t.Error("Prove accepted an entry that is not at the index")
	}
	// Consistency from every smaller size.
	var roots [][]byte
	{
		// Recompute roots of prefixes by reading the entries back.
		got := map[uint64][]byte{}
		for e, err := range r.Entries(ctx, 0, n, n) {
			if err != nil {
				t.Fatal(err)
			}
			got[e.Index] = e.Data
		}
		for i := range n {
			if !bytes.Equal(got[idx[i]], entries[i]) {
				t.Fatalf("entry at %d is %q, want %q", idx[i], got[idx[i]], entries[i])
			}
		}
		for size := uint64(1); size <= n; size++ {
			var leaves [][]byte
			for i := uint64(0); i < size; i++ {
				leaves = append(leaves, rfc6962.DefaultHasher.HashLeaf(got[i]))
			}
			roots = append(roots, rootOf(leaves))
		}
	}
	if !bytes.Equal(roots[n-1], cp.Hash) {
		t.Fatalf("reference root %x, checkpoint %x", roots[n-1], cp.Hash)
	}
	for from := uint64(1); from < n; from++ {
		p, err := r.ConsistencyProof(ctx, from, n)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, from, n, p, roots[from-1], cp.Hash); err != nil {
			t.Errorf("consistency %d -> %d: %v", from, n, err)
		}
	}
}

// rootOf is a plain RFC 6962 reference implementation of the tree hash.
func rootOf(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return rfc6962.DefaultHasher.HashChildren(rootOf(leaves[:k]), rootOf(leaves[k:]))
}

// TestCheckPublished checks a checkpoint against a log served over HTTP
// (the tlog-tiles files, as a static server would): a log that grew
// passes; a smaller log, and a fork signed by the same key, are ErrFork.
func TestCheckPublished(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	grow := func(dir string, prefix string, n int) (*verify.Checkpoint, []byte) {
		w, err := ledger.OpenWriter(ctx, dir, s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
		if err != nil {
			t.Fatal(err)
		}
		var pend []*ledger.Pending
		for i := range n {
			p, err := w.Add(ctx, []byte(fmt.Sprintf("%s %d", prefix, i)))
			if err != nil {
				t.Fatal(err)
			}
			pend = append(pend, p)
		}
		for _, p := range pend {
			if _, _, err := w.Wait(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		signed, cp, err := ledger.NewReader(dir, s.PublicKey()).Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cp, signed
	}
	dir := t.TempDir()
	old, _ := grow(dir, "entry", 5)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()

	if latest, err := ledger.CheckPublished(ctx, srv.URL+"/", s.PublicKey(), old, nil); err != nil || latest.Size != 5 {
		t.Fatalf("same log: %v, %v", latest, err)
	}
	grow(dir, "more", 300)
	if latest, err := ledger.CheckPublished(ctx, srv.URL+"/", s.PublicKey(), old, nil); err != nil || latest.Size != 305 {
		t.Fatalf("grown log: %v, %v", latest, err)
	}

	// A fork: another log under the same key and origin.
	forkDir := t.TempDir()
	grow(forkDir, "other", 400)
	fork := httptest.NewServer(http.FileServer(http.Dir(forkDir)))
	defer fork.Close()
	if _, err := ledger.CheckPublished(ctx, fork.URL+"/", s.PublicKey(), old, nil); !errors.Is(err, ledger.ErrFork) {
		t.Errorf("fork: %v, want ErrFork", err)
	}
	// A log smaller than the checkpoint.
	small := t.TempDir()
	grow(small, "entry", 3)
	smallSrv := httptest.NewServer(http.FileServer(http.Dir(small)))
	defer smallSrv.Close()
	if _, err := ledger.CheckPublished(ctx, smallSrv.URL+"/", s.PublicKey(), old, nil); !errors.Is(err, ledger.ErrFork) {
		t.Errorf("smaller log: %v, want ErrFork", err)
	}
	// Another key's log is not trusted.
	if _, err := ledger.CheckPublished(ctx, srv.URL+"/", newSigner(t, false).PublicKey(), old, nil); err == nil || errors.Is(err, ledger.ErrFork) {
		t.Errorf("wrong key: %v", err)
	}
}
