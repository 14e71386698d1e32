package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/spf13/cobra"
)

func newImportCmd(g *globals) *cobra.Command {
	var (
		output      string
		concurrency int
	)
	cmd := &cobra.Command{
		Use:   "import MANIFEST.jsonl",
		Short: "Bulk-import files listed in a JSON Lines manifest",
		Long: `Import every document listed in a manifest: one JSON object per line with
entity, document, url, fetched_at (RFC 3339), file (relative to the manifest)
and optionally sha256 (checked before the file is stored). Other fields are
ignored. url and fetched_at are recorded as claims of the supplier.

Documents are imported concurrently (--concurrency). Re-running skips what is
already imported (same url, fetched_at and sha256). A malformed manifest is
refused whole, with every bad line named. A document that cannot be imported
(missing file, digest mismatch) is reported and stores nothing; exhibit then
exits with status 1.

A progress bar shows on a terminal. With --output json, one JSON object per
document is streamed to stdout as it completes (record_id, sha256, index,
bundle, ...; skipped documents have "skipped": true, failures "error").
A summary goes to stderr. A missing archive is created with defaults.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			entries, err := archive.ReadManifest(args[0])
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openWrite(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			bar := newBar(len(entries), "importing")
			var mu sync.Mutex
			var failures []string
			sum, err := a.Import(ctx, entries, archive.ImportOptions{
				Concurrency: concurrency,
				OnRecord: func(e *archive.ManifestEntry, r *archive.Record, err error) {
					if bar != nil {
						bar.Add(1)
					}
					if errors.Is(err, context.Canceled) {
						return // interrupted, not failed: a re-run imports it
					}
					if err != nil {
						mu.Lock()
						failures = append(failures, printable(fmt.Sprintf("%s:%d: %s: %v", args[0], e.Line(), e.File, err)))
						mu.Unlock()
						if output == "json" {
							enc.Encode(map[string]any{"file": e.File, "line": e.Line(), "url": e.URL, "error": err.Error()})
						}
						return
					}
					if output == "json" {
						enc.Encode(r)
					}
				},
			})
			if bar != nil {
				bar.Finish()
			}
			if cerr := a.Close(context.Background()); err == nil {
				err = cerr
			}
			for _, f := range failures {
				fmt.Fprintln(cmd.ErrOrStderr(), "exhibit: failed:", f)
			}
			rate := 0.0
			if sum.Seconds > 0 {
				rate = float64(sum.Imported) / sum.Seconds
			}
			interrupted := ""
			if n := sum.Total - sum.Imported - sum.Skipped - sum.Failed; n > 0 {
				interrupted = fmt.Sprintf(", not done %d (interrupted)", n)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "imported %d, skipped %d (already archived), failed %d%s, of %d documents in %.1fs (%.0f records/s)\n",
				sum.Imported, sum.Skipped, sum.Failed, interrupted, sum.Total, sum.Seconds, rate)
			if err != nil {
				return err
			}
			if sum.Failed > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (summary only) or json (one object per record)")
	cmd.Flags().IntVar(&concurrency, "concurrency", archive.DefaultImportConcurrency, "documents read, stored and signed at once (up to 4096 more wait for their checkpoint)")
	return cmd
}
