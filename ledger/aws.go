package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/go-sql-driver/mysql"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	tesseraaws "github.com/transparency-dev/tessera/storage/aws"
	antispam "github.com/transparency-dev/tessera/storage/aws/antispam"

	"github.com/exhibit-archive/exhibit/verify"
)

// AWS is a log stored by Tessera's storage/aws driver: tiles, entry
// bundles and the checkpoint in an S3 bucket (in the C2SP tlog-tiles
// layout, under Prefix), sequencing, integration and publication
// coordinated through a MySQL or MariaDB database, so that several
// processes on several machines can append to one log at once.
//
// The bucket may be any S3-compatible server: Endpoint set, it is
// addressed path-style (http://host/bucket/key) with static credentials,
// region Region.
type AWS struct {
	// Bucket holds the log's objects, under Prefix ("" or ending in "/").
	Bucket, Prefix string
	// Endpoint is the S3 server's URL ("http://127.0.0.1:7070"). Empty:
	// Amazon S3, with the SDK's default configuration (the environment's
	// credentials and region).
	Endpoint string
	// Region is the bucket's region. Default "us-east-1".
	Region string
	// AccessKey and SecretKey are the S3 credentials, required with
	// Endpoint.
	AccessKey, SecretKey string
	// SessionToken goes with temporary credentials; usually empty.
	SessionToken string
	// DB is the sequencing database: a go-sql-driver/mysql configuration
	// whose database (DBName) must exist; Tessera creates its tables. The
	// antispam index lives in the same database (its own table). Their
	// sessions run at transaction isolation READ COMMITTED, whatever the
	// configuration says (see OpenAWSWriter).
	DB *mysql.Config
	// MaxOpenConns bounds the connections this process opens to the
	// database, for the sequencer and for the antispam index each.
	// Tessera's default is unbounded: one busy process alone would
	// exhaust MariaDB's default limit of 151. Default 8.
	MaxOpenConns int
	// HTTPClient makes the S3 requests. Default: a client with a 30s
	// timeout per request that keeps up to MaxIdleConnsPerHost idle
	// connections to the S3 server (net/http's default of 2 would close
	// and open again most of those Tessera's integration and the readers
	// make at once).
	HTTPClient *http.Client
}

// DefaultAWSMaxOpenConns is the default of AWS.MaxOpenConns.
const DefaultAWSMaxOpenConns = 8

// MaxIdleConnsPerHost is how many idle connections to the S3 server the
// default AWS.HTTPClient keeps.
const MaxIdleConnsPerHost = 64

// MinAWSCheckpointInterval is the least Config.CheckpointInterval the AWS
// driver accepts (Tessera's storage/aws minimum), and its default there.
const MinAWSCheckpointInterval = time.Second

// defaultAWSClient is the default of AWS.HTTPClient, one for the process
// (so that its connections are shared).
var defaultAWSClient = sync.OnceValue(func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	return &http.Client{Timeout: 30 * time.Second, Transport: tr}
})

func (c AWS) withDefaults() AWS {
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.MaxOpenConns == 0 {
		c.MaxOpenConns = DefaultAWSMaxOpenConns
	}
	if c.HTTPClient == nil {
		c.HTTPClient = defaultAWSClient()
	}
	return c
}

func (c AWS) check() error {
	switch {
	case c.Bucket == "":
		return errors.New("ledger: the AWS log needs a bucket")
	case c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/"):
		return fmt.Errorf("ledger: the AWS log's bucket prefix %q must end in /", c.Prefix)
	case c.DB == nil || c.DB.DBName == "":
		return errors.New("ledger: the AWS log needs a database (a DSN naming its database)")
	case c.Endpoint != "" && (c.AccessKey == "" || c.SecretKey == ""):
		return fmt.Errorf("ledger: the S3 server %s needs an access key and a secret key", c.Endpoint)
	case c.MaxOpenConns < 0:
		return fmt.Errorf("ledger: MaxOpenConns %d is negative", c.MaxOpenConns)
	}
	return nil
}

