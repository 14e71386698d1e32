package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/spf13/cobra"
)

func newCaptureCmd(g *globals) *cobra.Command {
	var (
		entity, document, output, claimURL, fetchedAt string
		maxBody, maxPage                              int64
		timeout, browserWait, browserDelay            time.Duration
		browserWaitFor                                string
		insecure, browser, refusePrivate              bool
	)
	cmd := &cobra.Command{
		Use:   "capture URL | FILE --url URL",
		Short: "Capture a document with its provenance and log it",
		Long: `Capture a document into the archive and print its record.

capture URL fetches over HTTP(S) and records the provenance: every redirect
hop (at most 10), final URL, status, response headers, peer address, TLS
version, cipher suite and certificate chain, time and duration. The snapshot
is the body after transfer- and content-decoding. A final non-2xx status is
captured and flagged (outcome http_error). A fetch that fails (DNS,
connection, TLS, redirect loop, timeout, body over --max-body) is logged as a
failed-capture record with its reason, and exhibit exits with status 1.
A fetch the server redirected to another URL (a new address, or a login or
consent page in place of the document) captures what that URL served: the
output warns, and the citation says "redirected to <final URL>".

capture URL --browser loads the page in a headless Chromium (Debian's
chromium, on PATH or at /usr/bin/chromium; never downloaded) instead: the
browser fetches the document and everything the page asks for and runs its
scripts. exhibit waits for the page to settle (the load event and, with
--browser-delay, at least that long after it; then no request in flight
for 500 ms, no short timer of the page pending (a setTimeout or meta
refresh of at most 5 s, so text a script builds after a timer is taken),
with --browser-wait-for SELECTOR an element matching that CSS selector,
and no change to the page's nodes or text for 500 ms, this last waited for
at most 2 s: a page that changes for ever at least every 500 ms, such as
a ticker, is taken then and recorded as still changing (a clock ticking
each second has quiet spells of 500 ms, and settles in one); at most --browser-wait in all, after which
the page is taken as it is and recorded as not settled). A page that navigates by itself (a script setting location, a
meta refresh) is followed: the last document is the one taken, and each
navigation is recorded; when that document is at another URL, the output
warns as for a redirect, and the citation says "navigated by script to
<final URL>" (or "by meta refresh", ...). JavaScript dialogs (alert, confirm, prompt) are
dismissed and counted, print() does nothing, and downloads are refused.
Then exhibit records a full-page screenshot (PNG; a page taller than 16384
px is shot down to that height, and recorded as cut), a PDF of the rendering, the DOM after scripts (HTML) and
a WARC of every HTTP exchange the page made, with the main document's TLS
certificate chain (WARC/1.1, .warc.gz; docs/FORMATS.md 2.10). Each is stored by its SHA-256 and named in the statement (capture predicate
version 2), beside the main document's response as the browser received it
(its body is the snapshot). The browser, viewport (1280x800) and wait rule
are recorded. A page that loads more than --max-page bytes, a browser that
cannot start or crashes, and a page not taken within --timeout are failed
captures with their reason. The browser runs with a fresh profile, without
background traffic, and is killed when the capture ends or exhibit dies.

--refuse-private-targets applies the address policy of "exhibit serve"'s
write API: no connection to loopback, private, link-local, multicast or any
other IANA special-purpose address (judged for every connection, so every
DNS answer and redirect); a refused page is a failed capture (reason
connect). With --browser, Chromium's connections then all go through a
proxy of the capture that applies it (docs/FORMATS.md 2.10): a refused
image, script, frame or fetch() is not loaded and is named in the WARC.
Without it, a capture may reach any address (the operator's own intranet
pages included).

capture FILE --url URL [--fetched-at TIME] archives a document received out
of band: the statement records the URL and time as claims, apart from what
exhibit observed (file name, size, digest, time received). FILE must be a
regular file: a named pipe, a device or a directory is refused.

The command returns once the snapshot is stored and a signed checkpoint
covering the log entry is published and kept (checkpoints/ in the archive);
it prints the record, the checkpoint it was published with, and its
citation. exhibit prove writes its evidence bundle. The default archive
(without --archive) is created with defaults if missing; a missing archive
at an --archive directory is an error (run exhibit init there).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(output, "text", "json"); err != nil {
				return err
			}
			if maxBody <= 0 || timeout <= 0 || maxPage <= 0 || browserWait <= 0 {
				return usageError("--max-body, --max-page, --timeout and --browser-wait must be positive")
			}
			if browserDelay < 0 {
				return usageError("--browser-delay must not be negative")
			}
			if !browser && (cmd.Flags().Changed("browser-delay") || browserWaitFor != "") {
				return usageError("--browser-delay and --browser-wait-for go with --browser")
			}
			target := args[0]
			lower := strings.ToLower(target)
			isURL := strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
			var at time.Time
			if !isURL {
				fi, err := os.Stat(target)
				if err != nil {
					return usageError("%s is neither an http(s) URL nor a readable file: %v", target, err)
				}
				if !fi.Mode().IsRegular() {
					return &exitError{code: 2, err: &ingest.NotRegularError{Path: target, Mode: fi.Mode()}}
				}
				if fetchedAt != "" {
					t, err := time.Parse(time.RFC3339Nano, fetchedAt)
					if err != nil {
						return usageError("--fetched-at: want RFC 3339, e.g. 2026-05-08T11:13:55Z: %v", err)
					}
					at = t
				}
				if claimURL != "" {
					if u, err := url.Parse(claimURL); err != nil || u.Scheme == "" || u.Host == "" {
						return usageError("--url %q is not an absolute URL", claimURL)
					}
				}
				if browser {
					return usageError("--browser goes with a URL, not a FILE")
				}
			} else if claimURL != "" || fetchedAt != "" {
				return usageError("--url and --fetched-at go with a FILE, not a URL")
			}
			ctx, cancel := signalContext()
			defer cancel()
			a, err := g.openWrite(ctx, cmd, true)
			if err != nil {
				return err
			}
			defer a.Close(context.Background())
			in := ingest.New(a)
			var control func(network, address string, c syscall.RawConn) error
			if refusePrivate {
				control = capture.RefusePrivate
			}
			var rec *record.Record
			if isURL {
				rec, err = in.Capture(ctx, target, ingest.CaptureOptions{
					Entity:   entity,
					Document: document,
					Fetch: capture.Options{
						MaxBodyBytes:       maxBody,
						Timeout:            timeout,
						InsecureSkipVerify: insecure,
						Control:            control,
					},
					Browser: browser,
					Render:  render.Options{SettleTimeout: browserWait, MaxPageBytes: maxPage, Delay: renderDelay(browserDelay), WaitFor: browserWaitFor},
				})
			} else {
				rec, err = in.File(ctx, target, ingest.FileOptions{
					Entity: entity, Document: document, URL: claimURL, FetchedAt: at,
				})
			}
			if err != nil {
				return err
			}
			if err := a.Close(context.Background()); err != nil {
				return err
			}
			cite, err := citeRecord(a, rec)
			if err != nil {
				return err
			}
			if err := printRecord(cmd.OutOrStdout(), output, a, rec, cite); err != nil {
				return err
			}
			if rec.Outcome == verify.OutcomeFailed {
				return &exitError{code: 1, err: fmt.Errorf("capture failed (%s): %s; the failure is logged as record %s", rec.Failure.Reason, rec.Failure.Message, rec.ID)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&entity, "entity", "", "organisation the document belongs to, e.g. Zoom")
	f.StringVar(&document, "document", "", "document title, e.g. \"Zoom Privacy Statement\"")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	f.StringVar(&claimURL, "url", "", "with FILE: the URL the document came from (a claim)")
	f.StringVar(&fetchedAt, "fetched-at", "", "with FILE: when it was fetched, RFC 3339 (a claim)")
	f.Int64Var(&maxBody, "max-body", 64<<20, "largest body to accept, in bytes (decoded)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "total time limit for the fetch, including redirects and body")
	f.BoolVar(&browser, "browser", false, "load and render the page in headless Chromium: screenshot, PDF, DOM after scripts and a WARC of its HTTP exchanges")
	f.DurationVar(&browserWait, "browser-wait", render.DefaultSettleTimeout, "with --browser: longest wait for the page to settle (its wait rule met: see --help) before it is taken")
	f.DurationVar(&browserDelay, "browser-delay", render.DefaultDelay, "with --browser: least wait after the page's load event before it may be taken (0: none; the page's short timers are waited for without it)")
	f.StringVar(&browserWaitFor, "browser-wait-for", "", "with --browser: CSS selector the page must match before it is taken (else it is taken, not settled, at --browser-wait)")
	f.Int64Var(&maxPage, "max-page", render.DefaultMaxPageBytes, "with --browser: most bytes the page may load, all its responses together")
	f.BoolVar(&refusePrivate, "refuse-private-targets", false, "refuse to connect to loopback, private, link-local and every other IANA special-purpose address, as the write API does (with --browser too)")
	f.BoolVar(&insecure, "insecure-skip-verify", false, "capture even if the TLS certificate is not trusted (recorded as unverified)")
	return cmd
}

// citeRecord builds the citation of a just-captured record against the
// checkpoint it was published with, as the write path returned it.
func citeRecord(a *archive.Archive, rec *record.Record) (*cite.Citation, error) {
	cp, _, err := a.Keys().OpenCheckpoint(rec.Checkpoint)
	if err != nil {
		return nil, err
	}
	return cite.New(rec, cp, a.Key().VKey), nil
}

func printRecord(w io.Writer, output string, a *archive.Archive, rec *record.Record, c *cite.Citation) error {
	if output == "json" {
		return json.NewEncoder(w).Encode(rec)
	}
	u := printable(rec.URL)
	switch {
	case rec.Outcome == verify.OutcomeFailed:
		fmt.Fprintf(w, "FAILED   %s: %s (%s)\n", u, printable(rec.Failure.Message), rec.Failure.Reason)
	case rec.Outcome == verify.OutcomeHTTPError:
		fmt.Fprintf(w, "captured %s with HTTP %d (flagged: not a success status), %d bytes\n", u, rec.Status, rec.Size)
	case c.Uploaded && c.URL != "":
		fmt.Fprintf(w, "archived a supplied copy of %s (URL claimed), %d bytes\n", u, rec.Size)
	case c.Uploaded:
		fmt.Fprintf(w, "archived the supplied file %s, %d bytes\n", printable(c.FileName), rec.Size)
	default:
		fmt.Fprintf(w, "captured %s, %d bytes\n", u, rec.Size)
	}
	if c.Redirection != "" {
		lists := "the redirects"
		if len(c.Navigations) > 0 {
			lists = "the navigations and redirects"
		}
		fmt.Fprintf(w, "WARNING  %s: the snapshot is what that URL served, which may not be the document asked for (exhibit show %s lists %s)\n",
			printable(c.Redirection), rec.ID, lists)
	}
	if c.TLSVerified != nil && !*c.TLSVerified && rec.Outcome != verify.OutcomeFailed {
		fmt.Fprintf(w, "WARNING  the TLS certificate was NOT verified (%s)\n", c.TLS)
	}
	fmt.Fprintf(w, "record   %s\n", rec.ID)
	if rec.SHA256 != "" {
		fmt.Fprintf(w, "sha256   %s\n", rec.SHA256)
	}
	if rd := rec.Rendering; rd != nil {
		fmt.Fprintf(w, "browser  %s %s, viewport %dx%d, %d requests, %d bytes, %s\n", printable(rd.Browser.Name), printable(cmp.Or(rd.Browser.Version, "(version unknown: it did not start)")),
			rd.Viewport.Width, rd.Viewport.Height, rd.Requests, rd.TransferBytes, printable(cite.WaitOutcome(&rec.Statement.Capture.Predicate)))
		for _, n := range rd.Navigations {
			fmt.Fprintf(w, "navigate %s to %s after %d ms\n", n.Kind, printable(n.URL), n.AtMS)
		}
		if rd.DialogsDismissed > 0 {
			fmt.Fprintf(w, "dialogs  %d JavaScript dialogs dismissed\n", rd.DialogsDismissed)
		}
		if rd.ScreenshotTruncated {
			fmt.Fprintf(w, "WARNING  the page is %d px high: the screenshot shows only its top %d px\n", rd.PageHeight, render.MaxScreenshotHeight)
		}
		for _, a := range rd.Artefacts() {
			fmt.Fprintf(w, "%-8s %s (%d bytes, %s)\n", a.Name, a.SHA256, a.Size, a.MediaType)
		}
	}
	fmt.Fprintf(w, "log      %s #%d, published with checkpoint %d (%s)\n", c.LogOrigin, rec.Index, rec.Published,
		printable(a.CheckpointFile(rec.Published)))
	fmt.Fprintf(w, "cite as  %s\n", printable(c.Text))
	return nil
}

// renderDelay maps a --browser-delay of 0 (none) to render.Options.Delay's
// "none", which is negative (its zero is the default).
func renderDelay(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
