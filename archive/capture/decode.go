package capture

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"io"
	"strings"
)

// maxCodings is the most content codings a response may stack.
const maxCodings = 3

// contentError is a body that does not decode as its Content-Encoding
// says, while the connection itself delivered it without error.
type contentError struct {
	codings []string
	err     error
}

func (e *contentError) Error() string {
	return fmt.Sprintf("decoding Content-Encoding %q: %v", strings.Join(e.codings, ", "), e.err)
}

func (e *contentError) Unwrap() error { return e.err }

// decoder undoes the content codings of raw, last applied first. It opens
// the decompressors on the first Read, so that every error reaches the
// sink. An error of the connection underneath is returned as it is; any
// other decoding error is a *contentError.
//
// An empty body decodes to an empty body whatever its codings: servers
// send Content-Encoding on empty responses.
type decoder struct {
	raw     *rawReader
	codings []string
	r       io.Reader
}

func (d *decoder) Read(p []byte) (int, error) {
	if d.r == nil {
		r, err := d.open()
		if err != nil {
			return 0, d.wrap(err)
		}
		d.r = r
	}
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = d.wrap(err)
	}
	return n, err
}

func (d *decoder) wrap(err error) error {
	if d.raw.err != nil {
		return d.raw.err
	}
	return &contentError{codings: d.codings, err: err}
}

func (d *decoder) open() (io.Reader, error) {
	br := bufio.NewReader(d.raw)
	if _, err := br.Peek(1); err == io.EOF {
		return strings.NewReader(""), nil
	} else if err != nil {
		return nil, err
	}
	var r io.Reader = br
	for i := len(d.codings) - 1; i >= 0; i-- {
		var err error
		switch d.codings[i] {
		case "gzip", "x-gzip":
			r, err = gzip.NewReader(r)
		case "deflate":
			r, err = newDeflateReader(r)
		default:
			err = fmt.Errorf("unsupported content coding %q", d.codings[i])
		}
		if err != nil {
			return nil, err
		}
	}
	return r, nil
}

// newDeflateReader reads "deflate" as RFC 9110 defines it, a zlib stream
// (RFC 1950), or else as the raw DEFLATE (RFC 1951) some servers send.
func newDeflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	h, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if isZlibHeader(h) {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// isZlibHeader reports whether h starts with a zlib header: compression
// method 8 with a window of at most 32 KiB, and a header checksum that is a
// multiple of 31 (RFC 1950, section 2.2).
func isZlibHeader(h []byte) bool {
	if len(h) < 2 {
		return false
	}
	cmf, flg := h[0], h[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}
