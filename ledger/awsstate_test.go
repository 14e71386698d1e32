package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCheckAWSState checks a log on the AWS driver (real MariaDB and
// versitygw) against its database: its own database passes; another
// (empty) database, one whose tree is behind or of another root, a kept
// checkpoint larger than the database's tree, and a bucket prefix
// without the log over a database holding one are each refused with an
// *AWSStateError.
func TestCheckAWSState(t *testing.T) {
	c, db := awsLog(t)
	ctx := context.Background()
	s := newSigner(t, false)
	keeper := ledger.NewCheckpoints(t.TempDir())
	w, err := ledger.OpenAWSWriter(ctx, c, s, ledger.Config{Keeper: keeper})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := w.Append(ctx, fmt.Appendf(nil, "entry %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	_, kept, err := w.Kept()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(c.DB)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := sql.OpenDB(conn)
	defer sqlDB.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := sqlDB.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	tree, err := ledger.ReadAWSTree(ctx, c)
	if err != nil || tree.Absent || tree.Size != kept.Size {
		t.Fatalf("ReadAWSTree: %+v, %v; want size %d", tree, err, kept.Size)
	}

	if err := ledger.CheckAWSState(ctx, c, kept); err != nil {
		t.Errorf("its own database: %v", err)
	}
	if err := ledger.CheckAWSState(ctx, c, nil); err != nil {
		t.Errorf("its own database, no kept checkpoint: %v", err)
	}
	larger := *kept
	larger.Size += 5
	other := c
	other.DB = db.Config(db.NewDatabase(t))
	otherPrefix := c
	otherPrefix.Prefix = "elsewhere/"
	for _, tc := range []struct {
		name  string
		c     ledger.AWS
		kept  *verify.Checkpoint
		setup string
		args  []any
		undo  string
	}{
		{name: "another, empty database", c: other, kept: kept},
		{name: "another, empty database, no kept checkpoint", c: other},
		{name: "the database behind", c: c, kept: kept, setup: "UPDATE IntCoord SET seq = 1 WHERE id = 0", undo: "UPDATE IntCoord SET seq = ? WHERE id = 0"},
		{name: "another root at the same size", c: c, kept: kept, setup: "UPDATE IntCoord SET rootHash = ? WHERE id = 0", args: []any{make([]byte, 32)}, undo: "UPDATE IntCoord SET rootHash = ? WHERE id = 0"},
		{name: "a kept checkpoint larger than the database's tree", c: c, kept: &larger},
		{name: "no log in the bucket prefix, one in the database", c: otherPrefix},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != "" {
				exec(tc.setup, tc.args...)
				defer func() {
					if tc.name == "the database behind" {
						exec(tc.undo, tree.Size)
					} else {
						exec(tc.undo, tree.Root)
					}
				}()
			}
			err := ledger.CheckAWSState(ctx, tc.c, tc.kept)
			var se *ledger.AWSStateError
			if !errors.As(err, &se) {
				t.Fatalf("CheckAWSState: %v, want an *AWSStateError", err)
			}
			if se.Where == "" || err.Error() == "" {
				t.Errorf("error without its place: %v", err)
			}
		})
	}
	if err := ledger.CheckAWSState(ctx, c, kept); err != nil {
		t.Errorf("its own database, after the cases: %v", err)
	}
}
