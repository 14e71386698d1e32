package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/exhibit-archive/exhibit/archive/store"
)

// cleanupTimeout bounds the removal of a temporary object, which goes on
// even if the Put's context has ended.
const cleanupTimeout = 10 * time.Second

// Put implements store.Store: it stores the size bytes of r (size -1 if
// unknown) and returns their digest and size. If want is not empty the
// bytes must hash to it; a malformed want returns store.ErrDigest before
// anything is read.
//
// If want is given and the object exists, Put reads r to check it against
// want and size but uploads nothing, and returns Existed. Otherwise it
// uploads as the package documentation describes. On a digest mismatch it
// returns a *store.DigestMismatchError, and if r yields fewer or more bytes
// than size, or fails, an error saying so; in each case nothing is stored.
// A retried upload reads r again from where it started, which needs r to
// be an io.Seeker if part of it was already sent; otherwise Put fails with
// an error wrapping ErrUnavailable.
//
// Concurrent Puts of the same new bytes with want given store one object
// version (the conditional upload lets one win); without want, each may
// copy identical bytes to the final key, which in a versioned bucket keeps
// more than one version of it.
//
// Temporary data whose removal failed (the server went down, or refuses
// to delete an object under a bucket's default retention) is left under
// <prefix>tmp/, which List ignores: a temporary object or an incomplete
// multipart upload. A bucket lifecycle rule for <prefix>tmp/ with
// Expiration and AbortIncompleteMultipartUpload after a day removes such
// leftovers.
func (s *Store) Put(ctx context.Context, r io.Reader, size int64, want string) (store.Object, error) {
	if want != "" && !store.ValidDigest(want) {
		return store.Object{}, fmt.Errorf("s3: expected digest %q: %w", want, store.ErrDigest)
	}
	if size < -1 {
		return store.Object{}, fmt.Errorf("s3: invalid size %d", size)
	}
	if err := ctx.Err(); err != nil {
		return store.Object{}, fmt.Errorf("s3: %w", err)
	}
	if size < 0 {
		// An empty object is uploaded with its size known (see putTemp).
		var empty bool
		if r, empty = peekEmpty(r); empty {
			size = 0
		}
	}
	src := newSource(ctx, r, size, want)
	if size == 0 {
		// Nothing will be sent: check now that r is empty.
		if _, _, err := src.finish(); err != nil {
			return store.Object{}, err
		}
	}
	if want == "" || size < 0 || size > maxSinglePut || s.noDirect.Load() {
		return s.putTemp(ctx, src)
	}
	if size <= maxUnaskedPut {
		// The conditional PUT alone says whether the object existed:
		// one request, where asking first would take two.
		return s.putDirect(ctx, src)
	}
	switch _, err := s.stat(ctx, want); {
	case err == nil:
		d, n, err := src.finish()
		if err != nil {
			return store.Object{}, err
		}
		return store.Object{SHA256: d, Size: n, Existed: true}, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Object{}, err
	}
	return s.putDirect(ctx, src)
}

// peekEmpty reads the first byte of r, and reports whether r is empty
// (ended at once). Otherwise it returns a reader of the same bytes as r,
// r itself if it could seek back; a read error is returned by that
// reader's first Read.
func peekEmpty(r io.Reader) (io.Reader, bool) {
	var b [1]byte
	n, err := io.ReadFull(r, b[:])
	switch {
	case n == 0 && err == io.EOF:
		return bytes.NewReader(nil), true
	case n == 0:
		return io.MultiReader(errReader{err}), false
	}
	if sk, ok := r.(io.Seeker); ok {
		if _, err := sk.Seek(-1, io.SeekCurrent); err == nil {
			return r, false
		}
	}
	return io.MultiReader(bytes.NewReader(b[:]), r), false
}

// errReader fails every Read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// putDirect uploads src, whose digest and size are known, straight to its
// final key.
func (s *Store) putDirect(ctx context.Context, src *source) (store.Object, error) {
	key := s.key(src.want)
	sum, _ := hex.DecodeString(src.want)
	opts := minio.PutObjectOptions{
		ContentType: "application/octet-stream",
		// The server checks the bytes against the SigV4 payload hash
		// (the digest itself, so no streaming signature) and against
		// the flexible checksum, and stores the latter.
		DisableContentSha256: true,
		UserMetadata:         map[string]string{"x-amz-checksum-sha256": base64.StdEncoding.EncodeToString(sum)},
	}
	s.lock(&opts)
	opts.SetMatchETagExcept("*") // never replace an existing object
	core := minio.Core{Client: s.client}
	existed := false
	err := s.doIf(ctx, func() error {
		_, err := core.PutObject(ctx, s.bucket, key, src.reader(), src.size, "", src.want, opts)
		if ferr := src.failure(); ferr != nil {
			return ferr
		}
		if code(err) == "PreconditionFailed" {
			existed = true
			return nil
		}
		return err
	}, src.rewind)
	if unsupported(err) && src.failure() == nil {
		// The server refuses the checksum or the condition: upload
		// through a temporary key from now on.
		s.noDirect.Store(true)
		if src.rewind() {
			return s.putTemp(ctx, src)
		}
	}
	if err != nil {
		return store.Object{}, s.putError(src, err, "storing object %s", src.want)
	}
	// If the object existed, the server may have answered before reading
	// all the bytes: check the rest.
	d, n, err := src.finish()
	if err != nil {
		return store.Object{}, err
	}
	return store.Object{SHA256: d, Size: n, Existed: existed}, nil
}

