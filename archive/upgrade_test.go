package archive_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// v1Archive copies testdata/v1, an archive written by format 1 (see
// testdata/gen-v1), to a temporary directory.
func v1Archive(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "v1")
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", "v1"), dir).CombinedOutput(); err != nil {
		t.Fatalf("copying testdata/v1: %v: %s", err, out)
	}
	return dir
}

// legacyBundles reads the bundle files of a format-1 archive, by record ID.
func legacyBundles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "bundles"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, "bundles", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = b
	}
	return out
}

// verifierOptions are a verifier's options for the archive in dir: its
// keys but the current one, its witness policy and its TSA's roots.
func verifierOptions(t *testing.T, dir string, keys verify.Keyring) verify.Options {
	t.Helper()
	pol, err := verify.ParsePolicy(archivetest.ReadFile(t, filepath.Join(dir, "witness-policy.txt")))
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := verify.ParseTSARoots(archivetest.ReadFile(t, filepath.Join(dir, "tsa-roots.pem")))
	if err != nil {
		t.Fatal(err)
	}
	return verify.Options{Keys: keys[1:], Policy: pol, Timestamps: &tsa}
}

// TestUpgrade opens an archive written by format 1 (with three witnesses,
// a TSA, captures, an import, tracking statements, a key rotation, a bundle
// rewritten by reindex against a later checkpoint, and a token still
// pending): readers refuse it until it is upgraded; a writer upgrades it,
// keeping every checkpoint its bundle files and pending tokens held, with
// their tokens; every record then proves against the checkpoint it was
// first published with, as its bundle file did, with the same token; every
// bundle file still verifies, unchanged; the audit is clean.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	dir := v1Archive(t)
	before := legacyBundles(t, dir)
	if len(before) < 15 {
		t.Fatalf("testdata/v1 holds %d bundle files", len(before))
	}
	if _, err := archive.Open(ctx, dir, archive.OpenOptions{}); !errors.Is(err, archive.ErrUpgrade) {
		t.Fatalf("read-only Open of a format-1 archive: %v, want ErrUpgrade", err)
	}
	// The witnesses and the TSA of testdata/v1 are gone: nothing asks them.
	a := archivetest.Open(t, dir, archive.OpenOptions{Write: true, TSATimeout: 200e6})
	if v := a.Config().FormatVersion; v != archive.FormatVersion {
		t.Fatalf("format %d after the upgrade", v)
	}
	opts := verifierOptions(t, dir, a.Keys())
	kept, err := a.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keptSizes := map[uint64]bool{}
	for _, k := range kept {
		keptSizes[k.Size] = true
	}
	rewritten := 0
	for id, raw := range before {
		old, err := verify.ParseBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		// The bundle file verifies as it did, unchanged.
		o := opts
		o.RecordID = id
		rep := verify.Check(raw, a.Key(), o)
		pending := old.TimestampStatus == verify.TimestampPending
		if !rep.Verified && !(pending && rep.Failed().Name == verify.CheckTimestampToken) {
			t.Errorf("bundle file %s: %+v", id, rep.Failed())
			continue
		}
		if !keptSizes[rep.Checkpoint.Size] {
			t.Errorf("bundle file %s: its checkpoint of tree size %d is not kept", id, rep.Checkpoint.Size)
		}
		// The record proves against the checkpoint it was first published
		// with: the bundle file's, unless reindex rewrote it against a
		// later one.
		rec, b, err := a.Prove(ctx, id, archive.ProveOptions{})
		if err != nil {
			t.Fatalf("Prove(%s): %v", id, err)
		}
		if b.Checkpoint != old.Checkpoint {
			first, _, _ := a.Keys().OpenCheckpoint([]byte(b.Checkpoint))
			if first.Size >= rep.Checkpoint.Size || first.Size <= rec.Index {
				t.Errorf("record %s proves against tree size %d; its bundle file against %d", id, first.Size, rep.Checkpoint.Size)
			}
			rewritten++
		}
		if b.Checkpoint == old.Checkpoint && string(b.Timestamp) != string(old.Timestamp) {
			t.Errorf("record %s: the token is not the bundle file's", id)
		}
		if b.Timestamp == nil && b.TimestampStatus != verify.TimestampPending {
			t.Errorf("record %s: neither a token nor pending", id)
		}
		if !pending {
			if r := verify.Check(b.Marshal(), a.Key(), o); !r.Verified {
				t.Errorf("record %s, proved now: %+v", id, r.Failed())
			}
		}
	}
	if rewritten != 1 {
		t.Errorf("%d records prove against an earlier checkpoint than their bundle file; testdata/v1 has one rewritten by reindex", rewritten)
	}
	// The token pending at the upgrade is still pending (its TSA is gone),
	// and said so.
	rep := archivetest.AuditOK(t, a)
	if rep.Pending != 1 || rep.Bundles != len(before) {
		t.Errorf("audit: %d tokens pending, %d bundle files; want 1 and %d", rep.Pending, rep.Bundles, len(before))
	}
	// The files of format 1 are left as they were.
	for id, raw := range legacyBundles(t, dir) {
		if string(raw) != string(before[id]) {
			t.Errorf("bundle file %s changed", id)
		}
	}
	// Every record of the log proves.
	for r, err := range a.Index().Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Prove(ctx, r.ID, archive.ProveOptions{}); err != nil {
			t.Errorf("Prove(%s): %v", r.ID, err)
		}
	}
	a.Close(ctx)

	// Readers open it now; a second upgrade (of a config set back to
	// format 1, as by an upgrade interrupted before its last step) keeps
	// the same checkpoints.
	r := archivetest.Open(t, dir, archive.OpenOptions{})
	r.Close(ctx)
	cfg, _ := os.ReadFile(filepath.Join(dir, "exhibit.json"))
	var c map[string]any
	json.Unmarshal(cfg, &c)
	c["format_version"] = 1
	cfg, _ = json.Marshal(c)
	os.WriteFile(filepath.Join(dir, "exhibit.json"), cfg, 0o644)
	a = archivetest.Open(t, dir, archive.OpenOptions{Write: true, TSATimeout: 200e6})
	again, err := a.Checkpoints(ctx)
	if err != nil || len(again) != len(kept) {
		t.Errorf("after a second upgrade: %d checkpoints (%v), want %d", len(again), err, len(kept))
	}
	archivetest.AuditOK(t, a)
}

// TestUpgradeRefusesForeign: a bundle file whose checkpoint is not the
// log's (signed by another key, or of another tree) is left out of the
// kept checkpoints, and the upgrade goes on.
func TestUpgradeRefusesForeign(t *testing.T) {
	ctx := context.Background()
	dir := v1Archive(t)
	a2, recs, _ := archivetest.SmallLog(t, 2)
	_, foreign, err := a2.Prove(ctx, recs[1].ID, archive.ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bundles", foreign.RecordID+".json"), foreign.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	a := archivetest.Open(t, dir, archive.OpenOptions{Write: true, TSATimeout: 200e6})
	cps, err := a.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range cps {
		signed, _, err := a.CheckpointAt(ctx, k.Size)
		if err != nil {
			t.Fatalf("kept checkpoint %d: %v", k.Size, err)
		}
		if string(signed) == foreign.Checkpoint {
			t.Errorf("the foreign checkpoint of size %d was kept", k.Size)
		}
	}
	if p := filepath.Join(dir, "checkpoints", ledger.CheckpointPath(2)); fileHolds(p, []byte(foreign.Checkpoint)) {
		t.Errorf("%s holds the foreign checkpoint", p)
	}
}
