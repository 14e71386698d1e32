package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/spf13/cobra"
)

func defaultListen() string {
	if l := os.Getenv("EXHIBIT_LISTEN"); l != "" {
		return l
	}
	return "127.0.0.1:8080"
}

func newServeCmd(g *globals) *cobra.Command {
	var listen, browserPath string
	var allowPrivate, track bool
	var rateLimit, maxCaptures, maxPerToken, maxBrowsers int
	var minUploadRate int64
	var trackEvery, uploadGrace time.Duration
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--track]",
		Short: "Serve the archive over HTTP: the log (tlog-tiles), a JSON API and record pages",
		Long: `Serve the archive over HTTP until interrupted (SIGINT or SIGTERM): it
then stops taking requests (the listener closes at once), waits up to 3
minutes for those in flight, stops tracking, and closes the archive (its
last checkpoint, the index), for up to 30 seconds more, saying so on
stderr; a second signal exits at once (status 130). A supervisor should
allow it 4 minutes before it kills it (systemd's TimeoutStopSec).

The log, per C2SP tlog-tiles (https://c2sp.org/tlog-tiles), byte for byte as
stored:
  GET /checkpoint                        the latest kept checkpoint
  GET /tile/<L>/<N>[.p/<W>]              hash tiles
  GET /tile/entries/<N>[.p/<W>]          entry bundles
  GET /checkpoints/<N>                   every checkpoint the log published,
                                         kept, immutable (N the tree size in
                                         the tiles' path encoding, e.g.
                                         /checkpoints/x001/234)
  GET /checkpoints/<N>.tsr               its RFC 3161 token
  GET /timestamps/<size>.tsr             the same token, by plain tree size

The JSON API:
  GET /api/v1/log                        origin, size, root, vkey
  GET /api/v1/records/{id}               a record, its statement, citation
  GET /api/v1/records/{id}/bundle[?checkpoint=first|latest][&format=tlog-proof]
                                         its evidence bundle (by default
                                         against the checkpoint the record was
                                         first published with)
  GET /api/v1/records/{id}/rendering/{name}
                                         a browser capture's screenshot, pdf,
                                         dom, warc or wacz, with the media
                                         type its statement signs (strict
                                         CSP; all but the screenshot as
                                         downloads)
  GET /api/v1/snapshots/sha256/{hex}     a stored object
  GET /api/v1/search?url=|sha256=|entity=|document=[&limit=N][&before=I]
                                         captures, exact matches, newest
                                         first, paged (exhibit search)
  GET /api/v1/proofs/inclusion?index=N&size=M
  GET /api/v1/proofs/consistency?from=N&to=M
  GET /api/v1/witness-policy             the witness policy (404 without)
  GET /api/v1/tsa-roots                  the TSA's chain (404 without)
  GET /api/v1/documents                  tracked documents
  GET /api/v1/documents/{id}             one tracked document's state
  GET /api/v1/documents/{id}/versions    its versions, oldest first
  GET /api/v1/versions/{id}/text         a version's text (text/markdown)
  GET /api/v1/diff?from=V1&to=V2         a word diff of two versions
  GET /api/v1/changes[?since=30d|TIME][&entity=E]
                                         changes, newest first
  GET /feeds/changes.atom                the changes of the last 90 days (Atom)
  GET /api/v1/taxonomy                   the provision types (exhibit taxonomy)
  GET /api/v1/provisions/{id}            a provision, its analysis, evidence,
                                         citation and comparison
  GET /api/v1/provisions/{id}/analyses   its analyses, every revision
  GET /api/v1/types                      provision types across entities
  GET /api/v1/types/{type}               one type's provisions at every entity
A snapshot is served as an attachment (named by its SHA-256, with the
extension of its media type) with the media type its signed statement
gives (sandboxed, loading nothing, never sniffed); other stored objects as
application/octet-stream. Errors are JSON {"error": ...}: 400, 404 or 500;
for an archive whose log is on S3 and MySQL, 503 with Retry-After: 5 at once
when a read fails while its database or bucket does not answer, naming which.

Pages, which read without JavaScript and load nothing from other hosts:
  GET /                                  recent records, a search box
  GET /records/{id}                      a record's citation record and
                                         provenance, with a panel that
                                         re-verifies its bundle in the
                                         reader's browser (WebCrypto)
  GET /documents                         tracked documents
  GET /documents/{id}                    one, its timeline, diffs, provisions
  GET /provisions/{id}                   a provision's page: its clause, signed
                                         analysis and history, regulations,
                                         evidence, citation, how other
                                         entities' provisions of its type read;
                                         every record it rests on re-verified
                                         in the browser
  GET /types                             provision types compared across
                                         entities
  GET /types/{type}                      one type, compared across
                                         entities
  GET /static/{name}                     the pages' script and style sheet

As a Memento TimeGate and TimeMap (RFC 7089), for the URLs exhibit fetched:
  GET /timegate/{URL}                    302 to the capture nearest
                                         Accept-Datetime (the newest without)
  GET /timemap/link/{URL}                every capture, link format
  GET /mementos/{id}                     a capture's snapshot as a memento

  GET /metrics                           Prometheus metrics: requests and
                                         latency by route, log size,
                                         checkpoint age, sequencing lag (with
                                         the write API), Go runtime, process
  GET /healthz                           "ok"; for an archive whose log is on
                                         S3 and MySQL, only while its database
                                         and bucket answer and its published
                                         checkpoint is kept (else 503, naming
                                         which: a checkpoint gone back behind
                                         the kept one is never kept); and
                                         for any archive only while the
                                         checkpoint /checkpoint serves reads
                                         and verifies under its key (else 503
                                         "checkpoint unservable")
One JSON access log line per request goes to stderr.

The write API is on only when the archive has bearer tokens ("exhibit token
create"): then the archive is opened for writing, and the serving process
holds its write lock (no other process can capture into it meanwhile),
unless its log is on S3 and MySQL (exhibit init --log-db): then several
frontends on several machines serve the write API at once, each with a copy
of exhibit.json, the key and the token file (tokens.json); without tokens it
is served read-only and the write routes answer 403.
POST /api/v1/captures ({"url", "entity", "document"}) captures a URL from the
server; POST /api/v1/snapshots (multipart/form-data: url, fetched_at, entity,
document and a "file" part) archives an upload with its claimed URL and time.
Both need "Authorization: Bearer <token>" (else 401), allow --rate-limit
requests a minute per token (60) and --max-per-token in progress per token
(4; else 429, and a request refused for being one too many in progress
does not count against the rate), must send their body at --min-upload-rate
bytes a second or more (32768) once --upload-grace has passed (10s; else
408), work on at most --max-captures at once (8), counted once a body has
arrived (else 503 at once), and answer 201 with {"record", "bundle"} for
every record logged, a failed capture included (record.outcome "failed").

POST /api/v1/captures with "browser": true (and optionally
"browser_wait_ms": the longest wait for the page to settle, 1 to 60000,
default 15000; "browser_delay_ms": the least wait after the load event, 0
to 60000, default 0; "browser_wait_for": a CSS selector the page must
match to count as settled) loads the page in headless Chromium, as "exhibit capture URL
--browser" does: the record's statement (method "browser") names a
screenshot, a PDF and the DOM after scripts, served at
/api/v1/records/{id}/rendering/{name}. The server runs one renderer:
--browser-path (default chromium on PATH, else /usr/bin/chromium) and at
most --max-browsers at once (2); a browser capture holds a browser beside
its capture slot, and when every browser is busy it is refused at once with
503 and Retry-After: 5. A render that fails (no browser:
browser_unavailable; a crash, a page over 64 MiB, 60 s passed) is a failed
capture, answered 201. Browser captures obey the address policy below:
every connection of the browser goes through a proxy of the render that
dials with the same check (Chromium resolves no name itself), so a page
at a refused address, or redirecting to one, is a failed capture (reason
connect) answered 201, and a refused image, script, frame or fetch() is
not loaded and is named in the WARC's warcinfo record.

Server-side captures refuse to connect to loopback, private, link-local,
multicast, unspecified and every other address of the IANA IPv4 and IPv6
special-purpose registries (an IPv6 address carrying an IPv4 one,
IPv4-mapped or NAT64, is judged as that IPv4 address; 6to4, Teredo and
IPv4-translated are refused), checked for every connection (every DNS
answer and redirect); --allow-private-targets lifts this. Request bodies
are limited: 64 KiB of JSON, 64 MiB per upload (413).

--track also runs "exhibit track run" in the background: every
--track-interval (default 1m) it captures the tracked documents that are due
and records their versions (opening the archive for writing, as tokens do).
Documents tracked with --render are rendered by the same browsers as the
write API's browser captures (--browser-path; at most --max-browsers at
once in all, so a browser capture may wait, within its time limit, for a
browser tracking holds). Tracked documents, fetched or rendered, obey the
same address policy as the write API's captures (a tracked URL is the
operator's, but its redirects, its DNS answers and a rendered page's
sub-resources are not): one on loopback or a private network is a failed
capture, reason connect, unless --allow-private-targets, which lifts the
policy for both. ("exhibit track run" applies no address policy, as
"exhibit capture" applies none without --refuse-private-targets.)
Tracked documents are served at /documents, /api/v1/documents and
/feeds/changes.atom either way.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := signalContext()
			defer cancel()
			tokens := api.NewTokens(g.archive)
			toks, err := tokens.List()
			if err != nil {
				return err
			}
			if maxCaptures < 1 || maxBrowsers < 1 || maxPerToken == 0 || minUploadRate < 1 || uploadGrace <= 0 {
				return usageError("--max-captures, --max-browsers, --min-upload-rate and --upload-grace must be positive, --max-per-token positive or negative (no limit)")
			}
			opts := api.Options{
				AllowPrivateTargets: allowPrivate,
				RateLimit:           rateLimit,
				MaxCaptures:         maxCaptures,
				MaxPerToken:         maxPerToken,
				MinUploadRate:       minUploadRate,
				UploadGrace:         uploadGrace,
				Browser:             render.Config{ExecPath: browserPath, MaxBrowsers: maxBrowsers},
			}
			// One renderer for the write API and tracking: at most
			// --max-browsers browsers in all.
			opts.Renderer = render.New(opts.Browser)
			var a *archive.Archive
			if len(toks) > 0 || track {
				// The write API and tracking log records: hold the write lock.
				a, err = g.openWrite(ctx, cmd, false)
				if len(toks) > 0 {
					opts.Tokens = tokens
				}
			} else {
				a, err = g.openRead(ctx)
			}
			if err != nil {
				return err
			}
			closed := false
			defer func() {
				if !closed {
					a.Close(context.Background())
				}
			}()
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			access := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			opts.Logger = access
			srv := &http.Server{
				Handler:           api.New(a, opts),
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       30 * time.Second,
				WriteTimeout:      5 * time.Minute,
				IdleTimeout:       2 * time.Minute,
				MaxHeaderBytes:    64 << 10,
				ErrorLog:          slog.NewLogLogger(g.logger.Handler(), slog.LevelWarn),
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: serving %s on http://%s\n", g.archive, ln.Addr())
			if opts.Tokens != nil {
				if a.Shared() {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: write API enabled (%s); other frontends may write the archive at once (log on S3 and MySQL)\n", plural(len(toks), "token", "tokens"))
				} else {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: write API enabled (%s); holding the archive's write lock\n", plural(len(toks), "token", "tokens"))
				}
			}
			if opts.Tokens != nil && allowPrivate {
				if bin := render.New(opts.Browser).ExecPath(); bin == "" {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: no browser (chromium is not on PATH nor at /usr/bin/chromium): browser captures will be logged as failed (browser_unavailable)\n")
				} else if _, err := os.Stat(bin); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: --browser-path %s: %v: browser captures will be logged as failed (browser_unavailable)\n", bin, err)
				}
			}
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ln) }()
			tracking := make(chan struct{})
			if track {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: tracking documents every %s\n", trackEvery)
				go func() {
					defer close(tracking)
					// Tracked documents follow the address policy of
					// the write API's captures: their URLs are the
					// operator's, but a redirect, a DNS answer or a
					// rendered page's sub-resource is not.
					var fetch capture.Options
					if !allowPrivate {
						fetch.Control = capture.RefusePrivate
					}
					runTracking(ctx, a, opts.Renderer, fetch, trackEvery, g.logger)
				}()
			} else {
				close(tracking)
			}
			select {
			case err := <-done:
				cancel() // stops tracking
				<-tracking
				return err
			case <-ctx.Done():
			}
			// Let in-flight captures finish (a fetch may take its full
			// timeout, then wait for its checkpoint) before closing.
			fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: shutting down: waiting up to %v for the requests in flight (a write waits for its checkpoint, or up to 16s for a database that is down), then up to %v to close the archive (its last checkpoint, the index); a second SIGINT or SIGTERM exits at once\n", drainTimeout, closeTimeout)
			sctx, scancel := context.WithTimeout(context.Background(), drainTimeout)
			defer scancel()
			err = srv.Shutdown(sctx)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: requests still in flight after %v (%v): closing the archive\n", drainTimeout, err)
			}
			if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
				err = serr
			}
			// Tracking saw the signal too: its round ends at once.
			<-tracking
			cctx, ccancel := context.WithTimeout(context.Background(), closeTimeout)
			defer ccancel()
			closed = true
			if cerr := a.Close(cctx); cerr != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "exhibit: closing the archive: %v\n", cerr)
				if err == nil {
					err = cerr
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", defaultListen(), "address to listen on (env EXHIBIT_LISTEN)")
	cmd.Flags().BoolVar(&track, "track", false, "capture tracked documents when due, in the background")
	cmd.Flags().DurationVar(&trackEvery, "track-interval", time.Minute, "with --track: how often to look for documents due")
	cmd.Flags().IntVar(&rateLimit, "rate-limit", 0, "write requests per minute allowed to one token by this process (default 60; negative: no limit); several frontends each allow it")
	cmd.Flags().IntVar(&maxPerToken, "max-per-token", api.DefaultMaxPerToken, "write requests one token may have in progress at once, body arriving or worked on (negative: no limit)")
	cmd.Flags().IntVar(&maxCaptures, "max-captures", api.DefaultMaxCaptures, "write requests worked on at once, counted once their body has arrived")
	cmd.Flags().Int64Var(&minUploadRate, "min-upload-rate", api.DefaultMinUploadRate, "slowest a write request's body may arrive once --upload-grace has passed, bytes per second")
	cmd.Flags().DurationVar(&uploadGrace, "upload-grace", api.DefaultUploadGrace, "time a write request's body may lag --min-upload-rate by")
	cmd.Flags().StringVar(&browserPath, "browser-path", "", "browser of the write API's browser captures (default chromium on PATH, else /usr/bin/chromium)")
	cmd.Flags().IntVar(&maxBrowsers, "max-browsers", render.DefaultMaxBrowsers, "browsers run at once, for the write API's browser captures and --track's rendered documents together")
	cmd.Flags().BoolVar(&allowPrivate, "allow-private-targets", os.Getenv("EXHIBIT_ALLOW_PRIVATE_TARGETS") == "true", "let server-side captures (the write API's and --track's) reach loopback, private, link-local, multicast and every other IANA special-purpose address")
	return cmd
}

// drainTimeout is how long serve, once signalled, waits for the requests
// in flight; closeTimeout how long it then takes, at most, to close the
// archive. The systemd unit of docs/DEPLOYMENT.md allows their sum and a
// margin (stopTimeout) before it kills the process.
const (
	drainTimeout = 3 * time.Minute
	closeTimeout = 30 * time.Second
	stopTimeout  = 4 * time.Minute
)

// runTracking runs a tracking round every interval until ctx ends, logging
// what each round did. Each capture, fetched or rendered with r, takes
// the options of fetch (its Control the address policy of both).
func runTracking(ctx context.Context, a *archive.Archive, r *render.Renderer, fetch capture.Options, every time.Duration, log *slog.Logger) {
	tr := track.New(a)
	tr.SetRenderer(r)
	for {
		rep, err := tr.Run(ctx, track.RunOptions{Fetch: fetch})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("tracking round failed", "err", err)
		default:
			if rep.Due > 0 {
				log.Info("tracking round", "tracked", rep.Tracked, "captured", rep.Due, "errors", len(rep.Errors))
			}
			for _, e := range rep.Errors {
				log.Error("tracking", "document", e.Document, "err", e.Error)
			}
		}
		select {
		case <-time.After(rep.NextRound(every)):
		case <-ctx.Done():
			return
		}
	}
}
