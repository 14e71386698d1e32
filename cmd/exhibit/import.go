package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/schollz/progressbar/v3"
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
ignored; a key given twice in a line (or twice but for case, "url" and
"URL") is refused, as a bundle refuses it. url and fetched_at are recorded
as claims of the supplier.

Documents are imported concurrently (--concurrency). Re-running skips what is
already imported (same url, fetched_at and sha256). A malformed manifest is
refused whole, with every bad line named. A document that cannot be imported
(missing file, not a regular file, digest mismatch) is reported and stores
nothing; exhibit then exits with status 1. On an archive shared by several
frontends each document is imported under a lease (see "track run"); a
document whose lease is lost before it is logged (the database did not
answer for 10 s, or this process was paused past the lease's 20 s and
another frontend took it over) is not imported: it is reported as failed,
once, and counted in the summary, and exhibit exits with status 1; a
re-run imports it, or skips it if another frontend did. The manifest and the files it
names must be regular files: a named pipe or a device is refused unread.
SIGINT or SIGTERM stops the import promptly, even mid-file, keeping what
was acknowledged (exit status 130; a re-run finishes it); a second signal
kills it at once. When the database or bucket of an archive shared by
several frontends stops answering, each document in flight fails within
about 16 s and exhibit exits with status 1, its last line naming what does
not answer; what was acknowledged is kept, and a re-run once it answers
finishes the import.

Each document gets one line on stdout as it completes, in completion order:
the manifest line and the file it came from, then its record ID, log index
and the tree size of the checkpoint it was first published with, tab-separated:

  manifest.jsonl:12	docs/privacy.html	EXR-…	#41	published 64

(or "skipped 64", with the earlier record, for a document already archived).
Failures, then a summary, go to stderr. With --output json, the lines are
JSON objects: "line", "file", then the record (record_id, index, published,
sha256, ...); skipped documents have "skipped": true, failures "error" and
no record. A progress bar shows on stderr when it is a terminal and stdout
is not. The default archive (without --archive) is
created with defaults if missing; a missing archive at an --archive
directory is an error (run exhibit init there).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			entries, err := ingest.ReadManifest(args[0])
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
			var bar *progressbar.ProgressBar
			if f, ok := out.(*os.File); !ok || !isTerminal(f) {
				bar = newBar(len(entries), "importing")
			}
			var failures []string // OnResult is called serially
			sum, err := ingest.New(a).Import(ctx, entries, ingest.ImportOptions{
				Concurrency: concurrency,
				OnResult: func(res ingest.ImportResult) {
					e := res.Entry
					if bar != nil {
						bar.Add(1)
					}
					if errors.Is(res.Err, context.Canceled) {
						return // interrupted, not failed: a re-run imports it
					}
					if res.Err != nil {
						failures = append(failures, printable(fmt.Sprintf("%s:%d: %s: %v", args[0], e.Line(), e.File, res.Err)))
					}
					switch {
					case output == "json":
						line := importLine{Line: e.Line(), File: e.File, Record: res.Record, Skipped: res.Skipped}
						if res.Err != nil {
							line.URL, line.Error = e.URL, res.Err.Error()
						}
						enc.Encode(line)
					case res.Err == nil && res.Record != nil:
						status := "published"
						if res.Skipped {
							status = "skipped"
						}
						fmt.Fprintf(out, "%s:%d\t%s\t%s\t#%d\t%s %d\n", args[0], e.Line(), printable(e.File), res.Record.ID, res.Record.Index, status, res.Record.Published)
					}
				},
			})
			if bar != nil {
				bar.Finish()
			}
			// A database or bucket of a shared archive that stopped
			// answering mid-import (asked before closing the archive,
			// which may fail for it too) is named once, plainly.
			// Closing waits for the log to publish what was handed to it,
			// so a database that stops answering then fails the import
			// too, though every document is done: it is named the same.
			var ue, probed *archive.UnavailableError
			if a.Shared() && ctx.Err() == nil {
				probed = unavailable(ctx, a)
			}
			if err != nil || sum.Failed > 0 {
				ue = probed
			}
			if cerr := a.Close(context.Background()); cerr != nil {
				if err == nil {
					err = cerr
				}
				if ue == nil {
					ue = probed
				}
			}
			for _, f := range failures {
				fmt.Fprintln(cmd.ErrOrStderr(), "exhibit: failed:", f)
			}
			rate := 0.0
			if sum.Seconds > 0 {
				rate = float64(sum.Imported) / sum.Seconds
			}
			if sum.LeaseLost > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: %d documents not imported: their lease was lost (listed above as failed); re-run the import to import them\n", sum.LeaseLost)
			}
			interrupted := ""
			if n := sum.Total - sum.Imported - sum.Skipped - sum.Failed; n > 0 {
				interrupted = fmt.Sprintf(", not done %d (interrupted)", n)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "imported %d, skipped %d (already archived), failed %d%s, of %d documents in %.1fs (%.0f records/s)\n",
				sum.Imported, sum.Skipped, sum.Failed, interrupted, sum.Total, sum.Seconds, rate)
			if ue != nil {
				if err == nil {
					err = errors.New("documents failed")
				}
				return fmt.Errorf("%w; the import could not finish (%v); what was acknowledged (on stdout) is kept: run it again once the %s answers (it skips what is archived)", ue, err, ue.What)
			}
			if err != nil {
				return err
			}
			if sum.Failed > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text (one tab-separated line per document) or json (one object per document)")
	cmd.Flags().IntVar(&concurrency, "concurrency", ingest.DefaultImportConcurrency, "documents read, stored and signed at once (up to 4096 more wait for their checkpoint)")
	return cmd
}

// importLine is one line of exhibit import -o json: where in the manifest
// a document came from, and its record or why it has none.
type importLine struct {
	Line int    `json:"line"`
	File string `json:"file"`
	*record.Record
	Skipped bool   `json:"skipped,omitempty"`
	URL     string `json:"url,omitempty"`
	Error   string `json:"error,omitempty"`
}
