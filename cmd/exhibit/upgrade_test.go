package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestUpgrade: an archive written by format 1 (archive/testdata/v1: with
// witnesses, a TSA, tracking and a key rotation) is refused by the
// commands that only read, until exhibit upgrade upgrades it, once. Then
// it audits clean, its format-1 bundle files included, and every record's
// bundle, computed now against the checkpoint it was first published
// with, verifies, as its bundle file still does.
func TestUpgrade(t *testing.T) {
	src, err := filepath.Abs(filepath.Join("..", "..", "archive", "testdata", "v1"))
	if err != nil {
		t.Fatal(err)
	}
	inTemp(t)
	if err := os.CopyFS("exhibit-archive", os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	bundles, err := filepath.Glob(filepath.Join("exhibit-archive", "bundles", "*.json"))
	if err != nil || len(bundles) == 0 {
		t.Fatalf("no bundle files in %s: %v", src, err)
	}
	id := func(bundle string) string { return strings.TrimSuffix(filepath.Base(bundle), ".json") }

	for _, args := range [][]string{{"show", id(bundles[0])}, {"prove", id(bundles[0])}, {"export", id(bundles[0]), "-o", "p.zip"}} {
		exhibit(t, args...).want(t, 1, "format 1", "exhibit upgrade")
	}
	if _, err := os.Stat("p.zip"); !os.IsNotExist(err) {
		t.Errorf("export of a format-1 archive wrote p.zip: %v", err)
	}
	exhibit(t, "upgrade").want(t, 0, "from format 1 to 2: ", " checkpoints kept")
	exhibit(t, "upgrade").want(t, 0, "of format 2 already: nothing to do")
	if _, err := os.Stat(filepath.Join("exhibit-archive", "checkpoints")); err != nil {
		t.Fatalf("the upgrade kept no checkpoints: %v", err)
	}
	exhibit(t, "audit").want(t, 0, "bundles  "+strconv.Itoa(len(bundles))+" format-1 bundle files verified", "audit: ok")

	policy := filepath.Join("exhibit-archive", "witness-policy.txt")
	for _, b := range bundles {
		exhibit(t, "verify", b, "--policy", policy).want(t, 0, "verified: record "+id(b))
		exhibit(t, "verify", proveFile(t, id(b)), "--policy", policy).want(t, 0, "verified: record "+id(b))
	}
	exhibit(t, "show", id(bundles[0])).want(t, 0, id(bundles[0]))
}