// String names the log's place for messages: "s3://bucket/prefix (db
// name@host)", without credentials.
func (c AWS) String() string {
	s := "s3://" + c.Bucket + "/" + c.Prefix
	if c.Endpoint != "" {
		s += " at " + c.Endpoint
	}
	if c.DB != nil {
		s += " (database " + c.DB.DBName + " at " + c.DB.Addr + ")"
	}
	return s
}

func (c AWS) sdk() (aws.Config, func(*s3.Options)) {
	cfg := aws.Config{
		Region:     c.Region,
		HTTPClient: c.HTTPClient,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: c.AccessKey, SecretAccessKey: c.SecretKey, SessionToken: c.SessionToken, Source: "exhibit"}, nil
		}),
		RetryMaxAttempts: 3,
	}
	return cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
			o.UsePathStyle = true
		}
	}
}

// dsn returns the DSN of Tessera's sequencer and antispam index: with
// the options the sequencer needs, and transaction isolation READ
// COMMITTED.
//
// Tessera's integration reads the sequenced batches with SELECT … FOR
// UPDATE over seq >= n and keeps its transaction open while it writes the
// new tiles and bundles to S3. Under InnoDB's default, REPEATABLE READ,
// that also locks the gap after the last batch, where every frontend's
// next batch is inserted: sequencing stops for the length of every
// integration, and with N frontends integration runs N times a second.
// Tessera coordinates only through locks on single rows (SeqCoord,
// IntCoord, PubCoord, GCCoord, AntispamFollowCoord), which READ COMMITTED
// keeps: a batch is inserted under the SeqCoord lock, so batches are
// committed in order and an integration never misses one below another.
//
// The session variable is transaction_isolation (MySQL, MariaDB 11.1 and
// later) or tx_isolation (earlier MariaDB): the server is asked which.
func (c AWS) dsn(ctx context.Context) (string, error) {
	d := c.DB.Clone()
	d.ParseTime = true
	name, err := isolationVariable(ctx, d)
	if err != nil {
		return "", err
	}
	if d.Params == nil {
		d.Params = map[string]string{}
	}
	d.Params[name] = "'READ-COMMITTED'"
	return d.FormatDSN(), nil
}

