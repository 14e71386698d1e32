package archive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// This file is the archive's read path. Nothing here takes a lock, calls
// an outside service or writes a file: an archive opened for reading, by
// any number of processes beside its writer, serves all of it.

// ErrNotFound is returned for a record ID the archive does not hold.
var ErrNotFound = index.ErrNotFound

// Get returns the record with the given ID (any form verify.ParseRecordID
// accepts), from the index, with Published set to the tree size of the
// checkpoint it was first published with.
func (a *Archive) Get(ctx context.Context, id string) (*record.Record, error) {
	canon, err := verify.ParseRecordID(id)
	if err != nil {
		return nil, err
	}
	return a.index.Get(ctx, canon)
}

// ProveOptions select the checkpoint a bundle is proved against.
type ProveOptions struct {
	// Latest proves the record against the latest kept checkpoint. By
	// default it is proved against the checkpoint it was first published
	// with: the earliest evidence of its existence, with the witness
	// cosignatures and the time-stamp of that checkpoint.
	Latest bool
}

// Prove returns the evidence bundle of a record (any kind), computed now
// from its entry (read from the log), an inclusion proof (from the log's
// tiles) and a kept checkpoint with its token (see ProveOptions). The
// proof is checked before it is returned. With a TSA, a checkpoint whose
// token has not arrived yet gives a bundle saying "timestamp_status":
// "pending"; a later Prove carries it.
func (a *Archive) Prove(ctx context.Context, id string, o ProveOptions) (*record.Record, *verify.Bundle, error) {
	r, err := a.Get(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	b, err := a.Bundle(ctx, r, o)
	if err != nil {
		return nil, nil, err
	}
	return r, b, nil
}

// Bundle is Prove for a record the caller holds (from the write path, or
// Get): what the record holds (its entry, its checkpoint) is used as it is.
func (a *Archive) Bundle(ctx context.Context, r *record.Record, o ProveOptions) (*verify.Bundle, error) {
	var signed []byte
	var cp *verify.Checkpoint
	var err error
	switch {
	case o.Latest || r.Published == 0:
		signed, cp, err = a.Checkpoint(ctx)
	case r.Checkpoint != nil:
		signed = r.Checkpoint
		cp, err = a.openCheckpoint(signed)
	default:
		signed, cp, err = a.CheckpointAt(ctx, r.Published)
	}
	if err != nil {
		return nil, err
	}
	if cp.Size <= r.Index {
		return nil, fmt.Errorf("record %s at index %d: the checkpoint of tree size %d does not cover it", r.ID, r.Index, cp.Size)
	}
	entry := r.Entry
	if entry == nil {
		if entry, err = a.entry(ctx, r.Index, cp.Size); err != nil {
			return nil, err
		}
	}
	if got := verify.RecordID(entry); got != r.ID {
		return nil, fmt.Errorf("record %s: the log holds the entry of %s at index %d (the index disagrees with the log: run exhibit reindex)", r.ID, got, r.Index)
	}
	b, err := a.reader.Prove(ctx, entry, r.Index, signed, cp)
	if err != nil {
		return nil, err
	}
	if a.trust.Policy != nil && a.trust.FailOpen {
		b.Witnessing = verify.WitnessingFailOpen
	}
	if a.trust.TSA != nil {
		tsr, err := a.kept.Timestamp(ctx, cp.Size)
		switch {
		case err == nil:
			b.Timestamp = tsr
		case errors.Is(err, ledger.ErrNotKept):
			b.TimestampStatus = verify.TimestampPending
		default:
			return nil, err
		}
	}
	return b, nil
}

// entry reads the log entry at index idx of the log's tree of the given
// size.
func (a *Archive) entry(ctx context.Context, idx, size uint64) ([]byte, error) {
	for e, err := range a.reader.Entries(ctx, idx, idx+1, size) {
		if err != nil {
			return nil, fmt.Errorf("reading log entry %d: %w", idx, err)
		}
		return e.Data, nil
	}
	return nil, fmt.Errorf("log entry %d: not in the log", idx)
}

// Checkpoint returns the latest kept checkpoint (signed note and parsed
// body, its signature checked): what the archive publishes at /checkpoint.
func (a *Archive) Checkpoint(ctx context.Context) ([]byte, *verify.Checkpoint, error) {
	if a.writer != nil {
		return a.writer.Kept()
	}
	// The kept checkpoint of the tree the log publishes (the log's own
	// file may be a later re-publication of it, newly signed), if it is
	// kept (as it is but for the moments between its publication and its
	// keeping), else the latest the index knows.
	_, cp, err := a.reader.Checkpoint(ctx)
	if err == nil {
		if signed, kcp, kerr := a.CheckpointAt(ctx, cp.Size); kerr == nil && bytes.Equal(kcp.Hash, cp.Hash) {
			return signed, kcp, nil
		}
	}
	c, err := a.index.LatestCheckpoint(ctx)
	if err != nil {
		return nil, nil, err
	}
	return a.CheckpointAt(ctx, c.Size)
}

// CheckpointAt returns the kept checkpoint of tree size size, its
// signature checked, or an error wrapping ledger.ErrNotKept.
func (a *Archive) CheckpointAt(ctx context.Context, size uint64) ([]byte, *verify.Checkpoint, error) {
	signed, err := a.kept.Get(ctx, size)
	if err != nil {
		return nil, nil, err
	}
	cp, err := a.openCheckpoint(signed)
	if err != nil {
		return nil, nil, fmt.Errorf("kept checkpoint %d: %w", size, err)
	}
	if cp.Size != size {
		return nil, nil, fmt.Errorf("kept checkpoint %d: it is of tree size %d", size, cp.Size)
	}
	return signed, cp, nil
}

// CheckpointFile returns where the checkpoint of tree size size is kept:
// the path of its file in checkpoints/, or its s3:// location for an
// archive whose log is on S3. Formerly: the path of the file that keeps the checkpoint of
// tree size size (whether or not it is kept); its token's is the same with
// ".tsr" appended.
func (a *Archive) CheckpointFile(size uint64) string {
	return a.kept.Location(size)
}

// CheckpointKeptAt returns when the checkpoint of tree size size was kept,
// or an error wrapping ledger.ErrNotKept.
func (a *Archive) CheckpointKeptAt(ctx context.Context, size uint64) (time.Time, error) {
	return a.kept.KeptAt(ctx, size)
}

// Checkpoints returns the kept checkpoints, by increasing tree size.
func (a *Archive) Checkpoints(ctx context.Context) ([]ledger.KeptFile, error) {
	return a.kept.All(ctx)
}

// LoneTokens returns the tree sizes of the time-stamp tokens stored without
// their checkpoint: kept checkpoints lost.
func (a *Archive) LoneTokens(ctx context.Context) ([]uint64, error) {
	return a.kept.LoneTokens(ctx)
}

// SearchQuery selects captures; see index.SearchQuery.
type SearchQuery = index.SearchQuery

// Search returns the captures matching q, newest first.
func (a *Archive) Search(ctx context.Context, q SearchQuery) ([]*record.Record, error) {
	return a.index.Search(ctx, q)
}

// SearchText returns the captures a free-text query matches, newest
// first, as a person types it into the index page or exhibit search: q of
// 64 hex digits (any case) is a SHA-256, one with "://" a URL, anything
// else an entity or, when no entity matches, a document title. Matches
// are exact (q is trimmed of surrounding space). field says which was
// matched: "sha256", "url", "entity" or "document". o's Before and Limit
// page the results; its other fields are ignored. An empty q returns "",
// and the newest captures.
func (a *Archive) SearchText(ctx context.Context, q string, o SearchQuery) (recs []*record.Record, field string, err error) {
	q = strings.TrimSpace(q)
	sq := SearchQuery{Before: o.Before, Limit: o.Limit}
	switch lq := strings.ToLower(q); {
	case q == "":
	case store.ValidDigest(lq):
		field, sq.SHA256 = "sha256", lq
	case strings.Contains(q, "://"):
		field, sq.URL = "url", q
	default:
		field, sq.Entity = "entity", q
	}
	recs, err = a.Search(ctx, sq)
	if err == nil && len(recs) == 0 && field == "entity" {
		sq.Entity, sq.Document, field = "", q, "document"
		recs, err = a.Search(ctx, sq)
	}
	return recs, field, err
}

// SnapshotMismatchError reports an indexed record whose statement
// describes a snapshot other than the digest it is indexed under: the
// index disagrees with the log (rebuild it with exhibit reindex).
type SnapshotMismatchError struct {
	RecordID string
	// Want is the digest looked up; Got is the statement's snapshot digest.
	Want, Got string
}

func (e *SnapshotMismatchError) Error() string {
	return fmt.Sprintf("record %s is indexed under sha256 %s, but its statement's snapshot is %s", e.RecordID, e.Want, e.Got)
}

// SnapshotInfo returns the media type of the snapshot whose SHA-256 is
// digest (64 lowercase hex digits), as stated by the newest record that
// captured it: the Content-Type the server sent, or the one detected for
// an upload. It may be empty when the statement names none. The value is
// the capture's claim, signed but not sanitised: a caller that puts it in
// a header must parse it first.
//
// It returns store.ErrDigest for a malformed digest; ErrNotFound when no
// record's snapshot has that digest (a stored object that is not a
// snapshot, such as a certificate chain or a version's text, or a failed
// capture whose URL hashes to digest); a *SnapshotMismatchError when the
// index and the statement disagree.
func (a *Archive) SnapshotInfo(ctx context.Context, digest string) (mediaType string, err error) {
	if !store.ValidDigest(digest) {
		return "", fmt.Errorf("%q: %w", digest, store.ErrDigest)
	}
	r, err := a.index.BySHA256(ctx, digest)
	if err != nil {
		return "", err
	}
	snap := r.Statement.Capture.Predicate.Snapshot
	if snap == nil {
		return "", fmt.Errorf("%w: sha256 %s names no snapshot (record %s is a failed capture)", ErrNotFound, digest, r.ID)
	}
	if snap.SHA256 != digest {
		return "", &SnapshotMismatchError{RecordID: r.ID, Want: digest, Got: snap.SHA256}
	}
	return snap.MediaType, nil
}

// maxHeadersObject bounds a stored headers object read back: far above
// what a capture stores (net/http's Transport reads at most 10 MiB of
// response header by default; JSON escaping adds at most a few times
// that), so that a damaged store cannot make a reader hold an arbitrary
// object.
const maxHeadersObject = 64 << 20

// ResponseHeaders returns the final response's header fields that a
// capture's statement signs: o.Headers, or, when they were moved out of
// the entry (o.HeadersDigest), the stored object that digest names, read
// and hash-checked. It returns nil for an observation without headers (an
// upload, or a fetch that got no response); an error wrapping
// store.ErrNotFound or store.ErrCorrupt when the object is missing or
// does not hash to its name.
func (a *Archive) ResponseHeaders(ctx context.Context, o *verify.Observation) (map[string][]string, error) {
	if o == nil {
		return nil, nil
	}
	if o.Headers != nil || o.HeadersDigest == "" {
		return o.Headers, nil
	}
	rc, err := a.store.Get(ctx, o.HeadersDigest)
	if err != nil {
		return nil, fmt.Errorf("response headers object %s: %w", o.HeadersDigest, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxHeadersObject+1))
	if err != nil {
		return nil, fmt.Errorf("response headers object %s: %w", o.HeadersDigest, err)
	}
	if len(b) > maxHeadersObject {
		return nil, fmt.Errorf("response headers object %s: over the %d bytes a capture stores", o.HeadersDigest, maxHeadersObject)
	}
	var h map[string][]string
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("response headers object %s: not a JSON object of header fields: %w", o.HeadersDigest, err)
	}
	return h, nil
}
