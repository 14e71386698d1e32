// Package s3 is a [store.Store] in a bucket of an S3-compatible object
// store, reached through the Amazon S3 REST API
// (https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html) with
// minio-go.
//
// Objects are content-addressed exactly as in [store.FS]: an object's name
// is the lowercase hex SHA-256 of its bytes (FIPS 180-4), and it lives at
// the key
//
//	<prefix>sha256/<first two hex digits>/<all 64 hex digits>
//
// This layout is exhibit's own; it follows no C2SP specification, and
// nothing in the bucket besides the keys' names records the digests.
// Every read is hash-checked while it streams, so a server or disk that
// alters bytes is caught at the end of the read.
//
// # Writing
//
// When the caller knows the digest and size up front (the common case for
// imports), Put uploads straight to the object's final key in a single
// PutObject request that carries the SHA-256 twice, as the SigV4 payload
// hash (x-amz-content-sha256) and as a flexible checksum
// (x-amz-checksum-sha256, which the server stores with the object), so the
// server refuses bytes that do not hash to the name. The request is
// conditional (If-None-Match: *), so it never replaces an existing object:
// a 412 Precondition Failed answer means the object exists. For an object
// over 1 MiB, Put first asks whether it exists (HeadObject), so as not to
// send its bytes for nothing; a smaller one takes the one request. A
// server that answers NotImplemented to these headers makes the Store use
// the other path from then on.
//
// Otherwise Put uploads to a temporary key <prefix>tmp/<random> (as a
// multipart upload of 16 MiB parts if the size is unknown), hashing as it
// streams, then copies the object server-side (CopyObject) to its final
// key, unless that exists already, and deletes the temporary one.
//
// On both paths Put hashes the bytes itself and fails the upload before
// its last byte leaves if the size or digest is wrong, so a wrong object is
// never committed, even by a server that checks nothing. Put returns only
// after the server has acknowledged the final object: it is then as
// durable as the server makes acknowledged writes (for Amazon S3, stored
// redundantly across devices).
//
// # Object Lock
//
// With [Config.Retention] or [Config.LegalHold], every object is written
// with S3 Object Lock
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html):
// a retention period in governance or compliance mode and/or a legal hold.
// The server then refuses to delete or overwrite that object version. As
// everywhere in S3, a DELETE without a version ID still succeeds on a
// locked object: it adds a delete marker, which hides the object from this
// package (Get and Stat report [store.ErrNotFound]) while the locked version
// survives and can be restored by deleting the marker.
//
// # Errors and retries
//
// Transient failures (refused or reset connections, timeouts, HTTP 5xx,
// SlowDown and other throttling) are retried with exponential backoff for
// up to [Config.RetryDeadline]; if they persist the error wraps
// [ErrUnavailable]. Every other error code (AccessDenied,
// InvalidAccessKeyId, SignatureDoesNotMatch, NoSuchBucket, InvalidRequest,
// ...) is permanent and returned at once, wrapping the server's
// [minio.ErrorResponse] (use errors.As to read its Code) and, for rejected
// credentials or missing permissions, [ErrAccessDenied]. Errors
// name the bucket and endpoint and never contain credentials. The package
// does not log.
package s3

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/exhibit-archive/exhibit/archive/store"
)

