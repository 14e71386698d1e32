// Package index is exhibit's lookup index: a SQLite database
// (modernc.org/sqlite, pure Go) of every record of an archive's log, one
// table for every statement kind, and of the tree sizes of the checkpoints
// the log published. An archive whose log is on S3 and MySQL keeps the
// same tables in a MySQL or MariaDB database instead
// (go-sql-driver/mysql; see Options.MySQL), which every frontend of the
// archive reads and fills.
//
// The log and the kept checkpoints are the source of truth; the index is
// derived from them and can be rebuilt from them alone (exhibit reindex).
// It holds each record's statement (the DSSE payload, as signed) and the
// fields people search by, not the signed entry, which lives in the log
// once. The archive that writes it checked every statement's signature
// first; readers trust it as the archive's own cache (exhibit audit checks
// it against the log).
//
// One writer fills it: [Index.Add] commits a round of records and
// checkpoints in one transaction. Readers open it read-only and write
// nothing (it keeps a rollback journal, not a write-ahead log, whose
// readers would write): any number of processes read beside the writer,
// and a read-only copy of an archive reads as well.
package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SchemaVersion is the version of the database's layout, stored in its
// meta table. An index of another version is rebuilt (see [Open]).
const SchemaVersion = 3

// Index is an open index. It is safe for concurrent use.
//
// It keeps two pools: one connection that writes (SQLite has one writer at
// a time anyway) and a few that only read.
type Index struct {
	path    string        // the SQLite file; for MySQL, names the database in messages
	sql     dialect       // the statements of its database
	my      *mysql.Config // nil for SQLite
	db      *sql.DB       // the writer, one connection; nil when read-only
	damaged error         // see Damaged
	guard   Guard         // see SetGuard

	mu    sync.Mutex // guards the readers' pool, replaced with the file
	r     *sql.DB
	rFile os.FileInfo // the file r reads
}

// ErrNotFound is returned when no record matches.
var ErrNotFound = errors.New("no such record")

// ErrMissing is returned by Open, read-only, for a missing database.
var ErrMissing = errors.New("the index is missing")

// ErrSchema is returned by Open, read-only, for an index of another schema
// version (a writer rebuilds it).
var ErrSchema = errors.New("the index has another schema version")

// Guard runs read, one read of the index, and returns its error. A guard
// may return before read does, with an error of its own, having cancelled
// read's context: see [Index.SetGuard].
type Guard func(ctx context.Context, read func(context.Context) error) error

// SetGuard has the reads of the index that serve requests (Get,
// FindImported, Count, BySHA256, Search, Tracking, FirstCheckpoint,
// LatestCheckpoint, Checkpoints; not Size, which the index follower bounds
// itself, nor the iterations Records and Uploads of audit and reindex),
// and the taking of leases (TryLease), run through g. The archive sets one for an index shared by
// several frontends, to fail a read of a database that hangs instead of
// waiting for it. It is called before the index is used.
func (x *Index) SetGuard(g Guard) { x.guard = g }

// guarded runs f through x's guard, if it has one.
func guarded[T any](x *Index, ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	if x.guard == nil {
		return f(ctx)
	}
	type result struct {
		v   T
		err error
	}
	res := make(chan result, 1)
	err := x.guard(ctx, func(ctx context.Context) error {
		v, err := f(ctx)
		res <- result{v, err}
		return err
	})
	select {
	case r := <-res:
		return r.v, r.err
	default: // the guard gave up on f
		var zero T
		return zero, err
	}
}

// dialect holds the statements that differ between SQLite and MySQL.
type dialect struct {
	schema           []string
	insertRecord     string // ignores a record already present; ends in VALUES, its rows follow
	insertTail       string // after the rows of insertRecord
	upsertCheckpoint string // (size, timestamped): timestamped only ever set
	upsertLogSize    string // (value)
}

var sqliteSQL = dialect{
	schema: splitSchema(schema),
	insertRecord: `INSERT OR IGNORE INTO records
		(record_id, leaf_index, kind, sha256, url, entity, document, captured_at, claimed, doc, ref, at, statement)
		VALUES `,
	upsertCheckpoint: `INSERT INTO checkpoints(size, timestamped) VALUES(?, ?)
		ON CONFLICT(size) DO UPDATE SET timestamped = MAX(timestamped, excluded.timestamped)`,
	upsertLogSize: "INSERT INTO meta(`key`, value) VALUES('log_size', ?) ON CONFLICT(`key`) DO UPDATE SET value = excluded.value",
}

