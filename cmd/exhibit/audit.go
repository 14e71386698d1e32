package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "audit [--output text|json]",
		Short: "Re-check the whole archive: tree, signatures, snapshots",
		Long: `Re-check the whole archive: verify the latest checkpoint's signature,
recompute the Merkle tree from every log entry and compare its root, check
every statement's signature, re-hash every stored object, and report
objects that are missing (referenced, not stored), corrupt (bytes do not hash
to their name) or orphaned (stored, referenced by nothing); an index record
missing or not holding its log entry; a bundle file missing or not
verifying; a signing key that is not the published one; and, when the
archive has witnesses or a TSA, stored time-stamp tokens that do not verify
or cover no checkpoint of their size, bundle files whose token is not the
stored one, bundles marked fail-open in a fail-closed archive, and
checkpoints without the witnesses' quorum. Every tracking statement is read
too. Holds the archive's write lock while it runs. exhibit reindex repairs
the index and bundles.

Exit status 1 if any problem is found.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := archive.Open(ctx, g.archive, archive.OpenOptions{Lock: true, Logger: g.logger})
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			progress, finish := phasedProgress(func(p string) string { return "checking " + p })
			rep, err := a.Audit(ctx, archive.AuditOptions{Progress: progress})
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
				fmt.Fprintf(out, "log      %d entries, checkpoint root %s\n", rep.LogSize, rep.Root)
				fmt.Fprintf(out, "tree     %d entries read, recomputed root %s\n", rep.Entries, rep.TreeRoot)
				fmt.Fprintf(out, "objects  %d re-hashed\n", rep.Objects)
				fmt.Fprintf(out, "index    %d records\n", rep.Indexed)
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
	return cmd
}

func newReindexCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "reindex",
		Short: "Rebuild the index from the log alone",
		Long: `Rebuild index.db from the log: read every entry up to the latest signed
checkpoint, check each statement's signature, and index it. The log is the
source of truth; the index is only a lookup aid.`,
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
