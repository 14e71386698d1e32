package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

func TestCheckpointPath(t *testing.T) {
	for _, tc := range []struct {
		size uint64
		path string
	}{
		{0, "000"}, {7, "007"}, {999, "999"}, {1000, "x001/000"}, {1067, "x001/067"},
		{999999, "x999/999"}, {1000000, "x001/x000/000"}, {1234067, "x001/x234/067"},
		{1<<64 - 1, "x018/x446/x744/x073/x709/x551/615"},
	} {
		if got := ledger.CheckpointPath(tc.size); got != tc.path {
			t.Errorf("CheckpointPath(%d) = %q, want %q", tc.size, got, tc.path)
		}
		if got, err := ledger.ParseCheckpointPath(tc.path); err != nil || got != tc.size {
			t.Errorf("ParseCheckpointPath(%q) = %d, %v; want %d", tc.path, got, err, tc.size)
		}
	}
	for _, bad := range []string{
		"", "7", "0007", "x001", "001/000", "x000/123", "x1/000", "x001/x01/000", "abc",
		"x001/000/", "/000", "x001//000", "x018/x446/x744/x073/x709/x551/616", "x999/x999/x999/x999/x999/x999/x999/000",
	} {
		if n, err := ledger.ParseCheckpointPath(bad); err == nil {
			t.Errorf("ParseCheckpointPath(%q) = %d, want an error", bad, n)
		}
	}
}

func FuzzParseCheckpointPath(f *testing.F) {
	f.Add("x001/x234/067")
	f.Add("000")
	f.Fuzz(func(t *testing.T, p string) {
		n, err := ledger.ParseCheckpointPath(p)
		if err == nil && ledger.CheckpointPath(n) != p {
			t.Fatalf("ParseCheckpointPath(%q) = %d, which formats as %q", p, n, ledger.CheckpointPath(n))
		}
	})
}

func TestCheckpointsStore(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "checkpoints")
	c := ledger.NewCheckpoints(dir)
	if all, err := c.All(ctx); err != nil || len(all) != 0 {
		t.Fatalf("All of a store never written: %v, %v", all, err)
	}
	sizes := []uint64{2000, 5, 1000000, 999, 1067, 999999, 1000}
	for _, n := range sizes {
		if err := c.Keep(ctx, fmt.Appendf(nil, "checkpoint %d\n", n), &verify.Checkpoint{Size: n}); err != nil {
			t.Fatal(err)
		}
	}
	// Keeping the same bytes again is fine; other bytes are refused and
	// the first kept.
	if err := c.Keep(ctx, []byte("checkpoint 5\n"), &verify.Checkpoint{Size: 5}); err != nil {
		t.Errorf("keeping the same checkpoint again: %v", err)
	}
	var ce *ledger.CheckpointConflictError
	if err := c.Keep(ctx, []byte("another 5\n"), &verify.Checkpoint{Size: 5}); !errors.As(err, &ce) || ce.Size != 5 || string(ce.Kept) != "checkpoint 5\n" {
		t.Errorf("keeping a different checkpoint of a kept size: %v", err)
	}
	if b, err := c.Get(ctx, 5); err != nil || string(b) != "checkpoint 5\n" {
		t.Errorf("Get(5) = %q, %v", b, err)
	}
	if _, err := c.Get(ctx, 6); !errors.Is(err, ledger.ErrNotKept) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get of a size never kept: %v", err)
	}
	fi, err := os.Stat(filepath.Join(dir, "x001", "x000", "000"))
	if err != nil || fi.Mode().Perm() != 0o444 {
		t.Errorf("kept file: %v, %v; want mode 0444", fi, err)
	}
	// Tokens: stored once, the first kept.
	if _, err := c.Timestamp(ctx, 999); !errors.Is(err, ledger.ErrNotKept) {
		t.Errorf("Timestamp before any: %v", err)
	}
	if err := c.PutTimestamp(ctx, 999, []byte("token one")); err != nil {
		t.Fatal(err)
	}
	if err := c.PutTimestamp(ctx, 999, []byte("token two")); err != nil {
		t.Fatal(err)
	}
	if b, err := c.Timestamp(ctx, 999); err != nil || string(b) != "token one" {
		t.Errorf("Timestamp(999) = %q, %v; want the first token", b, err)
	}
	// Files that are not the store's are skipped.
	os.WriteFile(filepath.Join(dir, ".x.tmp-1"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "x001", "12"), nil, 0o644)
	all, err := c.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{5, 999, 1000, 1067, 2000, 999999, 1000000}
	if len(all) != len(want) {
		t.Fatalf("All = %+v, want sizes %v", all, want)
	}
	for i, k := range all {
		if k.Size != want[i] || k.Timestamped != (k.Size == 999) {
			t.Errorf("All[%d] = %+v, want size %d (time-stamped only 999)", i, k, want[i])
		}
	}
}