func splitSchema(s string) []string {
	var out []string
	for _, q := range strings.Split(s, ";") {
		if q = strings.TrimSpace(q); q != "" {
			out = append(out, q)
		}
	}
	return out
}

// The table is keyed by leaf index, so that a writer appends in key order.
// The lookups of captures and of tracking statements are partial indexes
// of each kind's rows, so that a row pays only for its kind's.
const schema = `
CREATE TABLE IF NOT EXISTS records (
	leaf_index  INTEGER PRIMARY KEY,
	record_id   TEXT NOT NULL UNIQUE,
	kind        TEXT NOT NULL,
	sha256      TEXT NOT NULL,
	url         TEXT NOT NULL,
	entity      TEXT NOT NULL,
	document    TEXT NOT NULL,
	captured_at TEXT NOT NULL,
	claimed     INTEGER NOT NULL,
	doc         TEXT NOT NULL,
	ref         TEXT NOT NULL,
	at          TEXT NOT NULL,
	statement   BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_sha256 ON records(sha256) WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS records_url ON records(url, captured_at) WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS records_entity ON records(entity, document) WHERE kind = 'capture';
CREATE INDEX IF NOT EXISTS records_doc ON records(doc, leaf_index) WHERE kind <> 'capture';
CREATE INDEX IF NOT EXISTS records_kind ON records(kind, at) WHERE kind <> 'capture';
CREATE INDEX IF NOT EXISTS records_ref ON records(ref) WHERE kind <> 'capture';
CREATE TABLE IF NOT EXISTS checkpoints (
	size        INTEGER PRIMARY KEY,
	timestamped INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (` + "`key`" + ` TEXT PRIMARY KEY, value TEXT NOT NULL);
`

// Options configure Open.
type Options struct {
	// ReadOnly opens an existing index for reading only: a missing
	// database is ErrMissing, one of another schema version ErrSchema.
	// Nothing is written, created or locked but for SQLite's advisory
	// read locks: a read-only copy of an archive serves reads.
	ReadOnly bool
	// MySQL, if set, puts the index in that MySQL or MariaDB database
	// instead of the SQLite file at path (see openMySQL).
	MySQL *mysql.Config
}

// Open opens the index database at path. Opened for writing, it is created
// if missing, and started again empty (every table dropped) if it has
// another schema version or is damaged beyond SQLite's reading (see
// [Index.Damaged]); the caller fills it again from the log.
func Open(ctx context.Context, path string, o Options) (*Index, error) {
	if o.MySQL != nil {
		return openMySQL(ctx, o.MySQL, o.ReadOnly)
	}
	if o.ReadOnly {
		return openReader(ctx, path)
	}
	x, err := openWriter(ctx, path)
	if err != nil && IsDamaged(err) {
		// The index is a cache of the log: a damaged one is dropped and
		// rebuilt from the log, which it never replaces.
		if rerr := removeDB(path); rerr != nil {
			return nil, fmt.Errorf("index %s: %w; removing it to rebuild it: %w", path, err, rerr)
		}
		damaged := err
		if x, err = openWriter(ctx, path); err == nil {
			x.damaged = damaged
		}
	}
	return x, err
}

// The writer keeps a rollback journal (truncated, not deleted, after each
// commit), not a write-ahead log: readers of a WAL database create and
// write its -shm and -wal files, so a reader would change the archive and
// could not read a read-only copy of it. Readers and the writer take
// SQLite's advisory locks and wait for each other (busy_timeout); the
// writer commits once a round.
const (
	writerDSN = "?_pragma=journal_mode(TRUNCATE)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	readerDSN = "?mode=ro&_pragma=query_only(1)&_pragma=busy_timeout(10000)"
)

