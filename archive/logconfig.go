package archive

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/store/s3"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// LogConfig says where an archive's log lives. Absent (nil) from
// exhibit.json, the log is the archive's log/ directory, on Tessera's
// POSIX driver, written by one process at a time. Of Type "aws", it is on
// Tessera's storage/aws driver (see ledger.AWS): tiles and entry bundles in
// an S3-compatible bucket, sequencing coordinated through a MySQL or
// MariaDB database, so that several frontends on several machines can
// append to it at once. Such an archive keeps its snapshots and its kept
// checkpoints in the S3 store (Config.Store, which must be of type "s3"):
// nothing it needs lives only on one machine but the signing key.
//
// Secrets are never part of it. The S3 credentials are the store's (the
// environment's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or
// minio-go's usual chain: see StoreConfig); the database password is read
// from the environment variable EXHIBIT_DB_PASSWORD, or from the file
// EXHIBIT_DB_PASSWORD_FILE names.
type LogConfig struct {
	// Type is "aws".
	Type string `json:"type"`
	// Bucket and Prefix ("" or ending in "/") locate the log's objects;
	// Endpoint and Region the S3 server, as in StoreConfig. Init defaults
	// them to the store's bucket and endpoint, under the store's prefix
	// followed by "log/".
	Bucket   string `json:"bucket"`
	Prefix   string `json:"prefix,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Region   string `json:"region,omitempty"`
	// DSN is the sequencing database, in go-sql-driver/mysql's form
	// ("exhibit@tcp(db.example.org:3306)/exhibit_log"), without a
	// password. The database must exist; Tessera creates its tables,
	// and Init records there the log's identity (its origin and
	// verifier key, see ledger.RecordAWSIdentity), which every
	// frontend checks before it writes.
	DSN string `json:"dsn"`
	// MaxOpenConns bounds each frontend's connections to the database
	// (see ledger.AWS.MaxOpenConns). Default 8.
	MaxOpenConns int `json:"max_open_conns,omitempty"`
	// IndexDSN is the database of the archive's index (package index), in
	// the same form, which every frontend reads and fills; it is created
	// if missing. Init defaults it to DSN's server and user, database
	// "exhibit". The password is the same as DSN's.
	IndexDSN string `json:"index_dsn"`
}

// Environment variables that hold the database password.
const (
	EnvDBPassword     = "EXHIBIT_DB_PASSWORD"
	EnvDBPasswordFile = "EXHIBIT_DB_PASSWORD_FILE"
)

// ParseLogDSN checks a database DSN for LogConfig.DSN: go-sql-driver's
// form, naming a database, without a password (which would be written
// into exhibit.json).
func ParseLogDSN(dsn string) (*mysql.Config, error) {
	c, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: database DSN: %w (want user@tcp(host:3306)/database)", ErrInput, err)
	}
	if c.Passwd != "" {
		return nil, fmt.Errorf("%w: the database DSN holds a password: exhibit.json is shared with every frontend; give it in %s or %s instead", ErrInput, EnvDBPassword, EnvDBPasswordFile)
	}
	if c.DBName == "" {
		return nil, fmt.Errorf("%w: database DSN %q names no database (want user@tcp(host:3306)/database)", ErrInput, dsn)
	}
	return c, nil
}

// dbPassword reads the database password from the environment.
func dbPassword() (string, error) {
	if p := os.Getenv(EnvDBPassword); p != "" {
		return p, nil
	}
	f := os.Getenv(EnvDBPasswordFile)
	if f == "" {
		return "", nil
	}
	b, err := os.ReadFile(f)
	if err != nil {
		return "", fmt.Errorf("reading the database password (%s): %w", EnvDBPasswordFile, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// aws returns the ledger's view of the log, with its secrets: the
// store's S3 credentials and the database password.
func (c *LogConfig) aws(st *s3.Store) (ledger.AWS, error) {
	db, err := ParseLogDSN(c.DSN)
	if err != nil {
		return ledger.AWS{}, err
	}
	if db.Passwd, err = dbPassword(); err != nil {
		return ledger.AWS{}, err
	}
	creds, err := st.Credentials()
	if err != nil {
		return ledger.AWS{}, fmt.Errorf("the S3 credentials of the log's bucket: %w", err)
	}
	return ledger.AWS{
		Bucket:       c.Bucket,
		Prefix:       c.Prefix,
		Endpoint:     c.Endpoint,
		Region:       c.Region,
		AccessKey:    creds.AccessKeyID,
		SecretKey:    creds.SecretAccessKey,
		SessionToken: creds.SessionToken,
		DB:           db,
		MaxOpenConns: c.MaxOpenConns,
	}, nil
}

var (
	_ ledger.CheckpointStore = (*s3.Checkpoints)(nil)
)

// openLog sets the archive's log reader and checkpoint store from its
// configuration; the store must be open.
func (a *Archive) openLog() error {
	if a.cfg.Log == nil {
		a.kept = ledger.NewCheckpoints(filepath.Join(a.dir, checkpointsDir))
		a.reader = ledger.NewReader(filepath.Join(a.dir, logDir), a.keys...)
		return nil
	}
	st, err := a.logStore()
	if err != nil {
		return err
	}
	a.kept = st.Checkpoints()
	c, err := a.cfg.Log.aws(st)
	if err != nil {
		return err
	}
	a.aws = &c
	a.reader = ledger.NewAWSReader(c, a.keys...)
	return nil
}

// logStore returns the S3 store of an archive whose log is on S3.
func (a *Archive) logStore() (*s3.Store, error) {
	if a.cfg.Log.Type != "aws" {
		return nil, fmt.Errorf("%s: unknown log type %q (want aws, or no log entry for the log/ directory)", filepath.Join(a.dir, configFile), a.cfg.Log.Type)
	}
	st, ok := a.store.(*s3.Store)
	if !ok {
		return nil, fmt.Errorf("%s: a log on S3 needs its snapshots and kept checkpoints on S3 too (store type s3)", filepath.Join(a.dir, configFile))
	}
	return st, nil
}

// ErrWrongStore is returned by Open, for writing, for a shared archive
// whose store is not the one its log's checkpoints are kept in.
var ErrWrongStore = errors.New("wrong store for this log")

// openLogWriter opens the archive's log for appending.
//
// Before anything is written, it checks that the log is this archive's:
// that its identity (for a log on S3, recorded in its database at Init),
// its published checkpoint and its latest kept one are of the archive's
// keys. A frontend whose exhibit.json was edited to name another
// archive's bucket prefix and databases would otherwise append to that
// log, and publish checkpoints signed by the wrong key into it.
func (a *Archive) openLogWriter(ctx context.Context, cfg ledger.Config) (*ledger.Writer, error) {
	keptSigned, kept, err := a.latestKept(ctx)
	if err != nil {
		return nil, err
	}
	if a.aws != nil {
		if err := ledger.CheckAWSIdentity(ctx, *a.aws, a.keys); err != nil {
			return nil, dbAccessHint(err)
		}
	}
	if err := ledger.CheckLogKey(ctx, a.reader.Where(), a.reader.Fetcher(), keptSigned, a.keys); err != nil {
		return nil, err
	}
	if a.aws == nil {
		return ledger.OpenWriter(ctx, filepath.Join(a.dir, logDir), a.signer, cfg)
	}
	// A store (bucket, prefix) that keeps no checkpoint of a log that
	// has published one (init keeps the empty tree's) is not the one the
	// log's other frontends keep its checkpoints and snapshots in: this
	// frontend would keep them where no other looks.
	if kept == nil {
		if _, pub, err := a.reader.Checkpoint(ctx); err == nil {
			return nil, fmt.Errorf("%w: the store %s keeps no checkpoint of the log at %s, which has published one of tree size %d: %s's store (its bucket and prefix) is not the one the log's other frontends use (their snapshots and kept checkpoints are elsewhere); copy %s from a frontend that works, refusing to write",
				ErrWrongStore, a.store.Location(), a.aws, pub.Size, configFile, configFile)
		}
	}
	// Before Tessera writes anything: a frontend whose dsn names another
	// database would publish that database's tree over the log's.
	if err := ledger.CheckAWSState(ctx, *a.aws, kept); err != nil {
		return nil, err
	}
	return ledger.OpenAWSWriter(ctx, *a.aws, a.signer, cfg)
}

// latestKept returns the latest kept checkpoint, signed and its body (not
// verified), nil if none is kept.
func (a *Archive) latestKept(ctx context.Context) ([]byte, *verify.Checkpoint, error) {
	all, err := a.kept.All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing the kept checkpoints: %w", err)
	}
	if len(all) == 0 {
		return nil, nil, nil
	}
	size := all[len(all)-1].Size
	signed, err := a.kept.Get(ctx, size)
	if err != nil {
		return nil, nil, err
	}
	body, err := verify.CheckpointBody(signed)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", a.kept.Location(size), err)
	}
	cp, err := verify.ParseCheckpoint(string(body))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", a.kept.Location(size), err)
	}
	return signed, cp, nil
}

// initLog checks, when an archive is created with its log on S3, that
// the log's bucket holds no log yet, and fills in the configuration's
// defaults from the store's.
func initLog(lc *LogConfig, sc StoreConfig) (*LogConfig, error) {
	if lc == nil {
		return nil, nil
	}
	if lc.Type != "aws" {
		return nil, fmt.Errorf("%w: unknown log type %q (want aws)", ErrInput, lc.Type)
	}
	if sc.Type != "s3" {
		return nil, fmt.Errorf("%w: a log on S3 and MySQL needs the snapshots and kept checkpoints on S3 too: give an s3:// store", ErrInput)
	}
	c := *lc
	db, err := ParseLogDSN(c.DSN)
	if err != nil {
		return nil, err
	}
	if c.IndexDSN == "" {
		ix := db.Clone()
		ix.DBName = "exhibit"
		c.IndexDSN = ix.FormatDSN()
	}
	ix, err := ParseLogDSN(c.IndexDSN)
	if err != nil {
		return nil, fmt.Errorf("the index's %w", err)
	}
	if ix.Addr == db.Addr && ix.DBName == db.DBName {
		return nil, fmt.Errorf("%w: the index's database must not be the log's (%s): give another, e.g. exhibit", ErrInput, db.DBName)
	}
	if c.Bucket == "" {
		c.Bucket, c.Prefix = sc.Bucket, sc.Prefix+"log/"
	}
	if c.Endpoint == "" {
		c.Endpoint, c.Region = sc.Endpoint, sc.Region
	}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		c.Prefix += "/"
	}
	return &c, nil
}

// errLogExists is Init's error for a bucket or database that already
// holds a log or an index.
var errLogExists = errors.New("join that archive with a copy of its exhibit.json and signing key instead (docs/DEPLOYMENT.md), or give an empty one")

// checkLogFree checks, before Init writes anything, that a log on S3 and
// MySQL would be created where no other archive is: no checkpoint in the
// log's bucket prefix, no table in the log's database (Tessera's
// sequencing state: a second log sequenced there would fork the first, or
// append to it under another key), and none in the index's database
// (which the new archive would rebuild over the other's index). The
// database may not exist yet.
//
// Tables left by an earlier Init that failed (and could not remove them:
// see undoSharedInit) are not another archive's: with no checkpoint in
// the bucket, no entry sequenced in the log's database and no record in
// the index's, they are removed, and log is told so.
func checkLogFree(ctx context.Context, sc StoreConfig, lc *LogConfig, signer *ledger.Signer, log *slog.Logger) error {
	where, err := bucketLog(ctx, sc, lc, signer)
	if err != nil {
		return err
	}
	if where != "" {
		return fmt.Errorf("%w: %s already holds a log's checkpoint: %w", ErrExists, where, errLogExists)
	}
	logDB, err := lc.dbConfig()
	if err != nil {
		return err
	}
	ix, err := ParseLogDSN(lc.IndexDSN)
	if err != nil {
		return err
	}
	ix.Passwd = logDB.Passwd
	left, err := leftByFailedInit(ctx, logDB, ix)
	if err != nil {
		return dbAccessHint(err)
	}
	if left != "" {
		if err := dropTables(ctx, logDB, ix); err != nil {
			return fmt.Errorf("removing what an earlier exhibit init that failed left (%s): %w", left, dbAccessHint(err))
		}
		if log != nil {
			log.Warn("an earlier exhibit init of a shared archive failed and left tables, holding no log entry and no record; removed them, starting over", "left", left)
		}
	}
	for _, db := range []struct {
		what string
		cfg  *mysql.Config
	}{{"the log's database", logDB}, {"the index's database", ix}} {
		tables, err := dbTables(ctx, db.cfg)
		if err != nil {
			return dbAccessHint(err)
		}
		if len(tables) > 0 {
			return fmt.Errorf("%w: %s %s at %s already holds tables (%s): %w", ErrExists, db.what, db.cfg.DBName, db.cfg.Addr, strings.Join(tables, ", "), errLogExists)
		}
	}
	return nil
}

// bucketLog returns where the log's bucket prefix is ("s3://bucket/prefix")
// if it holds a log's checkpoint, else "".
func bucketLog(ctx context.Context, sc StoreConfig, lc *LogConfig, signer *ledger.Signer) (string, error) {
	st, err := openStore(ctx, "", sc)
	if err != nil {
		return "", err
	}
	a := &Archive{cfg: &Config{Log: lc}, store: st}
	s3st, err := a.logStore()
	if err != nil {
		return "", err
	}
	c, err := lc.aws(s3st)
	if err != nil {
		return "", err
	}
	_, err = ledger.NewAWSReader(c, signer.PublicKey()).Fetcher().ReadCheckpoint(ctx)
	if err == nil {
		return fmt.Sprintf("s3://%s/%s", c.Bucket, c.Prefix), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("looking for a log in s3://%s/%s: %w", c.Bucket, c.Prefix, err)
	}
	return "", nil
}

// dbConfig returns the log database's configuration, with its password.
func (c *LogConfig) dbConfig() (*mysql.Config, error) {
	db, err := ParseLogDSN(c.DSN)
	if err != nil {
		return nil, err
	}
	if db.Passwd, err = dbPassword(); err != nil {
		return nil, err
	}
	return db, nil
}

// initTable is the table of the log's database in which Init marks its
// progress: one row, complete false from before Init writes anything
// else to the databases, true once the log is created (before the
// archive's exhibit.json is written). Tables that a failed Init left are
// told from another archive's by it.
const initTable = "exhibit_init"

// markInit creates initTable with its row, complete false, or sets it
// complete.
func markInit(ctx context.Context, lc *LogConfig, complete bool) error {
	logDB, err := lc.dbConfig()
	if err != nil {
		return err
	}
	stmts := []string{"UPDATE " + initTable + " SET complete = TRUE WHERE id = 0"}
	if !complete {
		if err := createDatabase(ctx, logDB); err != nil {
			return err
		}
		stmts = []string{
			"CREATE TABLE IF NOT EXISTS " + initTable + " (id INT PRIMARY KEY, complete BOOLEAN NOT NULL, started DATETIME(6) NOT NULL)",
			"INSERT INTO " + initTable + " (id, complete, started) VALUES (0, FALSE, UTC_TIMESTAMP(6))",
		}
	}
	for _, q := range stmts {
		if err := dbExec(ctx, logDB, q); err != nil {
			return fmt.Errorf("database %s at %s: marking the progress of exhibit init: %w", logDB.DBName, logDB.Addr, dbAccessHint(err))
		}
	}
	return nil
}

// createDatabase creates the database cfg names, if it does not exist.
func createDatabase(ctx context.Context, cfg *mysql.Config) error {
	db, err := openDB(cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+strings.ReplaceAll(cfg.DBName, "`", "``")+"`"); err != nil {
		return fmt.Errorf("database %s at %s: creating it: %w", cfg.DBName, cfg.Addr, dbAccessHint(err))
	}
	return nil
}

// tesseraTables are the tables Tessera v1.0.4's storage/aws driver and its
// antispam create in the log's database.
var tesseraTables = map[string]bool{
	"Tessera": true, "SeqCoord": true, "Seq": true, "IntCoord": true, "PubCoord": true, "GCCoord": true,
	"AntispamMeta": true, "AntispamIDSeq": true, "AntispamFollowCoord": true,
}

// leftByFailedInit describes the tables an Init that failed left in the
// log's database (logDB) and the index's (ixDB), or returns "" if they
// hold none, or hold anything else: a table Tessera does not make, an
// entry sequenced or integrated, a record indexed. The caller has found
// no checkpoint in the log's bucket prefix: a log never published.
func leftByFailedInit(ctx context.Context, logDB, ixDB *mysql.Config) (string, error) {
	logTables, err := allTables(ctx, logDB)
	if err != nil {
		return "", err
	}
	if len(logTables) == 0 {
		// The log's database holds nothing to tell a failed Init from
		// an archive: its index's tables are another archive's, perhaps.
		return "", nil
	}
	ixTables, err := allTables(ctx, ixDB)
	if err != nil {
		return "", err
	}
	if !slices.Contains(logTables, initTable) {
		return "", nil // made by no Init of this version: never removed
	}
	for _, t := range logTables {
		if !tesseraTables[t] && t != initTable && t != ledger.AWSIdentityTable {
			return "", nil
		}
	}
	// Init never completed, nothing sequenced, nothing integrated,
	// nothing indexed; a table that does not exist holds nothing.
	for _, q := range []struct {
		db    *mysql.Config
		table string
		query string
	}{
		{logDB, "Seq", "SELECT COUNT(*) FROM Seq"},
		{logDB, "SeqCoord", "SELECT COALESCE(MAX(next), 0) FROM SeqCoord"},
		{logDB, "IntCoord", "SELECT COALESCE(MAX(seq), 0) FROM IntCoord"},
		{logDB, initTable, "SELECT COUNT(*) FROM " + initTable + " WHERE complete"},
		{ixDB, "records", "SELECT COUNT(*) FROM records"},
	} {
		tables := logTables
		if q.db == ixDB {
			tables = ixTables
		}
		if !slices.Contains(tables, q.table) {
			continue
		}
		n, err := dbCount(ctx, q.db, q.query)
		if err != nil || n != 0 {
			return "", err
		}
	}
	return fmt.Sprintf("tables %s in database %s and %s in database %s at %s",
		orNone(logTables), logDB.DBName, orNone(ixTables), ixDB.DBName, logDB.Addr), nil
}

func orNone(tables []string) string {
	if len(tables) == 0 {
		return "none"
	}
	return strings.Join(tables, ", ")
}

// undoSharedInit removes, after Init of a shared archive failed with
// cause, the tables it created in the log's and the index's databases
// (which checkLogFree found without tables, or emptied), and returns cause
// with what it could not remove: a retry of Init removes that (see
// checkLogFree). Nothing is in the bucket: the log is written there last,
// by the step whose failure leaves nothing to remove.
//
// It removes them only while they are what an Init that failed leaves
// (leftByFailedInit) and the bucket holds no checkpoint: another Init,
// run at once against the same databases, that succeeded, keeps its log.
func undoSharedInit(ctx context.Context, sc StoreConfig, lc *LogConfig, signer *ledger.Signer, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	logDB, err := ParseLogDSN(lc.DSN)
	if err != nil {
		return cause
	}
	ixDB, err := ParseLogDSN(lc.IndexDSN)
	if err != nil {
		return cause
	}
	p, err := dbPassword()
	if err != nil {
		return cause
	}
	logDB.Passwd, ixDB.Passwd = p, p
	if where, err := bucketLog(ctx, sc, lc, signer); err != nil || where != "" {
		if where != "" {
			err = fmt.Errorf("%s holds a log's checkpoint now", where)
		}
		return fmt.Errorf("%w; the tables it created were left (%v)", cause, err)
	}
	left, err := leftByFailedInit(ctx, logDB, ixDB)
	if err != nil || left == "" {
		return cause
	}
	if err := dropTables(ctx, logDB, ixDB); err != nil {
		return fmt.Errorf("%w; removing the tables it created failed (%v): a retry of exhibit init removes them", cause, err)
	}
	return cause
}

// dropTables drops every table of the given databases.
func dropTables(ctx context.Context, dbs ...*mysql.Config) error {
	var errs []error
	for _, cfg := range dbs {
		tables, err := allTables(ctx, cfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, t := range tables {
			if err := dbExec(ctx, cfg, "DROP TABLE IF EXISTS `"+t+"`"); err != nil {
				errs = append(errs, fmt.Errorf("database %s at %s: dropping table %s: %w", cfg.DBName, cfg.Addr, t, err))
			}
		}
	}
	return errors.Join(errs...)
}

// allTables returns every table of the database cfg names, none if it
// does not exist.
func allTables(ctx context.Context, cfg *mysql.Config) ([]string, error) {
	db, err := openDB(cfg, false)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name`, cfg.DBName)
	if err != nil {
		return nil, fmt.Errorf("database %s at %s: listing its tables: %w", cfg.DBName, cfg.Addr, err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		tables = append(tables, t)
	}
	return tables, rows.Err()
}

