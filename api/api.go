// Package api serves an exhibit archive over HTTP, read-only unless its
// write API is enabled.
//
// It serves two things:
//
//   - The transparency log, per C2SP tlog-tiles (https://c2sp.org/tlog-tiles):
//     GET /checkpoint (the latest checkpoint the archive kept, see below),
//     GET /tile/<L>/<N>[.p/<W>] and GET /tile/entries/<N>[.p/<W>], byte for
//     byte as stored in the archive's log directory. The checkpoint and
//     entry bundles are gzipped for clients that accept it; hash tiles,
//     incompressible, never are. Any tlog-tiles client (Tessera's, x/mod's
//     sumdb/tlog) can fetch the log, check the signed checkpoint against
//     the log key and compute proofs from the tiles. Tiles are served as
//     stored, unverified: like every tlog-tiles client, a reader checks
//     them against a signed checkpoint. A checkpoint is served only after
//     its signature verifies under one of the archive's keys.
//
//   - Every checkpoint the log published, as the archive keeps it
//     (docs/FORMATS.md 5.7): GET /checkpoints/<N> is the checkpoint of tree
//     size N (<N> in the path encoding of tlog-tiles tile indexes,
//     "x001/x234/067" for 1234067), with the witness cosignatures it was
//     published with, and GET /checkpoints/<N>.tsr its RFC 3161 token
//     (application/timestamp-reply), 404 until the archive has it. Neither
//     ever changes (Cache-Control: immutable).
//
//   - A JSON API under /api/v1/:
//
//     GET /api/v1/log                              {"origin", "size", "root" (hex), "vkey"}
//     GET /api/v1/records/{id}                     a record of any kind (RecordInfo):
//     {"record_id", "index", "kind", "published", its fields, "statement",
//     "citation" (a capture's), "bundle", "page"}
//     GET /api/v1/records/{id}/bundle[?format=tlog-proof][&checkpoint=latest]
//     its evidence bundle, made now, against the checkpoint it was first
//     published with (or the latest)
//     GET /api/v1/snapshots/sha256/{hex}           a stored object's bytes
//     GET /api/v1/records/{id}/rendering/{name}    a browser capture's
//     screenshot, pdf, dom, warc or wacz, with the media type its statement signs,
//     Content-Security-Policy: default-src 'none'; sandbox and nosniff
//     (the screenshot inline, the others as downloads)
//     GET /api/v1/proofs/inclusion?index=N&size=M  {"proof": [base64 hashes]}
//     GET /api/v1/proofs/consistency?from=N&to=M   {"proof": [base64 hashes]}
//     GET /api/v1/search?url=|sha256=|entity=|document=[&limit=N][&before=I]
//     {"records": [...], "next": "I"}, newest first
//
//     and the routes of tracked documents, their versions, diffs and
//     changes, listed in tracking.go, with an Atom feed of changes at
//     GET /feeds/changes.atom; and those of provisions, their analyses and
//     the comparison of provision types across entities, listed in
//     provisions.go; and Memento (RFC 7089): a TimeGate, TimeMaps and
//     mementos of the URLs captured, listed in memento.go.
//
//     Errors are JSON, {"error": "..."}, with status 400 for bad input, 404
//     for what the archive does not hold and 500 otherwise; for an archive
//     shared by several frontends, a read that fails while its database or
//     bucket does not answer (as /healthz reports it) is answered 503 with
//     Retry-After: 5 at once, naming which ("database unavailable: ..."),
//     and pages likewise as HTML.
//
//     A snapshot is served with the media type its newest verified
//     statement gives (the Content-Type the server sent, or the one
//     detected for an upload), re-formatted after parsing; any other
//     stored object (a certificate chain, a header object), or a snapshot
//     whose media type does not parse, as application/octet-stream. Every
//     object is served with Content-Disposition: attachment (a file named
//     by its digest, with the extension of its media type, e.g.
//     "<sha256>.html"), X-Content-Type-Options: nosniff and
//     Content-Security-Policy: default-src 'none'; sandbox, so archived
//     HTML never runs in this origin, nor loads anything when opened.
//
//   - Prometheus metrics at GET /metrics, in the Prometheus text exposition
//     format (https://prometheus.io/docs/instrumenting/exposition_formats/),
//     from a registry private to the handler:
//
//     exhibit_http_requests_total{route, code}          counter
//     exhibit_http_request_duration_seconds{route}      histogram
//     exhibit_log_size                                  gauge, entries
//     exhibit_log_checkpoint_age_seconds                gauge
//     exhibit_captures_total{method, outcome}           counter, records the
//     write API logged (method fetch, browser or upload; outcome captured,
//     http_error or failed)
//
//     plus the standard go_* and process_* collectors. route is the
//     ServeMux pattern that matched (such as "GET /api/v1/records/{id}"),
//     or "none" when none did, so label values stay few whatever paths
//     clients ask for; code is the HTTP status. The log gauges are read at
//     scrape time: the size from the latest kept checkpoint, after its
//     signature verifies, and the age from its file's modification time
//     (when it was kept: its publication). Both are absent while the log has
//     no readable checkpoint.
//
//   - A write API, off unless Options.Tokens holds a bearer token (see
//     write.go): POST /api/v1/captures captures a URL from this server
//     (fetched, or with "browser": true rendered in headless Chromium),
//     POST /api/v1/snapshots archives an uploaded file with its claimed
//     URL and time. Each answers 201 with the new record (RecordInfo) and
//     its bundle, made from what the write path returned.
//
//   - Witnessing and trusted time (docs/FORMATS.md 5.5, 5.6):
//
//     GET /timestamps/<tree size>.tsr      the RFC 3161 TimeStampResp (DER,
//     application/timestamp-reply) over the body of the kept checkpoint
//     of that size (where format 1 published tokens; the same as
//     /checkpoints/<N>.tsr); 404 if the archive has none
//     GET /api/v1/witness-policy           the archive's C2SP tlog-policy
//     (text/plain), 404 without witnesses
//     GET /api/v1/tsa-roots                its TSA's certificate chain
//     (application/pem-certificate-chain), 404 without a TSA
//
//     Like tiles, tokens are served as stored: a reader checks one against
//     a signed checkpoint and the TSA roots it trusts. A bundle from
//     /api/v1/records/{id}/bundle carries the token of its checkpoint if
//     the archive has it, or says it is pending (the archive's writer asks
//     the TSA; serving never does), and is marked fail-open when the
//     archive publishes fail-open.
//
// GET /healthz answers 200 "ok"; for an archive shared by several
// frontends (its log on S3 and MySQL), only once the log's database and
// bucket and the index's database answer, the log's published
// checkpoint is kept (not gone back behind the kept one) and, with a
// writer, the index follower's last round succeeded, else 503 with
// Retry-After: 5 and the one that does not ("database unavailable: ...",
// "log checkpoint unavailable: ...", "index follower unavailable:
// indexing the log has failed for 12s: ..."). Any archive answers 503 too
// when the checkpoint GET /checkpoint serves cannot be read or does not
// verify under the archive's keys ("checkpoint unservable: ..."). Every response carries
// Access-Control-Allow-Origin: *. Nothing but the write API writes to the
// archive: served read-only, the handler takes no lock, calls no outside
// service and changes no file.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// Options configure New.
type Options struct {
	// Logger receives one access log line per request (method, path,
	// status, duration) at level Info. Default: discard.
	Logger *slog.Logger

	// The write API (see write.go): off unless Tokens is set and its file
	// holds a token. It needs an archive opened for writing.
	//
	// Tokens are the bearer tokens the write routes accept, read from
	// their file at every request, so a revocation takes effect at once.
	Tokens *Tokens
	// AllowPrivateTargets lets server-side captures connect to loopback,
	// private, link-local, multicast, unspecified and every other address
	// of the IANA special-purpose registries, which are refused by default
	// (checked for every connection, so for every DNS answer and redirect,
	// a browser capture's included, through render's proxy; see
	// capture.RefusePrivate).
	AllowPrivateTargets bool
	// Fetch are the options of server-side captures; its Control is
	// replaced unless AllowPrivateTargets. Its Timeout (zero: 60 s) bounds
	// a browser capture's render too.
	Fetch capture.Options
	// Browser configures the one renderer of the write API's browser
	// captures ("browser": true, under the same address policy as
	// fetches, see write.go): its binary (ExecPath; empty: chromium on PATH, else
	// /usr/bin/chromium) and how many browsers run at once (MaxBrowsers;
	// zero: render.DefaultMaxBrowsers, 2). A browser capture holds one of
	// these browser slots beside its capture slot, and is answered 503
	// with Retry-After: 5 at once when none is free. A missing browser is
	// no error here: each browser capture is then logged as failed,
	// reason "browser_unavailable".
	Browser render.Config
	// Renderer, if not nil, is the renderer of browser captures in place
	// of one made from Browser (whose MaxBrowsers still counts the write
	// API's browser slots). exhibit serve shares it with tracking
	// (track.Tracker.SetRenderer), so that the process runs at most
	// MaxBrowsers browsers in all; a browser capture may then wait, within
	// its time limit, for a browser tracking holds.
	Renderer *render.Renderer
	// RateLimit is the write requests per minute allowed to one token, as
	// a token bucket holding a minute's worth. Zero means
	// DefaultRateLimit (60); negative means no limit.
	RateLimit int
	// MaxCaptures is the number of write requests worked on at once
	// (fetching, storing, signing, waiting for the checkpoint), counted
	// from when the request's body has been received: more are answered
	// 503 at once. Zero means DefaultMaxCaptures (8).
	MaxCaptures int
	// MaxPerToken is the number of write requests one token may have in
	// progress at once, its body arriving or being worked on; more are
	// answered 429 at once. Zero means DefaultMaxPerToken (4); negative
	// means no limit.
	MaxPerToken int
	// MinUploadRate, in bytes per second, is the slowest a write request's
	// body may arrive: once UploadGrace has passed, the body must have
	// kept up with it (by the time t after the request began, at least
	// (t - UploadGrace) * MinUploadRate bytes must have arrived), or the
	// request is answered 408 and the connection closed. This bounds how
	// long a body can take (a 64 MiB upload at the default rate: 34
	// minutes at most), whatever the client does. Zero means
	// DefaultMinUploadRate (32 KiB/s).
	MinUploadRate int64
	// UploadGrace is the time a body may lag MinUploadRate by (a slow
	// start, a pause). Zero means DefaultUploadGrace (10s).
	UploadGrace time.Duration
	// MaxUploadBytes limits an uploaded file. Zero means
	// capture.DefaultMaxBodyBytes (64 MiB).
	MaxUploadBytes int64
	// TempDir holds uploads while they are archived. Empty means
	// os.TempDir().
	TempDir string
}