func openWriter(ctx context.Context, path string) (*Index, error) {
	x := &Index{path: path, sql: sqliteSQL}
	var err error
	if x.db, err = sql.Open("sqlite", "file:"+path+writerDSN); err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	x.db.SetMaxOpenConns(1)
	if err := x.migrate(ctx); err != nil {
		x.db.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	if x.r, x.rFile, err = openPool(path); err != nil {
		x.Close()
		return nil, err
	}
	return x, nil
}

func openReader(ctx context.Context, path string) (*Index, error) {
	x := &Index{path: path, sql: sqliteSQL}
	var err error
	if x.r, x.rFile, err = openPool(path); err != nil {
		return nil, err
	}
	v, err := x.meta(ctx, "schema_version")
	switch {
	case err != nil:
		x.Close()
		return nil, fmt.Errorf("%s: %w: open the archive for writing once (exhibit reindex) to rebuild it from the log", path, err)
	case v != strconv.Itoa(SchemaVersion):
		x.Close()
		return nil, fmt.Errorf("%s: %w (%q, want %d): open the archive for writing once (exhibit reindex) to rebuild it", path, ErrSchema, v, SchemaVersion)
	}
	return x, nil
}

// openPool opens the pool of reading connections on the file at path, and
// returns the file's identity.
func openPool(path string) (*sql.DB, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w (rebuild it from the log with exhibit reindex)", path, ErrMissing)
	}
	db, err := sql.Open("sqlite", "file:"+path+readerDSN)
	if err != nil {
		return nil, nil, fmt.Errorf("index %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	return db, fi, nil
}

// reader returns the pool of reading connections. A writer may replace the
// index file (a rebuild, see [Index.Rebuild], or by another process, after
// the file was deleted or damaged): a reader that finds another file at
// the index's path reads that one from then on. A reader whose file is
// gone goes on with the one it has.
func (x *Index) reader() *sql.DB {
	if x.my != nil {
		return x.r
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	fi, err := os.Stat(x.path)
	if err != nil || os.SameFile(fi, x.rFile) {
		return x.r
	}
	db, fi, err := openPool(x.path)
	if err != nil {
		return x.r
	}
	old := x.r
	x.r, x.rFile = db, fi
	go old.Close() // once its queries end
	return x.r
}

// Rebuild builds a new index from scratch beside the current one, with
// fill adding to it, and moves it into place (fsynced, renamed over the
// index, the directory fsynced) once fill returns nil: until then, readers
// in this process and others read the index as it was, whole. On error the
// index is left as it was. The caller serialises Rebuild with every other
// write (Add).
func (x *Index) Rebuild(ctx context.Context, fill func(*Index) error) error {
	if x.db == nil {
		return errors.New("index: opened read-only")
	}
	if x.my != nil {
		return x.rebuildMySQL(ctx, fill)
	}
	tmp := x.path + ".rebuild"
	removeDB(tmp)
	nx, err := openWriter(ctx, tmp)
	if err != nil {
		return err
	}
	if err := fill(nx); err != nil {
		nx.Close()
		removeDB(tmp)
		return err
	}
	if err := nx.Close(); err != nil {
		removeDB(tmp)
		return indexErr(err)
	}
	if err := syncFile(tmp); err != nil {
		removeDB(tmp)
		return indexErr(err)
	}
	// The writer's connection is on the old file: close it (its journal
	// is then empty, and not taken for the new file's), move the new file
	// in, and reopen.
	if err := x.db.Close(); err != nil {
		return indexErr(err)
	}
	x.db = nil
	if err := os.Rename(tmp, x.path); err != nil {
		return indexErr(err)
	}
	os.Remove(tmp + "-journal")
	if err := syncDir(filepath.Dir(x.path)); err != nil {
		return indexErr(err)
	}
	if x.db, err = sql.Open("sqlite", "file:"+x.path+writerDSN); err != nil {
		return fmt.Errorf("index %s: %w", x.path, err)
	}
	x.db.SetMaxOpenConns(1)
	x.damaged = nil
	x.reader()
	return nil
}

// removeDB removes a database file and its journals.
func removeDB(path string) error {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error { return syncFile(dir) }

// IsDamaged reports whether err is SQLite's report of a database file that
// is not one, or is malformed.
func IsDamaged(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// indexErr wraps an error of the database. One that a writer would mend
// says so: a damaged file (rebuilt from the log), or a transaction a
// writer left half done when it died (rolled back), which a read-only
// reader cannot undo itself.
func indexErr(err error) error {
	var se *sqlite.Error
	if IsDamaged(err) || errors.As(err, &se) && se.Code() == sqlite3.SQLITE_READONLY_ROLLBACK {
		return fmt.Errorf("index: %w (open the archive for writing once, e.g. exhibit reindex, to mend it from the log)", err)
	}
	return fmt.Errorf("index: %w", err)
}

// String names the index: its SQLite file, or its MySQL database and
// server.
func (x *Index) String() string { return x.path }

// Damaged returns, for an index Open found damaged and started again, what
// SQLite reported; nil otherwise.
func (x *Index) Damaged() error { return x.damaged }

// migrate creates the schema, dropping the tables of another version.
func (x *Index) migrate(ctx context.Context) error {
	var v string
	err := x.db.QueryRowContext(ctx, "SELECT value FROM meta WHERE `key` = 'schema_version'").Scan(&v)
	if err == nil && v == strconv.Itoa(SchemaVersion) {
		return nil
	}
	// A new database, or one of format 1 (no schema_version, a tracking
	// table, entry BLOBs): start again.
	for _, q := range append([]string{"DROP TABLE IF EXISTS records", "DROP TABLE IF EXISTS tracking", "DROP TABLE IF EXISTS checkpoints", "DROP TABLE IF EXISTS meta"}, x.sql.schema...) {
		if _, err := x.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	_, err = x.db.ExecContext(ctx, "INSERT INTO meta(`key`, value) VALUES('schema_version', ?)", strconv.Itoa(SchemaVersion))
	return err
}

// Close closes the database.
func (x *Index) Close() error {
	var errs []error
	x.mu.Lock()
	if x.r != nil {
		errs = append(errs, x.r.Close())
	}
	x.mu.Unlock()
	if x.db != nil && x.db != x.r {
		errs = append(errs, x.db.Close())
	}
	return errors.Join(errs...)
}

// Checkpoint is a kept checkpoint, as the index knows it.
type Checkpoint struct {
	Size        uint64
	Timestamped bool
}

// Round is what Add commits at once: records, checkpoints, and the log
// size the index then covers.
type Round struct {
	// Records are indexed; a record already present is left as it is, so
	// replaying the log is safe. Each needs its Payload and Statement.
	Records []*record.Record
	// Checkpoints are the kept checkpoints to add (or, with Timestamped,
	// to mark time-stamped).
	Checkpoints []Checkpoint
	// Size, if not zero, records that every entry below it is indexed.
	Size uint64
}

// insertRows is the most records one statement inserts, insertBytes
// about the most bytes of their statements (well under MySQL's
// max_allowed_packet); recordCols the values of each.
const (
	insertRows  = 100
	insertBytes = 1 << 20
	recordCols  = 13
)

// insertRecords returns the statement inserting n records.
func (d dialect) insertRecords(n int) string {
	row := "(" + strings.Repeat("?,", recordCols-1) + "?)"
	return d.insertRecord + strings.Repeat(row+",", n-1) + row + d.insertTail
}

// Add commits a round in one transaction. When it returns nil every later
// read sees it.
func (x *Index) Add(ctx context.Context, r Round) error {
	if x.db == nil {
		return errors.New("index: opened read-only")
	}
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return indexErr(err)
	}
	defer tx.Rollback()
	// Rows go up to insertRows (and about insertBytes of statements) at
	// a time, one statement each: a round trip per row to a database
	// server is most of a round's time.
	for recs := r.Records; len(recs) > 0; {
		n, size := 0, 0
		for n < len(recs) && n < insertRows && (n == 0 || size+len(recs[n].Payload) <= insertBytes) {
			size += len(recs[n].Payload)
			n++
		}
		args := make([]any, 0, n*recordCols)
		for _, rec := range recs[:n] {
			args = append(args, rec.ID, int64(rec.Index), rec.Kind, rec.Statement.SubjectDigest(), rec.URL, rec.Entity, rec.Document,
				rec.CapturedAt, rec.Claimed, rec.DocumentID, rec.Ref, rec.At, rec.Payload)
		}
		if _, err := tx.ExecContext(ctx, x.sql.insertRecords(n), args...); err != nil {
			if n == 1 {
				return fmt.Errorf("index: adding %s: %w", recs[0].ID, err)
			}
			return fmt.Errorf("index: adding records %s to %s: %w", recs[0].ID, recs[n-1].ID, err)
		}
		recs = recs[n:]
	}
	for _, c := range r.Checkpoints {
		if _, err := tx.ExecContext(ctx, x.sql.upsertCheckpoint, int64(c.Size), c.Timestamped); err != nil {
			return fmt.Errorf("index: checkpoint %d: %w", c.Size, err)
		}
	}
	if r.Size > 0 {
		if _, err := tx.ExecContext(ctx, x.sql.upsertLogSize, strconv.FormatUint(r.Size, 10)); err != nil {
			return indexErr(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return indexErr(err)
	}
	return nil
}

const cols = `record_id, leaf_index, statement`

// scan reads a row of cols into a record, parsing its statement (whose
// signature the writer checked before indexing it).
func scan(row interface{ Scan(...any) error }) (*record.Record, error) {
	var id string
	var idx int64
	var payload []byte
	if err := row.Scan(&id, &idx, &payload); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, indexErr(err)
	}
	st, err := decodeStatement(payload)
	if err != nil {
		return nil, fmt.Errorf("index: record %s: %w (rebuild the index with exhibit reindex)", id, err)
	}
	return record.New(id, uint64(idx), st, payload), nil
}

// decodeStatement decodes a statement the writer checked before it logged
// and indexed it (verify.NewEntry): plainly, not strictly, and without
// checking its rules again (exhibit audit does).
func decodeStatement(payload []byte) (*verify.Entry, error) {
	var head struct {
		PredicateType string `json:"predicateType"`
	}
	if err := json.Unmarshal(payload, &head); err != nil {
		return nil, err
	}
	e := &verify.Entry{PredicateType: head.PredicateType}
	var v any
	switch head.PredicateType {
	case verify.CapturePredicateType, verify.CapturePredicateTypeV2:
		e.Capture = new(verify.Statement)
		v = e.Capture
	case verify.DeclarationPredicateType:
		e.Declaration = new(verify.DeclarationStatement)
		v = e.Declaration
	case verify.VersionPredicateType:
		e.Version = new(verify.VersionStatement)
		v = e.Version
	case verify.ExtractionPredicateType:
		e.Extraction = new(verify.ExtractionStatement)
		v = e.Extraction
	case verify.ProvisionPredicateType:
		e.Provision = new(verify.ProvisionStatement)
		v = e.Provision
	case verify.ProvisionStatusPredicateType:
		e.ProvisionStatus = new(verify.ProvisionStatusStatement)
		v = e.ProvisionStatus
	case verify.AnalysisPredicateType:
		e.Analysis = new(verify.AnalysisStatement)
		v = e.Analysis
	case verify.CorroborationPredicateType:
		e.Corroboration = new(verify.CorroborationStatement)
		v = e.Corroboration
	default:
		return nil, fmt.Errorf("%w: unknown predicateType %q", verify.ErrStatement, head.PredicateType)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return nil, err
	}
	if len(payloadSubjects(e)) != 1 {
		return nil, fmt.Errorf("%w: want one subject", verify.ErrStatement)
	}
	return e, nil
}

// payloadSubjects returns the statement's subjects.
func payloadSubjects(e *verify.Entry) []verify.Subject {
	switch {
	case e.Capture != nil:
		return e.Capture.Subject
	case e.Declaration != nil:
		return e.Declaration.Subject
	case e.Version != nil:
		return e.Version.Subject
	case e.Extraction != nil:
		return e.Extraction.Subject
	case e.Provision != nil:
		return e.Provision.Subject
	case e.ProvisionStatus != nil:
		return e.ProvisionStatus.Subject
	case e.Analysis != nil:
		return e.Analysis.Subject
	case e.Corroboration != nil:
		return e.Corroboration.Subject
	}
	return nil
}

func (x *Index) query(ctx context.Context, q string, args ...any) ([]*record.Record, error) {
	rows, err := x.reader().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, indexErr(err)
	}
	defer rows.Close()
	var out []*record.Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Get returns the record with the given canonical record ID, with
// Published set to the tree size of the first kept checkpoint that covers
// it (zero if the index knows none), or an error wrapping ErrNotFound.
func (x *Index) Get(ctx context.Context, recordID string) (*record.Record, error) {
	return guarded(x, ctx, func(ctx context.Context) (*record.Record, error) {
		r, err := scan(x.reader().QueryRowContext(ctx, `SELECT `+cols+` FROM records WHERE record_id = ?`, recordID))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, recordID)
		}
		if err != nil {
			return nil, err
		}
		if r.Published, err = x.firstCheckpoint(ctx, r.Index); errors.Is(err, ErrNotFound) {
			err = nil
		}
		return r, err
	})
}

// FindImported returns the record of an upload with the same URL, claimed
// fetch time and snapshot digest (with Published set, as Get does), or
// ErrNotFound.
func (x *Index) FindImported(ctx context.Context, url, fetchedAt, sha256 string) (*record.Record, error) {
	return guarded(x, ctx, func(ctx context.Context) (*record.Record, error) {
		r, err := scan(x.reader().QueryRowContext(ctx, `SELECT `+cols+` FROM records
			WHERE url = ? AND captured_at = ? AND sha256 = ? AND claimed = 1 AND kind = 'capture' LIMIT 1`, url, fetchedAt, sha256))
		if err != nil {
			return nil, err
		}
		if r.Published, err = x.firstCheckpoint(ctx, r.Index); errors.Is(err, ErrNotFound) {
			err = nil
		}
		return r, err
	})
}

// Records yields every record in log order, from one reading connection
// held until the iteration ends.
func (x *Index) Records(ctx context.Context) iter.Seq2[*record.Record, error] {
	return func(yield func(*record.Record, error) bool) {
		rows, err := x.reader().QueryContext(ctx, `SELECT `+cols+` FROM records ORDER BY leaf_index`)
		if err != nil {
			yield(nil, indexErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if !yield(r, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(nil, indexErr(err))
		}
	}
}

// Count returns the number of indexed records.
func (x *Index) Count(ctx context.Context) (uint64, error) {
	return guarded(x, ctx, func(ctx context.Context) (uint64, error) {
		var n int64
		if err := x.reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM records`).Scan(&n); err != nil {
			return 0, indexErr(err)
		}
		return uint64(n), nil
	})
}

func (x *Index) meta(ctx context.Context, key string) (string, error) {
	var v string
	err := x.reader().QueryRowContext(ctx, "SELECT value FROM meta WHERE `key` = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", indexErr(err)
	}
	return v, nil
}

// Size returns the log size the index has caught up with: every entry with
// a smaller index has been indexed.
func (x *Index) Size(ctx context.Context) (uint64, error) {
	v, err := x.meta(ctx, "log_size")
	if err != nil || v == "" {
		return 0, err
	}
	return strconv.ParseUint(v, 10, 64)
}

// BySHA256 returns the newest capture (largest leaf index) whose snapshot
// has the given digest, or ErrNotFound. A failed capture's subject digest
// is that of its URL: the caller checks the statement's snapshot.
func (x *Index) BySHA256(ctx context.Context, digest string) (*record.Record, error) {
	return guarded(x, ctx, func(ctx context.Context) (*record.Record, error) {
		r, err := scan(x.reader().QueryRowContext(ctx, `SELECT `+cols+` FROM records
			WHERE sha256 = ? AND kind = 'capture' ORDER BY leaf_index DESC LIMIT 1`, digest))
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: sha256 %s", ErrNotFound, digest)
		}
		return r, err
	})
}

// SearchQuery selects captures by exact field values; empty fields match
// anything. Results are newest first (highest leaf index first).
type SearchQuery struct {
	URL, SHA256, Entity, Document string
	// URLFragments also matches the URLs that are URL and a fragment
	// ("URL#…"): captures of one resource requested under several
	// fragments, which are never sent to the server.
	URLFragments bool
	// Before, if positive, returns only records with a smaller leaf
	// index: the cursor for the next page.
	Before uint64
	// Limit is the page size. Default 50, at most 500.
	Limit int
}

// Search returns the captures matching q, newest first.
func (x *Index) Search(ctx context.Context, q SearchQuery) ([]*record.Record, error) {
	return guarded(x, ctx, func(ctx context.Context) ([]*record.Record, error) {
		if q.Limit <= 0 {
			q.Limit = 50
		}
		q.Limit = min(q.Limit, 500)
		where := []string{"kind = 'capture'"}
		var args []any
		if q.URL != "" && q.URLFragments {
			// "#" < "$": the range is every URL that starts with URL#.
			where = append(where, "(url = ? OR (url > ? AND url < ?))")
			args = append(args, q.URL, q.URL+"#", q.URL+"$")
			q.URL = ""
		}
		for _, c := range []struct{ col, v string }{{"url", q.URL}, {"sha256", q.SHA256}, {"entity", q.Entity}, {"document", q.Document}} {
			if c.v != "" {
				where = append(where, c.col+" = ?")
				args = append(args, c.v)
			}
		}
		if q.Before > 0 {
			where = append(where, "leaf_index < ?")
			args = append(args, int64(q.Before))
		}
		args = append(args, q.Limit)
		return x.query(ctx, `SELECT `+cols+` FROM records WHERE `+strings.Join(where, " AND ")+` ORDER BY leaf_index DESC LIMIT ?`, args...)
	})
}

// TrackingQuery selects tracking records; empty fields match anything.
type TrackingQuery struct {
	Document string
	// Kinds, if any, restricts the kinds returned (record.Version, …).
	Kinds []string
	Ref   string
	// Since, if set (RFC 3339 UTC), returns records with At >= Since.
	Since string
}

// Tracking returns the tracking records matching q, in log order.
func (x *Index) Tracking(ctx context.Context, q TrackingQuery) ([]*record.Record, error) {
	return guarded(x, ctx, func(ctx context.Context) ([]*record.Record, error) {
		where := "kind <> 'capture'"
		var args []any
		if q.Document != "" {
			where += " AND doc = ?"
			args = append(args, q.Document)
		}
		if q.Ref != "" {
			where += " AND ref = ?"
			args = append(args, q.Ref)
		}
		if q.Since != "" {
			where += " AND at >= ?"
			args = append(args, q.Since)
		}
		if len(q.Kinds) > 0 {
			where += " AND kind IN (?" + strings.Repeat(",?", len(q.Kinds)-1) + ")"
			for _, k := range q.Kinds {
				args = append(args, k)
			}
		}
		return x.query(ctx, `SELECT `+cols+` FROM records WHERE `+where+` ORDER BY leaf_index`, args...)
	})
}

// firstCheckpoint is FirstCheckpoint, unguarded.
func (x *Index) firstCheckpoint(ctx context.Context, idx uint64) (uint64, error) {
	var n sql.NullInt64
	if err := x.reader().QueryRowContext(ctx, `SELECT MIN(size) FROM checkpoints WHERE size > ?`, int64(idx)).Scan(&n); err != nil {
		return 0, indexErr(err)
	}
	if !n.Valid {
		return 0, fmt.Errorf("%w: no kept checkpoint covers entry %d", ErrNotFound, idx)
	}
	return uint64(n.Int64), nil
}

// FirstCheckpoint returns the tree size of the first kept checkpoint that
// covers the entry at index idx (the smallest size over idx), or
// ErrNotFound.
func (x *Index) FirstCheckpoint(ctx context.Context, idx uint64) (uint64, error) {
	return guarded(x, ctx, func(ctx context.Context) (uint64, error) { return x.firstCheckpoint(ctx, idx) })
}

// LatestCheckpoint returns the largest kept checkpoint the index knows, or
// ErrNotFound.
func (x *Index) LatestCheckpoint(ctx context.Context) (Checkpoint, error) {
	return guarded(x, ctx, func(ctx context.Context) (Checkpoint, error) {
		var c Checkpoint
		var size int64
		err := x.reader().QueryRowContext(ctx, `SELECT size, timestamped FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &c.Timestamped)
		if errors.Is(err, sql.ErrNoRows) {
			return c, fmt.Errorf("%w: no kept checkpoint", ErrNotFound)
		}
		if err != nil {
			return c, indexErr(err)
		}
		c.Size = uint64(size)
		return c, nil
	})
}

// Checkpoints returns the kept checkpoints the index knows, by increasing
// size; with untimestamped, only those without a stored token.
func (x *Index) Checkpoints(ctx context.Context, untimestamped bool) ([]Checkpoint, error) {
	return guarded(x, ctx, func(ctx context.Context) ([]Checkpoint, error) {
		q := `SELECT size, timestamped FROM checkpoints ORDER BY size`
		if untimestamped {
			q = `SELECT size, timestamped FROM checkpoints WHERE timestamped = 0 ORDER BY size`
		}
		rows, err := x.reader().QueryContext(ctx, q)
		if err != nil {
			return nil, indexErr(err)
		}
		defer rows.Close()
		var out []Checkpoint
		for rows.Next() {
			var c Checkpoint
			var size int64
			if err := rows.Scan(&size, &c.Timestamped); err != nil {
				return nil, indexErr(err)
			}
			c.Size = uint64(size)
			out = append(out, c)
		}
		return out, rows.Err()
	})
}

// ColumnMismatch is an indexed record whose search columns are not what
// its statement says (an index changed behind exhibit's back).
type ColumnMismatch struct {
	RecordID string
	// Columns are the columns that differ.
	Columns []string
}

// CheckColumns returns every record whose search columns differ from the
// values derived from its own statement.
func (x *Index) CheckColumns(ctx context.Context) ([]ColumnMismatch, error) {
	rows, err := x.reader().QueryContext(ctx, `SELECT record_id, leaf_index, kind, sha256, url, entity, document, captured_at, claimed, doc, ref, at, statement FROM records ORDER BY leaf_index`)
	if err != nil {
		return nil, indexErr(err)
	}
	defer rows.Close()
	var out []ColumnMismatch
	for rows.Next() {
		var id, kind, digest, url, entity, document, capturedAt, doc, ref, at string
		var idx int64
		var claimed bool
		var payload []byte
		if err := rows.Scan(&id, &idx, &kind, &digest, &url, &entity, &document, &capturedAt, &claimed, &doc, &ref, &at, &payload); err != nil {
			return nil, indexErr(err)
		}
		st, err := verify.ParseEntryStatement(payload)
		if err != nil { // the audit checks the rules, strictly
			out = append(out, ColumnMismatch{RecordID: id, Columns: []string{"statement"}})
			continue
		}
		r := record.New(id, uint64(idx), st, payload)
		var diff []string
		for _, c := range []struct {
			name      string
			got, want any
		}{
			{"kind", kind, r.Kind}, {"sha256", digest, st.SubjectDigest()}, {"url", url, r.URL},
			{"entity", entity, r.Entity}, {"document", document, r.Document}, {"captured_at", capturedAt, r.CapturedAt},
			{"claimed", claimed, r.Claimed}, {"doc", doc, r.DocumentID}, {"ref", ref, r.Ref}, {"at", at, r.At},
		} {
			if c.got != c.want {
				diff = append(diff, c.name)
			}
		}
		if len(diff) > 0 {
			out = append(out, ColumnMismatch{RecordID: id, Columns: diff})
		}
	}
	return out, rows.Err()
}

// Upload is the identity of an upload, as an import names it: its claimed
// URL and fetch time, and its snapshot's digest.
type Upload struct{ URL, FetchedAt, SHA256 string }

// Uploads yields the identity of every indexed upload that has a claimed
// fetch time, from one reading connection held until the iteration ends.
func (x *Index) Uploads(ctx context.Context) iter.Seq2[Upload, error] {
	return func(yield func(Upload, error) bool) {
		rows, err := x.reader().QueryContext(ctx, `SELECT url, captured_at, sha256 FROM records WHERE kind = 'capture' AND claimed = 1`)
		if err != nil {
			yield(Upload{}, indexErr(err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			var u Upload
			if err := rows.Scan(&u.URL, &u.FetchedAt, &u.SHA256); err != nil {
				yield(Upload{}, indexErr(err))
				return
			}
			if !yield(u, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Upload{}, indexErr(err))
		}
	}
}
