package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/verify"
)

// AWSTree is the tree a log's sequencing database says is integrated:
// the row of Tessera v1.0.4 storage/aws's IntCoord table (id 0: seq, the
// tree size, and rootHash). Absent reports a database without that table
// or row: Tessera has not set it up, and would start an empty log there.
type AWSTree struct {
	Absent bool
	Size   uint64
	Root   []byte
}

// ReadAWSTree reads the integrated tree of the log's sequencing database
// without creating anything in it.
func ReadAWSTree(ctx context.Context, c AWS) (AWSTree, error) {
	c = c.withDefaults()
	conn, err := mysql.NewConnector(c.DB)
	if err != nil {
		return AWSTree{}, fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'IntCoord'`, c.DB.DBName).Scan(&n); err != nil {
		return AWSTree{}, fmt.Errorf("database %s at %s: looking for Tessera's IntCoord table: %w", c.DB.DBName, c.DB.Addr, err)
	}
	if n == 0 {
		return AWSTree{Absent: true}, nil
	}
	var t AWSTree
	err = db.QueryRowContext(ctx, "SELECT seq, rootHash FROM IntCoord WHERE id = 0").Scan(&t.Size, &t.Root)
	if errors.Is(err, sql.ErrNoRows) {
		return AWSTree{Absent: true}, nil
	}
	if err != nil {
		return AWSTree{}, fmt.Errorf("database %s at %s: reading Tessera's IntCoord: %w", c.DB.DBName, c.DB.Addr, err)
	}
	return t, nil
}

// AWSStateError is CheckAWSState's error: the log's sequencing database
// does not hold the tree its bucket publishes or its kept checkpoints
// commit to. Opening the log for writing there would have Tessera publish
// another tree over it (a rollback or a fork of the log).
type AWSStateError struct {
	// Where names the log (AWS.String).
	Where string
	// Published is the bucket's checkpoint, nil if it has none.
	Published *verify.Checkpoint
	// Kept is the latest kept checkpoint, nil if none was given.
	Kept *verify.Checkpoint
	// DB is the database's integrated tree.
	DB AWSTree
}

func (e *AWSStateError) Error() string {
	db := "holds no log (no Tessera tables)"
	if !e.DB.Absent {
		db = fmt.Sprintf("holds a tree of size %d (root %x)", e.DB.Size, e.DB.Root)
	}
	pub := "no checkpoint"
	if e.Published != nil {
		pub = fmt.Sprintf("a checkpoint of size %d (root %x)", e.Published.Size, e.Published.Hash)
	}
	kept := ""
	if e.Kept != nil {
		kept = fmt.Sprintf(", its latest kept checkpoint is of size %d (root %x)", e.Kept.Size, e.Kept.Hash)
	}
	hint := "check the log's dsn in exhibit.json: every frontend must name the same database"
	if e.Published != nil && e.Kept != nil && e.Published.Size < e.Kept.Size && !e.DB.Absent && e.DB.Size >= e.Kept.Size {
		hint = "the bucket's checkpoint went back behind one kept: restore it from the kept one (docs/DEPLOYMENT.md)"
	}
	return fmt.Sprintf("the log %s: its bucket holds %s%s, and its sequencing database %s: refusing to write, which would roll back or fork the log; %s", e.Where, pub, kept, db, hint)
}

// CheckAWSState checks, before the log is opened for writing, that its
// sequencing database holds the tree that its bucket's checkpoint and
// kept (the latest kept checkpoint, nil if none) commit to: the
// database's tree is at least as large as either, and of the same root
// hash when of the same size. A bucket without a checkpoint goes with a
// database without a log or with an empty one. The bucket is read before
// the database, so that other frontends appending at the same time only
// make the database's tree larger. It returns an *AWSStateError for a
// mismatch, another error if the bucket or the database cannot be read.
//
// A database tree larger than the checkpoints is normal (integrated, not
// yet published); its consistency with them is checked by Tessera when it
// publishes and by the writer when it keeps.
func CheckAWSState(ctx context.Context, c AWS, kept *verify.Checkpoint) error {
	c = c.withDefaults()
	if err := c.check(); err != nil {
		return err
	}
	e := &AWSStateError{Where: c.String(), Kept: kept}
	raw, err := NewAWSReader(c).Fetcher().ReadCheckpoint(ctx)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		body, err := verify.CheckpointBody(raw)
		if err != nil {
			return fmt.Errorf("the checkpoint of log %s: %w", e.Where, err)
		}
		if e.Published, err = verify.ParseCheckpoint(string(body)); err != nil {
			return fmt.Errorf("the checkpoint of log %s: %w", e.Where, err)
		}
	}
	if e.DB, err = ReadAWSTree(ctx, c); err != nil {
		return err
	}
	for _, cp := range []*verify.Checkpoint{e.Published, kept} {
		if cp == nil {
			continue
		}
		if e.DB.Absent {
			if cp.Size > 0 {
				return e
			}
			continue
		}
		if e.DB.Size < cp.Size || e.DB.Size == cp.Size && !bytes.Equal(e.DB.Root, cp.Hash) {
			return e
		}
	}
	if e.Published == nil && !e.DB.Absent && e.DB.Size > 0 {
		return e
	}
	if e.Published != nil && kept != nil && e.Published.Size < kept.Size {
		// The bucket's checkpoint went back behind one kept.
		return e
	}
	return nil
}
