package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// The index in a MySQL or MariaDB database (go-sql-driver/mysql), for an
// archive whose log is on S3 and MySQL: the same tables as in SQLite, the
// same queries, so that every frontend of the archive reads one index.
// Strings are stored as bytes (VARBINARY and BLOB columns) and so compared
// byte for byte, as SQLite compares them: MySQL's text collations, even
// the binary ones, may ignore trailing spaces (PAD SPACE). Rows are only ever added, and adding a row present is a no-op, so
// several writers following the same log may fill it at once; the log
// size it records only grows.
const mysqlSchema = `
CREATE TABLE IF NOT EXISTS records (
	leaf_index  BIGINT NOT NULL PRIMARY KEY,
	record_id   VARBINARY(128) NOT NULL,
	kind        VARBINARY(64) NOT NULL,
	sha256      VARBINARY(255) NOT NULL,
	url         BLOB NOT NULL,
	entity      BLOB NOT NULL,
	document    BLOB NOT NULL,
	captured_at BLOB NOT NULL,
	claimed     BOOLEAN NOT NULL,
	doc         BLOB NOT NULL,
	ref         BLOB NOT NULL,
	at          BLOB NOT NULL,
	statement   LONGBLOB NOT NULL,
	UNIQUE KEY records_record_id (record_id),
	KEY records_sha256 (kind, sha256),
	KEY records_url (kind, url(768), captured_at(64)),
	KEY records_entity (kind, entity(512), document(512)),
	KEY records_doc (doc(512), leaf_index),
	KEY records_kind (kind, at(64)),
	KEY records_ref (ref(512))
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS checkpoints (
	size        BIGINT NOT NULL PRIMARY KEY,
	timestamped BOOLEAN NOT NULL
) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS meta (` + "`key`" + ` VARBINARY(64) NOT NULL PRIMARY KEY, value BLOB NOT NULL) ENGINE=InnoDB;
CREATE TABLE IF NOT EXISTS leases (
	name   VARBINARY(255) NOT NULL PRIMARY KEY,
	holder VARBINARY(255) NOT NULL,
	until  DATETIME(6) NOT NULL
) ENGINE=InnoDB;
`

// mysqlSQL are MySQL's statements. A record already present is left as it
// is with ON DUPLICATE KEY UPDATE, not INSERT IGNORE, which would also
// turn a value too long for its column into a truncated one.
var mysqlSQL = dialect{
	schema: splitSchema(mysqlSchema),
	insertRecord: `INSERT INTO records
		(record_id, leaf_index, kind, sha256, url, entity, document, captured_at, claimed, doc, ref, at, statement)
		VALUES `,
	insertTail: ` ON DUPLICATE KEY UPDATE leaf_index = leaf_index`,
	upsertCheckpoint: `INSERT INTO checkpoints(size, timestamped) VALUES(?, ?)
		ON DUPLICATE KEY UPDATE timestamped = GREATEST(timestamped, VALUES(timestamped))`,
	upsertLogSize: "INSERT INTO meta(`key`, value) VALUES('log_size', ?) " +
		"ON DUPLICATE KEY UPDATE value = IF(CAST(VALUES(value) AS UNSIGNED) > CAST(value AS UNSIGNED), VALUES(value), value)",
}

// mysqlMaxConns bounds the connections an index opens.
const mysqlMaxConns = 4

// openMySQL opens the index in the database c names. Opened for writing,
// the database is created if missing, and its tables if missing or of
// another schema version; read-only, a database without the index is
// ErrMissing, one of another version ErrSchema.
func openMySQL(ctx context.Context, c *mysql.Config, readOnly bool) (*Index, error) {
	c = c.Clone()
	c.ParseTime = false
	name := fmt.Sprintf("database %s at %s", c.DBName, c.Addr)
	if c.DBName == "" {
		return nil, errors.New("index: the MySQL configuration names no database")
	}
	if !readOnly {
		if err := createDatabase(ctx, c, c.DBName); err != nil {
			return nil, fmt.Errorf("index %s: %w", name, err)
		}
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(mysqlMaxConns)
	db.SetMaxIdleConns(mysqlMaxConns)
	x := &Index{path: name, sql: mysqlSQL, my: c, r: db}
	if readOnly {
		v, err := x.meta(ctx, "schema_version")
		var me *mysql.MySQLError
		switch {
		case errors.As(err, &me) && (me.Number == 1146 || me.Number == 1049): // ER_NO_SUCH_TABLE, ER_BAD_DB_ERROR
			db.Close()
			return nil, fmt.Errorf("%s: %w (open the archive for writing once, e.g. exhibit reindex, to build it from the log)", name, ErrMissing)
		case err != nil:
			db.Close()
			return nil, fmt.Errorf("index %s: %w", name, err)
		case v != strconv.Itoa(SchemaVersion):
			db.Close()
			return nil, fmt.Errorf("%s: %w (%q, want %d): open the archive for writing once (exhibit reindex) to rebuild it", name, ErrSchema, v, SchemaVersion)
		}
		return x, nil
	}
	x.db = db
	if err := x.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	return x, nil
}

// createDatabase creates the database name on c's server if it is missing.
func createDatabase(ctx context.Context, c *mysql.Config, name string) error {
	root := c.Clone()
	root.DBName = ""
	conn, err := mysql.NewConnector(root)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	_, err = db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteName(name)+"")
	return err
}

