package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/spf13/cobra"
)

func newInitCmd(g *globals) *cobra.Command {
	var origin, keyPath, storeURL string
	var sc archive.StoreConfig
	var createBucket, failOpen, tsaUnchecked bool
	var policyPath, tsaURL, tsaRootsPath string
	var logDSN, indexDSN string
	var logMaxConns int
	cmd := &cobra.Command{
		Use:   "init [--origin NAME] [--key PEM] [--store s3://BUCKET/PREFIX --s3-endpoint URL [--log-db DSN]] [--witness-policy FILE [--witness-fail-open]] [--tsa URL --tsa-roots PEM [--tsa-unchecked]]",
		Short: "Create an archive: signing key, log, snapshot store and index",
		Long: `Create an archive in the --archive directory, which must not hold one already.

It writes exhibit.json (origin, verifier key), key.pem (the signing key, mode
0600), log/ (a Tessera POSIX log with its first signed checkpoint), objects/
(the snapshot store) and index.db.

--origin names the log (C2SP tlog-checkpoint: a schemeless URL-like name such
as archive.example.org/exhibit); default exhibit.local/<12 random hex digits>.
--key takes an existing Ed25519 or ECDSA P-256 private key (PEM, unencrypted),
or a KMS key reference (awskms://..., gcpkms://..., hashivault://...; see
exhibit key rotate --help); default: a new Ed25519 key. Keys change later
with exhibit key rotate.

--store s3://BUCKET[/PREFIX] keeps snapshots in an S3-compatible bucket
instead of objects/, reached at --s3-endpoint (e.g. https://s3.example.org or
http://127.0.0.1:7070; --s3-path-style for servers on an IP address). The
credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or
~/.aws/credentials, or an instance role) and are never written to the
archive. A missing bucket is an error, unless --s3-create-bucket creates it
(with Object Lock when retention or a legal hold is asked for: Object Lock
can only be enabled when a bucket is created). --retention DURATION (90d, 7y = 7×365
days, or a Go duration) with --retention-mode compliance|governance locks
every object with S3 Object Lock for that long; --legal-hold sets a legal
hold on every object. Both need a bucket with Object Lock. Everything is
checked before anything is written.

--log-db DSN puts the log itself on S3 too, for an archive that several
frontends on several machines write at once: Tessera's storage/aws driver
keeps the tiles and entry bundles in the --store bucket (under PREFIX/log/),
the kept checkpoints and their tokens beside them (PREFIX/checkpoints/), and
coordinates sequencing through the MySQL or MariaDB database DSN names, in
go-sql-driver form without a password: user@tcp(host:3306)/database (the
database must exist and be empty: init refuses, before writing anything, a
bucket prefix that holds a log and a log or index database that holds
tables, another archive's). The password comes from
EXHIBIT_DB_PASSWORD, or from the file EXHIBIT_DB_PASSWORD_FILE names, and is
never written to the archive. --log-db-max-conns bounds each process's
database connections (default 8). The index then lives in the same
database server too, in the database --index-db DSN names (default: the
same server and user, database exhibit; created if missing), where every
frontend reads it; exhibit reindex rebuilds it from the log alone. Another
frontend joins with a copy of exhibit.json, the signing key and tokens.json,
never with init (see docs/DEPLOYMENT.md).

--witness-policy FILE is a C2SP tlog-policy (docs/FORMATS.md 5.5): the
witnesses, with their tlog-witness URLs, and the quorum. Every checkpoint is
then submitted to them and published with their cosignatures once the quorum
is met; until it is, nothing is published and captures wait (fail closed).
--witness-fail-open publishes each checkpoint as soon as the witnesses have
answered (or timed out), with whatever cosignatures it got, and every bundle
says "witnessing": "fail-open". A policy without a "log" line gets one for
this archive's log; witnesses must be configured to accept this log's key
(exhibit log-key). Witnesses verify Ed25519 log signatures only: with
--witness-policy, a --key that is not Ed25519 is refused (create the archive
with an Ed25519 key, then make the other key current with exhibit key
rotate, the Ed25519 key co-signing).

--tsa URL is an RFC 3161 time-stamping authority, and --tsa-roots PEM its
certificate chain (or root), the trust anchor. Every checkpoint the log
publishes is time-stamped, its token kept beside it (checkpoints/<tree
size>.tsr); while the TSA is unreachable, bundles say the token is pending,
and the archive asks again while it is open for writing.
Before anything is written, init asks the TSA for one trial token and
refuses to create the archive when the request fails or the token does not
verify against --tsa-roots; --tsa-unchecked creates it anyway, with a
warning.

The policy and the TSA roots are copied into the archive
(witness-policy.txt, tsa-roots.pem) and named in exhibit.json. Default: no
witnesses, no time-stamps. These settings cannot be changed later, except
the witness policy, which exhibit key rotate --witness-policy FILE
replaces.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			var keyPEM []byte
			var err error
			var kmsRef string
			if ledger.IsKMSRef(keyPath) {
				kmsRef = keyPath
			} else if keyPath != "" {
				if keyPEM, err = readSmall(keyPath); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if storeURL != "" {
				s, err := archive.ParseStoreURL(storeURL)
				if err != nil {
					return err
				}
				s.Endpoint, s.Region, s.PathStyle = sc.Endpoint, sc.Region, sc.PathStyle
				s.Retention, s.RetentionMode, s.LegalHold = sc.Retention, sc.RetentionMode, sc.LegalHold
				if s.Endpoint == "" {
					return usageError("--store s3://... needs --s3-endpoint")
				}
				sc = s
			} else if sc != (archive.StoreConfig{}) || createBucket {
				return usageError("--s3-*, --retention and --legal-hold go with --store s3://...")
			}
			opts := archive.InitOptions{Origin: origin, KeyPEM: keyPEM, KMS: kmsRef, Store: sc, CreateBucket: createBucket, WitnessFailOpen: failOpen, TSAURL: tsaURL}
			if logDSN != "" {
				if storeURL == "" {
					return usageError("--log-db DSN needs --store s3://...: the log, its checkpoints and the snapshots all live in the bucket")
				}
				opts.Log = &archive.LogConfig{Type: "aws", DSN: logDSN, MaxOpenConns: logMaxConns, IndexDSN: indexDSN}
			} else if logMaxConns != 0 || indexDSN != "" {
				return usageError("--log-db-max-conns and --index-db go with --log-db DSN")
			}
			if failOpen && policyPath == "" {
				return usageError("--witness-fail-open goes with --witness-policy FILE")
			}
			if (tsaURL == "") != (tsaRootsPath == "") {
				return usageError("--tsa URL and --tsa-roots PEM go together")
			}
			if policyPath != "" {
				if opts.WitnessPolicy, err = readSmall(policyPath); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if tsaRootsPath != "" {
				if opts.TSARootsPEM, err = readSmall(tsaRootsPath); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if tsaUnchecked {
				if tsaURL == "" {
					return usageError("--tsa-unchecked goes with --tsa URL")
				}
				opts.TSAUnchecked = true
				if err := trust.Probe(ctx, tsaURL, opts.TSARootsPEM, origin, 0); errors.Is(err, trust.ErrTSACheck) {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: warning: %v; creating the archive anyway (--tsa-unchecked): bundles will say their time-stamp is pending until the TSA answers\n", err)
				} else if err != nil {
					return err
				}
			}
			opts.Logger = g.logger
			cfg, err := archive.Init(ctx, g.archive, opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created archive %s\norigin  %s\nlog key %s\n", g.archive, cfg.Origin, cfg.VKey)
			if cfg.Store.Type == "s3" {
				fmt.Fprintf(cmd.OutOrStdout(), "store   s3://%s/%s at %s\n", cfg.Store.Bucket, cfg.Store.Prefix, cfg.Store.Endpoint)
			}
			if cfg.Log != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "log     s3://%s/%s, sequenced in %s\nindex   %s\n", cfg.Log.Bucket, cfg.Log.Prefix, cfg.Log.DSN, cfg.Log.IndexDSN)
			}
			if cfg.Witness != nil {
				mode := "fail closed"
				if cfg.Witness.FailOpen {
					mode = "fail open"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "witness %s (%s)\n", cfg.Witness.PolicyFile, mode)
			}
			if cfg.TSA != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "tsa     %s (roots %s)\n", cfg.TSA.URL, cfg.TSA.RootsFile)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&origin, "origin", "", "log origin (default exhibit.local/<random>)")
	cmd.Flags().StringVar(&keyPath, "key", "", "existing Ed25519 or ECDSA P-256 private key (PEM file), or a KMS URI (awskms://, gcpkms://, hashivault://...)")
	cmd.Flags().StringVar(&storeURL, "store", "", "keep snapshots in s3://BUCKET[/PREFIX] instead of the archive folder")
	cmd.Flags().StringVar(&sc.Endpoint, "s3-endpoint", "", "S3 endpoint URL, e.g. https://s3.example.org")
	cmd.Flags().StringVar(&sc.Region, "s3-region", "", "S3 region (default us-east-1)")
	cmd.Flags().BoolVar(&sc.PathStyle, "s3-path-style", false, "path-style S3 addressing (servers on an IP address)")
	cmd.Flags().StringVar(&sc.Retention, "retention", "", "S3 Object Lock retention of every object: 90d, 7y or a Go duration")
	cmd.Flags().StringVar(&sc.RetentionMode, "retention-mode", "", "S3 Object Lock mode: compliance or governance")
	cmd.Flags().BoolVar(&sc.LegalHold, "legal-hold", false, "set an S3 legal hold on every object")
	cmd.Flags().StringVar(&policyPath, "witness-policy", "", "C2SP tlog-policy file: witnesses (with URLs) and quorum for every checkpoint")
	cmd.Flags().BoolVar(&failOpen, "witness-fail-open", false, "publish checkpoints without the witness quorum when it cannot be met (recorded in bundles)")
	cmd.Flags().StringVar(&tsaURL, "tsa", "", "RFC 3161 time-stamping authority URL")
	cmd.Flags().StringVar(&tsaRootsPath, "tsa-roots", "", "PEM of the TSA's certificate chain or root (the trust anchor)")
	cmd.Flags().BoolVar(&tsaUnchecked, "tsa-unchecked", false, "create the archive even if the trial time-stamp request to --tsa fails (warn instead)")
	cmd.Flags().StringVar(&logDSN, "log-db", "", "put the log on S3 (the --store bucket) with sequencing in this MySQL/MariaDB database: user@tcp(host:3306)/database, no password (EXHIBIT_DB_PASSWORD)")
	cmd.Flags().StringVar(&indexDSN, "index-db", "", "with --log-db: the index's MySQL/MariaDB database (default: the same server and user, database exhibit)")
	cmd.Flags().IntVar(&logMaxConns, "log-db-max-conns", 0, "the most database connections each process opens (default 8)")
	cmd.Flags().BoolVar(&createBucket, "s3-create-bucket", false, "create the bucket if it is missing (with Object Lock if retention or a legal hold is asked for)")
	return cmd
}

func newLogKeyCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "log-key [--all]",
		Short: "Print the log's verifier key (C2SP vkey: name+hex8+base64)",
		Long: `Print the log's current verifier key in C2SP signed-note vkey form,
name+hex8+base64.

Give it to whoever verifies this archive's bundles: exhibit verify --key VKEY.
After a key rotation (exhibit key rotate), --all prints every key of the
log, the current one first, one a line: records made before the rotation
verify under the earlier keys (exhibit verify --key A --key B ...).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := archive.ReadConfig(g.archive)
			if err != nil {
				return err
			}
			keys, err := cfg.Keys()
			if err != nil {
				return err
			}
			// Publish nothing but the keys the archive really signs with.
			if err := cfg.CheckKeyFile(g.archive); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: note: %v; printing the configured key unconfirmed\n", err)
			} else if err != nil {
				return err
			}
			if !all {
				keys = keys[:1]
			}
			for _, k := range keys {
				fmt.Fprintln(cmd.OutOrStdout(), k.VKey)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "print every key of the log (current first, then earlier keys)")
	return cmd
}
