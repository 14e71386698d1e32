// Package index is exhibit's embedded lookup index: a SQLite database
// (modernc.org/sqlite, pure Go) mapping record IDs to log positions,
// statements and the fields people search by.
//
// The log is the source of truth; the index is derived from it and can be
// rebuilt from the log alone (exhibit reindex). It is opened in WAL mode so
// that readers never block the single writer.
package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite"
)

// Record is one indexed log entry.
type Record struct {
	RecordID  string
	LeafIndex uint64
	// SHA256 is the statement subject's digest (for a failed capture, the
	// digest of its URL).
	SHA256   string
	URL      string
	FinalURL string
	Entity   string
	Document string
	Outcome  string
	Method   string
	// CapturedAt is the citation time, RFC 3339 UTC; Claimed tells whether
	// it was claimed by a supplier rather than observed.
	CapturedAt string
	Claimed    bool
	// Entry is the exact log entry (the DSSE envelope).
	Entry []byte
}

// Index is an open index. It is safe for concurrent use.
//
// It keeps two pools: one connection that writes (SQLite has one writer at
// a time anyway) and a few that only read, which WAL mode lets run beside
// the writer. Concurrent Adds are committed together, in one transaction
// per round (group commit).
type Index struct {
	db *sql.DB // the writer, one connection
	r  *sql.DB // readers

	mu      sync.Mutex
	queue   []addRequest
	writing bool
}

type addRequest struct {
	rec  *Record
	done chan error
}

// maxBatch bounds the records committed in one transaction.
const maxBatch = 512

// ErrNotFound is returned when no record matches.
var ErrNotFound = errors.New("no such record")

const schema = `
CREATE TABLE IF NOT EXISTS records (
	record_id   TEXT PRIMARY KEY,
	leaf_index  INTEGER NOT NULL UNIQUE,
	sha256      TEXT NOT NULL,
	url         TEXT NOT NULL,
	final_url   TEXT NOT NULL,
	entity      TEXT NOT NULL,
	document    TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	method      TEXT NOT NULL,
	captured_at TEXT NOT NULL,
	claimed     INTEGER NOT NULL,
	entry       BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_sha256 ON records(sha256);
CREATE INDEX IF NOT EXISTS records_url ON records(url, captured_at);
CREATE INDEX IF NOT EXISTS records_doc ON records(entity, document);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tracking (
	record_id  TEXT PRIMARY KEY,
	leaf_index INTEGER NOT NULL UNIQUE,
	kind       TEXT NOT NULL,
	doc        TEXT NOT NULL,
	ref        TEXT NOT NULL,
	at         TEXT NOT NULL,
	entry      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS tracking_doc ON tracking(doc, leaf_index);
CREATE INDEX IF NOT EXISTS tracking_kind ON tracking(kind, at);
CREATE INDEX IF NOT EXISTS tracking_ref ON tracking(ref);
`

// ErrMissing is returned by Open with mustExist for a missing database.
var ErrMissing = errors.New("the index is missing")

// Open opens the index database at path, creating it unless mustExist is
// set (then a missing database is ErrMissing: readers never create one).
func Open(ctx context.Context, path string, mustExist bool) (*Index, error) {
	if mustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("%s: %w (rebuild it from the log with exhibit reindex)", path, ErrMissing)
		}
	}
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	return &Index{db: db, r: r}, nil
}

// Close closes the database.
func (x *Index) Close() error { return errors.Join(x.r.Close(), x.db.Close()) }

