package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// TrackingRecord is one indexed tracking statement (a declaration,
// version, extraction, provision or provision status; see the verify
// package's predicate types).
type TrackingRecord struct {
	RecordID  string
	LeafIndex uint64
	// Kind is the statement's kind, e.g. "version".
	Kind string
	// Document is the tracked document's ID.
	Document string
	// Ref is the record the statement is about: the snapshot's record for
	// a version or extraction, the version's for a provision, the
	// provision's for a provision status, the previous revision's for a
	// declaration (empty for the first).
	Ref string
	// At is the time the statement speaks for, RFC 3339 UTC: a
	// declaration's declared_at; a version's or extraction's snapshot
	// capture time; a provision's or status's recorded_at.
	At string
	// Entry is the exact log entry.
	Entry []byte
}

const trackingCols = `record_id, leaf_index, kind, doc, ref, at, entry`

// AddTracking inserts a tracking record; adding one already present is a
// no-op. When it returns nil the record is committed.
func (x *Index) AddTracking(ctx context.Context, r *TrackingRecord) error {
	_, err := x.db.ExecContext(ctx, `INSERT OR IGNORE INTO tracking (`+trackingCols+`) VALUES (?,?,?,?,?,?,?)`,
		r.RecordID, int64(r.LeafIndex), r.Kind, r.Document, r.Ref, r.At, r.Entry)
	if err != nil {
		return fmt.Errorf("index: adding %s: %w", r.RecordID, err)
	}
	return nil
}

func scanTracking(row interface{ Scan(...any) error }) (*TrackingRecord, error) {
	var r TrackingRecord
	var idx int64
	if err := row.Scan(&r.RecordID, &idx, &r.Kind, &r.Document, &r.Ref, &r.At, &r.Entry); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("index: %w", err)
	}
	r.LeafIndex = uint64(idx)
	return &r, nil
}

// GetTracking returns the tracking record with the given canonical ID.
func (x *Index) GetTracking(ctx context.Context, recordID string) (*TrackingRecord, error) {
	r, err := scanTracking(x.r.QueryRowContext(ctx, `SELECT `+trackingCols+` FROM tracking WHERE record_id = ?`, recordID))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, recordID)
	}
	return r, err
}

// TrackingQuery selects tracking records; empty fields match anything.
type TrackingQuery struct {
	Document string
	// Kinds, if any, restricts the kinds returned.
	Kinds []string
	Ref   string
	// Since, if set (RFC 3339 UTC), returns records with At >= Since.
	Since string
}

// Tracking returns the tracking records matching q, in log order.
func (x *Index) Tracking(ctx context.Context, q TrackingQuery) ([]*TrackingRecord, error) {
	where := "1=1"
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
	rows, err := x.r.QueryContext(ctx, `SELECT `+trackingCols+` FROM tracking WHERE `+where+` ORDER BY leaf_index`, args...)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var out []*TrackingRecord
	for rows.Next() {
		r, err := scanTracking(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
