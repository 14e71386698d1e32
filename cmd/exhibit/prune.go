package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive/prune"
	"github.com/spf13/cobra"
)

func newPruneCmd(g *globals) *cobra.Command {
	var (
		output string
		yes    bool
	)
	cmd := &cobra.Command{
		Use:   "prune [--yes] [--output text|json]",
		Short: "List the orphaned objects of the store, and remove them with --yes",
		Long: `List the orphaned objects of the archive's store: objects stored by a
capture or import that was stopped (killed, interrupted, failed) before its
statement was logged. No logged statement names them, in any field; they are
not evidence of anything, and exhibit audit reports them until they are gone.

Without --yes, prune is a dry run: it lists each orphan ("orphaned") and
removes nothing. With --yes it removes each one for good ("removed"), except
an object its store retains: in an S3 bucket with Object Lock, an object
under retention (governance or compliance mode, never bypassed) or a legal
hold is left as it is and listed "retained", with the date it is retained
until. An object any logged statement names is never removed.

prune opens the archive for writing: it holds the write lock, so no capture
can be under way (stop exhibit serve with tokens first), and publishes the
entries a stopped writer left in the log, so that every logged statement is
read. On an archive shared by several frontends (its log on S3 and MySQL)
no lock keeps the others out, so --yes is refused (exit 1): an object that
looks orphaned may be that of a record another frontend is about to
acknowledge. A dry run there lists what is orphaned at that moment. Output: one line per orphan (status, SHA-256, size), then a summary on
stderr; with --output json, one JSON object (dry_run, entries, objects,
orphans [{sha256, size, status, detail}], bytes, removed, retained, failed).

Exit status 1 if, with --yes, an orphan could not be removed (retained or
failed).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openWrite(ctx, cmd, false)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			rep, err := prune.Run(ctx, a, prune.Options{Remove: yes})
			if err != nil {
				return err
			}
			if err := a.Close(context.Background()); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				enc.Encode(rep)
			} else {
				for _, o := range rep.Orphans {
					fmt.Fprintf(out, "%-8s  %s  %d bytes", o.Status, o.SHA256, o.Size)
					if o.Detail != "" {
						fmt.Fprintf(out, "  (%s)", printable(o.Detail))
					}
					fmt.Fprintln(out)
				}
			}
			errw := cmd.ErrOrStderr()
			switch {
			case len(rep.Orphans) == 0:
				fmt.Fprintf(errw, "no orphaned objects among %d stored (%d log entries read)\n", rep.Objects, rep.Entries)
			case rep.DryRun && rep.Shared:
				fmt.Fprintf(errw, "%d orphaned objects (%d bytes) among %d stored (%d log entries read); dry run: nothing removed; the archive is shared by several frontends, so some may be writes in flight, and prune --yes is refused\n",
					len(rep.Orphans), rep.Bytes, rep.Objects, rep.Entries)
			case rep.DryRun:
				fmt.Fprintf(errw, "%d orphaned objects (%d bytes) among %d stored (%d log entries read); dry run: nothing removed, run exhibit prune --yes to remove them\n",
					len(rep.Orphans), rep.Bytes, rep.Objects, rep.Entries)
			default:
				fmt.Fprintf(errw, "removed %d of %d orphaned objects (%d bytes in all); %d retained by the store, %d failed\n",
					rep.Removed, len(rep.Orphans), rep.Bytes, rep.Retained, rep.Failed)
			}
			if !rep.DryRun && rep.Retained+rep.Failed > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.Flags().BoolVar(&yes, "yes", false, "remove the orphans (without it, only list them)")
	return cmd
}