// Config configures a Store. New and CreateBucket validate it.
type Config struct {
	// Bucket is the bucket's name. It is required.
	Bucket string

	// Prefix is prepended to every key, e.g. "archive1/" to keep several
	// archives in one bucket. A missing trailing slash is added. If empty,
	// objects live at the root of the bucket.
	Prefix string

	// Endpoint is the server's URL, e.g. "https://s3.example.org" or
	// "http://127.0.0.1:7070". Its scheme, http or https, decides TLS. It
	// has no path and no user information. It is required.
	Endpoint string

	// Region is the bucket's region. If empty, it is "us-east-1".
	Region string

	// PathStyle selects path-style addressing (http://host/bucket/key),
	// which servers on an IP address or localhost need. Otherwise the
	// style is chosen from the endpoint (virtual hosts for Amazon S3).
	PathStyle bool

	// Credentials sign the requests. If nil, they come from, in order, the
	// environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
	// (and AWS_SESSION_TOKEN), the file ~/.aws/credentials
	// (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), and the IAM role of the
	// EC2 instance, ECS task or EKS pod.
	Credentials *credentials.Credentials

	// Retention, if positive, locks every object Put writes until its
	// time of writing plus Retention (to the second), with Object Lock in
	// RetentionMode. Objects that already exist keep the lock they have:
	// Put does not extend it. Zero means no retention. The bucket must
	// have Object Lock enabled.
	Retention time.Duration

	// RetentionMode is "governance" (users with the
	// s3:BypassGovernanceRetention permission can still delete) or
	// "compliance" (nobody can, not even the root user, until the
	// retention ends), in any case. It is required when Retention is
	// positive and must be empty otherwise.
	RetentionMode string

	// LegalHold puts a legal hold on every object Put writes: it cannot be
	// deleted until the hold is removed. The bucket must have Object Lock
	// enabled.
	LegalHold bool

	// RetryDeadline bounds how long one operation retries transient
	// failures, counted from its first attempt. It does not cut short a
	// request in progress; use the context for that. If zero, it is 30
	// seconds.
	RetryDeadline time.Duration
}

var (
	// ErrUnavailable is wrapped by errors reporting a transient failure
	// that retrying did not overcome: the server could not be reached, or
	// kept failing transiently, until the retry deadline; or an upload
	// failed after reading part of a Put's reader, which cannot seek back.
	// The same call may succeed later.
	ErrUnavailable = errors.New("S3 service unavailable")
	// ErrAccessDenied is wrapped by errors reporting that the server
	// rejected the credentials (unknown access key, wrong secret, expired
	// token) or that they lack a permission the operation needs.
	ErrAccessDenied = errors.New("S3 access denied")
	// ErrNoBucket is returned by New for a bucket that does not exist.
	ErrNoBucket = errors.New("S3 bucket does not exist")
	// ErrNoObjectLock is returned by New when the configuration asks for
	// retention or a legal hold but the bucket does not have Object Lock
	// enabled.
	ErrNoObjectLock = errors.New("S3 bucket does not have Object Lock enabled")
)

const (
	defaultRegion        = "us-east-1"
	defaultRetryDeadline = 30 * time.Second
	// partSize is the part size of multipart uploads of unknown size,
	// which buffer one part in memory. With S3's limit of 10,000 parts
	// it caps such objects at 156 GiB.
	partSize = 16 << 20
	// maxSinglePut is the largest object S3 takes in one PutObject or
	// copies in one CopyObject request.
	maxSinglePut = 5 << 30
	// maxUnaskedPut is the largest object of known digest Put uploads
	// without asking first whether it exists: sending that much again,
	// for an object that does, costs about what the question costs.
	maxUnaskedPut = 1 << 20
)

// Store is a store.Store in an S3 bucket. It is safe for concurrent use.
type Store struct {
	client   *minio.Client
	bucket   string
	prefix   string
	endpoint string // scheme://host, for messages
	region   string
	retry    time.Duration

	retention time.Duration
	mode      minio.RetentionMode
	legalHold bool

	// noDirect is set once the server refused a direct upload's
	// checksum or condition.
	noDirect atomic.Bool

	creds *credentials.Credentials
}

var _ store.Store = (*Store)(nil)

// New returns the store described by cfg. It checks that the bucket
// exists and that the credentials may list it (one ListObjectsV2 request
// for a single key), and, if cfg asks for retention or a legal hold, that
// the bucket has Object Lock enabled (GetObjectLockConfiguration). It
// returns an error wrapping ErrNoBucket, ErrAccessDenied, ErrNoObjectLock
// or ErrUnavailable if not, or any other failure, each naming the bucket
// and endpoint. Only ErrUnavailable comes after retrying.
//
// The credentials need, on Amazon S3, the permissions s3:ListBucket
// (without it, a missing object looks forbidden rather than absent),
// s3:GetObject, s3:PutObject and s3:DeleteObject (for temporary objects);
// with Object Lock also s3:GetBucketObjectLockConfiguration,
// s3:PutObjectRetention and s3:PutObjectLegalHold.
func New(ctx context.Context, cfg Config) (*Store, error) {
	s, err := open(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// CreateBucket creates the bucket cfg names, in cfg.Region, with Object
// Lock enabled if objectLock (S3 then also enables versioning, and Object
// Lock cannot be turned off later). It fails if the bucket exists, even if
// it is already yours, and if cfg asks for retention or a legal hold but
// objectLock is false. Only cfg's connection fields and Bucket are used
// otherwise.
func CreateBucket(ctx context.Context, cfg Config, objectLock bool) error {
	s, err := open(cfg)
	if err != nil {
		return err
	}
	if (s.retention > 0 || s.legalHold) && !objectLock {
		return fmt.Errorf("s3: bucket %q: the configuration asks for Object Lock retention or legal hold, but the bucket would be created without Object Lock", s.bucket)
	}
	err = s.do(ctx, func() error {
		return s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: s.region, ObjectLocking: objectLock})
	})
	if err != nil {
		return s.bucketError(err, "creating")
	}
	return nil
}