// putTemp uploads src to a temporary key and, once its digest is known,
// copies it to its final key.
func (s *Store) putTemp(ctx context.Context, src *source) (store.Object, error) {
	var rnd [16]byte
	rand.Read(rnd[:])
	tmp := s.prefix + "tmp/" + hex.EncodeToString(rnd[:])
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if src.size < 0 {
		opts.PartSize = partSize
	}
	if src.size == 0 {
		// minio-go's streaming signature (aws-chunked, used over plain
		// http) announces a body of 0 bytes but sends its final chunk:
		// a gateway keeping the connection alive (versitygw
		// --keep-alive) reads those bytes as the next request, and
		// refuses both. No bytes need no streaming signature.
		opts.DisableContentSha256 = true
	}
	var info minio.UploadInfo
	failed := false
	err := s.doIf(ctx, func() error {
		var err error
		info, err = s.client.PutObject(ctx, s.bucket, tmp, src.reader(), src.size, opts)
		failed = failed || err != nil
		if ferr := src.failure(); ferr != nil {
			return ferr
		}
		return err
	}, src.rewind)
	if failed {
		// minio-go aborts a failed multipart upload, but only tries once.
		s.cleanup(ctx, err == nil, func(ctx context.Context) error {
			return s.client.RemoveIncompleteUpload(ctx, s.bucket, tmp)
		})
	}
	if err != nil {
		if code(err) == "" && src.failure() == nil {
			// The server may have stored the object before the
			// connection failed.
			s.cleanup(ctx, false, func(ctx context.Context) error {
				info, err := s.client.StatObject(ctx, s.bucket, tmp, minio.StatObjectOptions{})
				if err != nil {
					return err
				}
				return s.client.RemoveObject(ctx, s.bucket, tmp, minio.RemoveObjectOptions{VersionID: info.VersionID})
			})
		}
		return store.Object{}, s.putError(src, err, "uploading to temporary object %s", tmp)
	}
	// Delete the version uploaded, so that a versioned bucket keeps
	// neither it nor a delete marker.
	defer s.cleanup(ctx, true, func(ctx context.Context) error {
		return s.client.RemoveObject(ctx, s.bucket, tmp, minio.RemoveObjectOptions{VersionID: info.VersionID})
	})
	d, n, err := src.finish()
	if err != nil {
		return store.Object{}, err // cannot happen: the upload read it all
	}
	switch _, err := s.stat(ctx, d); {
	case err == nil:
		return store.Object{SHA256: d, Size: n, Existed: true}, nil
	case !errors.Is(err, store.ErrNotFound):
		return store.Object{}, err
	}
	dst := minio.CopyDestOptions{Bucket: s.bucket, Object: s.key(d)}
	if s.retention > 0 {
		dst.Mode = s.mode
		dst.RetainUntilDate = time.Now().Add(s.retention)
	}
	if s.legalHold {
		dst.LegalHold = minio.LegalHoldEnabled
	}
	from := minio.CopySrcOptions{Bucket: s.bucket, Object: tmp, VersionID: info.VersionID}
	err = s.do(ctx, func() error {
		var err error
		if n <= maxSinglePut {
			_, err = s.client.CopyObject(ctx, dst, from)
		} else {
			_, err = s.client.ComposeObject(ctx, dst, from)
		}
		return err
	})
	if err != nil {
		return store.Object{}, s.errorf(err, "copying %s to object %s", tmp, d)
	}
	return store.Object{SHA256: d, Size: n}, nil
}

// unsupported reports whether err says that the server does not implement
// a header of the request.
func unsupported(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && (resp.Code == "NotImplemented" || resp.StatusCode == http.StatusNotImplemented)
}

// lock adds the configured Object Lock settings to opts.
func (s *Store) lock(opts *minio.PutObjectOptions) {
	if s.retention > 0 {
		opts.Mode = s.mode
		opts.RetainUntilDate = time.Now().Add(s.retention)
	}
	if s.legalHold {
		opts.LegalHold = minio.LegalHoldEnabled
	}
}

