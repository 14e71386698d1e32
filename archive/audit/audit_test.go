package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"k8s.io/klog/v2"

	_ "modernc.org/sqlite"
)

func TestMain(m *testing.M) {
	// Tessera logs through klog; keep test output readable.
	klog.SetSlogLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

func run(t *testing.T, a *archive.Archive) *audit.Report {
	t.Helper()
	rep, err := audit.Run(context.Background(), a, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// problems lists a report's problems as "kind where: detail".
func problems(rep *audit.Report) []string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, p.Kind+" "+p.Where+": "+p.Detail)
	}
	return out
}

func want(t *testing.T, got []string, prefix string) {
	t.Helper()
	for _, g := range got {
		if strings.HasPrefix(g, prefix) {
			return
		}
	}
	t.Errorf("no problem %q in %q", prefix, got)
}

// TestAuditFindsDamage: a corrupted, a missing and a stray object are each
// reported, and a corrupted snapshot fails on read.
func TestAuditFindsDamage(t *testing.T) {
	ctx := context.Background()
	a, recs, _ := archivetest.SmallLog(t, 3)
	objPath := func(d string) string { return filepath.Join(a.Dir(), "objects", "sha256", d[:2], d) }

	corrupt := objPath(recs[0].SHA256)
	archivetest.Rewrite(t, corrupt, []byte("<html>altered</html>"))
	os.Remove(objPath(recs[1].SHA256))
	stray := []byte("stray")
	if _, err := a.Store().Put(ctx, bytes.NewReader(stray), int64(len(stray)), ""); err != nil {
		t.Fatal(err)
	}

	rep := run(t, a)
	if rep.OK {
		t.Fatal("audit passed a damaged archive")
	}
	kinds := map[string]string{}
	for _, p := range rep.Problems {
		kinds[p.Kind] = p.Where
	}
	if kinds["corrupt"] != recs[0].SHA256 || kinds["missing"] != recs[1].SHA256 || kinds["orphaned"] != archivetest.SHA256(stray) {
		t.Errorf("problems %+v", rep.Problems)
	}
	rc, err := a.Store().Get(ctx, recs[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("reading a corrupted object: %v", err)
	}
	// The bundle still verifies (the log is intact) but not with the
	// corrupted snapshot.
	_, b, err := a.Prove(ctx, recs[0].ID, archive.ProveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := verify.Check(b.Marshal(), a.Key(), verify.Options{Snapshot: bytes.NewReader(archivetest.ReadFile(t, corrupt))})
	if r.Verified || r.Failed().Name != verify.CheckSnapshotDigest {
		t.Errorf("corrupted snapshot: %+v", r.Failed())
	}
}

// TestAuditIndex: an index record holding another statement, one pointing
// at other content, a kept checkpoint the index does not know, and a
// configuration publishing a key other than the signing key are each
// reported; reindex repairs the index.
func TestAuditIndex(t *testing.T) {
	ctx := context.Background()
	a, recs, _ := archivetest.SmallLog(t, 4)
	dir := a.Dir()
	a.Close(ctx)

	db, err := sql.Open("sqlite", filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Swap a record's statement for another's, behind exhibit's back.
	if _, err := db.Exec(`UPDATE records SET statement = ? WHERE record_id = ?`, recs[1].Payload, recs[0].ID); err != nil {
		t.Fatal(err)
	}
	// Point another record at other content: a re-import must not trust it.
	if _, err := db.Exec(`UPDATE records SET url = 'https://evil.example/', sha256 = ? WHERE record_id = ?`, strings.Repeat("0", 64), recs[2].ID); err != nil {
		t.Fatal(err)
	}
	// Forget a kept checkpoint.
	if _, err := db.Exec(`DELETE FROM checkpoints WHERE size = (SELECT MAX(size) FROM checkpoints)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b := archivetest.Open(t, dir, archive.OpenOptions{Lock: true})
	rep := run(t, b)
	b.Close(ctx)
	got := problems(rep)
	for _, p := range rep.Problems {
		if p.Kind != "index" {
			t.Errorf("problem %+v, want only index problems", p)
		}
	}
	want(t, got, "index entry 0: the index's record "+recs[0].ID+" holds another statement than the entry's")
	want(t, got, "index index.db: record "+recs[2].ID+": its columns sha256, url are not what its statement says")
	want(t, got, "index checkpoints/")

	b = archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	if _, err := b.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	archivetest.AuditOK(t, b)
	b.Close(ctx)

	// An index that is not a database: the audit says so and checks the
	// rest, which is sound; a writer rebuilds it.
	archivetest.Rewrite(t, filepath.Join(dir, "index.db"), bytes.Repeat([]byte("not SQLite "), 1000))
	if _, err := archive.Open(ctx, dir, archive.OpenOptions{Lock: true}); err == nil || !strings.Contains(err.Error(), "exhibit reindex") {
		t.Errorf("Open of an archive whose index is not a database: %v", err)
	}
	b = archivetest.Open(t, dir, archive.OpenOptions{Lock: true, IndexOptional: true})
	rep = run(t, b)
	b.Close(ctx)
	if got := problems(rep); len(got) != 1 || !strings.HasPrefix(got[0], "index index.db: ") || rep.LogSize != 4 {
		t.Errorf("audit of an archive whose index is not a database: %q (log size %d)", got, rep.LogSize)
	}
	b = archivetest.Open(t, dir, archive.OpenOptions{Write: true})
	archivetest.AuditOK(t, b)
	b.Close(ctx)

	// A configuration that publishes another key is caught.
	cfgPath := filepath.Join(dir, "exhibit.json")
	var c map[string]any
	json.Unmarshal(archivetest.ReadFile(t, cfgPath), &c)
	other, _ := verify.NewPublicKey("test.example/log", make(ed25519.PublicKey, 32))
	c["vkey"] = other.VKey
	cfg, _ := json.Marshal(c)
	os.WriteFile(cfgPath, cfg, 0o644)
	conf, err := archive.ReadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := conf.CheckKeyFile(dir); !errors.Is(err, archive.ErrKeyMismatch) {
		t.Errorf("CheckKeyFile with a swapped vkey: %v", err)
	}
	if _, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true}); !errors.Is(err, archive.ErrKeyMismatch) {
		t.Errorf("Open for writing with a swapped vkey: %v", err)
	}
}

// TestAuditCheckpoints damages the kept checkpoints of a plain archive, one
// way at a time: a forged root (signature and tree both catch it), a
// checkpoint signed by another key, a deleted latest checkpoint (the log
// publishes one that is not kept), a checkpoint whose file is named for
// another size.
func TestAuditCheckpoints(t *testing.T) {
	ctx := context.Background()
	a, _, _ := archivetest.SmallLog(t, 20)
	for range 3 {
		archivetest.Upload(t, a)
	}
	cps, err := a.Checkpoints(ctx)
	if err != nil || len(cps) < 3 {
		t.Fatalf("kept checkpoints %v, %v; want at least 3", cps, err)
	}
	path := func(size uint64) string {
		return filepath.Join(a.Dir(), "checkpoints", filepath.FromSlash(ledger.CheckpointPath(size)))
	}
	mid, last := cps[len(cps)-2].Size, cps[len(cps)-1].Size
	damage := func(t *testing.T, f func()) []string {
		t.Helper()
		saved := map[string][]byte{}
		for _, c := range cps {
			saved[path(c.Size)] = archivetest.ReadFile(t, path(c.Size))
		}
		f()
		rep := run(t, a)
		for p, b := range saved {
			archivetest.Rewrite(t, p, b)
		}
		return problems(rep)
	}
	t.Run("forged root", func(t *testing.T) {
		got := damage(t, func() {
			b := archivetest.ReadFile(t, path(mid))
			lines := strings.SplitN(string(b), "\n", 4)
			root, _ := base64.StdEncoding.DecodeString(lines[2])
			root[0] ^= 1
			lines[2] = base64.StdEncoding.EncodeToString(root)
			archivetest.Rewrite(t, path(mid), []byte(strings.Join(lines, "\n")))
		})
		want(t, got, "checkpoint checkpoints/"+ledger.CheckpointPath(mid)+": ")
	})
	t.Run("another key", func(t *testing.T) {
		keyPEM, _ := ledger.GenerateKey()
		s, _ := ledger.NewSigner(keyPEM, a.Key().Name)
		got := damage(t, func() {
			body, _ := verify.CheckpointBody(archivetest.ReadFile(t, path(mid)))
			sig, _ := s.Sign(body)
			var note bytes.Buffer
			note.Write(body)
			note.WriteString("\n— " + s.Name() + " " + base64.StdEncoding.EncodeToString(append(be32(s.KeyHash()), sig...)) + "\n")
			archivetest.Rewrite(t, path(mid), note.Bytes())
		})
		want(t, got, "checkpoint checkpoints/"+ledger.CheckpointPath(mid)+": ")
	})
	t.Run("latest deleted", func(t *testing.T) {
		got := damage(t, func() {
			os.Chmod(path(last), 0o644)
			os.Remove(path(last))
		})
		want(t, got, "checkpoint log/checkpoint: the log publishes a checkpoint of tree size")
		want(t, got, "index ")
	})
	t.Run("one deleted", func(t *testing.T) {
		got := damage(t, func() {
			os.Chmod(path(mid), 0o644)
			os.Remove(path(mid))
		})
		want(t, got, "checkpoint checkpoints/"+ledger.CheckpointPath(mid)+": missing, though the index records it as kept: evidence")
	})
	t.Run("misnamed", func(t *testing.T) {
		got := damage(t, func() {
			archivetest.Rewrite(t, path(mid), archivetest.ReadFile(t, path(cps[1].Size)))
		})
		want(t, got, "checkpoint checkpoints/"+ledger.CheckpointPath(mid)+": kept checkpoint")
	})
	archivetest.AuditOK(t, a)
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// TestAuditTrust damages the trust evidence of an archive with three real
// witnesses (2 of 3, fail-closed) and a real TSA, one way at a time, and
// checks that the audit reports each: a corrupted stored token, tokens
// swapped between two tree sizes, a token stored for a checkpoint of an
// archive without a TSA, a kept checkpoint stripped of its cosignatures.
func TestAuditTrust(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	var sizes []uint64
	for range 2 {
		rec, err := archivetest.UploadErr(t, tr.A)
		if err != nil {
			t.Fatal(err)
		}
		b, rep := tr.Check(t, rec)
		if !rep.Verified || b.Timestamp == nil {
			t.Fatalf("record %s: %+v", rec.ID, rep.Failed())
		}
		sizes = append(sizes, rep.Checkpoint.Size)
	}
	if sizes[0] == sizes[1] {
		t.Fatalf("both records have the checkpoint of size %d", sizes[0])
	}
	rep := archivetest.AuditOK(t, tr.A)
	if rep.Timestamped != 2 || rep.Pending != 0 {
		t.Errorf("audit: %d time-stamped, %d pending; want 2 and 0", rep.Timestamped, rep.Pending)
	}
	cp := func(i int) string {
		return filepath.Join(tr.Dir, "checkpoints", filepath.FromSlash(ledger.CheckpointPath(sizes[i])))
	}
	where := func(i int) string { return "checkpoints/" + ledger.CheckpointPath(sizes[i]) }
	damage := func(t *testing.T, f func()) []string {
		t.Helper()
		saved := map[string][]byte{}
		for i := range sizes {
			saved[cp(i)], saved[cp(i)+".tsr"] = archivetest.ReadFile(t, cp(i)), archivetest.ReadFile(t, cp(i)+".tsr")
		}
		f()
		rep := run(t, tr.A)
		for p, b := range saved {
			archivetest.Rewrite(t, p, b)
		}
		return problems(rep)
	}
	t.Run("corrupt-token", func(t *testing.T) {
		got := damage(t, func() {
			b := archivetest.ReadFile(t, cp(0)+".tsr")
			b[len(b)-10] ^= 1
			archivetest.Rewrite(t, cp(0)+".tsr", b)
		})
		want(t, got, "timestamp "+where(0)+".tsr: does not verify")
	})
	t.Run("swapped-tokens", func(t *testing.T) {
		got := damage(t, func() {
			a, b := archivetest.ReadFile(t, cp(0)+".tsr"), archivetest.ReadFile(t, cp(1)+".tsr")
			archivetest.Rewrite(t, cp(0)+".tsr", b)
			archivetest.Rewrite(t, cp(1)+".tsr", a)
		})
		want(t, got, "timestamp "+where(0)+".tsr: does not verify")
		want(t, got, "timestamp "+where(1)+".tsr: does not verify")
	})
	t.Run("deleted-checkpoint", func(t *testing.T) {
		got := damage(t, func() {
			os.Chmod(cp(0), 0o644)
			os.Remove(cp(0))
		})
		want(t, got, "checkpoint "+where(0)+": missing, though its time-stamp token is stored beside it")
		if len(got) != 1 {
			t.Errorf("a deleted checkpoint reported %d times: %q", len(got), got)
		}
	})
	t.Run("deleted-token", func(t *testing.T) {
		got := damage(t, func() {
			os.Chmod(cp(1)+".tsr", 0o644)
			os.Remove(cp(1) + ".tsr")
		})
		want(t, got, "timestamp "+where(1)+".tsr: missing, though the index records it as stored")
	})
	t.Run("no-quorum", func(t *testing.T) {
		got := damage(t, func() {
			var keep []string
			for _, l := range strings.SplitAfter(string(archivetest.ReadFile(t, cp(0))), "\n") {
				if !strings.HasPrefix(l, "— ") || strings.HasPrefix(l, "— trust.example/log ") {
					keep = append(keep, l)
				}
			}
			archivetest.Rewrite(t, cp(0), []byte(strings.Join(keep, "")))
		})
		want(t, got, "witness "+where(0)+": the checkpoint of tree size")
	})
	archivetest.AuditOK(t, tr.A)

	// A pending token is counted, not a problem.
	tr.TSAOff.Store(true)
	archivetest.Upload(t, tr.A)
	if rep := archivetest.AuditOK(t, tr.A); rep.Pending != 1 {
		t.Errorf("audit with a token pending: %d pending, want 1", rep.Pending)
	}
}