// Cache-Control values. A full tile or entry bundle never changes; a
// partial one is replaced as the log grows; the checkpoint changes with
// every publication.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cachePartial    = "public, max-age=10"
	cacheCheckpoint = "public, max-age=2"
	// MaxRangeSnapshot is the largest snapshot served with Range support:
	// such a snapshot is read into memory and its SHA-256 checked before a
	// byte is sent. A larger one is streamed whole (no Range), its digest
	// checked as it streams; a mismatch aborts the response.
	MaxRangeSnapshot = 64 << 20
)

// BundleMediaType is the Content-Type of a JSON evidence bundle.
const BundleMediaType = verify.BundleMediaType

type server struct {
	a       *archive.Archive
	tr      *track.Tracker
	log     *slog.Logger
	metrics *metrics
	diffs   *differ
}

// New returns a handler serving the archive a read-only, as the package
// doc describes. a must stay open while the handler is in use.
func New(a *archive.Archive, o Options) http.Handler {
	s := &server{a: a, tr: track.New(a), log: o.Logger, diffs: newDiffer()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(a, s.log)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("GET /checkpoint", s.checkpoint)
	mux.HandleFunc("GET /tile/{level}/{index...}", s.tile)
	mux.HandleFunc("GET /tile/entries/{index...}", s.entries)
	mux.HandleFunc("GET /api/v1/log", s.logInfo)
	mux.HandleFunc("GET /api/v1/records/{id}", s.record)
	mux.HandleFunc("GET /api/v1/records/{id}/bundle", s.bundle)
	mux.HandleFunc("GET /api/v1/snapshots/sha256/{hex}", s.snapshot)
	mux.HandleFunc("GET /api/v1/records/{id}/rendering/{name}", s.rendering)
	mux.HandleFunc("GET /api/v1/proofs/inclusion", s.inclusion)
	mux.HandleFunc("GET /api/v1/proofs/consistency", s.consistency)
	mux.HandleFunc("GET /api/v1/search", s.search)
	mux.HandleFunc("GET /checkpoints/{path...}", s.keptCheckpoint)
	mux.HandleFunc("GET /timestamps/{name}", s.timestamp)
	mux.HandleFunc("GET /api/v1/witness-policy", s.witnessPolicy)
	mux.HandleFunc("GET /api/v1/tsa-roots", s.tsaRoots)
	s.trackingRoutes(mux)
	s.provisionRoutes(mux)
	mux.HandleFunc("GET /mementos/{id}", s.memento)
	wa := newWriteAPI(s, o)
	mux.HandleFunc("POST /api/v1/captures", wa.guard(wa.capture))
	mux.HandleFunc("POST /api/v1/snapshots", wa.guard(wa.upload))
	mux.HandleFunc("GET /{$}", s.indexHTML)
	mux.HandleFunc("GET /records/{id}", s.recordHTML)
	mux.HandleFunc("GET /static/{name}", s.static)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint")
	})
	return s.middleware(s.mementoRoutes(mux))
}

