package ingest

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/exhibit-archive/exhibit/archive"
)

// NotRegularError is returned for an input (a file to capture, a manifest,
// a file a manifest names) that is not a regular file: a named pipe, a
// device, a socket or a directory. Reading one may block for ever (a pipe
// nobody writes to) or never end (a device), so it is refused before a byte
// is read. It wraps archive.ErrInput.
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: exhibit archives regular files only", e.Path, fileKind(e.Mode))
}

func (e *NotRegularError) Unwrap() error { return archive.ErrInput }

// fileKind names the type of a file mode, with its article.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file (mode " + m.String() + ")"
}

// openFlags open a file without blocking: opening a named pipe for
// reading otherwise waits for a writer, for ever, before the file can be
// examined. On a regular file O_NONBLOCK changes nothing.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK

// OpenRegular opens path for reading, and refuses (*NotRegularError)
// anything but a regular file, without blocking on it.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, err
	}
	return checkRegular(f, path)
}

// openRegularIn is OpenRegular for name inside root (path names it in
// errors).
func openRegularIn(root *os.Root, name, path string) (*os.File, error) {
	f, err := root.OpenFile(name, openFlags, 0)
	if err != nil {
		return nil, err
	}
	return checkRegular(f, path)
}

// checkRegular returns f if it is a regular file, else closes it.
func checkRegular(f *os.File, path string) (*os.File, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	return f, nil
}

// ctxReader reads from r until ctx is done, then returns ctx's error: a
// long read (a large file, a slow disk) stops when the caller is
// interrupted.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ctxFile is a ctxReader of a file that can still seek: a store that
// retries an upload reads it again from the start (the S3 store does, and
// refuses to retry a source that cannot seek).
type ctxFile struct {
	ctxReader
	f *os.File
}

func withContext(ctx context.Context, f *os.File) ctxFile {
	return ctxFile{ctxReader{ctx, f}, f}
}

func (c ctxFile) Seek(offset int64, whence int) (int64, error) {
	return c.f.Seek(offset, whence)
}
