package archive

import (
	"context"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// SnapshotMismatchError reports an indexed record whose signed statement
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
// The record's statement is opened and its signature checked against the
// archive's key before anything is returned. It returns store.ErrDigest for
// a malformed digest; ErrNotFound when no record's snapshot has that
// digest (a stored object that is not a snapshot, such as a certificate
// chain, or a failed capture whose URL hashes to digest); a
// *SnapshotMismatchError when the index and the statement disagree; and
// the verification error when the statement does not verify.
func (a *Archive) SnapshotInfo(ctx context.Context, digest string) (mediaType string, err error) {
	if !store.ValidDigest(digest) {
		return "", fmt.Errorf("%q: %w", digest, store.ErrDigest)
	}
	ir, err := a.index.BySHA256(ctx, digest)
	if err != nil {
		return "", err
	}
	st, err := a.openStatement(ir.Entry)
	if err != nil {
		return "", fmt.Errorf("record %s in the index: %w", ir.RecordID, err)
	}
	if got := verify.RecordID(ir.Entry); got != ir.RecordID {
		return "", fmt.Errorf("record %s in the index holds the entry of %s", ir.RecordID, got)
	}
	snap := st.Predicate.Snapshot
	if snap == nil {
		return "", fmt.Errorf("%w: sha256 %s names no snapshot (record %s is a failed capture)", ErrNotFound, digest, ir.RecordID)
	}
	if snap.SHA256 != digest {
		return "", &SnapshotMismatchError{RecordID: ir.RecordID, Want: digest, Got: snap.SHA256}
	}
	return snap.MediaType, nil
}
