package archive_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/tessera/api/layout"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestTamper mutates each part of a bundle, the snapshot and the key in
// turn: every mutation is rejected, by the check responsible for it.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	a, recs, files := archivetest.SmallLog(t, 7)
	_, good, err := a.Prove(ctx, recs[2].ID, archive.ProveOptions{Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(good.InclusionProof) != 3 {
		t.Fatalf("proof of index 2 in a tree of 7 has %d hashes, want 3", len(good.InclusionProof))
	}
	snapshot, _ := os.ReadFile(files[2])
	key := a.Key()

	// The untampered bundle verifies, in both forms.
	for _, form := range [][]byte{good.Marshal(), good.MarshalProof()} {
		if rep := verify.Check(form, key, verify.Options{Snapshot: bytes.NewReader(snapshot)}); !rep.Verified {
			t.Fatalf("good bundle fails: %+v", rep.Failed())
		}
	}

	clone := func() *verify.Bundle {
		var b verify.Bundle
		if err := json.Unmarshal(good.Marshal(), &b); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	envelope := func(b *verify.Bundle, f func(e *verify.Envelope)) {
		var e verify.Envelope
		if err := json.Unmarshal(b.Entry, &e); err != nil {
			t.Fatal(err)
		}
		f(&e)
		b.Entry, _ = json.Marshal(e)
		b.RecordID = verify.RecordID(b.Entry) // keep the ID consistent: the signature must catch it
	}
	otherKey := func() *verify.PublicKey {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := verify.NewPublicKey(key.Name, pub)
		return k
	}()

	type tc struct {
		name      string
		bundle    func() []byte
		key       *verify.PublicKey
		snapshot  []byte
		wantCheck string
	}
	cases := []tc{
		{name: "entry payload", wantCheck: verify.CheckStatementSignature, bundle: func() []byte {
			b := clone()
			envelope(b, func(e *verify.Envelope) {
				e.Payload = bytes.Replace(e.Payload, []byte("Privacy Policy"), []byte("Privacy Polizy"), 1)
			})
			return b.Marshal()
		}},
		{name: "entry payload digest", wantCheck: verify.CheckStatementSignature, bundle: func() []byte {
			b := clone()
			envelope(b, func(e *verify.Envelope) {
				d := recs[2].SHA256
				e.Payload = bytes.ReplaceAll(e.Payload, []byte(d), []byte(recs[3].SHA256))
			})
			return b.Marshal()
		}},
		{name: "entry signature", wantCheck: verify.CheckStatementSignature, bundle: func() []byte {
			b := clone()
			envelope(b, func(e *verify.Envelope) { e.Signatures[0].Sig[5] ^= 1 })
			return b.Marshal()
		}},
		{name: "entry payload type", wantCheck: verify.CheckStatementSignature, bundle: func() []byte {
			b := clone()
			envelope(b, func(e *verify.Envelope) { e.PayloadType = "application/json" })
			return b.Marshal()
		}},
		{name: "entry swapped for another record's", wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			b := clone()
			b.Entry = recs[3].Entry
			b.RecordID = recs[3].ID
			return b.Marshal()
		}},
		{name: "record ID", wantCheck: verify.CheckRecordID, bundle: func() []byte {
			b := clone()
			b.RecordID = recs[3].ID
			return b.Marshal()
		}},
		{name: "record ID malformed", wantCheck: verify.CheckRecordID, bundle: func() []byte {
			b := clone()
			b.RecordID = "EXR-NOT-AN-ID"
			return b.Marshal()
		}},
		{name: "index", wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			b := clone()
			b.Index++
			return b.Marshal()
		}},
		{name: "proof dropped hash", wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			b := clone()
			b.InclusionProof = b.InclusionProof[:2]
			return b.Marshal()
		}},
		{name: "proof extra hash", wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			b := clone()
			b.InclusionProof = append(b.InclusionProof, b.InclusionProof[0])
			return b.Marshal()
		}},
		{name: "checkpoint size", wantCheck: verify.CheckCheckpointSignature, bundle: func() []byte {
			b := clone()
			b.Checkpoint = strings.Replace(b.Checkpoint, "\n7\n", "\n8\n", 1)
			return b.Marshal()
		}},
		{name: "checkpoint root", wantCheck: verify.CheckCheckpointSignature, bundle: func() []byte {
			b := clone()
			lines := strings.SplitN(b.Checkpoint, "\n", 4)
			root, _ := base64.StdEncoding.DecodeString(lines[2])
			root[0] ^= 1
			lines[2] = base64.StdEncoding.EncodeToString(root)
			b.Checkpoint = strings.Join(lines, "\n")
			return b.Marshal()
		}},
		{name: "checkpoint origin", wantCheck: verify.CheckCheckpointSignature, bundle: func() []byte {
			b := clone()
			b.Checkpoint = strings.Replace(b.Checkpoint, key.Name+"\n", "evil.example/log\n", 1)
			return b.Marshal()
		}},
		{name: "checkpoint signature", wantCheck: verify.CheckCheckpointSignature, bundle: func() []byte {
			b := clone()
			i := strings.LastIndex(b.Checkpoint, " ")
			sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(b.Checkpoint[i+1:]))
			sig[len(sig)-1] ^= 1
			b.Checkpoint = b.Checkpoint[:i+1] + base64.StdEncoding.EncodeToString(sig) + "\n"
			return b.Marshal()
		}},
		{name: "checkpoint signature removed", wantCheck: verify.CheckCheckpointSignature, bundle: func() []byte {
			b := clone()
			b.Checkpoint = b.Checkpoint[:strings.Index(b.Checkpoint, "\n\n")+2]
			return b.Marshal()
		}},
		{name: "wrong key", wantCheck: verify.CheckCheckpointSignature, key: otherKey, bundle: func() []byte { return good.Marshal() }},
		{name: "snapshot", wantCheck: verify.CheckSnapshotDigest, snapshot: append(bytes.Clone(snapshot), ' '), bundle: func() []byte { return good.Marshal() }},
		{name: "snapshot of another record", wantCheck: verify.CheckSnapshotDigest, snapshot: archivetest.ReadFile(t, files[3]), bundle: func() []byte { return good.Marshal() }},
		{name: "tlog-proof index", wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			return bytes.Replace(good.MarshalProof(), []byte("\nindex 2\n"), []byte("\nindex 3\n"), 1)
		}},
		{name: "tlog-proof extra", wantCheck: verify.CheckStatementSignature, bundle: func() []byte {
			b := clone()
			envelope(b, func(e *verify.Envelope) { e.Signatures[0].Sig[0] ^= 1 })
			return b.MarshalProof()
		}},
		{name: "not a bundle", wantCheck: verify.CheckBundleParse, bundle: func() []byte { return []byte("hello") }},
		{name: "truncated JSON", wantCheck: verify.CheckBundleParse, bundle: func() []byte { m := good.Marshal(); return m[:len(m)/2] }},
		{name: "unknown field", wantCheck: verify.CheckBundleParse, bundle: func() []byte {
			return bytes.Replace(good.Marshal(), []byte(`"index"`), []byte(`"trust_me": true, "index"`), 1)
		}},
		{name: "short proof hash", wantCheck: verify.CheckBundleParse, bundle: func() []byte {
			b := clone()
			b.InclusionProof[1] = b.InclusionProof[1][:31]
			return b.Marshal()
		}},
	}
	for i := range good.InclusionProof {
		cases = append(cases, tc{name: fmt.Sprintf("proof hash %d", i), wantCheck: verify.CheckInclusionProof, bundle: func() []byte {
			b := clone()
			b.InclusionProof[i][7] ^= 0x80
			return b.Marshal()
		}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := key
			if c.key != nil {
				k = c.key
			}
			var opts verify.Options
			if c.snapshot != nil {
				opts.Snapshot = bytes.NewReader(c.snapshot)
			}
			rep := verify.Check(c.bundle(), k, opts)
			if rep.Verified {
				t.Fatal("tampered bundle verified")
			}
			var failed *verify.Result
			for i := range rep.Checks {
				if rep.Checks[i].Name == c.wantCheck {
					failed = &rep.Checks[i]
				}
			}
			if failed == nil || failed.OK {
				t.Fatalf("check %s did not fail; checks: %+v", c.wantCheck, rep.Checks)
			}
			if first := rep.Failed(); first.Name != c.wantCheck {
				t.Errorf("first failed check is %s (%s), want %s", first.Name, first.Detail, c.wantCheck)
			}
		})
	}
}

