package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"github.com/exhibit-archive/exhibit/verify"
)

// awsLog returns the configuration of a new, empty log on Tessera's
// storage/aws driver: a bucket of a real S3 server (versitygw) and a
// database of a real MariaDB.
func awsLog(t *testing.T) (ledger.AWS, *mariadbtest.Server) {
	t.Helper()
	db := mariadbtest.Start(t)
	gw := s3test.Start(t)
	b := gw.NewBucket(t, false)
	return ledger.AWS{
		Bucket:    b.Bucket,
		Prefix:    "log/",
		Endpoint:  gw.Endpoint,
		AccessKey: gw.AccessKey,
		SecretKey: gw.SecretKey,
		DB:        db.Config(db.NewDatabase(t)),
	}, db
}

// TestAWSWriters appends through two writers of one log on the AWS driver
// at once, as two frontends on two machines would: every entry is
// acknowledged against a kept checkpoint that proves it, every checkpoint
// either published is kept, consecutive kept checkpoints are consistent,
// no entry is logged twice, and the database connections stay bounded.
func TestAWSWriters(t *testing.T) {
	c, db := awsLog(t)
	ctx := context.Background()
	s := newSigner(t, false)
	keeper := ledger.NewCheckpoints(t.TempDir())
	var writers []*ledger.Writer
	for range 2 {
		w, err := ledger.OpenAWSWriter(ctx, c, s, ledger.Config{Keeper: keeper})
		if err != nil {
			t.Fatal(err)
		}
		writers = append(writers, w)
	}
	const n = 120
	entries := make([][]byte, n)
	idx := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		entries[i] = fmt.Appendf(nil, "entry %d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := writers[i%len(writers)]
			j, pub, err := w.Append(ctx, entries[i])
			if err != nil {
				t.Error(err)
				return
			}
			signed := pub.Signed
			if signed == nil {
				if signed, err = keeper.Get(ctx, pub.Size); err != nil {
					t.Error(err)
					return
				}
			}
			cp, err := verify.OpenCheckpoint(signed, s.PublicKey())
			if err != nil || cp.Size <= j {
				t.Errorf("entry %d acknowledged at index %d against checkpoint %v (%v)", i, j, cp, err)
				return
			}
			kept, err := keeper.Get(ctx, cp.Size)
			if err != nil || !bytes.Equal(kept, signed) {
				t.Errorf("the checkpoint of size %d an entry was acknowledged against is not the one kept (%v)", cp.Size, err)
			}
			if _, err := w.Prove(ctx, entries[i], j, signed, cp); err != nil {
				t.Errorf("entry %d at %d: %v", i, j, err)
			}
			idx[i] = j
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Tessera's default would open connections without bound; each
	// writer opens at most MaxOpenConns for the sequencer and as many for
	// the antispam index.
	if got, max := mustConnections(t, db), 2*2*ledger.DefaultAWSMaxOpenConns; got > max {
		t.Errorf("%d database connections open, want at most %d", got, max)
	}
	// The same entry again: antispam gives it its earlier index.
	j, _, err := writers[1].Append(ctx, entries[0])
	if err != nil || j != idx[0] {
		t.Errorf("a duplicate entry got index %d (%v), want its earlier index %d", j, err, idx[0])
	}
	for _, w := range writers {
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}

	r := ledger.NewAWSReader(c, s.PublicKey())
	signed, cp, err := r.Checkpoint(ctx)
	if err != nil || cp.Size != n {
		t.Fatalf("checkpoint %v, %v; want size %d", cp, err, n)
	}
	if kept, err := keeper.Get(ctx, cp.Size); err != nil || !bytes.Equal(kept, signed) {
		t.Errorf("the last checkpoint published is not kept: %v", err)
	}
	seen := map[string]uint64{}
	for e, err := range r.Entries(ctx, 0, n, n) {
		if err != nil {
			t.Fatal(err)
		}
		if k, dup := seen[string(e.Data)]; dup {
			t.Errorf("%q logged twice, at %d and %d", e.Data, k, e.Index)
		}
		seen[string(e.Data)] = e.Index
	}
	for i := range n {
		if got, ok := seen[string(entries[i])]; !ok || got != idx[i] {
			t.Errorf("entry %d is at %d (%v), acknowledged at %d", i, got, ok, idx[i])
		}
	}
	all, err := keeper.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var prev *verify.Checkpoint
	for _, k := range all {
		b, err := keeper.Get(ctx, k.Size)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := verify.OpenCheckpoint(b, s.PublicKey())
		if err != nil {
			t.Fatalf("kept checkpoint %d: %v", k.Size, err)
		}
		if prev != nil && prev.Size > 0 {
			p, err := r.ConsistencyProof(ctx, prev.Size, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, prev.Size, cp.Size, p, prev.Hash, cp.Hash); err != nil {
				t.Errorf("kept checkpoints %d and %d are not consistent: %v", prev.Size, cp.Size, err)
			}
		}
		prev = cp
	}
	t.Logf("%d checkpoints kept for %d entries", len(all), n)
}

func mustConnections(t *testing.T, db *mariadbtest.Server) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	n, err := db.Connections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