// quoteName quotes a MySQL identifier.
func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// rebuildMySQL is Rebuild for an index in MySQL: the new index is built in
// a database of its own (the index's name followed by "_rebuild", which the
// account must be allowed to create), then its tables and the index's are
// swapped in one RENAME TABLE, which MySQL makes atomic: readers in every
// process read the old tables whole until then, and the new ones after.
func (x *Index) rebuildMySQL(ctx context.Context, fill func(*Index) error) error {
	tmpName := x.my.DBName + "_rebuild"
	tmp := x.my.Clone()
	tmp.DBName = tmpName
	drop := func() { x.db.ExecContext(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+quoteName(tmpName)) }
	drop()
	nx, err := openMySQL(ctx, tmp, false)
	if err != nil {
		return err
	}
	err = fill(nx)
	if cerr := nx.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		drop()
		return err
	}
	var swap []string
	for _, t := range []string{"records", "checkpoints", "meta"} {
		cur, nw, old := quoteName(x.my.DBName)+"."+t, quoteName(tmpName)+"."+t, quoteName(tmpName)+".old_"+t
		swap = append(swap, cur+" TO "+old, nw+" TO "+cur)
	}
	if _, err := x.db.ExecContext(ctx, "RENAME TABLE "+strings.Join(swap, ", ")); err != nil {
		drop()
		return fmt.Errorf("index %s: moving the rebuilt index in: %w", x.path, err)
	}
	drop()
	return nil
}

// TryLease takes, or renews, the lease name for holder until ttl from now
// (by the database server's clock), unless another holder has it and it
// has not expired. It reports whether holder has it. Frontends of one
// archive use leases so that two of them never do the same work at once
// (track the same document, import the same one). An index in SQLite,
// which one process writes (the archive's file lock), gives every lease
// at once.
func (x *Index) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if x.my == nil {
		return true, nil
	}
	if x.db == nil {
		return false, errors.New("index: opened read-only")
	}
	return guarded(x, ctx, func(ctx context.Context) (bool, error) {
		// MySQL assigns left to right: until is renewed only if holder now
		// names the caller. The row written stays locked until the
		// transaction ends, so that the holder read is the one written.
		tx, err := x.db.BeginTx(ctx, nil)
		if err != nil {
			return false, fmt.Errorf("index: lease %s: %w", name, err)
		}
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `INSERT INTO leases(name, holder, until) VALUES(?, ?, NOW(6) + INTERVAL ? MICROSECOND)
			ON DUPLICATE KEY UPDATE
				holder = IF(until < NOW(6) OR holder = VALUES(holder), VALUES(holder), holder),
				until = IF(holder = VALUES(holder), VALUES(until), until)`, name, holder, ttl.Microseconds())
		if err != nil {
			return false, fmt.Errorf("index: lease %s: %w", name, err)
		}
		var got string
		if err := tx.QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = ?`, name).Scan(&got); err != nil {
			return false, fmt.Errorf("index: lease %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return false, fmt.Errorf("index: lease %s: %w", name, err)
		}
		return got == holder, nil
	})
}

// ReleaseLease gives up holder's lease name, if holder has it.
func (x *Index) ReleaseLease(ctx context.Context, name, holder string) error {
	if x.my == nil || x.db == nil {
		return nil
	}
	if _, err := x.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("index: releasing lease %s: %w", name, err)
	}
	return nil
}

// Ping checks that the index's database answers.
func (x *Index) Ping(ctx context.Context) error {
	if err := x.r.PingContext(ctx); err != nil {
		return fmt.Errorf("index %s: %w", x.path, err)
	}
	return nil
}
