package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/alert"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/spf13/cobra"
)

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "Tell subscribers of new versions, provision statuses and analyses (webhooks, e-mail digests)",
		Long: `Subscriptions to what a tracking archive records. On each new version of a
tracked document, provision status or analysis that a subscription selects
(by --document, --entity or --type, a provision type), exhibit alerts run
posts a webhook message signed as Standard Webhooks specifies (headers
webhook-id, webhook-timestamp and webhook-signature: "v1," and the base64
HMAC-SHA256 of "id.timestamp.body" under the subscription's secret), with
the record and its evidence bundle in the body, retried with exponential
back-off; and sends each e-mail subscription a daily or weekly digest over
SMTP, every record's bundle attached. exhibit verify checks every bundle
offline. Subscriptions, delivery state and the delivery log are kept in
the archive's alerts/ directory (docs/ALERTS.md).`,
		Args: exactArgs(0),
	}
	cmd.AddCommand(newAlertsAddCmd(g), newAlertsListCmd(g), newAlertsRemoveCmd(g), newAlertsRunCmd(g), newAlertsLogCmd(g))
	return cmd
}

func newAlertsAddCmd(g *globals) *cobra.Command {
	var s alert.Subscription
	var output string
	cmd := &cobra.Command{
		Use:   "add (--webhook URL [--secret whsec_…] | --email ADDRESS [--digest daily|weekly]) [--document ID] [--entity E] [--type TYPE]",
		Short: "Subscribe a webhook or an e-mail address",
		Long: `Subscribe a webhook (an http(s) URL; its Standard Webhooks secret is made and
printed unless --secret gives one) or an e-mail address (a daily digest unless
--digest weekly). --document, --entity and --type (a provision type: its
analyses, and the statuses of provisions analysed as it) narrow what is
sent; without them, everything. Records logged from now on are sent.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				tx, err := taxonomy.Load(a.Dir())
				if err != nil {
					return &exitError{code: 2, err: err}
				}
				next, err := a.Index().Count(ctx)
				if err != nil {
					return err
				}
				if err := alert.Open(a.Dir()).Add(&s, tx, next); err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if output == "json" {
					return writeJSON(w, s)
				}
				fmt.Fprintf(w, "subscription %s\n", s.ID)
				if s.Secret != "" {
					fmt.Fprintf(w, "  webhook %s\n  secret  %s  (verify webhook-signature with it)\n", s.Webhook, s.Secret)
				} else {
					fmt.Fprintf(w, "  %s digest to %s\n", s.Digest, s.Email)
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.Webhook, "webhook", "", "webhook URL")
	f.StringVar(&s.Secret, "secret", "", "the webhook's Standard Webhooks secret, whsec_… (default: a new one)")
	f.StringVar(&s.Email, "email", "", "e-mail address of a digest")
	f.StringVar(&s.Digest, "digest", "", "digest period: daily or weekly (default daily)")
	f.StringVar(&s.Document, "document", "", "only this tracked document")
	f.StringVar(&s.Entity, "entity", "", "only this entity's documents")
	f.StringVar(&s.Type, "type", "", "only this provision type")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newAlertsListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [-o json]",
		Short: "List the subscriptions",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			subs, err := alert.Open(g.archive).Subscriptions()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				if subs == nil {
					subs = []*alert.Subscription{}
				}
				return writeJSON(w, subs)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTO\tDOCUMENT\tENTITY\tTYPE")
			for _, s := range subs {
				to := s.Webhook
				if s.Email != "" {
					to = s.Email + " (" + s.Digest + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, printable(to), s.Document, printable(s.Entity), s.Type)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newAlertsRemoveCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a subscription",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := alert.Open(g.archive).Remove(args[0])
			if errors.Is(err, alert.ErrNoSubscription) {
				return &exitError{code: 2, err: err}
			}
			if err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			}
			return err
		},
	}
}

func newAlertsRunCmd(g *globals) *cobra.Command {
	var o alert.Options
	var output string
	cmd := &cobra.Command{
		Use:   "run [--smtp HOST:PORT --from ADDRESS] [--digest-now] [--attempts N] [--backoff DURATION]",
		Short: "Deliver what was recorded since the last run",
		Long: `Deliver what was recorded since the last run: every new version, provision
status and analysis to the webhooks whose subscription selects it, in log
order, each tried --attempts times with a wait of --backoff, doubled after
each failure (a message that fails every attempt is logged as failed); then
the e-mail digests that are due (--digest-now: all of them now), through
the SMTP server --smtp, from --from. Run it from cron or a timer, once at a
time.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if (o.SMTP == "") != (o.From == "") {
				return usageError("--smtp and --from go together")
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				o.Logger = g.logger
				if o.SMTP == "" {
					subs, err := alert.Open(a.Dir()).Subscriptions()
					if err != nil {
						return err
					}
					for _, s := range subs {
						if s.Email != "" {
							fmt.Fprintln(cmd.ErrOrStderr(), "exhibit: no --smtp: e-mail digests are not sent this run")
							break
						}
					}
				}
				rep, err := alert.New(a, o).Run(ctx)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if output == "json" {
					return writeJSON(w, rep)
				}
				fmt.Fprintf(w, "%d new records; %d webhook messages delivered, %d failed; %d digests sent\n", rep.Records, rep.Messages, rep.Failed, rep.Digests)
				if rep.Failed > 0 {
					return &exitError{code: 1}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.SMTP, "smtp", "", "SMTP server for digests, host:port")
	f.StringVar(&o.From, "from", "", "sender address of digests")
	f.BoolVar(&o.ForceDigest, "digest-now", false, "send every digest now, due or not")
	f.IntVar(&o.Attempts, "attempts", 5, "attempts per webhook message")
	f.DurationVar(&o.Backoff, "backoff", 5*time.Second, "wait before the second attempt (doubled after each)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func newAlertsLogCmd(g *globals) *cobra.Command {
	var output string
	var n int
	cmd := &cobra.Command{
		Use:   "log [-n N] [-o json]",
		Short: "Show the delivery log",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			ds, err := alert.Open(g.archive).Deliveries(n)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if output == "json" {
				if ds == nil {
					ds = []alert.Delivery{}
				}
				return writeJSON(w, ds)
			}
			for _, d := range ds {
				fmt.Fprintf(w, "%s  %s  %-9s attempt %d  %s  %v", d.At, d.Subscription, d.Outcome, d.Attempt, d.MessageID, d.Records)
				if d.Status != 0 {
					fmt.Fprintf(w, "  HTTP %d", d.Status)
				}
				// The error of a bad status is "HTTP 503", already shown.
				if d.Error != "" && d.Error != fmt.Sprintf("HTTP %d", d.Status) {
					fmt.Fprintf(w, "  %s", printable(d.Error))
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cmd.Flags().IntVarP(&n, "n", "n", 50, "the last N deliveries (0: all)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}