// statusWriter records the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware adds CORS to every response, logs each request and counts it
// in the metrics.
func (s *server) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		sw.Header().Set("Access-Control-Allow-Origin", "*")
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			// The mux sets r.Pattern on this very request when a pattern
			// matches.
			s.metrics.observe(r.Pattern, status, d)
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", d))
		}()
		h.ServeHTTP(sw, r)
	})
}

// writeError writes {"error": msg} with the given status.
func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Del("Content-Encoding")
	h.Del("ETag")
	h.Del("Content-Disposition")
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Write(append(b, '\n'))
}

// fail maps err to a status: 400 for bad input, 404 for what the archive
// does not hold, 500 otherwise (logged, and not shown to the client).
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, verify.ErrRecordID), errors.Is(err, store.ErrDigest), errors.Is(err, archive.ErrInput):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, track.ErrNoDocument), errors.Is(err, store.ErrNotFound), errors.Is(err, ledger.ErrNoCheckpoint):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		if ue := s.unavailable(r, err); ue != nil {
			w.Header().Set("Retry-After", retryUnavailable)
			writeError(w, http.StatusServiceUnavailable, ue.Error()+"; try again later")
			return
		}
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("path", r.URL.Path), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

// unavailable returns, for a request to an archive shared by several
// frontends that failed with err, why its databases or bucket do not
// answer (as err says, or as Health reports it, probed within
// healthTimeout): the failure is then
// theirs, answered 503 with Retry-After, not 500. It returns nil when they
// answer, and for an archive of one machine.
func (s *server) unavailable(r *http.Request, err error) *archive.UnavailableError {
	if !s.a.Shared() {
		return nil
	}
	// A read that gave up on a database that does not answer says so.
	if ue := (*archive.UnavailableError)(nil); errors.As(err, &ue) {
		return ue
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), healthTimeout)
	defer cancel()
	var ue *archive.UnavailableError
	if errors.As(s.a.Health(ctx), &ue) {
		return ue
	}
	return nil
}

// healthTimeout bounds the health check of the database and bucket.
const healthTimeout = 2 * time.Second

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	err := s.a.Health(ctx)
	if err == nil {
		err = s.checkpointHealth(ctx)
	}
	if err != nil {
		w.Header().Set("Retry-After", retryUnavailable)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, err.Error()+"\n")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// checkpointHealth checks what GET /checkpoint serves: the latest kept
// checkpoint must be readable and verify under the archive's keys. A log
// that has published no checkpoint yet is healthy (/checkpoint answers
// 404 until it has).
func (s *server) checkpointHealth(ctx context.Context) error {
	if _, _, err := s.a.Checkpoint(ctx); err != nil && !errors.Is(err, ledger.ErrNoCheckpoint) {
		return fmt.Errorf("checkpoint unservable: %w", err)
	}
	return nil
}

// retryUnavailable is the Retry-After, in seconds, of a 503 for a database
// or bucket that does not answer.
const retryUnavailable = "5"

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
