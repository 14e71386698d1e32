package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"

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
	hint := "check the log's dsn, bucket and prefix in exhibit.json: every frontend must name the same database and the same place in the bucket"
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

// The log's identity is recorded in its sequencing database, beside
// Tessera's tables, in a table of one row (id 0) that exhibit alone
// writes: the origin and verifier key (C2SP vkey) of the log, as created.
const AWSIdentityTable = "ExhibitLogIdentity"

// AWSIdentity is the identity recorded in a log's sequencing database
// when it was created (RecordAWSIdentity): its origin and the verifier
// key of its first checkpoint.
type AWSIdentity struct {
	Origin string
	VKey   string
}

// RecordAWSIdentity records the log's identity in its sequencing database,
// once: a database that already records one keeps it (and an error is
// returned if it is another).
func RecordAWSIdentity(ctx context.Context, c AWS, id AWSIdentity) error {
	c = c.withDefaults()
	conn, err := mysql.NewConnector(c.DB)
	if err != nil {
		return fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+AWSIdentityTable+` (
		id INT UNSIGNED NOT NULL,
		origin VARCHAR(255) NOT NULL,
		vkey VARCHAR(1024) NOT NULL,
		PRIMARY KEY (id)
	)`); err != nil {
		return fmt.Errorf("database %s at %s: creating %s: %w", c.DB.DBName, c.DB.Addr, AWSIdentityTable, err)
	}
	if _, err := db.ExecContext(ctx, `INSERT IGNORE INTO `+AWSIdentityTable+` (id, origin, vkey) VALUES (0, ?, ?)`, id.Origin, id.VKey); err != nil {
		return fmt.Errorf("database %s at %s: recording the log's identity: %w", c.DB.DBName, c.DB.Addr, err)
	}
	got, ok, err := ReadAWSIdentity(ctx, c)
	if err != nil {
		return err
	}
	if !ok || got != id {
		return fmt.Errorf("database %s at %s records another log's identity (%s), not %s", c.DB.DBName, c.DB.Addr, got.VKey, id.VKey)
	}
	return nil
}

// ReadAWSIdentity reads the identity recorded in the log's sequencing
// database; ok is false if none is (a log created before exhibit recorded
// it, or a database without a log).
func ReadAWSIdentity(ctx context.Context, c AWS) (id AWSIdentity, ok bool, err error) {
	c = c.withDefaults()
	conn, err := mysql.NewConnector(c.DB)
	if err != nil {
		return id, false, fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?`, c.DB.DBName, AWSIdentityTable).Scan(&n); err != nil {
		return id, false, fmt.Errorf("database %s at %s: looking for the log's identity: %w", c.DB.DBName, c.DB.Addr, err)
	}
	if n == 0 {
		return id, false, nil
	}
	err = db.QueryRowContext(ctx, `SELECT origin, vkey FROM `+AWSIdentityTable+` WHERE id = 0`).Scan(&id.Origin, &id.VKey)
	if errors.Is(err, sql.ErrNoRows) {
		return id, false, nil
	}
	if err != nil {
		return id, false, fmt.Errorf("database %s at %s: reading the log's identity: %w", c.DB.DBName, c.DB.Addr, err)
	}
	return id, true, nil
}

// LogKeyError reports a log that is not the one a writer's keys sign: its
// recorded identity, its published checkpoint or its latest kept one was
// signed by another key. Opening it for writing would append entries and
// publish checkpoints signed by the wrong key into another archive's
// log.
type LogKeyError struct {
	// Where names the log.
	Where string
	// What says what names the log's key: "the identity recorded in
	// database …", "its published checkpoint", ….
	What string
	// LogKey is the log's verifier key (vkey), or, where only a signature
	// names it, its name and key ID ("origin+hex8").
	LogKey string
	// Keys are the writer's verifier keys, current first.
	Keys []string
	// Err is the signature check's error, if any.
	Err error
}

func (e *LogKeyError) Error() string {
	keys := strings.Join(e.Keys, ", ")
	if len(e.Keys) > 1 {
		keys = e.Keys[0] + " (and previously " + strings.Join(e.Keys[1:], ", ") + ")"
	}
	s := fmt.Sprintf("the log %s is signed by the key %s (%s), but this frontend's exhibit.json has the key %s", e.Where, e.LogKey, e.What, keys)
	s += ": refusing to write into another archive's log; check that exhibit.json's store, log and dsn settings name this archive's bucket prefix and databases, and that its key is this archive's"
	if e.Err != nil {
		s += fmt.Sprintf(" (%v)", e.Err)
	}
	return s
}

func (e *LogKeyError) Unwrap() error { return e.Err }

// CheckLogKey checks, before a log is opened for writing, that keys (the
// writer's, current first) are the log's: signed, the checkpoint the log
// publishes (f), and kept, the latest kept one (nil if none), each verify
// under one of them. A log without a checkpoint passes. It returns a
// *LogKeyError naming both keys otherwise.
func CheckLogKey(ctx context.Context, where string, f Fetcher, kept []byte, keys verify.Keyring) error {
	raw, err := f.ReadCheckpoint(ctx)
	switch {
	case errors.Is(err, os.ErrNotExist):
		raw = nil
	case err != nil:
		return fmt.Errorf("reading the checkpoint of log %s: %w", where, err)
	}
	for _, cp := range []struct {
		what   string
		signed []byte
	}{{"its published checkpoint", raw}, {"its latest kept checkpoint", kept}} {
		if cp.signed == nil {
			continue
		}
		if _, _, err := keys.OpenCheckpoint(cp.signed); err != nil {
			return &LogKeyError{Where: where, What: cp.what, LogKey: noteSigners(cp.signed), Keys: vkeys(keys), Err: err}
		}
	}
	return nil
}

// CheckAWSIdentity checks, before the log is opened for writing, that the
// identity its database records (RecordAWSIdentity), if any, is of one of
// keys. It returns a *LogKeyError naming both keys otherwise.
func CheckAWSIdentity(ctx context.Context, c AWS, keys verify.Keyring) error {
	id, ok, err := ReadAWSIdentity(ctx, c)
	if err != nil || !ok {
		return err
	}
	if k := keys.Lookup(id.VKey); k == nil || k.Name != id.Origin {
		return &LogKeyError{Where: c.String(), What: "the identity recorded in its database " + c.DB.DBName + " when it was created", LogKey: id.VKey, Keys: vkeys(keys)}
	}
	return nil
}

func vkeys(keys verify.Keyring) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.VKey)
	}
	return out
}

// noteSigners names the keys that signed a note, "name+hex8" each, from
// its signature lines (unverified: a hint for messages).
func noteSigners(signed []byte) string {
	_, sigs, ok := strings.Cut(string(signed), "\n\n")
	if !ok {
		return "(not a signed note)"
	}
	var out []string
	for _, line := range strings.Split(sigs, "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			continue
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			continue
		}
		out = append(out, fmt.Sprintf("%s+%08x", name, binary.BigEndian.Uint32(sig[:4])))
	}
	if len(out) == 0 {
		return "(no signature)"
	}
	return strings.Join(out, ", ")
}
