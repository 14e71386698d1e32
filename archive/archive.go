// Package archive is an exhibit archive: its lifecycle (Init, Open,
// Close, its keys and store), its one write path and its read path. Every
// record enters through [Archive.Submit] and [Archive.Await] (or
// [Archive.Log]): a statement is checked, signed, appended to the
// transparency log (package ledger), published by a checkpoint that is kept
// for good, indexed, and handed back as a [record.Record]. Every record
// leaves through [Archive.Get], [Archive.Prove] and [Archive.Search], which
// read and never write. Documents come in through package ingest; tracking,
// audit, citations and evidence packages build on this package.
//
// An archive is a directory:
//
//	exhibit.json   configuration: format version, log origin, verifier keys (current and previous), store, witness, tsa
//	key.pem        the signing key (PEM, mode 0600); key-<key ID>.pem for keys made by Rotate
//	witness-policy.txt  the witnesses and quorum (C2SP tlog-policy), if any
//	tsa-roots.pem  the time-stamping authority's certificate chain, if any
//	log/           the Tessera POSIX log (C2SP tlog-tiles layout: checkpoint, tile/)
//	checkpoints/   every checkpoint the log published, and its RFC 3161 token (see ledger.Checkpoints)
//	objects/       the snapshot store (package store): sha256/<2 hex>/<64 hex>
//	index.db       the SQLite index (package index), rebuildable from the log and checkpoints/
//	lock           held (flock) by the one process allowed to write
//
// The evidence is the log, the kept checkpoints with their tokens, and the
// objects; everything else is derived and can be deleted and rebuilt
// (exhibit reindex). Evidence bundles are computed on demand (Prove). An
// archive of format 1 also holds bundles/<record ID>.json and
// log/timestamps/: Open for writing upgrades it (see Upgrade), recovering
// the checkpoints and tokens they hold; they are then left as they are.
//
// Ordering guarantees: a snapshot is durable (fsynced and renamed into
// place) before its statement is signed and appended; a record is
// acknowledged (Await returns it) only once a kept checkpoint (durable,
// with its witnesses' cosignatures) covers its entry and the record is
// indexed. A second process that tries to write the same archive is
// refused with ErrLocked, unless the log is on S3 and MySQL (see
// LogConfig): then several processes, on several machines, write at once.
//
// The statement format is specified in package verify and docs/FORMATS.md.
// Specifications followed: in-toto Statement v1
// (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
// in DSSE envelopes (https://github.com/secure-systems-lab/dsse); the log
// per C2SP tlog-tiles, tlog-checkpoint and signed-note (https://c2sp.org);
// RFC 6962 Merkle hashing; RFC 3339 UTC times; witness cosignatures per
// C2SP tlog-witness, tlog-cosignature and tlog-policy; RFC 3161 time-stamps
// (https://www.rfc-editor.org/rfc/rfc3161).
package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/durable"
	"github.com/exhibit-archive/exhibit/verify"
)

// Version is exhibit's version, recorded in every statement.
var Version = "0.1.0"

func init() {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		Version = strings.TrimPrefix(bi.Main.Version, "v")
	}
}

// FormatVersion is the version of the archive directory layout. Format 1
// kept only the latest checkpoint, and one bundle file per record; format
// 2 keeps every checkpoint (checkpoints/) and makes bundles on demand.
const FormatVersion = 2

const (
	configFile = "exhibit.json"
	keyFile    = "key.pem"
	logDir     = "log"
	objectsDir = "objects"
	// bundlesDir held a bundle file per record, in format 1.
	bundlesDir = "bundles"
	indexFile  = "index.db"
	// checkpointsDir keeps every checkpoint the log published (see
	// ledger.Checkpoints).
	checkpointsDir = "checkpoints"
	lockFile       = "lock"
)

