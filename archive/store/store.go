// Package store keeps exhibit's snapshots and provenance objects,
// content-addressed by SHA-256 and written once.
//
// An object's name is the lowercase hex SHA-256 of its bytes (FIPS 180-4).
// A Store never overwrites an object: storing bytes that are already present
// reuses the stored object. Every read is hash-checked while it streams.
//
// FS is the embedded default, a directory on local disk. Other backends
// (S3-compatible object storage) implement the same interface and pass the
// same conformance tests.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// Store is a content-addressed, write-once blob store. Implementations are
// safe for concurrent use.
type Store interface {
	// Put streams r into the store while hashing it and returns the object's
	// digest and size. size is the number of bytes r will yield, or -1 if
	// unknown. If want is not empty, the bytes must hash to it (lowercase hex
	// SHA-256), or Put stores nothing and returns a *DigestMismatchError. If
	// the object already exists it is not rewritten. When Put returns nil
	// the object is durable: it survives a crash or power loss. On error
	// nothing new is left in the store.
	Put(ctx context.Context, r io.Reader, size int64, want string) (Object, error)

	// Get opens the object with the given digest. Reading it to the end
	// returns a *DigestMismatchError (wrapping ErrCorrupt) instead of io.EOF
	// if the stored bytes do not hash to the digest. It returns ErrNotFound
	// if there is no such object.
	Get(ctx context.Context, digest string) (io.ReadCloser, error)

	// Stat returns the object's size in bytes, or ErrNotFound.
	Stat(ctx context.Context, digest string) (int64, error)

	// List yields the digest of every stored object, in no set order.
	List(ctx context.Context) iter.Seq2[string, error]

	// Location describes the store for humans, e.g. "file:///srv/objects".
	Location() string
}

// Object identifies a stored object.
type Object struct {
	// SHA256 is the lowercase hex SHA-256 of the object's bytes.
	SHA256 string
	// Size is its length in bytes.
	Size int64
	// Existed reports that the object was already stored and was reused.
	Existed bool
}

var (
	// ErrNotFound is returned for a digest that names no stored object.
	ErrNotFound = errors.New("object not found")
	// ErrCorrupt is wrapped by errors reporting stored bytes that do not
	// hash to their name.
	ErrCorrupt = errors.New("object is corrupt")
	// ErrDigest is returned for a string that is not 64 lowercase hex digits.
	ErrDigest = errors.New("not a lowercase hex SHA-256 digest")
)

// DigestMismatchError reports bytes whose SHA-256 is not the expected one:
// on Put, the caller's expectation; on Get, the object's name.
type DigestMismatchError struct {
	Want, Got string
	// Stored is true when the mismatch was found reading a stored object
	// (then the error also matches ErrCorrupt).
	Stored bool
}

func (e *DigestMismatchError) Error() string {
	if e.Stored {
		return fmt.Sprintf("object %s is corrupt: its bytes hash to %s", e.Want, e.Got)
	}
	return fmt.Sprintf("content hashes to %s, want %s", e.Got, e.Want)
}

// Is makes a stored mismatch match ErrCorrupt.
func (e *DigestMismatchError) Is(target error) bool { return e.Stored && target == ErrCorrupt }

// ValidDigest reports whether s is 64 lowercase hex digits.
func ValidDigest(s string) bool { return verify.IsSHA256Hex(s) }

// Check reads the object digest from s to its end, so that its bytes are
// hashed: it returns nil for an intact object, an error wrapping ErrCorrupt
// for one that does not hash to its name, ErrNotFound for a missing one.
func Check(ctx context.Context, s Store, digest string) error {
	rc, err := s.Get(ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}

// Remover is a store that can remove an object. Nothing in exhibit removes
// an object but exhibit prune, and only one that no logged statement
// names (an orphan left by a capture stopped before its statement was
// logged).
type Remover interface {
	// Remove deletes the object digest, durably, every stored version of
	// it. It returns a *RetainedError (wrapping ErrRetained), and removes
	// nothing, for an object under retention or a legal hold; ErrNotFound
	// for none.
	Remove(ctx context.Context, digest string) error
}

// ErrRetained is wrapped by the error Remove returns for an object its
// store retains (S3 Object Lock).
var ErrRetained = errors.New("object is under retention")

// RetainedError reports an object Remove refused because the store
// retains it: until RetainUntil (zero if not by date) in Mode
// ("GOVERNANCE" or "COMPLIANCE"), or under a legal hold.
type RetainedError struct {
	Digest      string
	Mode        string
	RetainUntil time.Time
	LegalHold   bool
}

func (e *RetainedError) Error() string {
	var why []string
	if !e.RetainUntil.IsZero() {
		why = append(why, fmt.Sprintf("retained in %s mode until %s", e.Mode, e.RetainUntil.UTC().Format(time.RFC3339)))
	}
	if e.LegalHold {
		why = append(why, "under a legal hold")
	}
	return fmt.Sprintf("object %s is %s: not removed", e.Digest, strings.Join(why, " and "))
}

func (e *RetainedError) Unwrap() error { return ErrRetained }