// isolationVariable returns the name of the server's session variable for
// the transaction isolation level.
func isolationVariable(ctx context.Context, d *mysql.Config) (string, error) {
	conn, err := mysql.NewConnector(d)
	if err != nil {
		return "", fmt.Errorf("database %s at %s: %w", d.DBName, d.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var level string
	err = db.QueryRowContext(ctx, "SELECT @@SESSION.transaction_isolation").Scan(&level)
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return "transaction_isolation", nil
	case errors.As(err, &me) && me.Number == errUnknownSystemVariable:
		return "tx_isolation", nil
	}
	return "", fmt.Errorf("database %s at %s: %w", d.DBName, d.Addr, err)
}

// errUnknownSystemVariable is MySQL's and MariaDB's
// ER_UNKNOWN_SYSTEM_VARIABLE.
const errUnknownSystemVariable = 1193

// OpenAWSWriter opens the log stored by Tessera's storage/aws driver (see
// [AWS]) for appending, as [OpenWriter] opens a POSIX one, and with the
// same guarantee: every checkpoint published is kept (cfg.Keeper) before
// an entry is acknowledged against it and before this process signs
// another. Other processes may append to the same log at once: Tessera
// serialises sequencing and publication in the database, and each
// process keeps the checkpoint published last before it signs the next,
// so that every checkpoint any of them publishes is kept.
//
// Tessera's antispam (storage/aws/antispam, in the same database) suppresses
// most duplicate entries, best effort: an entry already in the log is
// given its earlier index instead of a new one. The database sessions of
// both run at transaction isolation READ COMMITTED: under InnoDB's default
// an integration in progress would hold up every frontend's sequencing.
//
// The defaults differ from the POSIX log's, as what each costs does:
// cfg.CheckpointInterval defaults here to, and may not be less than,
// MinAWSCheckpointInterval; cfg.PollInterval defaults to 100ms;
// cfg.BatchMaxAge to 100ms (each batch is a database transaction, and
// Tessera integrates once a second: the batches of N frontends are each
// 1/N as large, so a short age would multiply the transactions, not speed
// anything up); cfg.GCInterval to 10s (the removal of partial tiles is
// coordinated in the database, so any frontend carries on where another
// stopped, and each run reads the checkpoint and locks a row).
//
// Tessera v1.0.4's driver and antispam index never close their database
// pools: each call holds up to 2 × c.MaxOpenConns connections until the
// process exits, even after Close. A process opens the log once.
func OpenAWSWriter(ctx context.Context, c AWS, s *Signer, cfg Config) (*Writer, error) {
	c = c.withDefaults()
	if err := c.check(); err != nil {
		return nil, err
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = MinAWSCheckpointInterval
	}
	if cfg.PollInterval == 0 {
		// Checkpoints come at most once a second; reading the bucket's
		// every 10ms, from every frontend, would only load it.
		cfg.PollInterval = 100 * time.Millisecond
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = 100 * time.Millisecond
	}
	if cfg.GCInterval == 0 {
		cfg.GCInterval = 10 * time.Second
	}
	if cfg.CheckpointInterval < MinAWSCheckpointInterval {
		return nil, fmt.Errorf("ledger: checkpoint interval %v is less than the AWS driver's minimum of %v", cfg.CheckpointInterval, MinAWSCheckpointInterval)
	}
	dsn, err := c.dsn(ctx)
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", c, err)
	}
	sdk, s3opts := c.sdk()
	drv, err := tesseraaws.New(ctx, tesseraaws.Config{
		SDKConfig:    &sdk,
		S3Options:    s3opts,
		Bucket:       c.Bucket,
		BucketPrefix: strings.TrimSuffix(c.Prefix, "/"),
		DSN:          dsn,
		MaxOpenConns: c.MaxOpenConns,
		MaxIdleConns: c.MaxOpenConns,
		HTTPClient:   c.HTTPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("opening log %s: %w", c, err)
	}
	as, err := antispam.NewAntispam(ctx, dsn, antispam.AntispamOpts{MaxOpenConns: c.MaxOpenConns, MaxIdleConns: c.MaxOpenConns})
	if err != nil {
		return nil, fmt.Errorf("opening the antispam index of log %s: %w", c, err)
	}
	return openWriter(ctx, drv, NewAWSReader(c), c.String(), s, cfg, func(o *tessera.AppendOptions) {
		o.WithAntispam(tessera.DefaultAntispamInMemorySize, as)
	})
}

// NewAWSReader reads the log stored by Tessera's storage/aws driver in the
// bucket of c (it needs no database), verifying its checkpoints with keys
// (see NewReader).
func NewAWSReader(c AWS, keys ...*verify.PublicKey) *Reader {
	c = c.withDefaults()
	sdk, s3opts := c.sdk()
	f := &s3Fetcher{client: s3.NewFromConfig(sdk, s3opts), bucket: c.Bucket, prefix: c.Prefix}
	return newReader(f, c.String(), keys...)
}

// s3Fetcher reads a log's objects from its bucket.
type s3Fetcher struct {
	client *s3.Client
	bucket string
	prefix string
}

// maxObject bounds what is read of one object: a full tile is 8 KiB, an
// entry bundle 256 entries of at most verify.MaxEntrySize bytes.
const maxObject = 256*(verify.MaxEntrySize+2) + 1

func (f *s3Fetcher) get(ctx context.Context, key string) ([]byte, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(f.bucket), Key: aws.String(f.prefix + key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("s3://%s/%s%s: %w", f.bucket, f.prefix, key, os.ErrNotExist)
		}
		return nil, fmt.Errorf("reading s3://%s/%s%s: %w", f.bucket, f.prefix, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, maxObject))
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s%s: %w", f.bucket, f.prefix, key, err)
	}
	if len(b) >= maxObject {
		return nil, fmt.Errorf("s3://%s/%s%s is over %d bytes, more than any log object", f.bucket, f.prefix, key, maxObject-1)
	}
	return b, nil
}

