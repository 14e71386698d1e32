package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newTrackCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "track",
		Short: "Track documents over time: declare them, list them, capture those due",
		Long: `Track documents over time. A tracked document is declared by its URL and the
part of the page that is the document (CSS selectors to keep and to drop, as
Open Terms Archive's declarations). Each capture is a snapshot record; exhibit
then extracts the document's text (HTML to Markdown, PDF to text) and logs a
new version only when the text changed, or else a record that confirms the
current version. Declarations, versions and confirmations are signed
statements in the log, provable like captures.`,
		Args: exactArgs(0),
	}
	cmd.AddCommand(newTrackAddCmd(g), newTrackEditCmd(g), newTrackListCmd(g), newTrackRunCmd(g))
	return cmd
}

func newTrackAddCmd(g *globals) *cobra.Command {
	var d track.Declaration
	var output string
	cmd := &cobra.Command{
		Use:   "add URL --entity E --document D [--select CSS]... [--remove CSS]... [--select-range JSON]... [--remove-range JSON]... [--render [--render-wait-for CSS] [--render-delay DURATION]] [--every DURATION] [--id ID]",
		Short: "Declare a document to track",
		Long: `Declare a document to track, logging revision 1 of its declaration.

--select picks the parts of the page that are the document (repeatable;
default the whole body); --remove drops parts of those (repeatable). CSS
selectors are Selectors Level 4 as cascadia reads them, with :has(> ...).
--select-range and --remove-range take Open Terms Archive range selectors,
the part of the page from one point to another, as JSON:
'{"startBefore":"#data","endBefore":"#contact"}' (startBefore or startAfter,
endBefore or endAfter; each the first element a CSS selector matches). --every
is the capture interval (default 24h, at least 1m). --id is the document's ID
(lowercase letters, digits, hyphens), by default derived from the entity and
title, e.g. "github-privacy-policy". --render captures the document in
headless Chromium (as capture --browser) and takes its text from the DOM
after scripts; --render-wait-for (a CSS selector the page must match) and
--render-delay (the least wait after its load event, whole milliseconds up
to 1m) are the wait options of each of its renderings, recorded in the
declaration. The document is first captured by the next "exhibit track
run".`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			d.URL = args[0]
			if err := checkRenderWaitFlags(cmd, d.Render, d.RenderWaitFor, d.RenderDelay); err != nil {
				return err
			}
			if d.Every < track.MinEvery {
				return usageError("--every %s: at least %s", d.Every, track.MinEvery)
			}
			return g.withWrite(cmd, true, func(ctx context.Context, a *archive.Archive) error {
				t := track.New(a)
				r, err := t.Declare(ctx, d)
				if err != nil {
					if errors.Is(err, track.ErrTracked) {
						return &exitError{code: 2, err: err}
					}
					return err
				}
				w := cmd.OutOrStdout()
				if err := printTrackRecord(w, output, r, fmt.Sprintf("tracking %s (declaration revision 1)", r.DocumentID)); err != nil || output == "json" {
					return err
				}
				if doc, err := t.Document(ctx, r.DocumentID); err == nil {
					if earlier, err := t.UnreadSnapshot(ctx, doc); err == nil && earlier != nil {
						fmt.Fprintf(w, "the next track run starts from an earlier capture of this URL as %s, %s: record %s, captured %s\n",
							printable(earlier.Entity), printable(earlier.Document), earlier.ID, earlier.CapturedAt)
					}
				}
				return nil
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&d.Entity, "entity", "", "organisation the document belongs to, e.g. GitHub (required)")
	f.StringVar(&d.Document, "document", "", "document title, e.g. \"Privacy Policy\" (required)")
	f.StringVar(&d.ID, "id", "", "document ID (default: from entity and title)")
	f.StringArrayVar(&d.Select, "select", nil, "CSS selector of the document's part of the page (repeatable)")
	f.StringArrayVar(&d.Remove, "remove", nil, "CSS selector of a part to drop (repeatable)")
	f.Var(&rangesFlag{&d.SelectRanges}, "select-range", `range of the page that is the document, as Open Terms Archive writes it: '{"startBefore":"#a","endBefore":"#b"}' (repeatable)`)
	f.Var(&rangesFlag{&d.RemoveRanges}, "remove-range", "range of the page to drop, as --select-range (repeatable)")
	f.BoolVar(&d.Render, "render", false, "capture in headless Chromium (capture --browser) and take the text from the DOM after scripts: for pages built by JavaScript")
	f.StringVar(&d.RenderWaitFor, "render-wait-for", "", "with --render: CSS selector the page must match before each rendering is taken")
	f.DurationVar(&d.RenderDelay, "render-delay", 0, "with --render: least wait after the page's load event in each rendering (default none)")
	f.DurationVar(&d.Every, "every", track.DefaultEvery, "capture interval")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	cmd.MarkFlagRequired("entity")
	cmd.MarkFlagRequired("document")
	return cmd
}

func newTrackEditCmd(g *globals) *cobra.Command {
	var (
		output, url    string
		sel, rem       []string
		selR, remR     []verify.Range
		every          time.Duration
		clearSel, clrR bool
		waitFor        string
		renderDelay    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "edit DOCUMENT [--url URL] [--select CSS]... [--remove CSS]... [--select-range JSON]... [--remove-range JSON]... [--every DURATION] [--render-wait-for CSS] [--render-delay DURATION]",
		Short: "Record a new revision of a document's declaration",
		Long: `Record a new revision of a tracked document's declaration. Only the flags
given change: --select, --remove, --select-range or --remove-range replace
the whole list (--no-select empties the selectors and ranges that select,
--no-remove those that remove). --render-wait-for and --render-delay set a
rendered document's wait options ("" and 0 remove them). Versions name the declaration revision that made
them; after changing selectors, "exhibit reextract DOCUMENT" records the
new text as a technical upgrade.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if clearSel && (cmd.Flags().Changed("select") || cmd.Flags().Changed("select-range")) || clrR && (cmd.Flags().Changed("remove") || cmd.Flags().Changed("remove-range")) {
				return usageError("--no-select goes without --select or --select-range, --no-remove without --remove or --remove-range")
			}
			if cmd.Flags().Changed("every") && every < track.MinEvery {
				return usageError("--every %s: at least %s", every, track.MinEvery)
			}
			var e track.DeclarationEdit
			if cmd.Flags().Changed("url") {
				e.URL = &url
			}
			if cmd.Flags().Changed("select") || clearSel {
				e.Select = &sel
			}
			if cmd.Flags().Changed("remove") || clrR {
				e.Remove = &rem
			}
			if cmd.Flags().Changed("select-range") || clearSel {
				e.SelectRanges = &selR
			}
			if cmd.Flags().Changed("remove-range") || clrR {
				e.RemoveRanges = &remR
			}
			if cmd.Flags().Changed("every") {
				e.Every = &every
			}
			if cmd.Flags().Changed("render-wait-for") {
				e.RenderWaitFor = &waitFor
			}
			if cmd.Flags().Changed("render-delay") {
				if renderDelay < 0 {
					return usageError("--render-delay %s: must not be negative", renderDelay)
				}
				e.RenderDelay = &renderDelay
			}
			return g.withWrite(cmd, false, func(ctx context.Context, a *archive.Archive) error {
				r, err := track.New(a).EditDeclaration(ctx, args[0], e)
				if err != nil {
					if errors.Is(err, track.ErrNoDocument) {
						return &exitError{code: 2, err: err}
					}
					return err
				}
				return printTrackRecord(cmd.OutOrStdout(), output, r, fmt.Sprintf("declaration revision %d of %s", r.Statement.Declaration.Predicate.Revision, r.DocumentID))
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "new URL")
	f.StringArrayVar(&sel, "select", nil, "CSS selector of the document's part (repeatable; replaces the list)")
	f.StringArrayVar(&rem, "remove", nil, "CSS selector of a part to drop (repeatable; replaces the list)")
	f.Var(&rangesFlag{&selR}, "select-range", "range of the page that is the document, as in track add (repeatable; replaces the list)")
	f.Var(&rangesFlag{&remR}, "remove-range", "range of the page to drop (repeatable; replaces the list)")
	f.BoolVar(&clearSel, "no-select", false, "select the whole body")
	f.BoolVar(&clrR, "no-remove", false, "drop nothing")
	f.DurationVar(&every, "every", 0, "capture interval")
	f.StringVar(&waitFor, "render-wait-for", "", "CSS selector a rendered document's page must match before it is taken (\"\": none)")
	f.DurationVar(&renderDelay, "render-delay", 0, "least wait after a rendered document's load event (0: none)")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// checkRenderWaitFlags refuses --render-wait-for and --render-delay
// without render, a blank selector and a negative delay.
func checkRenderWaitFlags(cmd *cobra.Command, render bool, waitFor string, delay time.Duration) error {
	f := cmd.Flags()
	if !render && (f.Changed("render-wait-for") || f.Changed("render-delay")) {
		return usageError("--render-wait-for and --render-delay go with --render")
	}
	if f.Changed("render-wait-for") && strings.TrimSpace(waitFor) == "" {
		return usageError("--render-wait-for: the selector is empty")
	}
	if delay < 0 {
		return usageError("--render-delay %s: must not be negative", delay)
	}
	return nil
}

// rangesFlag reads Open Terms Archive range selectors, one JSON object per
// flag.
type rangesFlag struct{ dst *[]verify.Range }

func (f *rangesFlag) String() string {
	if f.dst == nil || len(*f.dst) == 0 {
		return ""
	}
	b, _ := json.Marshal(*f.dst)
	return string(b)
}

func (f *rangesFlag) Type() string { return "JSON" }

func (f *rangesFlag) Set(v string) error {
	dec := json.NewDecoder(strings.NewReader(v))
	dec.DisallowUnknownFields()
	var r verify.Range
	if err := dec.Decode(&r); err != nil {
		return fmt.Errorf(`%q: want a JSON object such as {"startBefore":"#a","endBefore":"#b"}: %v`, v, err)
	}
	if dec.More() {
		return fmt.Errorf("%q: one range per flag", v)
	}
	if (r.StartBefore == "") == (r.StartAfter == "") || (r.EndBefore == "") == (r.EndAfter == "") {
		return fmt.Errorf("%q: want one of startBefore and startAfter, and one of endBefore and endAfter", v)
	}
	*f.dst = append(*f.dst, r)
	return nil
}

func printTrackRecord(w io.Writer, output string, r *record.Record, what string) error {
	if output == "json" {
		return writeJSON(w, r)
	}
	fmt.Fprintf(w, "%s\nrecord:  %s (log index %d, published with checkpoint %d)\n", printable(what), r.ID, r.Index, r.Published)
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTrackListCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list [--output text|json]",
		Short: "List tracked documents",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				docs, err := track.New(a).Documents(ctx)
				if err != nil {
					return err
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), docs)
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tVERSIONS\tLAST VERIFIED\tNEXT DUE\tURL")
				now := time.Now()
				for _, d := range docs {
					due := "now"
					if !d.Due(now) {
						t, _ := time.Parse(time.RFC3339, d.LastCapture)
						due = t.Add(time.Duration(d.EverySeconds) * time.Second).UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", d.ID, len(d.Versions), orDash(d.LastVerified), due, printable(d.URL))
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newTrackRunCmd(g *globals) *cobra.Command {
	var (
		o        track.RunOptions
		once     bool
		output   string
		interval time.Duration
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run [--once] [--all] [DOCUMENT...]",
		Short: "Capture the tracked documents that are due, and record their versions",
		Long: `Capture every tracked document that is due (never captured, or last captured
at least its interval ago; --all: every one, due or not; DOCUMENT...: only
those), at most --concurrency at once and --host-delay apart per host,
retrying transient failures (timeout, connection, DNS, HTTP 429 and 5xx)
--retries times. For each snapshot, exhibit extracts the text and logs a new
version, a confirmation of the current one, or why no text could be
extracted.

Without --once, run keeps going: a round every --interval until interrupted,
holding the archive's write lock only during a round (an archive shared by
several frontends, which has no lock, stays open). Several frontends of a
shared archive may run it at once: each due document is captured by one of
them (the holder of its lease in the database; one that dies frees its
leases within 20 s). A round that left documents to another frontend is
followed by the next within 21 s whatever --interval says, so that a
document whose frontend died is captured soon after its lease expires.
When the database or bucket of a shared archive stops
answering, a looping run does not exit: it says so on stderr and tries
again 2 s later, then each time twice as late, up to a minute, until it
answers, then says that tracking resumed; with --once it exits 1 naming
what does not answer (what was acknowledged is kept: run it again).
Exit status: 0 when every document was captured and its text extracted; 1
when a capture failed, no text could be extracted (e.g. the selectors
matched nothing), or the archive could not process a document; 2 for an
unknown DOCUMENT.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			switch {
			case o.Concurrency < 1:
				return usageError("--concurrency %d: at least 1", o.Concurrency)
			case timeout <= 0:
				return usageError("--timeout %s: must be positive", timeout)
			case o.HostDelay < 0:
				return usageError("--host-delay %s: must not be negative", o.HostDelay)
			case o.Retries < 0:
				return usageError("--retries %d: must not be negative", o.Retries)
			case !once && interval < time.Second:
				return usageError("--interval %s: at least 1s", interval)
			}
			if o.Retries == 0 {
				o.Retries = -1 // RunOptions: negative is none
			}
			if o.HostDelay == 0 {
				o.HostDelay = -1
			}
			o.Only = args
			o.Fetch = capture.Options{Timeout: timeout}
			out := cmd.OutOrStdout()
			if output == "text" {
				o.Progress = func(r *track.TrackResult) { printTrackResult(out, r) }
			}
			ctx, cancel := signalContext()
			defer cancel()
			failed := false
			var a *archive.Archive
			defer func() {
				if a != nil {
					a.Close(context.Background())
				}
			}()
			var downSince time.Time // since when a round waits for an outage
			var downWhat string     // of what: "database", "bucket", ...
			backoff := dbBackoffMin
			for {
				// The archive is opened for each round, so that other
				// writers (quote, track add) can run between rounds. A
				// shared archive has no file lock and stays open: each
				// opening of its log costs database connections that
				// Tessera's AWS driver never gives back (see
				// ledger.OpenAWSWriter).
				start := time.Now()
				if a == nil {
					var err error
					if a, err = g.openWrite(ctx, cmd, false); err != nil {
						return err
					}
				}
				rep, err := track.New(a).Run(ctx, o)
				shared := a.Shared()
				// A database or the bucket of a shared archive that does
				// not answer (asked before closing it, which may fail
				// for it too): --once fails saying so; a looping run
				// keeps the archive open (reopening it would fail) and
				// waits it out, as serve --track does.
				var ue *archive.UnavailableError
				if shared && ctx.Err() == nil && (err != nil || once) {
					ue = unavailable(ctx, a)
					// A round failed for a database that has just come
					// back (as a hung one does, all at once): its error
					// says so, though Health no longer does.
					if ue == nil && err != nil {
						errors.As(err, &ue)
					}
				}
				if err != nil && ue != nil && !once {
					if downSince.IsZero() {
						downSince, downWhat = time.Now(), ue.What
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: tracking round not finished: %v; nothing acknowledged is lost; waiting for the %s (unavailable for %s), next round in %s\n",
						printable(ue.Error()), ue.What, time.Since(downSince).Round(time.Second), backoff)
					select {
					case <-time.After(backoff):
					case <-ctx.Done():
						return ctx.Err()
					}
					backoff = min(2*backoff, dbBackoffMax)
					continue
				}
				if err == nil && !downSince.IsZero() {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: the %s answers again after %s: tracking resumed\n", downWhat, time.Since(downSince).Round(time.Second))
					downSince, backoff = time.Time{}, dbBackoffMin
				}
				if !shared || err != nil || once {
					if cerr := a.Close(context.Background()); err == nil {
						err = cerr
					}
					a = nil
				}
				if rep != nil {
					if output == "json" {
						if err := writeJSON(out, rep); err != nil {
							return err
						}
					} else {
						fmt.Fprintf(out, "%d tracked, %d captured in %s\n", rep.Tracked, rep.Due, time.Since(start).Round(time.Millisecond))
					}
					for _, e := range rep.Errors {
						fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: %s: %s\n", e.Document, printable(e.Error))
						failed = true
					}
					for _, r := range append(rep.Earlier, rep.Results...) {
						failed = failed || r.Result == "capture_failed" || r.Result == "failed"
					}
				}
				if err != nil {
					if ue != nil {
						return fmt.Errorf("%w; the tracking round could not finish (%v); what was acknowledged is kept: run it again once the %s answers", ue, err, ue.What)
					}
					return docError(err)
				}
				if once {
					break
				}
				select {
				case <-time.After(rep.NextRound(interval)):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if failed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVar(&once, "once", false, "run one round, then exit")
	f.BoolVar(&o.All, "all", false, "capture every tracked document, due or not")
	f.IntVar(&o.Concurrency, "concurrency", 4, "documents captured at once")
	f.DurationVar(&o.HostDelay, "host-delay", time.Second, "least time between two requests to the same host")
	f.IntVar(&o.Retries, "retries", 2, "retries of a transient failure")
	f.DurationVar(&interval, "interval", time.Minute, "without --once: time between rounds")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "time limit of each fetch")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// The back-off of a looping track run while a shared archive's database
// does not answer: the first retry after dbBackoffMin, each next one
// twice as late, at most dbBackoffMax.
const (
	dbBackoffMin = 2 * time.Second
	dbBackoffMax = time.Minute
)

// unavailable returns why a shared archive's databases or bucket do not
// answer (archive.Health, probed for at most 5 s), or nil when they do.
func unavailable(ctx context.Context, a *archive.Archive) *archive.UnavailableError {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var ue *archive.UnavailableError
	if errors.As(a.Health(ctx), &ue) {
		return ue
	}
	return nil
}

func printTrackResult(w io.Writer, r *track.TrackResult) {
	var what string
	switch r.Result {
	case "first", "change", "upgrade", "links":
		v := r.Version.Statement.Version.Predicate
		what = fmt.Sprintf("version %d (%s) %s", v.Number, r.Result, r.Version.ID)
		if n := len(r.Statuses); n > 0 {
			what += ", " + plural(n, "provision", "provisions") + " re-checked"
		}
	case "confirmed":
		what = "unchanged, confirms version " + r.Extraction.Statement.Extraction.Predicate.Version
	default:
		what = r.Result + ": " + r.Reason
	}
	retry := ""
	if r.Attempts > 1 {
		retry = fmt.Sprintf(" (after %d attempts)", r.Attempts)
	}
	earlier := ""
	if r.Attempts == 0 {
		earlier = " (an earlier capture, " + r.Capture.CapturedAt + ")"
	}
	fmt.Fprintf(w, "%-40s snapshot %s%s%s: %s\n", r.Document, r.Capture.ID, retry, earlier, printable(what))
}

func newReextractCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "reextract DOCUMENT",
		Short: "Extract a document's stored snapshots again after a declaration or extractor change",
		Long: `Extract the text of every stored snapshot of a tracked document again, with the
current declaration and extractor, and report which snapshots now give a
different text than was recorded for them. History is not rewritten: when
the newest snapshot's text differs from the current version's, one version
is recorded: of kind "upgrade" (a technical upgrade, not a change of the
document) when a snapshot behind the current version now gives that text
too, else "links" (only link targets differ) or "change" (a snapshot that
could not be read before, of a redesigned page, may hold new words); the
document's provisions are re-checked against it.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withWrite(cmd, false, func(ctx context.Context, a *archive.Archive) error {
				rep, err := track.New(a).Reextract(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), rep)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s extracted again; %d give a different text than recorded\n", plural(rep.Snapshots, "snapshot", "snapshots"), len(rep.Differ))
				for _, id := range rep.Differ {
					fmt.Fprintf(w, "  differs: %s\n", id)
				}
				if rep.Upgrade != nil {
					fmt.Fprintf(w, "recorded version %d (%s) %s, %s re-checked\n", rep.Upgrade.Statement.Version.Predicate.Number, rep.Upgrade.Statement.Version.Predicate.Kind, rep.Upgrade.ID, plural(len(rep.Statuses), "provision", "provisions"))
				} else {
					fmt.Fprintln(w, "the current version's text is unchanged: nothing recorded")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// docError gives an unknown document or record, or a malformed record ID,
// the usage exit status.
func docError(err error) error {
	if errors.Is(err, track.ErrNoDocument) || errors.Is(err, archive.ErrNotFound) || errors.Is(err, verify.ErrRecordID) {
		return &exitError{code: 2, err: err}
	}
	return err
}

func newHistoryCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "history DOCUMENT [--output text|json]",
		Short: "Show a tracked document's versions, with the snapshots behind each",
		Long: `Show a tracked document's history: when it was first tracked and last
verified, its versions (number, kind, the capture time of the snapshot that
showed it, record ID), the later snapshots that confirmed each, snapshots
whose text could not be extracted, and its provisions.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			return g.withRead(func(ctx context.Context, a *archive.Archive) error {
				d, err := track.New(a).Document(ctx, args[0])
				if err != nil {
					return docError(err)
				}
				if output == "json" {
					return writeJSON(cmd.OutOrStdout(), d)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "%s %s (%s)\n%s\n", printable(d.Entity), printable(d.Document), d.ID, printable(d.URL))
				fmt.Fprintf(w, "first tracked: %s\nlast verified: %s\n", d.FirstTracked, orDash(d.LastVerified))
				if d.LastCapture != "" {
					fmt.Fprintf(w, "last capture:  %s, %s (%s)\n", d.LastCapture, d.LastCaptureOutcome, d.LastCaptureRecord)
				}
				fmt.Fprintf(w, "declaration:   revision %d, %s\n", d.Revision, d.Declaration)
				fmt.Fprintf(w, "\n%s, %s\n", plural(len(d.Versions), "version", "versions"), plural(d.Changes, "change", "changes"))
				for _, v := range d.Versions {
					fmt.Fprintf(w, "  v%-3d %-7s %s  %s  (%d bytes of text, snapshot %s)\n", v.Number, v.Kind, v.Snapshot.CapturedAt, v.RecordID, v.Text.Size, v.Snapshot.RecordID)
					if n := decodingNote(v.Decoding); n != "" {
						fmt.Fprintf(w, "         %s\n", n)
					}
					for _, c := range v.Confirmations {
						fmt.Fprintf(w, "         confirmed %s  snapshot %s\n", c.Snapshot.CapturedAt, c.Snapshot.RecordID)
					}
				}
				if len(d.Failures) > 0 {
					fmt.Fprintf(w, "\n%s without extractable text\n", plural(len(d.Failures), "snapshot", "snapshots"))
					for _, f := range d.Failures {
						fmt.Fprintf(w, "  %s  snapshot %s: %s: %s\n", f.Snapshot.CapturedAt, f.Snapshot.RecordID, f.Failure.Reason, printable(f.Failure.Message))
					}
				}
				if len(d.Provisions) > 0 {
					fmt.Fprintln(w)
					printProvisions(w, d)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

func printProvisions(w io.Writer, d *track.Document) {
	fmt.Fprintln(w, plural(len(d.Provisions), "provision", "provisions"))
	for _, p := range d.Provisions {
		label := ""
		if p.Label != "" {
			label = " [" + p.Label + "]"
		}
		fmt.Fprintf(w, "  %s%s: %s as of %s%s\n    %q\n    quoted from %s at [%d, %d)\n", p.RecordID, printable(label), strings.ToUpper(p.Status), p.StatusVersion,
			upgradeNote(p.StatusVersionKind), abbreviate(p.Quote.Exact, 100), p.Version, p.Position.Start, p.Position.End)
		for _, h := range p.History {
			extra := ""
			switch h.Status {
			case "present":
				extra = fmt.Sprintf(" at [%d, %d)", h.Position.Start, h.Position.End)
			case "changed":
				extra = fmt.Sprintf(" (similarity %.3f): %q", h.Similarity, abbreviate(h.Closest, 80))
			case "removed":
				extra = " (nothing similar left at its place)"
				if h.Similarity > 0 {
					extra = fmt.Sprintf(" (what is left at its place: similarity %.3f)", h.Similarity)
				}
				if el := h.Elsewhere; el != nil {
					extra += fmt.Sprintf("; another passage, %.3f similar, stands at [%d, %d)", el.Similarity, el.Position.Start, el.Position.End)
				}
			}
			fmt.Fprintf(w, "    %-8s in %s%s%s\n", h.Status, h.Version, upgradeNote(h.VersionKind), printable(extra))
		}
	}
}

// upgradeNote marks a status taken in a version that is no change of the
// document's text.
func upgradeNote(kind string) string {
	switch kind {
	case "upgrade":
		return " [a technical upgrade: the text extracted again, not a change of the document]"
	case "links":
		return " [only link targets changed]"
	}
	return ""
}

// decodingNote says how a version's snapshot was decoded when that is
// worth a reader's attention: bytes lost, or a declared charset overridden.
func decodingNote(d *verify.Decoding) string {
	if d == nil {
		return ""
	}
	var parts []string
	if d.Replaced > 0 {
		parts = append(parts, fmt.Sprintf("WARNING: %s not valid %s, shown as U+FFFD in the text", plural(d.Replaced, "byte sequence", "byte sequences"), d.Charset))
	}
	if d.Declared != "" {
		parts = append(parts, fmt.Sprintf("read as %s (%s), not as the declared %s", d.Charset, decodedFrom(d.From), printable(d.Declared)))
	} else if d.From == verify.DecodedFromDefault {
		parts = append(parts, "read as windows-1252, a guess: the page declares no charset and is not UTF-8")
	}
	return strings.Join(parts, "; ")
}

func decodedFrom(from string) string {
	switch from {
	case verify.DecodedFromUTF8:
		return "the bytes are valid UTF-8"
	case verify.DecodedFromDefault:
		return "the declared charset is unknown"
	}
	return "from the " + from
}

// plural returns "1 version" or "2 versions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
