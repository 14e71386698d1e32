package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"

	"github.com/exhibit-archive/exhibit/archive/store"
)

// source is the caller's reader in Put. It hashes the bytes, stops at the
// announced size and, once the bytes end, checks that no more follow than
// announced and that they hash to the expected digest. If a check fails
// it withholds the last bytes read and returns the error instead, so an
// upload fed from it fails rather than committing a wrong object.
//
// The HTTP client may read a request body after the request has failed,
// so each attempt reads through its own view (see reader); views of
// earlier attempts fail.
type source struct {
	ctx  context.Context
	r    io.Reader
	size int64  // announced size, or -1
	want string // expected digest, or ""

	mu    sync.Mutex
	gen   int       // current view
	start int64     // offset of r when Put began, or -1 if r cannot seek
	h     hash.Hash // of the n bytes read
	n     int64
	sum   string // hex digest, once ended
	ended bool   // all bytes read and checked
	err   error  // sticky failure
}

// errStale is returned to a view of a superseded attempt.
var errStale = errors.New("s3: request body read after its request was abandoned")

func newSource(ctx context.Context, r io.Reader, size int64, want string) *source {
	src := &source{ctx: ctx, r: r, size: size, want: want, h: sha256.New(), start: -1}
	if sk, ok := r.(io.Seeker); ok {
		if off, err := sk.Seek(0, io.SeekCurrent); err == nil {
			src.start = off
		}
	}
	return src
}

// view reads from the source for one attempt.
type view struct {
	src *source
	gen int
}

func (v view) Read(p []byte) (int, error) { return v.src.read(v.gen, p) }

// reader starts a new attempt: it returns a view that continues where the
// source stands, and makes the views of earlier attempts fail.
func (src *source) reader() io.Reader {
	src.mu.Lock()
	defer src.mu.Unlock()
	src.gen++
	return view{src, src.gen}
}

// rewind prepares the source to be read again from the start, for a
// retry. It reports false if that is impossible: the source failed, or
// bytes were read and it cannot seek.
func (src *source) rewind() bool {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.err != nil {
		return false
	}
	if src.n == 0 {
		return true // nothing was consumed
	}
	if src.start < 0 {
		return false
	}
	if _, err := src.r.(io.Seeker).Seek(src.start, io.SeekStart); err != nil {
		return false
	}
	src.h.Reset()
	src.n, src.sum, src.ended = 0, "", false
	return true
}

// failure returns the source's own failure, if any: a read error, a size
// or digest mismatch, or the end of the context.
func (src *source) failure() error {
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.err
}

// finish reads and checks whatever the upload left unread (all of it if
// the object was empty, or if the upload was refused because the object
// exists) and returns the digest and size.
func (src *source) finish() (string, int64, error) {
	if _, err := io.Copy(io.Discard, src.reader()); err != nil {
		return "", 0, err
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	return src.sum, src.n, nil
}

func (src *source) read(gen int, p []byte) (int, error) {
	src.mu.Lock()
	defer src.mu.Unlock()
	switch {
	case gen != src.gen:
		return 0, errStale
	case src.err != nil:
		return 0, src.err
	case src.ended:
		return 0, io.EOF
	}
	if err := src.ctx.Err(); err != nil {
		return 0, src.fail(err)
	}
	if src.size >= 0 {
		if src.n == src.size {
			return 0, src.end()
		}
		if rest := src.size - src.n; int64(len(p)) > rest {
			p = p[:rest]
		}
	}
	n, err := src.r.Read(p)
	src.h.Write(p[:n])
	src.n += int64(n)
	switch {
	case err == io.EOF && src.size >= 0 && src.n < src.size:
		return 0, src.fail(fmt.Errorf("s3: read %d bytes, want %d", src.n, src.size))
	case err == io.EOF || err == nil && src.size >= 0 && src.n == src.size:
		if err := src.end(); err != io.EOF {
			return 0, err
		}
		return n, io.EOF
	case err != nil:
		return 0, src.fail(&readError{err})
	}
	return n, nil
}

// end checks the source at the end of its bytes. It returns io.EOF if all
// is well.
func (src *source) end() error {
	if src.size >= 0 {
		var b [1]byte
		n, err := io.ReadAtLeast(src.r, b[:], 1)
		if n > 0 {
			return src.fail(fmt.Errorf("s3: content is longer than %d bytes", src.size))
		}
		if err != io.EOF {
			return src.fail(&readError{err})
		}
	}
	src.sum = hex.EncodeToString(src.h.Sum(nil))
	if src.want != "" && src.sum != src.want {
		return src.fail(&store.DigestMismatchError{Want: src.want, Got: src.sum})
	}
	src.ended = true
	return io.EOF
}

func (src *source) fail(err error) error {
	src.err = err
	return err
}

// readError reports that the reader given to Put failed.
type readError struct{ err error }

func (e *readError) Error() string { return "s3: reading the content: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }
