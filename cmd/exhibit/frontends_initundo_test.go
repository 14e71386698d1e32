package main

import (
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// TestFrontendsInitFailsMidway makes `exhibit init` of a shared archive
// fail midway: its log's database account may create tables and insert
// rows but not alter or update them, so init's progress mark, the index's
// tables and Tessera's tables and first rows are made, then Tessera's
// ALTER TABLE refused. With the right
// to drop tables, init removes what it created: both databases are left
// without tables. Without it, the tables stay, init says so, and a retry
// with the account fixed removes them, says so, and creates the archive.
func TestFrontendsInitFailsMidway(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, srv, g := archivetest.AWS(t, "midway.test/log")
	inTemp(t)
	root, err := sql.Open("mysql", srv.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ctx := t.Context()
	logCfg, err := mysql.ParseDSN(o.Log.DSN)
	if err != nil {
		t.Fatal(err)
	}
	ixCfg, err := mysql.ParseDSN(o.Log.IndexDSN)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := root.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tables := func(db string) []string {
		t.Helper()
		rows, err := root.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name`, db)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	exec(fmt.Sprintf("CREATE USER 'limited'@'127.0.0.1' IDENTIFIED BY '%s'", mariadbtest.Password))
	exec(fmt.Sprintf("GRANT SELECT, CREATE, INSERT, DROP ON `%s`.* TO 'limited'@'127.0.0.1'", logCfg.DBName))
	limited := logCfg.Clone()
	limited.User = "limited"
	base := []string{"--archive", "a", "init", "--origin", "midway.test/log", "--store", "s3://evidence/main", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket", "--index-db", o.Log.IndexDSN}
	empty := func() {
		t.Helper()
		if ents, err := os.ReadDir("a"); err == nil && len(ents) > 0 {
			t.Errorf("a failed init left %d files in the archive directory", len(ents))
		}
	}

	// It may drop what it created: nothing is left.
	r := exhibit(t, append(base, "--log-db", limited.FormatDSN())...)
	if r.code == 0 {
		t.Fatalf("init with an account that may not alter tables: exit 0")
	}
	if !strings.Contains(r.stderr, "command denied") {
		t.Errorf("init's error does not say what failed: %s", r.stderr)
	}
	t.Logf("init, failed midway: %s", lastLine(r.stderr))
	if got := tables(logCfg.DBName); len(got) > 0 {
		t.Errorf("a failed init left tables %v in the log's database", got)
	}
	if got := tables(ixCfg.DBName); len(got) > 0 {
		t.Errorf("a failed init left tables %v in the index's database", got)
	}
	empty()

	// It may not: the tables stay, and init says so.
	exec(fmt.Sprintf("REVOKE DROP ON `%s`.* FROM 'limited'@'127.0.0.1'", logCfg.DBName))
	r = exhibit(t, append(base, "--log-db", limited.FormatDSN())...)
	if r.code == 0 {
		t.Fatalf("init with an account that may not alter tables: exit 0")
	}
	if !strings.Contains(r.stderr, "a retry of exhibit init removes them") {
		t.Errorf("init's error does not say that tables were left, and what to do: %s", r.stderr)
	}
	left := tables(logCfg.DBName)
	if len(left) == 0 {
		t.Fatal("init without the right to drop left no table: the case this tests did not happen")
	}
	t.Logf("init, failed midway, left %v: %s", left, lastLine(r.stderr))
	empty()

	// The retry, with the account that may, removes them and creates the
	// archive.
	r = exhibit(t, append(base, "--log-db", o.Log.DSN)...)
	r.want(t, 0, "created archive a")
	if !strings.Contains(r.stderr, "earlier exhibit init") || !strings.Contains(r.stderr, left[0]) {
		t.Errorf("the retry does not say that it removed what the failed init left (%v): %s", left, r.stderr)
	}
	// A retry never removes another archive's tables: init again is refused.
	os.RemoveAll("b")
	r = exhibit(t, "--archive", "b", "init", "--origin", "midway.test/log", "--store", "s3://evidence/other", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN)
	if r.code == 0 || !strings.Contains(r.stderr, "already holds tables") {
		t.Errorf("init on the log's database of an archive (another bucket prefix): exit %d, %s", r.code, r.stderr)
	}
	a, err := archive.Open(ctx, "a", archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	archivetest.Upload(t, a)
	a.Close(ctx)
}
