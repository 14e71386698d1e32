// Package storetest is the conformance suite every store.Store backend
// passes: run it from the backend's tests with Run.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/store"
)

// Backend gives the suite a fresh, empty store and a way to damage it
// behind its back.
type Backend struct {
	// New returns an empty store.
	New func(t *testing.T) store.Store
	// Corrupt replaces the stored bytes of the object named digest with
	// data, bypassing the store's checks.
	Corrupt func(t *testing.T, s store.Store, digest string, data []byte)
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func read(t *testing.T, s store.Store, d string) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(context.Background(), d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// errReader fails after yielding some bytes.
type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("source failed")
	}
	n := min(len(p), e.n)
	for i := range n {
		p[i] = 'x'
	}
	e.n -= n
	return n, nil
}

func count(t *testing.T, s store.Store) int {
	t.Helper()
	n := 0
	for _, err := range s.List(context.Background()) {
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		n++
	}
	return n
}

// Run runs the conformance suite.
func Run(t *testing.T, b Backend) {
	ctx := context.Background()
	data := []byte("<html><body>The policy, as it was.</body></html>\n")
	d := digest(data)

	t.Run("PutGet", func(t *testing.T) {
		s := b.New(t)
		obj, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), "")
		if err != nil {
			t.Fatal(err)
		}
		if obj.SHA256 != d || obj.Size != int64(len(data)) || obj.Existed {
			t.Fatalf("Put = %+v, want %s, %d bytes, new", obj, d, len(data))
		}
		got, err := read(t, s, d)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("Get = %q, %v", got, err)
		}
		if n, err := s.Stat(ctx, d); err != nil || n != int64(len(data)) {
			t.Fatalf("Stat = %d, %v", n, err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		s := b.New(t)
		obj, err := s.Put(ctx, bytes.NewReader(nil), 0, "")
		if err != nil || obj.SHA256 != digest(nil) || obj.Size != 0 {
			t.Fatalf("Put(empty) = %+v, %v", obj, err)
		}
		if got, err := read(t, s, obj.SHA256); err != nil || len(got) != 0 {
			t.Fatalf("Get(empty) = %q, %v", got, err)
		}
	})
	t.Run("Dedup", func(t *testing.T) {
		s := b.New(t)
		s.Put(ctx, bytes.NewReader(data), -1, "")
		obj, err := s.Put(ctx, bytes.NewReader(data), -1, d)
		if err != nil || !obj.Existed || obj.SHA256 != d {
			t.Fatalf("second Put = %+v, %v; want Existed", obj, err)
		}
		if n := count(t, s); n != 1 {
			t.Fatalf("%d objects after storing the same bytes twice, want 1", n)
		}
	})
	t.Run("ConcurrentSamePut", func(t *testing.T) {
		s := b.New(t)
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), d); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got, err := read(t, s, d); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after concurrent Puts: %q, %v", got, err)
		}
		if n := count(t, s); n != 1 {
			t.Fatalf("%d objects, want 1", n)
		}
	})
	t.Run("WantMismatchStoresNothing", func(t *testing.T) {
		s := b.New(t)
		other := strings.Repeat("ab", 32)
		_, err := s.Put(ctx, bytes.NewReader(data), -1, other)
		var dm *store.DigestMismatchError
		if !errors.As(err, &dm) || dm.Got != d || dm.Want != other || errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("Put with wrong digest: %v", err)
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("%d objects after a refused Put", n)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Stat after refused Put: %v", err)
		}
	})
	t.Run("SizeMismatchStoresNothing", func(t *testing.T) {
		s := b.New(t)
		if _, err := s.Put(ctx, bytes.NewReader(data), int64(len(data))+1, ""); err == nil {
			t.Fatal("Put accepted fewer bytes than announced")
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("%d objects after a refused Put", n)
		}
	})
	t.Run("ReaderErrorStoresNothing", func(t *testing.T) {
		s := b.New(t)
		if _, err := s.Put(ctx, &errReader{n: 10000}, -1, ""); err == nil || !strings.Contains(err.Error(), "source failed") {
			t.Fatalf("Put from a failing reader: %v", err)
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("%d objects after a failed Put", n)
		}
	})
	t.Run("CancelledStoresNothing", func(t *testing.T) {
		s := b.New(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, bytes.NewReader(data), -1, ""); !errors.Is(err, context.Canceled) {
			t.Fatalf("Put with a cancelled context: %v", err)
		}
		if n := count(t, s); n != 0 {
			t.Fatalf("%d objects after a cancelled Put", n)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := b.New(t)
		if _, err := s.Get(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get missing: %v", err)
		}
		if _, err := s.Stat(ctx, d); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Stat missing: %v", err)
		}
	})
	t.Run("BadDigest", func(t *testing.T) {
		s := b.New(t)
		for _, bad := range []string{"", "abc", strings.ToUpper(d), "../" + d[3:], d + "0"} {
			if _, err := s.Get(ctx, bad); !errors.Is(err, store.ErrDigest) {
				t.Errorf("Get(%q): %v, want ErrDigest", bad, err)
			}
			if _, err := s.Put(ctx, bytes.NewReader(data), -1, bad); bad != "" && !errors.Is(err, store.ErrDigest) {
				t.Errorf("Put(want %q): %v, want ErrDigest", bad, err)
			}
		}
	})
	t.Run("List", func(t *testing.T) {
		s := b.New(t)
		want := map[string]bool{}
		for i := range 20 {
			b := []byte(fmt.Sprintf("object %d", i))
			obj, err := s.Put(ctx, bytes.NewReader(b), -1, "")
			if err != nil {
				t.Fatal(err)
			}
			want[obj.SHA256] = true
		}
		for got, err := range s.List(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			if !want[got] {
				t.Errorf("List yields %s, not stored", got)
			}
			delete(want, got)
		}
		if len(want) != 0 {
			t.Errorf("List missed %d objects", len(want))
		}
	})
	t.Run("CorruptionCaughtOnRead", func(t *testing.T) {
		if b.Corrupt == nil {
			t.Skip("backend cannot be corrupted from the test")
		}
		s := b.New(t)
		s.Put(ctx, bytes.NewReader(data), -1, "")
		b.Corrupt(t, s, d, []byte("<html><body>The policy, as altered.</body></html>\n"))
		_, err := read(t, s, d)
		var dm *store.DigestMismatchError
		if !errors.Is(err, store.ErrCorrupt) || !errors.As(err, &dm) || dm.Want != d {
			t.Fatalf("reading a corrupted object: %v, want ErrCorrupt", err)
		}
	})
}
