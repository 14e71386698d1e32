package mariadbtest_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

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

// TestPause stops the server (SIGSTOP): a query does not answer within
// its deadline; continued (SIGCONT), it answers again on the same pool.
func TestPause(t *testing.T) {
	s := mariadbtest.Start(t)
	db, err := sql.Open("mysql", s.DSN(s.NewDatabase(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	ping := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		var one int
		return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
	if err := ping(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	s.Pause()
	for range 3 {
		if err := ping(time.Second); err == nil {
			t.Fatal("the paused server answers")
		}
	}
	s.Resume()
	start := time.Now()
	for {
		err := ping(2 * time.Second)
		if err == nil {
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the continued server does not answer within 30s: %v", err)
		}
	}
	t.Logf("answered %v after SIGCONT", time.Since(start))
}
