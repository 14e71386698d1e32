package mariadbtest_test

import (
	"database/sql"
	"testing"

	_ "github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// TestServer starts a server, writes through the test account over TCP,
// kills the server as a crash would and finds the committed row after a
// restart.
func TestServer(t *testing.T) {
	s := mariadbtest.Start(t)
	name := s.NewDatabase(t)
	db, err := sql.Open("mysql", s.DSN(name))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY, v VARBINARY(32)) ENGINE=InnoDB"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1, 'kept')"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Connections(ctx); err != nil || n < 1 {
		t.Errorf("Connections() = %d, %v; want at least this test's", n, err)
	}
	s.Kill()
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("the killed server still answers")
	}
	s.Restart()
	var v string
	if err := db.QueryRowContext(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after a crash and restart: %q, %v; want the committed row", v, err)
	}
}