// Config is the archive's exhibit.json.
type Config struct {
	FormatVersion int    `json:"format_version"`
	Origin        string `json:"origin"`
	// VKey is the log's current verifier key in C2SP vkey form: the key
	// that signs every checkpoint and statement.
	VKey string `json:"vkey"`
	// KeyFile is the current key's PEM file, relative to the archive; KMS,
	// if set instead, is its sigstore KMS reference (awskms://...).
	KeyFile string `json:"key_file"`
	KMS     string `json:"kms,omitempty"`
	// PreviousKeys are the log's earlier keys, newest first (see exhibit
	// key rotate). Records they signed keep verifying under them.
	PreviousKeys []PreviousKey `json:"previous_keys,omitempty"`
	Store        StoreConfig   `json:"store"`
	CreatedAt    string        `json:"created_at"`
	// Witness, if set, has every checkpoint cosigned by the witnesses of
	// a policy before it is published.
	Witness *trust.WitnessConfig `json:"witness,omitempty"`
	// TSA, if set, has every checkpoint a bundle refers to time-stamped.
	TSA *trust.TSAConfig `json:"tsa,omitempty"`
	// Log, if set, puts the log on S3 with MySQL/MariaDB sequencing
	// instead of the log/ directory (see LogConfig).
	Log *LogConfig `json:"log,omitempty"`
}

var (
	// ErrExists is returned by Init for a directory that already holds an
	// archive.
	ErrExists = errors.New("an archive already exists there")
	// ErrNoArchive is returned by Open for a directory without an archive.
	ErrNoArchive = errors.New("no archive there")
	// ErrLocked is returned when another process is writing the archive.
	ErrLocked = errors.New("the archive is locked by another exhibit process")
)

// InitOptions configure a new archive.
type InitOptions struct {
	// Origin is the log origin, a schemeless URL-like name such as
	// "archive.example.org/exhibit" (C2SP tlog-checkpoint). Default:
	// "exhibit.local/" followed by 12 random hex digits.
	Origin string
	// KeyPEM is an existing Ed25519 or ECDSA P-256 private key (PEM). If
	// empty (and KMS too), a new Ed25519 key is generated.
	KeyPEM []byte
	// KMS, if set instead of KeyPEM, is the signing key's sigstore KMS
	// reference (awskms://..., see ledger.NewKMSSigner); no key file is
	// written. A log's checkpoints need an Ed25519 signature to be
	// witnessed: a KMS key without Ed25519 is better added later, with
	// Rotate, beside an Ed25519 file key.
	KMS string
	// Store says where snapshots live. The zero value is the local folder
	// objects/. An S3 bucket is checked before anything is written.
	Store StoreConfig
	// Log, if set, puts the log on S3 with MySQL/MariaDB sequencing (see
	// LogConfig); Store must then be an S3 store. Its bucket defaults to
	// the store's. The log's bucket must hold no log yet. Default: the
	// log/ directory.
	Log *LogConfig
	// CreateBucket creates a missing S3 bucket (with Object Lock when the
	// store asks for retention or a legal hold) instead of failing.
	CreateBucket bool
	// WitnessPolicy, if set, is a C2SP tlog-policy naming the witnesses
	// (with their URLs) and the quorum every checkpoint needs before it is
	// published. If it lists no log, a line for the archive's log is
	// added; if it lists logs, one must be the archive's. Stored as
	// witness-policy.txt. Default: no witnesses.
	WitnessPolicy []byte
	// WitnessFailOpen publishes checkpoints without the quorum when it
	// cannot be gathered (see ledger.Config.WitnessFailOpen). Default:
	// fail closed.
	WitnessFailOpen bool
	// TSAURL, if set, is an RFC 3161 time-stamping authority; TSARootsPEM
	// (required with it) is its certificate chain or root, stored as
	// tsa-roots.pem. Default: no time-stamps.
	TSAURL      string
	TSARootsPEM []byte
	// TSAUnchecked skips the trial time-stamp request (trust.Probe) Init
	// otherwise sends to TSAURL, and checks against TSARootsPEM, before it
	// writes anything; the URL and the roots' form are still checked.
	TSAUnchecked bool
	// Logger, if set, is told what Init does beyond creating the archive:
	// that it removed what an earlier Init of a shared archive, which
	// failed, left in its databases.
	Logger *slog.Logger
}

