package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/spf13/cobra"
)

func newInitCmd(g *globals) *cobra.Command {
	var origin, keyPath string
	cmd := &cobra.Command{
		Use:   "init [--origin NAME] [--key PEM]",
		Short: "Create an archive: signing key, log, snapshot store and index",
		Long: `Create an archive in the --archive directory, which must not hold one already.

It writes exhibit.json (origin, verifier key), key.pem (the signing key, mode
0600), log/ (a Tessera POSIX log with its first signed checkpoint), objects/
(the snapshot store) and index.db.

--origin names the log (C2SP tlog-checkpoint: a schemeless URL-like name such
as archive.example.org/exhibit); default exhibit.local/<12 random hex digits>.
--key takes an existing Ed25519 or ECDSA P-256 private key (PEM, unencrypted);
default: a new Ed25519 key.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			var keyPEM []byte
			if keyPath != "" {
				var err error
				if keyPEM, err = os.ReadFile(keyPath); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			cfg, err := archive.Init(ctx, g.archive, archive.InitOptions{Origin: origin, KeyPEM: keyPEM})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created archive %s\norigin  %s\nlog key %s\n", g.archive, cfg.Origin, cfg.VKey)
			return nil
		},
	}
	cmd.Flags().StringVar(&origin, "origin", "", "log origin (default exhibit.local/<random>)")
	cmd.Flags().StringVar(&keyPath, "key", "", "existing Ed25519 or ECDSA P-256 private key (PEM file)")
	return cmd
}

func newLogKeyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "log-key",
		Short: "Print the log's verifier key (C2SP vkey: name+hex8+base64)",
		Long: `Print the log's verifier key in C2SP signed-note vkey form, name+hex8+base64.

Give it to whoever verifies this archive's bundles: exhibit verify --key VKEY.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := archive.ReadConfig(g.archive)
			if err != nil {
				return err
			}
			if _, err := cfg.Key(); err != nil {
				return err
			}
			// Publish nothing but the key the archive really signs with.
			if err := cfg.CheckKeyFile(g.archive); errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: note: %v; printing the configured key unconfirmed\n", err)
			} else if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), cfg.VKey)
			return nil
		},
	}
}