// open validates cfg and returns a Store that has not yet talked to the
// server.
func open(cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket in configuration")
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("s3: bucket %q: %w", cfg.Bucket, err)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || cfg.Endpoint == "" {
		// The URL's own error repeats it, and it may hold a password.
		return nil, errors.New("s3: endpoint is not a URL such as https://s3.example.org")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("s3: endpoint %s: scheme must be http or https", u.Redacted())
	case u.Host == "":
		return nil, fmt.Errorf("s3: endpoint %s: no host", u.Redacted())
	case u.User != nil:
		return nil, fmt.Errorf("s3: endpoint %s: credentials belong in Config.Credentials, not in the URL", u.Redacted())
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("s3: endpoint %s: must have no path or query", u.Redacted())
	}
	s := &Store{
		bucket:    cfg.Bucket,
		endpoint:  u.Scheme + "://" + u.Host,
		retry:     cfg.RetryDeadline,
		retention: cfg.Retention,
		legalHold: cfg.LegalHold,
	}
	if p := strings.Trim(cfg.Prefix, "/"); p != "" {
		s.prefix = p + "/"
		if err := s3utils.CheckValidObjectNamePrefix(s.prefix); err != nil {
			return nil, fmt.Errorf("s3: prefix %q: %w", cfg.Prefix, err)
		}
	}
	if s.retry == 0 {
		s.retry = defaultRetryDeadline
	}
	if s.retry < 0 {
		return nil, fmt.Errorf("s3: negative retry deadline %v", cfg.RetryDeadline)
	}
	switch {
	case cfg.Retention < 0:
		return nil, fmt.Errorf("s3: negative retention %v", cfg.Retention)
	case cfg.Retention == 0 && cfg.RetentionMode != "":
		return nil, fmt.Errorf("s3: retention mode %q without a retention period", cfg.RetentionMode)
	case cfg.Retention > 0:
		switch strings.ToLower(cfg.RetentionMode) {
		case "governance":
			s.mode = minio.Governance
		case "compliance":
			s.mode = minio.Compliance
		case "":
			return nil, errors.New(`s3: retention needs a retention mode, "governance" or "compliance"`)
		default:
			return nil, fmt.Errorf(`s3: retention mode %q is not "governance" or "compliance"`, cfg.RetentionMode)
		}
	}
	s.region = cfg.Region
	if s.region == "" {
		s.region = defaultRegion
	}
	creds := cfg.Credentials
	if creds == nil {
		if err := checkEnvCredentials(); err != nil {
			return nil, err
		}
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{},
			&credentials.FileAWSCredentials{},
			&credentials.IAM{},
		})
	}
	s.creds = creds
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr, err := minio.DefaultTransport(u.Scheme == "https")
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %s: %w", s.endpoint, err)
	}
	// Keep a connection for every concurrent request of an import, not
	// minio-go's 16, so that busy imports do not keep reconnecting.
	tr.MaxIdleConnsPerHost = 256
	s.client, err = minio.New(u.Host, &minio.Options{
		Transport:    tr,
		Creds:        creds,
		Secure:       u.Scheme == "https",
		Region:       s.region,
		BucketLookup: lookup,
		// Send checksums in trailers, so Put can send its own.
		TrailingHeaders: true,
		// All retrying is done here, within the retry deadline.
		MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %s: %w", s.endpoint, err)
	}
	return s, nil
}