func (f *s3Fetcher) ReadCheckpoint(ctx context.Context) ([]byte, error) {
	return f.get(ctx, layout.CheckpointPath)
}

// ReadTile reads a tile; a partial one removed since (Tessera removes
// partial tiles and entry bundles once the full one is written) is read
// from the full one, whose first entries are the same, as Tessera's
// client.FileFetcher does.
func (f *s3Fetcher) ReadTile(ctx context.Context, l, i uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) {
		return f.get(ctx, layout.TilePath(l, i, p))
	})
}

// ReadEntryBundle reads an entry bundle, as ReadTile reads a tile.
func (f *s3Fetcher) ReadEntryBundle(ctx context.Context, i uint64, p uint8) ([]byte, error) {
	return partialOrFull(ctx, p, func(ctx context.Context, p uint8) ([]byte, error) {
		return f.get(ctx, layout.EntriesPath(i, p))
	})
}

// ReadResource reads the object at a tlog-tiles path as it is, with no
// fallback from a partial tile to the full one: what a static server of
// the bucket would answer.
func (f *s3Fetcher) ReadResource(ctx context.Context, path string) ([]byte, error) {
	return f.get(ctx, path)
}

// partialOrFull reads a partial resource with read, or the full one if
// the partial one is gone.
func partialOrFull(ctx context.Context, p uint8, read func(context.Context, uint8) ([]byte, error)) ([]byte, error) {
	b, err := read(ctx, p)
	if p > 0 && errors.Is(err, os.ErrNotExist) {
		return read(ctx, 0)
	}
	return b, err
}

// PingDB checks that the log's database answers. Its connection's
// reads and writes end at ctx's deadline, if it has one: the driver's
// handshake does not watch ctx, and a ping of a server that hangs would
// otherwise go on after PingDB returned.
func PingDB(ctx context.Context, c AWS) error {
	c = c.withDefaults()
	conn, err := mysql.NewConnector(BoundedConfig(ctx, c.DB))
	if err != nil {
		return fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	return nil
}

// PingBucket checks that the log's bucket answers (HeadBucket).
func PingBucket(ctx context.Context, c AWS) error {
	c = c.withDefaults()
	sdk, s3opts := c.sdk()
	if _, err := s3.NewFromConfig(sdk, s3opts).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(c.Bucket)}); err != nil {
		return fmt.Errorf("bucket s3://%s: %w", c.Bucket, err)
	}
	return nil
}

// DBTime returns the database server's clock (UTC_TIMESTAMP(6)) and the
// round trip it took to read it.
func DBTime(ctx context.Context, c AWS) (time.Time, time.Duration, error) {
	c = c.withDefaults()
	d := c.DB.Clone()
	d.ParseTime = true
	conn, err := mysql.NewConnector(d)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return time.Time{}, 0, fmt.Errorf("database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	start := time.Now()
	var t time.Time
	if err := db.QueryRowContext(ctx, "SELECT UTC_TIMESTAMP(6)").Scan(&t); err != nil {
		return time.Time{}, 0, fmt.Errorf("reading the clock of database %s at %s: %w", c.DB.DBName, c.DB.Addr, err)
	}
	return t, time.Since(start), nil
}

// BoundedConfig returns c, or, when ctx has a deadline, a copy of c whose
// connections' dial, reads and writes time out at that deadline:
// go-sql-driver/mysql does not watch ctx during its handshake, so a
// connection to a server that hangs (a connection accepted, never
// answered) would otherwise wait for it however long.
func BoundedConfig(ctx context.Context, c *mysql.Config) *mysql.Config {
	dl, ok := ctx.Deadline()
	if !ok {
		return c
	}
	c = c.Clone()
	left := max(time.Until(dl), time.Millisecond)
	c.Timeout, c.ReadTimeout, c.WriteTimeout = left, left, left
	return c
}
