package archive_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// TestClaim takes a lease through one frontend of a shared archive: the
// other cannot take it, before its TTL and after (it is renewed while
// held), nor can a read-only archive; once released, the other takes it
// at once. An archive with one writer has every lease.
func TestClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw, and waits out a lease's TTL")
	}
	o, _, _ := archivetest.AWS(t, "lease.test/log")
	ctx := archivetest.Context(t, 3*time.Minute)
	first := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, first, o); err != nil {
		t.Fatal(err)
	}
	a := archivetest.Open(t, first, archive.OpenOptions{Write: true})
	defer a.Close(ctx)
	b := archivetest.Open(t, archivetest.Join(t, first), archive.OpenOptions{Write: true})
	defer b.Close(ctx)

	work, release, ok, err := a.Claim(ctx, "track", "doc")
	if err != nil || !ok {
		t.Fatalf("Claim: %v, %v", ok, err)
	}
	if _, _, ok, err := b.Claim(ctx, "track", "doc"); err != nil || ok {
		t.Fatalf("a second frontend's Claim of a held lease: %v, %v; want refused", ok, err)
	}
	if _, _, ok, err := b.Claim(ctx, "track", "other"); err != nil || !ok {
		t.Fatalf("another lease: %v, %v", ok, err)
	}
	// Renewed while held: still refused after the TTL.
	time.Sleep(archive.LeaseTTL + 5*time.Second)
	if work.Err() != nil {
		t.Fatalf("the holder's work was cancelled: %v", context.Cause(work))
	}
	if _, _, ok, err := b.Claim(ctx, "track", "doc"); err != nil || ok {
		t.Fatalf("Claim of a lease held past its TTL: %v, %v; want refused (renewed)", ok, err)
	}
	release()
	if work.Err() == nil {
		t.Error("the work's context is not done after release")
	}
	if errors.Is(context.Cause(work), archive.ErrLeaseLost) {
		t.Error("a released lease reported lost")
	}
	_, release2, ok, err := b.Claim(ctx, "track", "doc")
	if err != nil || !ok {
		t.Fatalf("Claim of a released lease: %v, %v", ok, err)
	}
	release2()

	ro := archivetest.Open(t, first, archive.OpenOptions{})
	defer ro.Close(ctx)
	if _, _, _, err := ro.Claim(ctx, "track", "doc"); !errors.Is(err, archive.ErrReadOnly) {
		t.Errorf("Claim on a read-only archive: %v, want ErrReadOnly", err)
	}
	// One writer, no database: every lease.
	solo := archivetest.New(t, archive.InitOptions{})
	if _, release, ok, err := solo.Claim(ctx, "track", "doc"); err != nil || !ok {
		t.Errorf("Claim on an archive with one writer: %v, %v", ok, err)
	} else {
		release()
	}
}