// Add inserts a record. Adding a record whose ID is already present is a
// no-op, so replaying the log is safe.
// When Add returns nil the record is committed: every later read sees it.
func (x *Index) Add(ctx context.Context, r *Record) error {
	req := addRequest{rec: r, done: make(chan error, 1)}
	x.mu.Lock()
	x.queue = append(x.queue, req)
	if !x.writing {
		x.writing = true
		go x.writeLoop()
	}
	x.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writeLoop commits queued records in rounds until the queue is empty.
func (x *Index) writeLoop() {
	for {
		x.mu.Lock()
		n := min(len(x.queue), maxBatch)
		batch := x.queue[:n:n]
		x.queue = x.queue[n:]
		if n == 0 {
			x.writing = false
			x.mu.Unlock()
			return
		}
		x.mu.Unlock()
		err := x.insert(batch)
		for _, req := range batch {
			req.done <- err
		}
	}
}

const insertSQL = `INSERT OR IGNORE INTO records
	(record_id, leaf_index, sha256, url, final_url, entity, document, outcome, method, captured_at, claimed, entry)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`

func (x *Index) insert(batch []addRequest) error {
	ctx := context.Background()
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertSQL)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	defer stmt.Close()
	for _, req := range batch {
		r := req.rec
		if _, err := stmt.ExecContext(ctx, r.RecordID, int64(r.LeafIndex), r.SHA256, r.URL, r.FinalURL, r.Entity, r.Document,
			r.Outcome, r.Method, r.CapturedAt, r.Claimed, r.Entry); err != nil {
			return fmt.Errorf("index: adding %s: %w", r.RecordID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

const cols = `record_id, leaf_index, sha256, url, final_url, entity, document, outcome, method, captured_at, claimed, entry`

func scan(row interface{ Scan(...any) error }) (*Record, error) {
	var r Record
	var idx int64
	if err := row.Scan(&r.RecordID, &idx, &r.SHA256, &r.URL, &r.FinalURL, &r.Entity, &r.Document,
		&r.Outcome, &r.Method, &r.CapturedAt, &r.Claimed, &r.Entry); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("index: %w", err)
	}
	r.LeafIndex = uint64(idx)
	return &r, nil
}

// Get returns the record with the given canonical record ID.
func (x *Index) Get(ctx context.Context, recordID string) (*Record, error) {
	r, err := scan(x.r.QueryRowContext(ctx, `SELECT `+cols+` FROM records WHERE record_id = ?`, recordID))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, recordID)
	}
	return r, err
}

// FindImported returns the record of an upload with the same URL, claimed
// fetch time and digest, or ErrNotFound.
func (x *Index) FindImported(ctx context.Context, url, fetchedAt, sha256 string) (*Record, error) {
	return scan(x.r.QueryRowContext(ctx, `SELECT `+cols+` FROM records
		WHERE url = ? AND captured_at = ? AND sha256 = ? AND claimed = 1 LIMIT 1`, url, fetchedAt, sha256))
}

// Records yields every record in leaf-index order, from one reading
// connection held until the iteration ends.
func (x *Index) Records(ctx context.Context) iter.Seq2[*Record, error] {
	return func(yield func(*Record, error) bool) {
		rows, err := x.r.QueryContext(ctx, `SELECT `+cols+` FROM records ORDER BY leaf_index`)
		if err != nil {
			yield(nil, fmt.Errorf("index: %w", err))
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
			yield(nil, fmt.Errorf("index: %w", err))
		}
	}
}

// Count returns the number of indexed records, captures and tracking
// records together.
func (x *Index) Count(ctx context.Context) (uint64, error) {
	var n int64
	if err := x.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM records) + (SELECT COUNT(*) FROM tracking)`).Scan(&n); err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	return uint64(n), nil
}

// Size returns the log size the index has caught up with: every entry with
// a smaller index has been indexed.
func (x *Index) Size(ctx context.Context) (uint64, error) {
	var v string
	err := x.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'log_size'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	return strconv.ParseUint(v, 10, 64)
}

// SetSize records that the index holds every entry below size.
func (x *Index) SetSize(ctx context.Context, size uint64) error {
	_, err := x.db.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES('log_size', ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, strconv.FormatUint(size, 10))
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// Reset deletes every record, before a rebuild.
func (x *Index) Reset(ctx context.Context) error {
	_, err := x.db.ExecContext(ctx, `DELETE FROM records; DELETE FROM tracking; DELETE FROM meta;`)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// MaxLeafIndex returns one more than the largest indexed leaf index (0 for
// an empty index).
func (x *Index) MaxLeafIndex(ctx context.Context) (uint64, error) {
	var n sql.NullInt64
	if err := x.r.QueryRowContext(ctx, `SELECT MAX(leaf_index) FROM records`).Scan(&n); err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	if !n.Valid {
		return 0, nil
	}
	return uint64(n.Int64) + 1, nil
}

// BySHA256 returns the newest record (largest leaf index) whose SHA256
// column equals digest, a lowercase hex SHA-256, or ErrNotFound. It uses
// the records_sha256 index. A failed capture's column holds the digest of
// its URL, so the caller must check the statement's snapshot.
func (x *Index) BySHA256(ctx context.Context, digest string) (*Record, error) {
	r, err := scan(x.r.QueryRowContext(ctx, `SELECT `+cols+` FROM records
		WHERE sha256 = ? ORDER BY leaf_index DESC LIMIT 1`, digest))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: sha256 %s", ErrNotFound, digest)
	}
	return r, err
}

// SearchQuery selects records by exact field values; empty fields match
// anything. Results are newest first (highest leaf index first).
type SearchQuery struct {
	URL, SHA256, Entity, Document string
	// Before, if positive, returns only records with a smaller leaf
	// index: the cursor for the next page.
	Before uint64
	// Limit is the page size. Default 50, at most 500.
	Limit int
}

// Search returns the records matching q, newest first.
func (x *Index) Search(ctx context.Context, q SearchQuery) ([]*Record, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 500)
	where := []string{"1=1"}
	var args []any
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
	rows, err := x.r.QueryContext(ctx, `SELECT `+cols+` FROM records WHERE `+strings.Join(where, " AND ")+` ORDER BY leaf_index DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var out []*Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
