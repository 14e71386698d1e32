package export_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
)

// TestExportAfterRotation: a record made before a key rotation is exported
// under the old key (which signs its statement and, during the overlap,
// the latest checkpoint too); once the overlap has ended, it is exported
// against the checkpoint it was published with, and refused against a
// checkpoint its key did not sign.
func TestExportAfterRotation(t *testing.T) {
	ctx := context.Background()
	dir := archivetest.Init(t, archive.InitOptions{})
	cfg, err := archive.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := cfg.Key()
	capture := func(text string) *record.Record {
		a := archivetest.Open(t, dir, archive.OpenOptions{Write: true})
		defer a.Close(ctx)
		f := filepath.Join(t.TempDir(), "doc.txt")
		os.WriteFile(f, []byte(text), 0o644)
		rec, err := ingest.New(a).File(ctx, f, ingest.FileOptions{URL: "https://test.example/" + text})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	r1 := capture("before")
	if cfg, err = archive.Rotate(ctx, dir, archive.RotateOptions{}); err != nil {
		t.Fatal(err)
	}
	nw, _ := cfg.Key()
	r2 := capture("during")

	a := archivetest.Open(t, dir, archive.OpenOptions{})
	if rep := check(build(t, a, r1.ID, export.Options{}), old); !rep.Verified {
		t.Errorf("old record, package under the old key: %+v", rep.Failed())
	}
	if rep := check(build(t, a, r2.ID, export.Options{}), nw); !rep.Verified {
		t.Errorf("new record, package under the new key: %+v", rep.Failed())
	}
	a.Close(ctx)

	if _, err := archive.Retire(ctx, dir, old.VKey, nil); err != nil {
		t.Fatal(err)
	}
	capture("after")
	a = archivetest.Open(t, dir, archive.OpenOptions{})
	// By default a record is exported against the checkpoint it was
	// first published with, which its own key signed.
	data := build(t, a, r1.ID, export.Options{})
	if rep := check(data, old); !rep.Verified {
		t.Errorf("old record after the overlap, against its own checkpoint: %+v", rep.Failed())
	}
	if got := bundleSize(t, a, unzip(t, data)); got != r1.Published {
		t.Errorf("old record after the overlap: exported against tree size %d, want %d (the checkpoint it was first published with)", got, r1.Published)
	}
	// The latest checkpoint, which only the new key signed, shares no key
	// with the old record's statement.
	latest, _, err := a.Ledger().Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := export.Build(ctx, a, r1.ID, export.Options{Checkpoint: latest}); !errors.Is(err, export.ErrNoCommonKey) {
		t.Errorf("an old record against the latest checkpoint, which its key did not sign: %v, want ErrNoCommonKey", err)
	}
}