// TestInterop checks exhibit's log with independent code: checkpoints open
// with x/mod's sumdb/note, and the root that x/mod's sumdb/tlog computes
// from the tiles on disk, and its record proofs, match.
func TestInterop(t *testing.T) {
	ctx := context.Background()
	a, recs, _ := archivetest.SmallLog(t, 300) // more than one full tile (256)
	signed, cp, err := a.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(a.Key().VKey)
	if err != nil {
		t.Fatalf("x/mod note.NewVerifier(%s): %v", a.Key().VKey, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("x/mod note.Open: %v", err)
	}
	if !strings.HasPrefix(n.Text, a.Key().Name+"\n300\n") {
		t.Errorf("checkpoint text %q", n.Text)
	}

	tr := tileReader{dir: a.Ledger().Dir()}
	var root tlog.Hash
	copy(root[:], cp.Hash)
	th, err := tlog.TreeHash(int64(cp.Size), tlog.TileHashReader(tlog.Tree{N: int64(cp.Size), Hash: root}, tr))
	if err != nil {
		t.Fatalf("x/mod tlog.TreeHash from tiles: %v", err)
	}
	if th != root {
		t.Fatalf("x/mod computes root %x from the tiles, the checkpoint says %x", th, root)
	}
	for _, i := range []int{0, 1, 255, 256, 299} {
		_, b, err := a.Prove(ctx, recs[i].ID, archive.ProveOptions{Latest: true})
		if err != nil {
			t.Fatal(err)
		}
		var p tlog.RecordProof
		for _, h := range b.InclusionProof {
			var x tlog.Hash
			copy(x[:], h)
			p = append(p, x)
		}
		if err := tlog.CheckRecord(p, int64(cp.Size), root, int64(b.Index), tlog.RecordHash(recs[i].Entry)); err != nil {
			t.Errorf("x/mod tlog.CheckRecord of index %d: %v", i, err)
		}
		if b.Index != uint64(i) {
			t.Errorf("record %d at index %d", i, b.Index)
		}
	}
}

// tileReader reads tlog-tiles hash tiles from a Tessera POSIX log for
// x/mod's sumdb/tlog (tile height 8).
type tileReader struct{ dir string }

func (tileReader) Height() int { return 8 }

func (r tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		p := uint8(0)
		if t.W < 256 {
			p = uint8(t.W)
		}
		b, err := os.ReadFile(filepath.Join(r.dir, layout.TilePath(uint64(t.L), uint64(t.N), p)))
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

func (tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
