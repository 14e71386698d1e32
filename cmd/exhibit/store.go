package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/spf13/cobra"
)

func newStoreCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage the snapshot store",
		Long: `Manage where the archive keeps its snapshots and provenance objects.

exhibit store copy moves them to an S3-compatible bucket.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newStoreCopyCmd(g))
	return cmd
}

func newStoreCopyCmd(g *globals) *cobra.Command {
	var toURL, output string
	var sc archive.StoreConfig
	var createBucket bool
	var concurrency int
	cmd := &cobra.Command{
		Use:   "copy --to s3://BUCKET[/PREFIX] --s3-endpoint URL",
		Short: "Copy every stored object to an S3 bucket, verify, and switch the archive to it",
		Long: `Copy every object of the archive's store (snapshots, certificate chains,
headers) to an S3-compatible bucket, verify the copy, and make the bucket the
archive's store.

Each object is read from the current store, hash-checked, and uploaded with
its SHA-256 and size, so the server refuses bytes that do not hash to the
object's name. Then every object is read back from the bucket to its end and
re-hashed. Only if every object was copied and verified is exhibit.json
rewritten to name the bucket; from then on the archive reads and writes
snapshots there. An object that fails (a corrupt source object, an upload
error) is listed, the others are still copied, and the archive stays on its
current store.

The copy is resumable: after an interruption or a failure, run the same
command again. Objects already in the bucket are counted as already there and
not uploaded again (but still re-read and verified).

The source objects are left in place (for the default store, the objects/
folder of the archive): delete them yourself once satisfied, for example
after exhibit audit reports ok.

--to s3://BUCKET[/PREFIX] names the bucket, reached at --s3-endpoint (e.g.
https://s3.example.org or http://127.0.0.1:7070; --s3-path-style for servers
on an IP address). The credentials come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials, or an instance role) and are
never written to the archive. A missing bucket is an error, unless
--s3-create-bucket creates it. --retention DURATION (90d, 7y = 7×365 days, or
a Go duration) with --retention-mode compliance|governance locks every object
uploaded with S3 Object Lock for that long; --legal-hold sets a legal hold on
every object uploaded. Both need a bucket with Object Lock, and apply to
later captures too.

Holds the archive's write lock while it runs, so other exhibit processes
that would write it (capture, import) are refused meanwhile.

Exit status 1 if any object failed.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if toURL == "" {
				return usageError("exhibit store copy needs --to s3://BUCKET[/PREFIX]")
			}
			to, err := archive.ParseStoreURL(toURL)
			if err != nil {
				return err
			}
			if sc.Endpoint == "" {
				return usageError("--to s3://... needs --s3-endpoint")
			}
			if concurrency < 1 {
				return usageError("--concurrency %d: want a positive number", concurrency)
			}
			to.Endpoint, to.Region, to.PathStyle = sc.Endpoint, sc.Region, sc.PathStyle
			to.Retention, to.RetentionMode, to.LegalHold = sc.Retention, sc.RetentionMode, sc.LegalHold

			ctx, cancel := signalContext()
			defer cancel()
			a, err := archive.Open(ctx, g.archive, archive.OpenOptions{Lock: true, Logger: g.logger})
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			progress, finish := phasedProgress(func(p string) string {
				if p == "verify" {
					return "verifying the copy"
				}
				return "copying objects"
			})
			rep, err := a.CopyStore(ctx, to, archive.CopyOptions{
				Concurrency:  concurrency,
				CreateBucket: createBucket,
				Progress:     progress,
			})
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
				fmt.Fprintf(out, "from     %s\n", rep.From)
				fmt.Fprintf(out, "to       %s\n", rep.To)
				fmt.Fprintf(out, "objects  %d: %d copied (%d bytes), %d already there\n", rep.Objects, rep.Copied, rep.Bytes, rep.AlreadyThere)
				fmt.Fprintf(out, "verified %d re-read from the destination and re-hashed\n", rep.Verified)
				for _, p := range rep.Failures {
					fmt.Fprintf(out, "PROBLEM  %-9s %s: %s\n", p.Kind, p.Where, p.Detail)
				}
				if rep.Switched {
					fmt.Fprintf(out, "store copy: ok; the archive now uses %s\n", rep.To)
					fmt.Fprintf(out, "the source objects are left in place at %s: delete them once satisfied\n", rep.From)
				} else {
					fmt.Fprintf(out, "store copy: %d problems; the archive still uses %s (run again once fixed: copied objects are kept)\n", len(rep.Failures), rep.From)
				}
			}
			if !rep.Switched {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&toURL, "to", "", "destination store: s3://BUCKET[/PREFIX]")
	cmd.Flags().StringVar(&sc.Endpoint, "s3-endpoint", "", "S3 endpoint URL, e.g. https://s3.example.org")
	cmd.Flags().StringVar(&sc.Region, "s3-region", "", "S3 region (default us-east-1)")
	cmd.Flags().BoolVar(&sc.PathStyle, "s3-path-style", false, "path-style S3 addressing (servers on an IP address)")
	cmd.Flags().BoolVar(&createBucket, "s3-create-bucket", false, "create the bucket if it is missing (with Object Lock if retention or a legal hold is asked for)")
	cmd.Flags().StringVar(&sc.Retention, "retention", "", "S3 Object Lock retention of every object: 90d, 7y or a Go duration")
	cmd.Flags().StringVar(&sc.RetentionMode, "retention-mode", "", "S3 Object Lock mode: compliance or governance")
	cmd.Flags().BoolVar(&sc.LegalHold, "legal-hold", false, "set an S3 legal hold on every object")
	cmd.Flags().IntVar(&concurrency, "concurrency", 8, "objects copied at once")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
