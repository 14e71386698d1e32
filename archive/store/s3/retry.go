package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
)

// do runs op until it succeeds, fails permanently, the context ends, or
// the retry deadline passes. Between attempts it waits a random time
// between half and all of a delay that starts at 100ms and doubles up to
// 5s, the last attempt starting at the deadline. If that attempt fails
// transiently too, its error is wrapped with ErrUnavailable.
func (s *Store) do(ctx context.Context, op func() error) error {
	return s.doIf(ctx, op, func() bool { return true })
}

// doIf is do, retrying only if again reports that op can be run again
// (a Put can if its source can be read again from the start).
func (s *Store) doIf(ctx context.Context, op func() error, again func() bool) error {
	start := time.Now()
	deadline := start.Add(s.retry)
	delay := firstBackoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if cerr := ctx.Err(); cerr != nil {
			if errors.Is(err, cerr) {
				return err
			}
			return fmt.Errorf("%w: %w", cerr, err)
		}
		if !transient(err) {
			return err
		}
		if !again() {
			return fmt.Errorf("%w (not retried: the content cannot be read again): %w", ErrUnavailable, err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("%w: %d attempts in %v: %w", ErrUnavailable, attempt, time.Since(start).Round(time.Millisecond), err)
		}
		t := time.NewTimer(min(delay/2+rand.N(delay/2+1), left))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, maxBackoff)
	}
}

// transientCodes are the S3 error codes worth retrying.
var transientCodes = map[string]bool{
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"RequestTimeout":             true,
	"RequestError":               true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestThrottled":           true,
	"RequestLimitExceeded":       true,
	"TooManyRequests":            true,
	"ConditionalRequestConflict": true, // concurrent conditional writes
	"OperationAborted":           true, // a conflicting operation is in progress
	// Put checks the digest before the last byte leaves, so a server
	// seeing other bytes means they were damaged on the way.
	"XAmzContentSHA256Mismatch": true,
	"BadDigest":                 true,
}

// transientStatus are the HTTP status codes worth retrying.
var transientStatus = map[int]bool{
	408: true, 429: true, 499: true,
	500: true, 502: true, 503: true, 504: true, 520: true,
}

// transient reports whether err may go away if the request is repeated.
// Errors from the server are transient if their code or HTTP status says
// so (throttling, 5xx); failures to reach it (refused or reset
// connections, timeouts, truncated responses) are transient unless TLS
// certificates or protocols do not match. Anything else is permanent.
func transient(err error) bool {
	var re *readError
	if errors.As(err, &re) {
		return false // the caller's reader failed, not the server
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return transientCodes[resp.Code] || transientStatus[resp.StatusCode]
	}
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		record           tls.RecordHeaderError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record) || errors.Is(err, http.ErrSchemeMismatch) {
		return false
	}
	var (
		netErr net.Error
		urlErr *url.Error
	)
	return errors.As(err, &netErr) || errors.As(err, &urlErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// code returns the S3 error code err carries, or "".
func code(err error) string {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp.Code
	}
	return ""
}

// accessDeniedCodes are the S3 error codes for rejected credentials and
// missing permissions. XAdminUserNotFound is versitygw's answer to an
// unknown access key.
var accessDeniedCodes = map[string]bool{
	"AccessDenied":          true,
	"AllAccessDisabled":     true,
	"InvalidAccessKeyId":    true,
	"SignatureDoesNotMatch": true,
	"InvalidToken":          true,
	"ExpiredToken":          true,
	"TokenRefreshRequired":  true,
	"XAdminUserNotFound":    true,
}

func accessDenied(err error) bool { return accessDeniedCodes[code(err)] }