func dbCount(ctx context.Context, cfg *mysql.Config, query string) (int64, error) {
	db, err := openDB(cfg, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("database %s at %s: %s: %w", cfg.DBName, cfg.Addr, query, err)
	}
	return n, nil
}

func dbExec(ctx context.Context, cfg *mysql.Config, stmt string) error {
	db, err := openDB(cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

// openDB opens the database cfg names (withDB), or the server alone.
func openDB(cfg *mysql.Config, withDB bool) (*sql.DB, error) {
	c := cfg.Clone()
	if !withDB {
		c.DBName = ""
	}
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("database %s at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	return sql.OpenDB(conn), nil
}

// dbAccessHint adds to a database's "Access denied" error (MySQL error
// 1045) where the password is read from, and whether it was given: the
// error becomes a *DBAccessError. Other errors, and one already a
// *DBAccessError, are returned as they are.
func dbAccessHint(err error) error {
	var me *mysql.MySQLError
	var de *DBAccessError
	if !errors.As(err, &me) || me.Number != 1045 || errors.As(err, &de) {
		return err
	}
	de = &DBAccessError{Err: err}
	switch p, f := os.Getenv(EnvDBPassword), os.Getenv(EnvDBPasswordFile); {
	case p == "" && f == "":
		de.Hint = fmt.Sprintf("no password was given: neither %s nor %s is set; give the database password in %s, or the path of a file holding it in %s", EnvDBPassword, EnvDBPasswordFile, EnvDBPassword, EnvDBPasswordFile)
	case p != "":
		de.Hint = fmt.Sprintf("the password in %s was refused: check it, and the user and host in the DSN", EnvDBPassword)
	default:
		de.Hint = fmt.Sprintf("the password read from %s (%s) was refused: check it, and the user and host in the DSN", f, EnvDBPasswordFile)
	}
	return de
}

// DBAccessError is a database's "Access denied" error (MySQL error 1045),
// with a hint saying where the password was read from.
type DBAccessError struct {
	Err  error
	Hint string
}

func (e *DBAccessError) Error() string { return fmt.Sprintf("%v (%s)", e.Err, e.Hint) }
func (e *DBAccessError) Unwrap() error { return e.Err }

// dbTables returns the first few tables of the database cfg names, none
// if it does not exist.
func dbTables(ctx context.Context, cfg *mysql.Config) ([]string, error) {
	c := cfg.Clone()
	c.DBName = "" // it may not exist
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, fmt.Errorf("database %s at %s: %w", cfg.DBName, cfg.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name LIMIT 4`, cfg.DBName)
	if err != nil {
		return nil, fmt.Errorf("database %s at %s: listing its tables: %w", cfg.DBName, cfg.Addr, err)
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("database %s at %s: listing its tables: %w", cfg.DBName, cfg.Addr, err)
		}
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database %s at %s: listing its tables: %w", cfg.DBName, cfg.Addr, err)
	}
	return tables, nil
}

// createLog creates an archive's empty log, and keeps its first
// checkpoint: in log/ and checkpoints/, or, with lc, on S3 (where
// checkLogFree found no log).
func createLog(ctx context.Context, dir string, signer *ledger.Signer, sc StoreConfig, lc *LogConfig) error {
	if lc == nil {
		w, err := ledger.OpenWriter(ctx, filepath.Join(dir, logDir), signer, ledger.Config{Keeper: ledger.NewCheckpoints(filepath.Join(dir, checkpointsDir))})
		if err != nil {
			return err
		}
		return w.Close(ctx)
	}
	st, err := openStore(ctx, dir, sc)
	if err != nil {
		return err
	}
	a := &Archive{dir: dir, cfg: &Config{Log: lc}, store: st}
	s3st, err := a.logStore()
	if err != nil {
		return err
	}
	c, err := lc.aws(s3st)
	if err != nil {
		return err
	}
	// The log's identity first, where every frontend reads it before it
	// writes (see openLogWriter).
	if err := ledger.RecordAWSIdentity(ctx, c, ledger.AWSIdentity{Origin: signer.PublicKey().Name, VKey: signer.PublicKey().VKey}); err != nil {
		return dbAccessHint(err)
	}
	w, err := ledger.OpenAWSWriter(ctx, c, signer, ledger.Config{Keeper: s3st.Checkpoints()})
	if err != nil {
		return err
	}
	// Tessera publishes the empty tree's checkpoint at its first
	// checkpoint interval: wait until it is published and kept, so that
	// the bucket holds the log's signed checkpoint from the start.
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, _, err := w.Sync(sctx); err != nil {
		w.Close(ctx)
		return fmt.Errorf("publishing the empty log's checkpoint: %w", err)
	}
	return w.Close(ctx)
}

// indexOptions returns the options of the archive's index: the SQLite
// file index.db, or, for a log on S3, the MySQL database of
// LogConfig.IndexDSN.
func (c *Config) indexOptions(dir string, readOnly bool) (string, index.Options, error) {
	o := index.Options{ReadOnly: readOnly}
	if c.Log == nil {
		return filepath.Join(dir, indexFile), o, nil
	}
	if c.Log.IndexDSN == "" {
		return "", o, fmt.Errorf("%s: the log on S3 has no index_dsn", filepath.Join(dir, configFile))
	}
	db, err := ParseLogDSN(c.Log.IndexDSN)
	if err != nil {
		return "", o, fmt.Errorf("%s: index_dsn: %w", filepath.Join(dir, configFile), err)
	}
	if db.Passwd, err = dbPassword(); err != nil {
		return "", o, err
	}
	o.MySQL = db
	return "", o, nil
}

// DefaultMaxClockSkew is the default of OpenOptions.MaxClockSkew.
const DefaultMaxClockSkew = 2 * time.Second

// ClockSkewError is Open's error, for writing, on a machine whose clock
// is further than allowed from the database server's.
type ClockSkewError struct {
	Local, Server time.Time
	Max           time.Duration
}

func (e *ClockSkewError) Error() string {
	return fmt.Sprintf("this machine's clock (%s) is %v from the database server's (%s), more than the %v allowed: a frontend would sign statements with wrong times; fix its clock (NTP)",
		e.Local.UTC().Format(time.RFC3339Nano), e.Local.Sub(e.Server).Round(time.Millisecond), e.Server.UTC().Format(time.RFC3339Nano), e.Max)
}

// checkClock compares this machine's clock with the log's database
// server's, the clock every frontend shares.
func checkClock(ctx context.Context, c ledger.AWS, max time.Duration, now func() time.Time) error {
	if max <= 0 {
		max = DefaultMaxClockSkew
	}
	if now == nil {
		now = time.Now
	}
	server, rtt, err := ledger.DBTime(ctx, c)
	if err != nil {
		return err
	}
	local := now()
	// The server read its clock during the round trip.
	if d := local.Sub(server); d > max+rtt || d < -max-rtt {
		return &ClockSkewError{Local: local, Server: server, Max: max}
	}
	return nil
}