// check makes sure the bucket is there, readable and, if needed, locked.
func (s *Store) check(ctx context.Context) error {
	// HeadBucket (minio's BucketExists) answers 403 or 404 without a body,
	// which cannot tell a missing bucket from rejected credentials (some
	// servers answer an unknown access key with 404). Listing answers
	// with an error code, and needs the same permission, s3:ListBucket.
	err := s.do(ctx, func() error {
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for obj := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, MaxKeys: 1}) {
			return obj.Err
		}
		return nil
	})
	if code(err) == "NoSuchBucket" {
		return fmt.Errorf("s3: bucket %q at %s: %w", s.bucket, s.endpoint, ErrNoBucket)
	}
	if err != nil {
		return s.bucketError(err, "opening")
	}
	if s.retention == 0 && !s.legalHold {
		return nil
	}
	var enabled string
	err = s.do(ctx, func() error {
		var err error
		enabled, _, _, _, err = s.client.GetObjectLockConfig(ctx, s.bucket)
		return err
	})
	if code(err) == "ObjectLockConfigurationNotFoundError" || err == nil && enabled != "Enabled" {
		return fmt.Errorf("s3: bucket %q at %s: retention or legal hold configured, but %w", s.bucket, s.endpoint, ErrNoObjectLock)
	}
	if err != nil {
		return s.errorf(err, "reading Object Lock configuration")
	}
	return nil
}

// Credentials returns the credentials the store signs with (see
// Config.Credentials), for another client of the same bucket.
func (s *Store) Credentials() (credentials.Value, error) { return s.creds.Get() }

// Endpoint returns the server's URL, scheme://host.
func (s *Store) Endpoint() string { return s.endpoint }

// Bucket returns the bucket's name; Prefix the prefix of the store's keys.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the prefix of the store's keys ("" or ending in "/").
func (s *Store) Prefix() string { return s.prefix }

// Location implements store.Store: "s3://<bucket>/<prefix> (<endpoint>)".
func (s *Store) Location() string {
	return "s3://" + s.bucket + "/" + s.prefix + " (" + s.endpoint + ")"
}

// key returns the key of the object named digest.
func (s *Store) key(digest string) string {
	return s.prefix + "sha256/" + digest[:2] + "/" + digest
}

// ErrCredentials is returned by New when the environment holds half of
// the S3 credentials: an access key without a secret key, or the reverse.
var ErrCredentials = errors.New("incomplete S3 credentials in the environment")

// checkEnvCredentials checks that the environment holds both halves of the
// S3 credentials or neither (minio-go's EnvAWS would otherwise sign no
// request, and every one be refused as access denied).
func checkEnvCredentials() error {
	id := cmp.Or(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_ACCESS_KEY"))
	secret := cmp.Or(os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SECRET_KEY"))
	switch {
	case id != "" && secret == "":
		return fmt.Errorf("s3: %w: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set the secret key too", ErrCredentials)
	case id == "" && secret != "":
		return fmt.Errorf("s3: %w: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set the access key too", ErrCredentials)
	}
	return nil
}

// credentialsHint says where the credentials come from, for an access
// denied.
func (s *Store) credentialsHint() string {
	const from = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE), else the instance's IAM role"
	if s.creds != nil {
		if v, err := s.creds.Get(); err == nil && v.AccessKeyID == "" {
			return "no credentials found: the S3 credentials are read from " + from
		}
	}
	return "the S3 credentials are read from " + from
}

// errorf wraps a failed operation's err with the bucket, the endpoint and
// what was being done, adding ErrAccessDenied where it applies.
func (s *Store) errorf(err error, format string, args ...any) error {
	return s.wrap(err, fmt.Sprintf(format, args...)+fmt.Sprintf(" in bucket %q", s.bucket))
}

// bucketError is errorf for an operation on the bucket itself: "s3:
// creating bucket "b" at …".
func (s *Store) bucketError(err error, verb string) error {
	return s.wrap(err, fmt.Sprintf("%s bucket %q", verb, s.bucket))
}

func (s *Store) wrap(err error, what string) error {
	if accessDenied(err) {
		return fmt.Errorf("s3: %s at %s: %w: %w (%s)", what, s.endpoint, ErrAccessDenied, err, s.credentialsHint())
	}
	return fmt.Errorf("s3: %s at %s: %w", what, s.endpoint, err)
}