// TestWriterKeepsEveryCheckpoint: every checkpoint the log publishes is
// kept, even those published between two polls of the writer (it keeps
// the last one before Tessera signs the next), and every Append returns
// the first kept checkpoint that covers its entry.
func TestWriterKeepsEveryCheckpoint(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	dir := t.TempDir()
	kept := ledger.NewCheckpoints(filepath.Join(dir, "checkpoints"))
	// Polls too rare to see anything: only the signing hook keeps.
	w, err := ledger.OpenWriter(ctx, filepath.Join(dir, "log"), s, ledger.Config{Keeper: kept, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Watch the published checkpoint as fast as possible.
	seen := map[string]bool{}
	stop := make(chan struct{})
	var watched sync.WaitGroup
	watched.Go(func() {
		for {
			if b, err := os.ReadFile(filepath.Join(dir, "log", "checkpoint")); err == nil {
				seen[string(b)] = true
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	var pendings []*ledger.Pending
	for i := range 12 {
		p, err := w.Add(ctx, fmt.Appendf(nil, "entry %d", i))
		if err != nil {
			t.Fatal(err)
		}
		pendings = append(pendings, p)
		time.Sleep(150 * time.Millisecond) // more than the checkpoint interval
	}
	// Every entry but the last is covered by a checkpoint kept by the
	// hook: the first kept one that covers it. (Usually each entry has a
	// checkpoint of its own; on a slow machine, say under the race
	// detector, Tessera may integrate two in one.)
	type published struct {
		idx  uint64
		size uint64
	}
	var pubs []published
	for i, p := range pendings[:len(pendings)-1] {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		idx, pub, err := w.Wait(wctx, p)
		cancel()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		b, err := kept.Get(ctx, pub.Size)
		if err != nil || !bytes.Equal(b, pub.Signed) || pub.Size <= idx {
			t.Errorf("entry %d at %d: published with %d (%v); want a kept checkpoint covering it", i, idx, pub.Size, err)
		}
		pubs = append(pubs, published{idx, pub.Size})
	}
	// The last entry is left to Close, which publishes and keeps a
	// checkpoint covering every entry whose index was handed out: hand
	// out its index (sequenced, not waited for), or Tessera's shutdown
	// need not wait for it (it did not, once, under load).
	if _, err := w.Index(pendings[len(pendings)-1]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := kept.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[uint64]bool{}
	for _, k := range all {
		sizes[k.Size] = true
	}
	for _, p := range pubs {
		for s := p.idx + 1; s < p.size; s++ {
			if sizes[s] {
				t.Errorf("entry %d: published with %d, but the kept checkpoint %d covers it first", p.idx, p.size, s)
			}
		}
	}
	close(stop)
	watched.Wait()
	if len(seen) < 10 {
		t.Fatalf("saw only %d published checkpoints", len(seen))
	}
	for cp := range seen {
		c, err := verify.OpenCheckpoint([]byte(cp), s.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		b, err := kept.Get(ctx, c.Size)
		if err != nil || string(b) != cp {
			t.Errorf("published checkpoint of size %d not kept: %v", c.Size, err)
		}
	}
	// Sizes 0 to 12, but for the few entries integrated with the next.
	if len(all) < 10 || all[0].Size != 0 || all[len(all)-1].Size != 12 {
		t.Errorf("kept %d checkpoints, want most of the sizes 0 to 12, with both: %+v", len(all), all)
	}
}

// failingKeeper fails once told to.
type failingKeeper struct {
	*ledger.Checkpoints
	mu   sync.Mutex
	fail bool
}

func (k *failingKeeper) Keep(ctx context.Context, signed []byte, cp *verify.Checkpoint) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail {
		return errors.New("disk full")
	}
	return k.Checkpoints.Keep(ctx, signed, cp)
}

// TestWriterKeeperFails: while checkpoints cannot be kept, nothing is
// acknowledged and no further checkpoint is signed; once they can, the
// entries are.
func TestWriterKeeperFails(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, false)
	dir := t.TempDir()
	k := &failingKeeper{Checkpoints: ledger.NewCheckpoints(filepath.Join(dir, "checkpoints"))}
	w, err := ledger.OpenWriter(ctx, filepath.Join(dir, "log"), s, ledger.Config{Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if _, _, err := w.Append(ctx, []byte("first")); err != nil {
		t.Fatal(err)
	}
	k.mu.Lock()
	k.fail = true
	k.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, time.Second)
	_, _, err = w.Append(actx, []byte("second"))
	cancel()
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("disk full")) {
		t.Fatalf("Append while checkpoints cannot be kept: %v", err)
	}
	// Tessera published the second entry's checkpoint, but signs none
	// after it: the third entry waits.
	p, err := w.Add(ctx, []byte("third"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	b, _ := os.ReadFile(filepath.Join(dir, "log", "checkpoint"))
	if cp, err := verify.OpenCheckpoint(b, s.PublicKey()); err != nil || cp.Size != 2 {
		t.Errorf("published %v (%v) while the last checkpoint was not kept; want size 2", cp, err)
	}
	k.mu.Lock()
	k.fail = false
	k.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	idx, pub, err := w.Wait(wctx, p)
	if err != nil || idx != 2 || pub.Size != 3 {
		t.Fatalf("third entry once the keeper works: %d, %+v, %v", idx, pub, err)
	}
	for _, n := range []uint64{1, 2, 3} {
		if _, err := k.Get(ctx, n); err != nil {
			t.Errorf("checkpoint %d not kept: %v", n, err)
		}
	}
}

// TestWriterRepublication: an idle log publishes its checkpoint again
// (Tessera's republication, here every 300ms), newly signed: with an ECDSA
// key its bytes differ. The first checkpoint of the tree stays the kept
// one, the writer goes on appending, and a writer opened after a
// republication does too. A checkpoint of the same size with another root
// is refused as a fork.
func TestWriterRepublication(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t, true)
	dir := t.TempDir()
	kept := ledger.NewCheckpoints(filepath.Join(dir, "checkpoints"))
	cfg := ledger.Config{Keeper: kept, RepublishInterval: 300 * time.Millisecond}
	logDir := filepath.Join(dir, "log")
	w, err := ledger.OpenWriter(ctx, logDir, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := w.Append(ctx, []byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	// Wait for a republication of tree 1.
	republished := func(size uint64) []byte {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			b, err := os.ReadFile(filepath.Join(logDir, "checkpoint"))
			if err == nil && !bytes.Equal(b, first.Signed) {
				if cp, err := verify.OpenCheckpoint(b, s.PublicKey()); err != nil || cp.Size != size {
					t.Fatalf("the log published %v (%v), want tree %d again", cp, err, size)
				}
				return b
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("the log did not republish its checkpoint")
		return nil
	}
	republished(1)
	time.Sleep(50 * time.Millisecond) // a few polls
	if b, err := kept.Get(ctx, 1); err != nil || !bytes.Equal(b, first.Signed) {
		t.Errorf("after a republication, kept checkpoint 1 is %q (%v), want the first", b, err)
	}
	if signed, _, err := w.Kept(); err != nil || !bytes.Equal(signed, first.Signed) {
		t.Errorf("after a republication, Kept() = %q (%v), want the first", signed, err)
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	idx, pub, err := w.Append(actx, []byte("second"))
	cancel()
	if err != nil || idx != 1 || pub.Size != 2 {
		t.Fatalf("Append after a republication: %d, %+v, %v", idx, pub, err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// Reopen; once it republished tree 2, reopen again: the writer keeps
	// the first checkpoint of tree 2 and appends.
	if w, err = ledger.OpenWriter(ctx, logDir, s, cfg); err != nil {
		t.Fatal(err)
	}
	first = pub
	again := republished(2)
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(logDir, "checkpoint")); !bytes.Equal(b, again) {
		t.Fatal("the log's checkpoint changed again before the reopen; the test is too slow")
	}
	if w, err = ledger.OpenWriter(ctx, logDir, s, cfg); err != nil {
		t.Fatalf("opening a log whose checkpoint is a republication: %v", err)
	}
	if signed, _, err := w.Kept(); err != nil || !bytes.Equal(signed, first.Signed) {
		t.Errorf("reopened, Kept() = %q (%v), want the first checkpoint of tree 2", signed, err)
	}
	actx, cancel = context.WithTimeout(ctx, 5*time.Second)
	idx, pub, err = w.Append(actx, []byte("third"))
	cancel()
	if err != nil || idx != 2 || pub.Size != 3 {
		t.Fatalf("Append after reopening: %d, %+v, %v", idx, pub, err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A fork: tree 3 kept with another root. The writer refuses to open.
	os.Chmod(filepath.Join(dir, "checkpoints", "003"), 0o644)
	forged, err := note.Sign(&note.Note{Text: "ledger.example/log\n3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "checkpoints", "003"), forged, 0o444); err != nil {
		t.Fatal(err)
	}
	if w, err := ledger.OpenWriter(ctx, logDir, s, cfg); err == nil {
		w.Close(ctx)
		t.Fatal("opened a log whose kept checkpoint of its tree size has another root")
	}
}
