package s3_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/exhibit-archive/exhibit/archive/store/s3"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

var (
	_ ledger.CheckpointStore = (*s3.Checkpoints)(nil)
)

func TestCheckpoints(t *testing.T) {
	gw := s3test.Start(t)
	for _, tc := range []struct {
		name string
		new  func(t *testing.T) ledger.CheckpointStore
	}{
		{"dir", func(t *testing.T) ledger.CheckpointStore { return ledger.NewCheckpoints(t.TempDir()) }},
		{"s3", func(t *testing.T) ledger.CheckpointStore {
			st, err := s3.New(t.Context(), gw.NewBucket(t, false))
			if err != nil {
				t.Fatal(err)
			}
			return st.Checkpoints()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { testCheckpoints(t, tc.new(t)) })
	}
}

func testCheckpoints(t *testing.T, c ledger.CheckpointStore) {
	ctx := t.Context()
	pem, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(pem, "ckpt.example/log")
	if err != nil {
		t.Fatal(err)
	}
	sign := func(size uint64, root byte) ([]byte, *verify.Checkpoint) {
		hash := bytes.Repeat([]byte{root}, 32)
		cp := &verify.Checkpoint{Origin: "ckpt.example/log", Size: size, Hash: hash}
		signed, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", cp.Origin, size, base64.StdEncoding.EncodeToString(hash))}, s)
		if err != nil {
			t.Fatal(err)
		}
		return signed, cp
	}
	if all, err := c.All(ctx); err != nil || len(all) != 0 {
		t.Fatalf("an empty store lists %v, %v", all, err)
	}
	if _, err := c.Get(ctx, 5); !errors.Is(err, ledger.ErrNotKept) {
		t.Errorf("Get of a size not kept: %v, want ErrNotKept", err)
	}
	sizes := []uint64{0, 5, 1234067, 1000}
	signed := map[uint64][]byte{}
	for _, n := range sizes {
		b, cp := sign(n, byte(n))
		// Kept twice at once, as two frontends would: both succeed.
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := c.Keep(ctx, b, cp); err != nil {
					t.Errorf("Keep %d: %v", n, err)
				}
			})
		}
		wg.Wait()
		signed[n] = b
	}
	for _, n := range sizes {
		if got, err := c.Get(ctx, n); err != nil || !bytes.Equal(got, signed[n]) {
			t.Errorf("Get(%d) = %q, %v", n, got, err)
		}
	}
	// Another checkpoint of a size kept: refused, the first stays.
	fork, cp := sign(5, 0xee)
	var ce *ledger.CheckpointConflictError
	if err := c.Keep(ctx, fork, cp); !errors.As(err, &ce) || !bytes.Equal(ce.Kept, signed[5]) {
		t.Errorf("Keep of a fork: %v, want a CheckpointConflictError holding the first", err)
	}
	if got, _ := c.Get(ctx, 5); !bytes.Equal(got, signed[5]) {
		t.Error("a fork replaced the kept checkpoint")
	}
	if err := c.PutTimestamp(ctx, 5, []byte("token")); err != nil {
		t.Fatal(err)
	}
	if err := c.PutTimestamp(ctx, 5, []byte("another token")); err != nil {
		t.Errorf("a second token: %v, want nil (the first kept)", err)
	}
	if got, err := c.Timestamp(ctx, 5); err != nil || string(got) != "token" {
		t.Errorf("Timestamp(5) = %q, %v; want the first token", got, err)
	}
	if _, err := c.Timestamp(ctx, 1000); !errors.Is(err, ledger.ErrNotKept) {
		t.Errorf("Timestamp of an unstamped checkpoint: %v, want ErrNotKept", err)
	}
	if err := c.PutTimestamp(ctx, 77, []byte("lone")); err != nil {
		t.Fatal(err)
	}
	all, err := c.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ledger.KeptFile{{Size: 0}, {Size: 5, Timestamped: true}, {Size: 1000}, {Size: 1234067}}
	if !slices.Equal(all, want) {
		t.Errorf("All() = %v, want %v", all, want)
	}
	if at, err := c.KeptAt(ctx, 1000); err != nil || time.Since(at) > time.Minute || time.Until(at) > time.Minute {
		t.Errorf("KeptAt(1000) = %v, %v; want about now", at, err)
	}
	if _, err := c.KeptAt(ctx, 999); !errors.Is(err, ledger.ErrNotKept) {
		t.Errorf("KeptAt of a size not kept: %v, want ErrNotKept", err)
	}
	if lone, err := c.LoneTokens(ctx); err != nil || !slices.Equal(lone, []uint64{77}) {
		t.Errorf("LoneTokens() = %v, %v; want [77]", lone, err)
	}
}
