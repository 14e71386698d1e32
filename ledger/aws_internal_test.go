package ledger

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// TestAWSSequencingNotBlockedByIntegration checks, on a real MariaDB, that
// the sessions of Tessera's sequencer run at READ COMMITTED, so that an
// integration in progress (a transaction holding Tessera's SELECT … FOR
// UPDATE over the sequenced batches) does not hold up the insertion of
// the next batch; and, as a control, that under the server's default
// (REPEATABLE READ) it does.
func TestAWSSequencingNotBlockedByIntegration(t *testing.T) {
	db := mariadbtest.Start(t)
	c := AWS{Bucket: "b", DB: db.Config(db.NewDatabase(t))}.withDefaults()
	ctx := t.Context()
	dsn, err := c.dsn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plain := c.DB.Clone()
	for _, tc := range []struct {
		desc      string
		dsn       string
		wantLevel string
		wantBlock bool
	}{
		{"sequencer's DSN", dsn, "READ-COMMITTED", false},
		{"server default", plain.FormatDSN(), "REPEATABLE-READ", true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			cfg, err := mysql.ParseDSN(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			// A lock wait ends in an error after a second, not fifty.
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params["innodb_lock_wait_timeout"] = "1"
			conn, err := mysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			pool := sql.OpenDB(conn)
			defer pool.Close()
			for _, q := range []string{
				"DROP TABLE IF EXISTS Seq",
				// Tessera's (storage/aws) table of sequenced batches.
				"CREATE TABLE Seq(id INT UNSIGNED NOT NULL, seq BIGINT UNSIGNED NOT NULL, v LONGBLOB, PRIMARY KEY (id, seq))",
				"INSERT INTO Seq(id, seq, v) VALUES (0, 0, 'a'), (0, 1, 'b')",
			} {
				if _, err := pool.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			var level string
			if err := pool.QueryRowContext(ctx, "SELECT @@SESSION.tx_isolation").Scan(&level); err != nil {
				if err := pool.QueryRowContext(ctx, "SELECT @@SESSION.transaction_isolation").Scan(&level); err != nil {
					t.Fatal(err)
				}
			}
			if level != tc.wantLevel {
				t.Errorf("session isolation %s, want %s", level, tc.wantLevel)
			}

			// An integration in progress, as Tessera's consumeEntries.
			integ, err := pool.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer integ.Rollback()
			rows, err := integ.QueryContext(ctx, "SELECT seq, v FROM Seq WHERE id = ? AND seq >= ? ORDER BY seq LIMIT ? FOR UPDATE", 0, 0, 5*4096)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}

			// The next batch, as Tessera's assignEntries.
			seq, err := pool.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer seq.Rollback()
			_, err = seq.ExecContext(ctx, "INSERT INTO Seq(id, seq, v) VALUES (?, ?, ?)", 0, 2, []byte("c"))
			var me *mysql.MySQLError
			blocked := errors.As(err, &me) && me.Number == 1205 // ER_LOCK_WAIT_TIMEOUT
			if err != nil && !blocked {
				t.Fatal(err)
			}
			if blocked != tc.wantBlock {
				t.Errorf("inserting the next batch during an integration: blocked %v, want %v (%v)", blocked, tc.wantBlock, err)
			}
			if err == nil {
				if err := seq.Commit(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestAWSDSNBadDatabase checks that a database that does not answer is a
// clear error when the writer opens, naming it.
func TestAWSDSNBadDatabase(t *testing.T) {
	db := mariadbtest.Start(t)
	cfg := db.Config("exhibit_no_such_database")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	_, err := AWS{Bucket: "b", DB: cfg}.withDefaults().dsn(ctx)
	if err == nil {
		t.Fatal("no error for a database that does not exist")
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Errorf("error %v does not carry the server's error", err)
	}
	t.Log(err)
}
