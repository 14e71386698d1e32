package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	var (
		output    string
		noCatchUp bool
	)
	cmd := &cobra.Command{
		Use:   "audit [--output text|json]",
		Short: "Re-check the whole archive: checkpoints, tree, signatures, snapshots",
		Long: `Re-check the whole archive against itself:

  - every kept checkpoint (checkpoints/): its signature under one of the
    log's keys; with witnesses, its cosignatures against the witness policy
    (the quorum, unless the archive publishes fail-open); with a TSA, its
    RFC 3161 token over its body against the TSA's roots (checkpoints whose
    token is still pending are counted, not reported); and that the log's
    published checkpoint is kept;
  - the tree: recomputed from every log entry, its root at each kept
    checkpoint's size must be that checkpoint's root, and an RFC 6962
    consistency proof from the log's tiles must verify between every two
    consecutive kept checkpoints;
  - every statement's signature, and its record in the index;
  - every stored object, re-hashed: missing (referenced, not stored),
    corrupt (bytes do not hash to their name) or orphaned (stored,
    referenced by nothing);
  - the signing key files against the published verifier keys;
  - in an archive upgraded from format 1, every bundle file it still holds:
    it verifies, for its entry, and its checkpoint is kept.

Holds the archive's write lock while it runs (a shared archive has none:
see below). It first catches up with the log as a writer does when it
opens after a crash: a writer stopped (killed, power lost) after its
entries reached the log but before they were acknowledged leaves the log's checkpoint not yet kept, or entries and kept
checkpoints not yet indexed; audit keeps that checkpoint (once it verifies
and is consistent with the latest kept one) and indexes them, and says so.
It signs nothing, contacts no one and needs no key; it writes only
checkpoints/ (the checkpoint the log already published) and index.db (a
cache). --no-catch-up audits the archive exactly as it is, writing nothing
(as does an audit of a copy without a lock file). exhibit reindex rebuilds
the index.

Orphaned objects (stored by a capture or import that was stopped before
its statement was logged) are listed as problems; exhibit prune removes
them.

A shared archive (its log on S3 and MySQL, written by several frontends at
once) has no lock: audit checks it live, up to a cut, the latest kept
checkpoint when it starts, and everything that checkpoint covers (its
entries, their objects, their index records, the kept checkpoints up to
it). What the other frontends add meanwhile (checkpoints kept, records
indexed, objects stored after the cut) is not judged; the log's published
checkpoint must be the cut or consistent with it (smaller is a rollback).
It does not catch up (the frontends do). Stored objects no entry up to the
cut names (writes in flight, or refused after their object was stored, as
during a database outage) are no problem there: a note line counts them
(the JSON output lists them under "orphaned"); they take space only.

Exit status 1 if any problem is found.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := archive.Open(ctx, g.archive, archive.OpenOptions{Lock: true, CatchUp: !noCatchUp, IndexOptional: true, Logger: g.logger})
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			progress, finish := phasedProgress(func(p string) string { return "checking " + p })
			rep, err := audit.Run(ctx, a, audit.Options{Progress: progress, CatchUp: !noCatchUp && a.CanCatchUp()})
			finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(rep)
			} else {
				if c := rep.CaughtUp; c != nil {
					fmt.Fprintf(out, "caught up with the log a stopped writer left: ")
					if c.Kept > 0 {
						fmt.Fprintf(out, "kept its checkpoint of tree size %d; ", c.Kept)
					}
					fmt.Fprintf(out, "indexed %d entries from %d\n", c.Indexed, c.From)
				}
				fmt.Fprintf(out, "log      %d entries, checkpoint root %s\n", rep.LogSize, rep.Root)
				fmt.Fprintf(out, "kept     %d checkpoints, consecutive ones consistent", rep.Checkpoints)
				if rep.Timestamped > 0 || rep.Pending > 0 {
					fmt.Fprintf(out, "; %d time-stamped, %d pending", rep.Timestamped, rep.Pending)
				}
				fmt.Fprintln(out)
				fmt.Fprintf(out, "tree     %d entries read, recomputed root %s\n", rep.Entries, rep.TreeRoot)
				fmt.Fprintf(out, "objects  %d re-hashed\n", rep.Objects)
				fmt.Fprintf(out, "index    %d records\n", rep.Indexed)
				if rep.Bundles > 0 {
					fmt.Fprintf(out, "bundles  %d format-1 bundle files verified\n", rep.Bundles)
				}
				if rep.Orphans > 0 {
					fmt.Fprintf(out, "note     %d stored objects named by no log entry up to the cut (writes refused or in flight on a shared archive; they take space only)\n", rep.Orphans)
				}
				for _, p := range rep.Problems {
					fmt.Fprintf(out, "PROBLEM  %-9s %s: %s\n", p.Kind, p.Where, p.Detail)
				}
				if rep.OK {
					fmt.Fprintln(out, "audit: ok")
				} else {
					fmt.Fprintf(out, "audit: %d problems\n", len(rep.Problems))
				}
			}
			if !rep.OK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&noCatchUp, "no-catch-up", false, "audit the archive as it is, writing nothing (do not first keep the log's checkpoint and index what the log holds)")
	return cmd
}

func newReindexCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the index from the log and the kept checkpoints alone",
		Long: `Rebuild index.db from the log and checkpoints/: read every entry up to the
latest kept checkpoint, check each statement's signature, and index it, with
every kept checkpoint. The log and the kept checkpoints are the source of
truth; the index is only a lookup aid, and may be deleted: the next command
that writes rebuilds it too. An archive of format 1 is upgraded first.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openWrite(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			var bar *progressbar.ProgressBar
			n, err := a.Reindex(ctx, func(done, total uint64) {
				if bar == nil {
					bar = newBar(int(total), "reindexing")
				}
				if bar != nil {
					bar.Set(int(done))
				}
			})
			if bar != nil {
				bar.Finish()
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "reindexed %d records from the log\n", n)
			return a.Close(context.Background())
		},
	}
}

func newUpgradeCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "upgrade",
		Short: "Upgrade an archive written by an earlier exhibit",
		Long: `Upgrade an archive of format 1 (which kept only the latest checkpoint, and one
bundle file per record) to the current format: keep, in checkpoints/, the
log's checkpoint and every checkpoint its bundle files and pending
time-stamps hold whose signature verifies under one of the log's keys and
that is consistent with the log, with the RFC 3161 tokens that verify over
them; then rebuild the index. The bundle files are left as they are, and
still verify. Any command that opens the archive for writing does the same;
commands that only read refuse an archive of format 1 until it is upgraded.
An archive of the current format is left as it is.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			cfg, err := archive.ReadConfig(g.archive)
			if err != nil {
				return err
			}
			from := cfg.FormatVersion
			a, err := g.openWrite(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			cps, err := a.Checkpoints(ctx)
			if err != nil {
				return err
			}
			if from == archive.FormatVersion {
				fmt.Fprintf(cmd.OutOrStdout(), "%s is of format %d already: nothing to do\n", g.archive, from)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "upgraded %s from format %d to %d: %d checkpoints kept\n", g.archive, from, archive.FormatVersion, len(cps))
			}
			return a.Close(context.Background())
		},
	}
}
