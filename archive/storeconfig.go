package archive

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/store/s3"
)

// StoreConfig says where an archive's snapshots and provenance objects
// live: in a local folder ("fs", the default) or in an S3-compatible bucket
// ("s3"). Credentials are never part of it: for S3 they come from the
// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or minio-go's usual
// chain (~/.aws/credentials, instance roles).
type StoreConfig struct {
	// Type is "fs" or "s3".
	Type string `json:"type"`
	// Path (fs) is the folder, relative to the archive directory.
	Path string `json:"path,omitempty"`

	// Bucket, Prefix, Endpoint, Region and PathStyle (s3) locate the
	// bucket; see package s3.
	Bucket    string `json:"bucket,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Region    string `json:"region,omitempty"`
	PathStyle bool   `json:"path_style,omitempty"`
	// Retention (s3), if set, locks every object with S3 Object Lock for
	// that long after it is written: days ("90d"), years ("7y", a year
	// being 365 days) or a Go duration ("720h"). RetentionMode is
	// "compliance" or "governance". LegalHold sets a legal hold on every
	// object.
	Retention     string `json:"retention,omitempty"`
	RetentionMode string `json:"retention_mode,omitempty"`
	LegalHold     bool   `json:"legal_hold,omitempty"`
	// RetryDeadline (s3) is how long transient failures (connection
	// errors, 5xx, throttling) are retried before an operation fails, as
	// a Go duration; default 30s.
	RetryDeadline string `json:"retry_deadline,omitempty"`
}

// ParseStoreURL reads "s3://BUCKET[/PREFIX]" into an S3 StoreConfig.
func ParseStoreURL(raw string) (StoreConfig, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return StoreConfig{}, fmt.Errorf("%w: store %q: want s3://BUCKET or s3://BUCKET/PREFIX", ErrInput, raw)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return StoreConfig{Type: "s3", Bucket: u.Host, Prefix: prefix}, nil
}

// ParseRetention reads a retention period: whole days ("90d"), whole years
// ("7y", 365 days each), or a Go duration ("720h"). It must be positive.
func ParseRetention(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	switch {
	case strings.HasSuffix(s, "d") || strings.HasSuffix(s, "y"):
		n, perr := strconv.Atoi(s[:len(s)-1])
		if perr != nil {
			err = perr
			break
		}
		days := n
		if strings.HasSuffix(s, "y") {
			days = n * 365
		}
		d = time.Duration(days) * 24 * time.Hour
	default:
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: retention %q: want a positive number of days (90d), years (7y) or a Go duration (720h)", ErrInput, s)
	}
	return d, nil
}

func (c StoreConfig) s3Config() (s3.Config, error) {
	cfg := s3.Config{
		Bucket:        c.Bucket,
		Prefix:        c.Prefix,
		Endpoint:      c.Endpoint,
		Region:        c.Region,
		PathStyle:     c.PathStyle,
		RetentionMode: c.RetentionMode,
		LegalHold:     c.LegalHold,
	}
	if c.Retention != "" {
		d, err := ParseRetention(c.Retention)
		if err != nil {
			return s3.Config{}, err
		}
		cfg.Retention = d
	}
	if c.RetryDeadline != "" {
		d, err := time.ParseDuration(c.RetryDeadline)
		if err != nil || d <= 0 {
			return s3.Config{}, fmt.Errorf("%w: retry_deadline %q: want a positive Go duration", ErrInput, c.RetryDeadline)
		}
		cfg.RetryDeadline = d
	}
	return cfg, nil
}

// openStore opens the store an archive's configuration names.
func openStore(ctx context.Context, dir string, c StoreConfig) (store.Store, error) {
	switch c.Type {
	case "fs":
		return store.NewFS(store.FSConfig{Path: filepath.Join(dir, c.Path)})
	case "s3":
		cfg, err := c.s3Config()
		if err != nil {
			return nil, err
		}
		return s3.New(ctx, cfg)
	default:
		return nil, fmt.Errorf("%s: unknown store type %q", dir, c.Type)
	}
}

// prepareS3 checks an S3 store before an archive is created on it: the
// bucket is reachable with the credentials at hand, and has Object Lock if
// retention or a legal hold is asked for. With create, a missing bucket is
// created, with Object Lock when retention or a legal hold is asked for;
// without, it is an error wrapping s3.ErrNoBucket.
func prepareS3(ctx context.Context, c StoreConfig, create bool) error {
	cfg, err := c.s3Config()
	if err != nil {
		return err
	}
	_, err = s3.New(ctx, cfg)
	if errors.Is(err, s3.ErrNoBucket) && create {
		if err := s3.CreateBucket(ctx, cfg, cfg.Retention > 0 || cfg.LegalHold); err != nil {
			return err
		}
		_, err = s3.New(ctx, cfg)
	}
	return err
}
