package s3

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/minio/minio-go/v7"
)

var _ store.Remover = (*Store)(nil)

// Remove implements store.Remover. It lists every version of the object's
// key (ListObjectVersions); reads each one's Object Lock state with a
// HeadObject request (x-amz-object-lock-mode, -retain-until-date and
// -legal-hold); if any version is retained (a retain-until date in the
// future, in either mode, or a legal hold ON) it removes nothing and
// returns a *store.RetainedError; otherwise it deletes every version by
// its version ID (DeleteObject with versionId), so that the bytes go
// rather than hide behind a delete marker, and the delete markers with
// them. Governance mode is never bypassed.
func (s *Store) Remove(ctx context.Context, digest string) error {
	if !store.ValidDigest(digest) {
		return fmt.Errorf("s3: %q: %w", digest, store.ErrDigest)
	}
	key := s.key(digest)
	var versions []minio.ObjectInfo
	err := s.do(ctx, func() error {
		versions = versions[:0]
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for v := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: key, WithVersions: true}) {
			if v.Err != nil {
				return v.Err
			}
			if v.Key == key {
				versions = append(versions, v)
			}
		}
		return nil
	})
	if err != nil {
		return s.errorf(err, "listing the versions of object %s", digest)
	}
	live := 0
	for _, v := range versions {
		if v.IsDeleteMarker {
			continue
		}
		live++
		var info minio.ObjectInfo
		err := s.do(ctx, func() error {
			var err error
			info, err = s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{VersionID: versionID(v)})
			return err
		})
		if err != nil {
			return s.errorf(err, "reading the lock of object %s version %s", digest, v.VersionID)
		}
		if re := retained(digest, info); re != nil {
			return re
		}
	}
	if live == 0 {
		return fmt.Errorf("s3: %s: %w", digest, store.ErrNotFound)
	}
	for _, v := range versions {
		err := s.do(ctx, func() error {
			return s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{VersionID: versionID(v)})
		})
		if err != nil {
			return s.errorf(err, "removing object %s version %s", digest, v.VersionID)
		}
	}
	return nil
}

// versionID is v's version ID to address it by: none in a bucket that was
// never versioned.
func versionID(v minio.ObjectInfo) string {
	if v.VersionID == "null" {
		return ""
	}
	return v.VersionID
}

// retained returns the *store.RetainedError of an object version that
// HeadObject says is locked, or nil.
func retained(digest string, info minio.ObjectInfo) *store.RetainedError {
	h := info.Metadata
	re := &store.RetainedError{Digest: digest, Mode: strings.ToUpper(h.Get("X-Amz-Object-Lock-Mode"))}
	if u := h.Get("X-Amz-Object-Lock-Retain-Until-Date"); u != "" {
		until, err := time.Parse(time.RFC3339, u)
		if err != nil {
			// Unreadable: taken as retained for good.
			until = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
		}
		if until.After(time.Now()) {
			re.RetainUntil = until
		}
	}
	re.LegalHold = strings.EqualFold(h.Get("X-Amz-Object-Lock-Legal-Hold"), "ON")
	if re.RetainUntil.IsZero() && !re.LegalHold {
		return nil
	}
	return re
}