// putError returns the source's own failure as it is, or else err with
// context.
func (s *Store) putError(src *source, err error, format string, args ...any) error {
	if ferr := src.failure(); ferr != nil {
		return ferr
	}
	return s.errorf(err, format, args...)
}

// cleanup runs op, which removes temporary data, once or, if retry, as do
// does. It goes on if ctx ends, for up to cleanupTimeout. Failure is
// ignored: with Object Lock and a default retention on the bucket, even
// temporary objects cannot be deleted, and a server that is down cannot
// delete anything.
func (s *Store) cleanup(ctx context.Context, retry bool, op func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if !retry {
		op(ctx)
		return
	}
	s.do(ctx, func() error { return op(ctx) })
}

// Get implements store.Store. The object is read with one GetObject
// request, whose body the returned reader hash-checks as it streams:
// reading to the end returns a *store.DigestMismatchError (wrapping
// store.ErrCorrupt) instead of io.EOF if the bytes do not hash to digest.
// Transient failures are retried until the response starts; a failure
// while reading the body is returned by Read, and the caller may Get
// again.
func (s *Store) Get(ctx context.Context, digest string) (io.ReadCloser, error) {
	if !store.ValidDigest(digest) {
		return nil, fmt.Errorf("s3: %q: %w", digest, store.ErrDigest)
	}
	core := minio.Core{Client: s.client}
	var body io.ReadCloser
	err := s.do(ctx, func() error {
		var err error
		body, _, _, err = core.GetObject(ctx, s.bucket, s.key(digest), minio.GetObjectOptions{})
		return err
	})
	if code(err) == "NoSuchKey" {
		return nil, fmt.Errorf("s3: %s: %w", digest, store.ErrNotFound)
	}
	if err != nil {
		return nil, s.errorf(err, "reading object %s", digest)
	}
	return store.NewVerifyingReader(body, digest), nil
}

// Stat implements store.Store with a HeadObject request. It returns the
// size the server reports, which is not checked against the bytes.
func (s *Store) Stat(ctx context.Context, digest string) (int64, error) {
	if !store.ValidDigest(digest) {
		return 0, fmt.Errorf("s3: %q: %w", digest, store.ErrDigest)
	}
	return s.stat(ctx, digest)
}

func (s *Store) stat(ctx context.Context, digest string) (int64, error) {
	var info minio.ObjectInfo
	err := s.do(ctx, func() error {
		var err error
		info, err = s.client.StatObject(ctx, s.bucket, s.key(digest), minio.StatObjectOptions{})
		return err
	})
	if code(err) == "NoSuchKey" {
		return 0, fmt.Errorf("s3: %s: %w", digest, store.ErrNotFound)
	}
	if err != nil {
		return 0, s.errorf(err, "looking up object %s", digest)
	}
	return info.Size, nil
}

// List implements store.Store by listing the keys under <prefix>sha256/
// (ListObjectsV2), in the server's order, lexicographic on Amazon S3. A
// key that is not <prefix>sha256/<2 hex>/<64 hex>, with matching digits,
// is yielded as an error, and listing goes on. A transient failure
// resumes the listing after the last key seen.
func (s *Store) List(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		base := s.prefix + "sha256/"
		after := ""
		stopped := false
		list := func() error {
			lctx, cancel := context.WithCancel(ctx)
			defer cancel()
			opts := minio.ListObjectsOptions{Prefix: base, Recursive: true, StartAfter: after}
			for obj := range s.client.ListObjects(lctx, s.bucket, opts) {
				if obj.Err != nil {
					return obj.Err
				}
				after = obj.Key
				d, ok := parseKey(obj.Key[len(base):])
				if ok {
					stopped = !yield(d, nil)
				} else {
					stopped = !yield("", fmt.Errorf("s3: stray object %q in bucket %q at %s", obj.Key, s.bucket, s.endpoint))
				}
				if stopped {
					return nil
				}
			}
			return nil
		}
		for {
			start := after
			err := s.do(ctx, list)
			if err == nil || stopped {
				return
			}
			if errors.Is(err, ErrUnavailable) && after != start {
				continue // progress was made: retry for as long again
			}
			yield("", s.errorf(err, "listing objects"))
			return
		}
	}
}

// parseKey returns the digest in rest, the part of a key after
// <prefix>sha256/, if it has the form <2 hex>/<64 hex>.
func parseKey(rest string) (string, bool) {
	if len(rest) != 3+64 || rest[2] != '/' {
		return "", false
	}
	d := rest[3:]
	return d, store.ValidDigest(d) && rest[:2] == d[:2]
}
