package main

import (
	"fmt"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/spf13/cobra"
)

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Rotate, retire and list the log's signing keys",
		Long: `Manage the keys that sign the archive's checkpoints and statements.

The current key signs everything. exhibit key rotate makes a new current key;
the old one keeps cosigning (a second signature line on every checkpoint, a
second DSSE signature on every statement) until exhibit key retire ends the
overlap. Every key the log ever had stays listed in exhibit.json, so that
the records it signed keep verifying (exhibit log-key --all).

No exhibit process may be writing the archive meanwhile (stop exhibit
serve): rotate and retire take the archive's lock.`,
	}
	cmd.AddCommand(newKeyRotateCmd(g), newKeyRetireCmd(g), newKeyListCmd(g))
	return cmd
}

func newKeyRotateCmd(g *globals) *cobra.Command {
	var keyRef, policyPath string
	var overlap bool
	cmd := &cobra.Command{
		Use:   "rotate [--key PEM|KMS-URI] [--overlap=false] [--witness-policy FILE]",
		Short: "Make a new key the log's current signing key",
		Long: `Make a new key the log's current key, under the same origin: from now on it
signs every checkpoint and statement (DSSE envelopes name it by key ID).

--key takes an Ed25519 or ECDSA P-256 private key (PEM file, unencrypted),
stored in the archive as key-<key ID>.pem (mode 0600), or a KMS key
reference served by sigstore/sigstore's KMS providers: awskms://...,
gcpkms://..., azurekms://..., hashivault://... This build compiles in no
cloud provider; a reference is served by a sigstore KMS plugin, an
executable sigstore-kms-<scheme> on PATH (see README, "Key rotation").
Default: a new Ed25519 key.

With --overlap (the default) the old key keeps cosigning, so that verifiers
who trust only the old key keep verifying new records while they learn the
new one; end the overlap with exhibit key retire OLD-VKEY. --overlap=false
stops the old key at once.

A public log needs an Ed25519 checkpoint signature (witnesses and most
checkpoint clients verify no other): a rotation that would leave no
Ed25519 key signing is refused. A KMS or ECDSA key without Ed25519 becomes
the current key only while an Ed25519 key overlaps, and signs its
checkpoints as an additional signature line.

With witnesses, the witness policy must list an Ed25519 key that signs:
during the overlap the old key does. Before the overlap ends, add a "log"
line with the new key to the policy (--witness-policy FILE replaces it) and
give the new key to every witness's operator (omniwitness reads it from its
logs configuration); witnesses that only know the old key stop cosigning
when it stops signing.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			var o archive.RotateOptions
			o.NoOverlap = !overlap
			if ledger.IsKMSRef(keyRef) {
				o.KMS = keyRef
			} else if keyRef != "" {
				var err error
				if o.KeyPEM, err = readSmall(keyRef); err != nil {
					return fmt.Errorf("reading --key: %w", err)
				}
			}
			if policyPath != "" {
				var err error
				if o.WitnessPolicy, err = readSmall(policyPath); err != nil {
					return fmt.Errorf("reading --witness-policy: %w", err)
				}
			}
			cfg, err := archive.Rotate(cmd.Context(), g.archive, o)
			if err != nil {
				return err
			}
			p := cfg.PreviousKeys[0]
			fmt.Fprintf(cmd.OutOrStdout(), "current key %s\n", cfg.VKey)
			if p.Overlap {
				fmt.Fprintf(cmd.OutOrStdout(), "old key     %s (cosigns until: exhibit key retire %s)\n", p.VKey, p.VKey)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "old key     %s (retired: verifies older records only)\n", p.VKey)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyRef, "key", "", "new key: Ed25519 or ECDSA P-256 private key (PEM file), or a KMS URI (awskms://, gcpkms://, hashivault://...)")
	cmd.Flags().BoolVar(&overlap, "overlap", true, "keep the old key cosigning until exhibit key retire")
	cmd.Flags().StringVar(&policyPath, "witness-policy", "", "replacement witness policy (C2SP tlog-policy) listing a signing key")
	return cmd
}

func newKeyRetireCmd(g *globals) *cobra.Command {
	var policyPath string
	cmd := &cobra.Command{
		Use:   "retire VKEY [--witness-policy FILE]",
		Short: "End the overlap of an earlier key: it stops signing",
		Long: `End the overlap of the earlier key VKEY: it no longer cosigns checkpoints and
statements. Its vkey stays listed (exhibit log-key --all) as the key of the
records it signed, and its key file stays in the archive: delete or destroy
it when you no longer need it (and remove key_file from its entry in
exhibit.json).

Refused when no Ed25519 key would sign checkpoints, or when the witness
policy would list none of the keys that sign (--witness-policy FILE
replaces the policy; witnesses must know the new key first).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var policy []byte
			if policyPath != "" {
				var err error
				if policy, err = readSmall(policyPath); err != nil {
					return fmt.Errorf("reading --witness-policy: %w", err)
				}
			}
			cfg, err := archive.Retire(cmd.Context(), g.archive, args[0], policy)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "retired     %s\ncurrent key %s\n", args[0], cfg.VKey)
			return nil
		},
	}
	cmd.Flags().StringVar(&policyPath, "witness-policy", "", "replacement witness policy (C2SP tlog-policy) listing a signing key")
	return cmd
}

func newKeyListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the log's keys: current, overlapping and retired",
		Long: `List every key of the log, one a line: its state (current, overlap: still
cosigning, retired), its vkey, where the archive holds it (a file, a KMS
reference, or "-" when no longer held), and when it was replaced and
retired (RFC 3339 UTC).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := archive.ReadConfig(g.archive)
			if err != nil {
				return err
			}
			if _, err := cfg.Keys(); err != nil {
				return err
			}
			where := func(file, kms string) string {
				switch {
				case kms != "":
					return kms
				case file != "":
					return file
				}
				return "-"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "current %s %s\n", cfg.VKey, where(cfg.KeyFile, cfg.KMS))
			for _, p := range cfg.PreviousKeys {
				state := "retired"
				if p.Overlap {
					state = "overlap"
				}
				fmt.Fprintf(out, "%-7s %s %s replaced %s", state, p.VKey, where(p.KeyFile, p.KMS), p.ReplacedAt)
				if p.RetiredAt != "" {
					fmt.Fprintf(out, " retired %s", p.RetiredAt)
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
}