// Init creates an archive in dir, which must not already hold one. It
// writes the configuration, the key (mode 0600), an empty log with its first
// signed checkpoint, the snapshot store and the index. Before it writes
// anything it checks the options: with a witness policy, that the log key
// is Ed25519 (ErrWitnessKey); with a TSA, unless TSAUnchecked, that the TSA
// answers a trial request with a token that verifies against its roots
// (ErrTSACheck); with an S3 store, the bucket.
func Init(ctx context.Context, dir string, o InitOptions) (_ *Config, err error) {
	if _, err := os.Stat(filepath.Join(dir, configFile)); err == nil {
		return nil, fmt.Errorf("%s: %w", dir, ErrExists)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("%s is not empty: refusing to create an archive in it", dir)
	}
	origin := o.Origin
	if origin == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		origin = "exhibit.local/" + hex.EncodeToString(b[:])
	}
	if err := checkOrigin(origin); err != nil {
		return nil, err
	}
	keyPEM := o.KeyPEM
	var signer *ledger.Signer
	switch {
	case o.KMS != "" && len(keyPEM) > 0:
		return nil, fmt.Errorf("%w: give a key file or a KMS reference, not both", ErrInput)
	case o.KMS != "":
		signer, err = ledger.NewKMSSigner(ctx, o.KMS, origin)
	default:
		if len(keyPEM) == 0 {
			if keyPEM, err = ledger.GenerateKey(); err != nil {
				return nil, err
			}
		}
		signer, err = ledger.NewSigner(keyPEM, origin)
	}
	if err != nil {
		return nil, err
	}
	var policy []byte
	if o.WitnessPolicy != nil {
		if err := trust.CheckWitnessKey(signer.PublicKey()); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		if policy, err = trust.PreparePolicy(o.WitnessPolicy, signer.PublicKey()); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
	} else if o.WitnessFailOpen {
		return nil, fmt.Errorf("%w: fail-open witnessing needs a witness policy", ErrInput)
	}
	if o.TSAURL != "" || o.TSARootsPEM != nil {
		if u, err := url.Parse(o.TSAURL); err == nil && u.User != nil {
			return nil, ErrCredentials
		}
		if err := trust.CheckTSA(o.TSAURL, o.TSARootsPEM); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInput, err)
		}
		if !o.TSAUnchecked {
			if err := trust.Probe(ctx, o.TSAURL, o.TSARootsPEM, origin, 0); err != nil {
				return nil, err
			}
		}
	}
	// The log's settings are checked before any server is asked.
	lc, err := initLog(o.Log, o.Store)
	if err != nil {
		return nil, err
	}
	sc := o.Store
	switch sc.Type {
	case "", "fs":
		if sc != (StoreConfig{}) && sc != (StoreConfig{Type: "fs"}) {
			return nil, fmt.Errorf("%w: S3 options given without an s3:// store", ErrInput)
		}
		sc = StoreConfig{Type: "fs", Path: objectsDir}
	case "s3":
		if err := prepareS3(ctx, sc, o.CreateBucket); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: unknown store type %q", ErrInput, sc.Type)
	}
	if lc != nil {
		// Before anything is written: never a second log where one is.
		if err := checkLogFree(ctx, sc, lc, signer, o.Logger); err != nil {
			return nil, err
		}
	}
	_, statErr := os.Stat(dir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lk, err := lock(dir)
	if err != nil {
		return nil, err // another Init's, perhaps: remove nothing
	}
	done := false
	defer func() {
		if !done {
			removeCreated(dir, created)
		}
	}()
	defer lk.release()
	if lc != nil {
		// What it writes to the databases (which checkLogFree found
		// without tables) it removes if it fails; what it could not
		// remove, a retry finds and removes (see checkLogFree).
		defer func() {
			if !done {
				err = undoSharedInit(ctx, sc, lc, signer, err)
			}
		}()
		if err := markInit(ctx, lc, false); err != nil {
			return nil, err
		}
	}
	// Write the config last: its presence marks a complete archive.
	if o.KMS == "" {
		if err := WriteFileAtomic(filepath.Join(dir, keyFile), keyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	if sc.Type == "fs" {
		if _, err := store.NewFS(store.FSConfig{Path: filepath.Join(dir, sc.Path)}); err != nil {
			return nil, err
		}
	}
	if policy != nil {
		if err := WriteFileAtomic(filepath.Join(dir, witnessPolicyFile), policy, 0o644); err != nil {
			return nil, err
		}
	}
	if o.TSAURL != "" {
		if err := WriteFileAtomic(filepath.Join(dir, tsaRootsFile), o.TSARootsPEM, 0o644); err != nil {
			return nil, err
		}
	}
	// The index first: a database it cannot be created in (grants) fails
	// Init before the log is created.
	ixPath, ixOpts, err := (&Config{Log: lc}).indexOptions(dir, false)
	if err != nil {
		return nil, err
	}
	ix, err := index.Open(ctx, ixPath, ixOpts)
	if err != nil {
		return nil, err
	}
	// The index knows the empty tree's checkpoint, kept by createLog.
	// Added first: the log, in the bucket, is the last thing written
	// outside dir, so that a failure leaves nothing in the bucket.
	err = ix.Add(ctx, index.Round{Checkpoints: []index.Checkpoint{{Size: 0}}})
	if cerr := ix.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = createLog(ctx, dir, signer, sc, lc)
	}
	if err == nil && lc != nil {
		err = markInit(ctx, lc, true)
	}
	if err != nil {
		return nil, err
	}
	cfg := &Config{
		FormatVersion: FormatVersion,
		Origin:        origin,
		VKey:          signer.PublicKey().VKey,
		KeyFile:       keyFile,
		KMS:           o.KMS,
		Store:         sc,
		CreatedAt:     verify.FormatTime(time.Now()),
		Log:           lc,
	}
	if o.KMS != "" {
		cfg.KeyFile = ""
	}
	if policy != nil {
		cfg.Witness = &trust.WitnessConfig{PolicyFile: witnessPolicyFile, FailOpen: o.WitnessFailOpen}
	}
	if o.TSAURL != "" {
		cfg.TSA = &trust.TSAConfig{URL: o.TSAURL, RootsFile: tsaRootsFile}
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := WriteFileAtomic(filepath.Join(dir, configFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	done = true
	return cfg, nil
}

// removeCreated removes, after Init failed, what it created in dir (which
// was empty or absent, created): so that a retry finds it empty. What Init
// wrote to a bucket or a database stays (a retry that finds a log there
// says so).
func removeCreated(dir string, created bool) {
	if created {
		os.RemoveAll(dir)
		return
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

func checkOrigin(o string) error {
	if o == "" || strings.ContainsAny(o, " \t\n+") || strings.Contains(o, "://") {
		return fmt.Errorf("origin %q: want a schemeless URL-like name without spaces or '+', such as archive.example.org/log", o)
	}
	for _, r := range o {
		if r < 0x21 || r == 0x7f {
			return fmt.Errorf("origin %q has a control character", o)
		}
	}
	return nil
}

// ReadConfig reads an archive's exhibit.json.
func ReadConfig(dir string) (*Config, error) {
	b, err := os.ReadFile(filepath.Join(dir, configFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w (run exhibit init)", dir, ErrNoArchive)
	}
	if err != nil {
		return nil, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	if c.FormatVersion != FormatVersion && c.FormatVersion != 1 {
		return nil, fmt.Errorf("%s: archive format version %d, this exhibit reads %d (and upgrades 1)", dir, c.FormatVersion, FormatVersion)
	}
	return &c, nil
}

// checkKeyFile checks that the signing key file, if readable, is the key
// whose verifier key the configuration publishes.
func (a *Archive) checkKeyFile() error { return a.cfg.CheckKeyFile(a.dir) }

// CheckKeyFile checks that the archive's signing key files (key.pem in dir,
// and those of previous keys still held) are the private halves of the
// verifier keys the configuration publishes. It returns an error wrapping
// fs.ErrNotExist when the current key file is absent. A key held in a KMS
// is not checked here (that needs the KMS: opening the archive for
// writing checks it).
func (c *Config) CheckKeyFile(dir string) error {
	if c.KMS == "" {
		if err := c.checkKeyFile(dir, c.KeyFile, c.VKey); err != nil {
			return err
		}
	}
	for _, p := range c.PreviousKeys {
		if p.KeyFile == "" {
			continue
		}
		if err := c.checkKeyFile(dir, p.KeyFile, p.VKey); err != nil && (p.Overlap || !errors.Is(err, fs.ErrNotExist)) {
			return err
		}
	}
	return nil
}

func (c *Config) checkKeyFile(dir, file, vkey string) error {
	keyPEM, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("reading signing key: %w", err)
	}
	s, err := ledger.NewSigner(keyPEM, c.Origin)
	if err != nil {
		return err
	}
	if s.PublicKey().VKey != vkey {
		return fmt.Errorf("%w: %s signs as %s, but %s publishes %s", ErrKeyMismatch, file, s.PublicKey().VKey, configFile, vkey)
	}
	return nil
}

// ErrKeyMismatch reports a configuration whose verifier key is not that of
// the archive's signing key.
var ErrKeyMismatch = errors.New("the signing key does not match the published verifier key")

// Key returns the archive's verifier key, parsed from its configuration.
func (c *Config) Key() (*verify.PublicKey, error) { return verify.ParseVKey(c.VKey) }

// Keys returns every key of the log: the current one, then the previous
// ones, newest first. A record or checkpoint of the archive is genuine when
// one of them signed it.
func (c *Config) Keys() (verify.Keyring, error) {
	var keys []*verify.PublicKey
	for _, v := range append([]string{c.VKey}, c.previousVKeys()...) {
		k, err := verify.ParseVKey(v)
		if err != nil {
			return nil, err
		}
		if k.Name != c.Origin {
			return nil, fmt.Errorf("key %s is not named by the archive's origin %q", v, c.Origin)
		}
		keys = append(keys, k)
	}
	return verify.NewKeyring(keys...)
}

func (c *Config) previousVKeys() []string {
	var out []string
	for _, p := range c.PreviousKeys {
		out = append(out, p.VKey)
	}
	return out
}

// Archive is an open archive. Methods are safe for concurrent use.
type Archive struct {
	dir      string
	cfg      *Config
	key      *verify.PublicKey
	keys     verify.Keyring // key first, then the previous keys
	store    store.Store
	index    *index.Index
	indexErr error // see IndexErr
	reader   *ledger.Reader
	// kept holds every checkpoint the log published, and their tokens.
	kept ledger.CheckpointStore
	// aws is the log on S3 and MySQL, with its secrets; nil for the
	// log/ directory.
	aws *ledger.AWS
	// dbw watches, for writes waiting on the log, that aws's database
	// answers (see whileDBUp).
	dbw dbWatch
	// holder names this open archive as a holder of leases (TryLease).
	holder string
	log    *slog.Logger
	trust  *trust.Setup
	// Set only when opened for writing.
	signer *ledger.Signer
	writer *ledger.Writer
	lock   *dirLock
	// canCatchUp is set when opened with CatchUp, the lock held.
	canCatchUp bool
	follow     *follower
	stamper    *trust.Stamper     // nil without a TSA
	stop       context.CancelFunc // stops the follower and the stamper
}

// ErrReadOnly is returned by the write path of an archive opened for
// reading.
var ErrReadOnly = errors.New("archive opened read-only")

// OpenOptions configure Open.
type OpenOptions struct {
	// Write opens the archive for appending: it takes the write lock,
	// loads the signing key and starts the log appender. An archive of an
	// earlier format is upgraded first.
	Write bool
	// Lock takes the write lock without opening for writing, so that no
	// other process changes the archive meanwhile (for an audit). It
	// writes nothing: on a read-only copy, the lock file is locked as it
	// is (and no lock is needed where there is no lock file to lock).
	Lock bool
	// CatchUp, with Lock, opens the index for writing so that CatchUp
	// can bring it (and checkpoints/) up to date with what the log holds,
	// as a writer does when it opens. It needs no signing key. Without a
	// lock file to hold, or an index that can be written (a read-only
	// copy), the archive is opened as with Lock alone and CanCatchUp
	// reports false.
	CatchUp bool
	// IndexOptional, for reading, opens the archive even when its index
	// cannot be opened (missing, damaged, of another schema): Index is
	// then nil, and IndexErr says why (for an audit, which reports it
	// and checks the rest).
	IndexOptional bool
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// Ledger tunes the log appender. Its witness policy and fail-open
	// setting come from the archive's configuration, its keeper is the
	// archive's.
	Ledger ledger.Config
	// WitnessWait bounds how long, failing closed, a record waits for a
	// checkpoint with the witness quorum before Await returns a
	// *trust.NoQuorumError. Default 30s.
	WitnessWait time.Duration
	// TSATimeout bounds each request to the time-stamping authority.
	// Default 5s.
	TSATimeout time.Duration
	// TSARetryInterval is how often, opened for writing, the archive asks
	// again for the time-stamps it could not get. Default 30s.
	TSARetryInterval time.Duration
	// MaxClockSkew bounds, for an archive whose log is on S3 and MySQL,
	// how far this machine's clock may be from the database server's:
	// opening for writing is refused beyond it, so that a frontend with a
	// wrong clock does not sign statements with wrong times. Default
	// DefaultMaxClockSkew.
	MaxClockSkew time.Duration
	// Now, for tests, is this machine's clock as the clock check reads
	// it. Default time.Now.
	Now func() time.Time
}

// ErrUpgrade is returned by Open, for reading, of an archive of an earlier
// format: opening it for writing once upgrades it.
var ErrUpgrade = errors.New("the archive is of an earlier format: open it for writing once (exhibit upgrade) to upgrade it")

// Open opens the archive in dir. Opened for writing, it upgrades an
// archive of an earlier format, then brings the index up to date with the
// log (after a crash, the log may hold entries, and checkpoints/ kept
// checkpoints, the index has not seen) before it returns. Opened for
// reading, it takes no lock and writes nothing.
//
// A database refusing the password (MySQL error 1045) is reported with
// where the password is read from (EnvDBPassword, EnvDBPasswordFile).
//
// Opening a shared archive fails with an *UnavailableError when its
// databases do not answer: at once if they refuse connections; if they
// hang, before or while it opens, once two probes in a row, 2 s apart,
// have failed (4 to 6 s; the opening then ends in the background, and
// closes what it opened).
func Open(ctx context.Context, dir string, o OpenOptions) (*Archive, error) {
	a, err := openWatched(ctx, dir, o)
	return a, dbAccessHint(err)
}

func open(ctx context.Context, dir string, o OpenOptions) (*Archive, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	keys, err := cfg.Keys()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, configFile), err)
	}
	a := &Archive{dir: dir, cfg: cfg, key: keys[0], keys: keys, log: o.Logger, holder: holderID()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	ok := false
	defer func() {
		if !ok {
			a.Close(ctx)
		}
	}()
	switch {
	case o.Write && cfg.Log != nil:
		// A log on S3 and MySQL has several writers at once, on several
		// machines: Tessera serialises them in the database, and
		// nothing they write lives in this directory.
	case o.Write:
		if a.lock, err = lock(dir); err != nil {
			return nil, err
		}
	case o.Lock:
		if a.lock, err = lockToRead(dir); err != nil {
			return nil, err
		}
	}
	if cfg.FormatVersion != FormatVersion {
		if !o.Write {
			return nil, fmt.Errorf("%s: format %d: %w", dir, cfg.FormatVersion, ErrUpgrade)
		}
		if err := upgrade(ctx, dir, cfg, keys, a.log); err != nil {
			return nil, fmt.Errorf("upgrading %s from format %d: %w", dir, cfg.FormatVersion, err)
		}
	}
	if a.store, err = openStore(ctx, dir, cfg.Store); err != nil {
		return nil, err
	}
	if err := a.openLog(); err != nil {
		return nil, err
	}
	a.canCatchUp = o.Lock && o.CatchUp && a.lock != nil
	ixPath, ixOpts, err := cfg.indexOptions(dir, !o.Write && !a.canCatchUp)
	if err != nil {
		return nil, err
	}
	a.index, err = index.Open(ctx, ixPath, ixOpts)
	if err != nil && a.canCatchUp {
		// An index that cannot be written (a read-only copy): read it as
		// it is, without catching up.
		a.log.Warn("cannot open the index for writing: auditing it as it is", "err", err)
		a.canCatchUp = false
		if ixPath, ixOpts, err = cfg.indexOptions(dir, true); err == nil {
			a.index, err = index.Open(ctx, ixPath, ixOpts)
		}
	}
	if err != nil {
		if o.Write || !o.IndexOptional {
			return nil, err
		}
		a.index, a.indexErr = nil, err
	} else if err := a.index.Damaged(); err != nil {
		a.log.Warn("the index was damaged; rebuilding it from the log", "index", filepath.Join(dir, indexFile), "err", err)
	}
	if a.index != nil && a.aws != nil {
		// A shared archive's index is in a database that may hang: its
		// reads give up on it (503 at the API) instead of waiting.
		a.index.SetGuard(a.guardRead)
	}
	if a.trust, err = trust.Load(dir, cfg.Witness, cfg.TSA, o.TSATimeout, o.WitnessWait); err != nil {
		return nil, err
	}
	if o.Write {
		if err := a.openWriter(ctx, o); err != nil {
			return nil, err
		}
	}
	ok = true
	return a, nil
}

// warnEmptyIndex warns, for a shared archive, of an index database that
// has indexed nothing of a log that holds entries: a lost index, to be
// filled again from the log, or a frontend whose index_dsn names another
// database than the others' index, which shares no lease with them (the
// leases live in the index database).
func (a *Archive) warnEmptyIndex(ctx context.Context) {
	n, err := a.index.Size(ctx)
	if err != nil || n > 0 {
		return
	}
	if _, cp, err := a.reader.Checkpoint(ctx); err == nil && cp.Size > 0 {
		a.log.Warn("the index database holds nothing of a log of "+strconv.FormatUint(cp.Size, 10)+" entries: it is filled from the log now; if the other frontends' index_dsn names another database, this frontend shares no lease with them (two of them may track or import the same document at once): give every frontend the same exhibit.json",
			"index", a.index.String())
	}
}

// openWriter loads the signing keys, starts the follower that indexes
// what the log publishes and the stamper that time-stamps it, opens the
// log for appending and catches up with it.
func (a *Archive) openWriter(ctx context.Context, o OpenOptions) error {
	var err error
	if fs, ok := a.store.(*store.FS); ok {
		fs.CleanTemp()
	}
	if a.signer, err = a.cfg.loadSigners(ctx, a.dir); err != nil {
		return err
	}
	if a.aws != nil {
		if err := checkClock(ctx, *a.aws, o.MaxClockSkew, o.Now); err != nil {
			return dbAccessHint(err)
		}
		a.warnEmptyIndex(ctx)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	a.follow = newFollower(a)
	a.stamper = newStamper(a, o.TSARetryInterval)
	o.Ledger.WitnessPolicy, o.Ledger.WitnessFailOpen = a.trust.PolicyText, a.trust.FailOpen
	o.Ledger.Keys = a.keys[1:]
	o.Ledger.Keeper = keeper{a}
	if a.writer, err = a.openLogWriter(ctx, o.Ledger); err != nil {
		return err
	}
	a.reader = a.writer.Reader
	if err := a.catchUp(ctx); err != nil {
		return err
	}
	a.follow.start(bg)
	if a.stamper != nil {
		a.stamper.Start(bg)
	}
	return nil
}

// Close flushes the log (every accepted entry gets a kept checkpoint and
// is indexed) and releases the archive.
func (a *Archive) Close(ctx context.Context) error {
	var errs []error
	if a.writer != nil {
		err := a.writer.Close(ctx)
		errs = append(errs, err)
		if err == nil {
			errs = append(errs, a.follow.flush(ctx))
		}
		if a.stamper != nil {
			a.stamper.Drain(ctx)
		}
	}
	if a.stop != nil {
		a.stop()
		a.follow.wait()
		if a.stamper != nil {
			a.stamper.Wait()
		}
		a.stop = nil
	}
	if a.writer != nil && a.Shared() && a.index != nil {
		// Let another frontend lead the indexing at once.
		a.index.ReleaseLease(ctx, leaseName("follow", "index"), a.holder)
	}
	a.writer = nil
	if a.index != nil {
		errs = append(errs, a.index.Close())
		a.index = nil
	}
	if a.lock != nil {
		a.lock.release()
		a.lock = nil
	}
	return errors.Join(errs...)
}

// Dir returns the archive directory.
func (a *Archive) Dir() string { return a.dir }

// Config returns the archive configuration.
func (a *Archive) Config() *Config { return a.cfg }

// Key returns the log's current verifier key.
func (a *Archive) Key() *verify.PublicKey { return a.key }

// Keys returns every key of the log, the current one first (see
// Config.Keys).
func (a *Archive) Keys() verify.Keyring { return a.keys }

// Store returns the snapshot store.
func (a *Archive) Store() store.Store { return a.store }

// Index returns the archive's index, to query it (its writer is the
// archive's). It is nil only for an archive opened with IndexOptional
// whose index could not be opened: see IndexErr.
func (a *Archive) Index() *index.Index { return a.index }

// IndexErr returns why the index could not be opened (see
// OpenOptions.IndexOptional), or nil.
func (a *Archive) IndexErr() error { return a.indexErr }

// Logger returns the logger the archive was opened with.
func (a *Archive) Logger() *slog.Logger { return a.log }

// Ledger returns a reader of the archive's log (its tiles and entries).
func (a *Archive) Ledger() *ledger.Reader { return a.reader }

// dirLock is an flock(2) held on the archive's lock file.
type dirLock struct {
	f        *os.File
	readOnly bool // opened by lockToRead: release writes nothing
}

func lock(dir string) (*dirLock, error) {
	p := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (%s); wait for it to finish", dir, ErrLocked, lockHolder(holder))
		}
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte("pid "+strconv.Itoa(os.Getpid())+", since "+verify.FormatTime(time.Now())+"\n"), 0)
	return &dirLock{f: f}, nil
}

// lockToRead takes the write lock as lock does, but writes nothing: the
// lock file is opened read-only, and an archive without one (a read-only
// copy of one that never had a writer) needs no lock.
func lockToRead(dir string) (*dirLock, error) {
	p := filepath.Join(dir, lockFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w (%s); wait for it to finish", dir, ErrLocked, lockHolder(holder))
		}
		return nil, fmt.Errorf("locking %s: %w", p, err)
	}
	return &dirLock{f: f, readOnly: true}, nil
}

// lockHolder says who holds the lock, from the lock file's contents: a
// writer notes its pid there; an audit, which writes nothing, does not.
func lockHolder(b []byte) string {
	if h := strings.TrimSpace(string(b)); h != "" {
		return h
	}
	return "an audit, or a writer that has just started"
}

func (l *dirLock) release() {
	if l == nil {
		return
	}
	if !l.readOnly {
		l.f.Truncate(0)
	}
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// WriteFileAtomic writes data to a temporary file beside path, fsyncs it,
// renames it over path and fsyncs the directory, so that path holds either
// its old or its new content, durably (see durable.WriteFile).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return durable.WriteFile(path, data, perm)
}
