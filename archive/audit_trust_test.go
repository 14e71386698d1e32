package archive_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestAuditTrust damages the trust evidence of an archive with three real
// witnesses (2 of 3, fail-closed) and a real TSA, one way at a time, and
// checks that Audit reports each: a corrupted stored token, tokens swapped
// between two tree sizes, a fail-open mark injected in a bundle file, a
// bundle file's token swapped for another checkpoint's, and a bundle
// file's checkpoint stripped of its cosignatures.
func TestAuditTrust(t *testing.T) {
	tr := newTrusted(t, false, true)
	var recs []string
	var sizes []uint64
	for range 2 {
		rec, err := tr.capture(t)
		if err != nil {
			t.Fatal(err)
		}
		b, rep := tr.check(t, rec)
		if b.Timestamp == nil {
			t.Fatalf("record %s has no token", rec.RecordID)
		}
		recs, sizes = append(recs, rec.RecordID), append(sizes, rep.Checkpoint.Size)
	}
	if sizes[0] == sizes[1] {
		t.Fatalf("both records have the checkpoint of size %d", sizes[0])
	}
	auditOK(t, tr.a)

	tsr := func(i int) string {
		return filepath.Join(tr.dir, "log", "timestamps", fmt.Sprintf("%d.tsr", sizes[i]))
	}
	bundle := func(i int) string { return filepath.Join(tr.dir, "bundles", recs[i]+".json") }
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// damage applies f to the archive's files, audits, restores them and
	// returns the problems found.
	damage := func(t *testing.T, f func()) []string {
		t.Helper()
		saved := map[string][]byte{}
		for i := range recs {
			saved[tsr(i)], saved[bundle(i)] = read(tsr(i)), read(bundle(i))
		}
		f()
		rep, err := tr.a.Audit(context.Background(), archive.AuditOptions{})
		for p, b := range saved {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range rep.Problems {
			got = append(got, p.Kind+" "+p.Where+": "+p.Detail)
		}
		return got
	}
	editBundle := func(i int, f func(b *verify.Bundle)) {
		b, err := verify.ParseBundle(read(bundle(i)))
		if err != nil {
			t.Fatal(err)
		}
		f(b)
		if err := os.WriteFile(bundle(i), b.Marshal(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := func(t *testing.T, got []string, prefix string) {
		t.Helper()
		for _, g := range got {
			if strings.HasPrefix(g, prefix) {
				return
			}
		}
		t.Errorf("no problem %q in %q", prefix, got)
	}

	t.Run("corrupt-token", func(t *testing.T) {
		got := damage(t, func() {
			b := read(tsr(0))
			b[len(b)-10] ^= 1
			os.WriteFile(tsr(0), b, 0o644)
		})
		want(t, got, "timestamp "+tsr(0)+": does not verify")
	})
	t.Run("swapped-tokens", func(t *testing.T) {
		got := damage(t, func() {
			a, b := read(tsr(0)), read(tsr(1))
			os.WriteFile(tsr(0), b, 0o644)
			os.WriteFile(tsr(1), a, 0o644)
		})
		want(t, got, "timestamp "+tsr(0)+": does not verify")
		want(t, got, "timestamp "+tsr(1)+": does not verify")
	})
	t.Run("fail-open-mark", func(t *testing.T) {
		got := damage(t, func() {
			editBundle(0, func(b *verify.Bundle) { b.Witnessing = verify.WitnessingFailOpen })
		})
		want(t, got, "witness "+bundle(0)+`: the bundle says "witnessing": "fail-open", but the archive is not configured`)
	})
	t.Run("removed-bundle-token", func(t *testing.T) {
		got := damage(t, func() {
			editBundle(0, func(b *verify.Bundle) { b.Timestamp = nil })
		})
		want(t, got, "timestamp "+bundle(0)+": the bundle carries no time-stamp token, but the archive holds")
	})
	t.Run("swapped-bundle-token", func(t *testing.T) {
		other := read(tsr(1))
		got := damage(t, func() {
			editBundle(0, func(b *verify.Bundle) { b.Timestamp = other })
		})
		want(t, got, "timestamp "+bundle(0)+": the bundle's time-stamp token is not the archive's")
		want(t, got, "timestamp "+bundle(0)+": the bundle's time-stamp token does not verify over its checkpoint")
	})
	t.Run("no-quorum", func(t *testing.T) {
		got := damage(t, func() {
			editBundle(0, func(b *verify.Bundle) {
				var keep []string
				for _, l := range strings.SplitAfter(b.Checkpoint, "\n") {
					if !strings.HasPrefix(l, "— ") || strings.HasPrefix(l, "— trust.example/log ") {
						keep = append(keep, l)
					}
				}
				b.Checkpoint = strings.Join(keep, "")
			})
		})
		want(t, got, "witness "+bundle(0)+": the checkpoint of size")
	})
	auditOK(t, tr.a)
}
