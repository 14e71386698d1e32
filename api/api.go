// Package api serves an exhibit archive over HTTP, read-only unless its
// write API is enabled.
//
// It serves two things:
//
//   - The transparency log, per C2SP tlog-tiles (https://c2sp.org/tlog-tiles):
//     GET /checkpoint, GET /tile/<L>/<N>[.p/<W>] and
//     GET /tile/entries/<N>[.p/<W>], byte for byte as stored in the
//     archive's log directory. The checkpoint and entry bundles are gzipped
//     for clients that accept it; hash tiles, incompressible, never are. Any tlog-tiles client (Tessera's, x/mod's
//     sumdb/tlog) can fetch the log, check the signed checkpoint against the
//     log key and compute proofs from the tiles. Tiles are served as stored,
//     unverified: like every tlog-tiles client, a reader checks them against
//     a signed checkpoint. The checkpoint is served only after its signature
//     verifies under the archive's key.
//
//   - A JSON API under /api/v1/:
//
//     GET /api/v1/log                              {"origin", "size", "root" (hex), "vkey"}
//     GET /api/v1/records/{id}                     {"citation", "statement"}; for a
//     tracking record {"record_id", "kind", "document_id", "statement", ...}
//     GET /api/v1/records/{id}/bundle[?format=tlog-proof]
//     GET /api/v1/snapshots/sha256/{hex}           a stored object's bytes
//     GET /api/v1/proofs/inclusion?index=N&size=M  {"proof": [base64 hashes]}
//     GET /api/v1/proofs/consistency?from=N&to=M   {"proof": [base64 hashes]}
//     GET /api/v1/search?url=|sha256=|entity=|document=[&limit=N][&before=I]
//     {"records": [...], "next": "I"}, newest first
//
//     and the routes of tracked documents, their versions, diffs and
//     changes, listed in tracking.go, with an Atom feed of changes at
//     GET /feeds/changes.atom.
//
//     Errors are JSON, {"error": "..."}, with status 400 for bad input, 404
//     for what the archive does not hold and 500 otherwise.
//
//     A snapshot is served with the media type its newest verified
//     statement gives (the Content-Type the server sent, or the one
//     detected for an upload), re-formatted after parsing; any other
//     stored object (a certificate chain, a header object), or a snapshot
//     whose media type does not parse, as application/octet-stream. Every
//     object is served with Content-Disposition: attachment,
//     X-Content-Type-Options: nosniff and Content-Security-Policy: sandbox,
//     so archived HTML never runs in this origin.
//
//   - Prometheus metrics at GET /metrics, in the Prometheus text exposition
//     format (https://prometheus.io/docs/instrumenting/exposition_formats/),
//     from a registry private to the handler:
//
//     exhibit_http_requests_total{route, code}          counter
//     exhibit_http_request_duration_seconds{route}      histogram
//     exhibit_log_size                                  gauge, entries
//     exhibit_log_checkpoint_age_seconds                gauge
//
//     plus the standard go_* and process_* collectors. route is the
//     ServeMux pattern that matched (such as "GET /api/v1/records/{id}"),
//     or "none" when none did, so label values stay few whatever paths
//     clients ask for; code is the HTTP status. The log gauges are read at
//     scrape time: the size from the latest checkpoint, after its signature
//     verifies, and the age from the checkpoint file's modification time.
//     Both are absent while the log has no readable checkpoint.
//
//   - A write API, off unless Options.Tokens holds a bearer token (see
//     write.go): POST /api/v1/captures captures a URL from this server,
//     POST /api/v1/snapshots archives an uploaded file with its claimed
//     URL and time. Each answers 201 with the new record and its bundle.
//
//   - Witnessing and trusted time (docs/FORMATS.md 5.5, 5.6):
//
//     GET /timestamps/<tree size>.tsr      the RFC 3161 TimeStampResp (DER,
//     application/timestamp-reply) over the body of the checkpoint of
//     that size, as stored in log/timestamps; 404 if the archive has none
//     GET /api/v1/witness-policy           the archive's C2SP tlog-policy
//     (text/plain), 404 without witnesses
//     GET /api/v1/tsa-roots                its TSA's certificate chain
//     (application/pem-certificate-chain), 404 without a TSA
//
//     Like tiles, tokens are served as stored: a reader checks one against
//     a signed checkpoint and the TSA roots it trusts. A bundle from
//     /api/v1/records/{id}/bundle carries the token of its checkpoint
//     (fetched from the TSA then if need be), or says it is pending, and
//     is marked fail-open when the archive publishes fail-open.
//
// GET /healthz answers 200 "ok". Every response carries
// Access-Control-Allow-Origin: *. Nothing but the write API writes to the
// archive.
package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/transparency-dev/tessera/api/layout"
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
	// private, link-local, multicast, unspecified and reserved addresses,
	// which are refused by default (checked for every connection, so for
	// every DNS answer and redirect).
	AllowPrivateTargets bool
	// Fetch are the options of server-side captures; its Control is
	// replaced unless AllowPrivateTargets.
	Fetch capture.Options
	// RateLimit is the write requests per minute allowed to one token, as
	// a token bucket holding a minute's worth. Zero means
	// DefaultRateLimit (60); negative means no limit.
	RateLimit int
	// MaxCaptures is the number of write requests served at once; more
	// are answered 503 at once. Zero means DefaultMaxCaptures (8).
	MaxCaptures int
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
	log     *slog.Logger
	metrics *metrics
	diffs   *differ
}

// New returns a handler serving the archive a read-only, as the package
// doc describes. a must stay open while the handler is in use.
func New(a *archive.Archive, o Options) http.Handler {
	s := &server{a: a, log: o.Logger, diffs: newDiffer()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(a.Log(), s.log)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /checkpoint", s.checkpoint)
	mux.HandleFunc("GET /tile/{level}/{index...}", s.tile)
	mux.HandleFunc("GET /tile/entries/{index...}", s.entries)
	mux.HandleFunc("GET /api/v1/log", s.logInfo)
	mux.HandleFunc("GET /api/v1/records/{id}", s.record)
	mux.HandleFunc("GET /api/v1/records/{id}/bundle", s.bundle)
	mux.HandleFunc("GET /api/v1/snapshots/sha256/{hex}", s.snapshot)
	mux.HandleFunc("GET /api/v1/proofs/inclusion", s.inclusion)
	mux.HandleFunc("GET /api/v1/proofs/consistency", s.consistency)
	mux.HandleFunc("GET /api/v1/search", s.search)
	mux.HandleFunc("GET /timestamps/{name}", s.timestamp)
	mux.HandleFunc("GET /api/v1/witness-policy", s.witnessPolicy)
	mux.HandleFunc("GET /api/v1/tsa-roots", s.tsaRoots)
	s.trackingRoutes(mux)
	wa := newWriteAPI(s, o)
	mux.HandleFunc("POST /api/v1/captures", wa.guard(wa.capture))
	mux.HandleFunc("POST /api/v1/snapshots", wa.guard(wa.upload))
	mux.HandleFunc("GET /{$}", s.indexHTML)
	mux.HandleFunc("GET /records/{id}", s.recordHTML)
	mux.HandleFunc("GET /static/{name}", s.static)
	mux.HandleFunc("/api/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API endpoint")
	})
	return s.middleware(mux)
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
	case errors.Is(err, archive.ErrNotFound), errors.Is(err, archive.ErrNoDocument), errors.Is(err, store.ErrNotFound), errors.Is(err, ledger.ErrNoCheckpoint):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("path", r.URL.Path), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeLog sends a log resource's bytes, gzipped when the client accepts
// gzip.
//
// Hash tiles are not compressed: they are SHA-256 hashes, which gzip cannot
// shrink, so compressing them would only cost CPU; compress is false for
// them.
func writeLog(w http.ResponseWriter, r *http.Request, contentType, cache string, data []byte, compress bool) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", cache)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if !compress || !acceptsGzip(r) {
		h.Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data)
		return
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(data)
	zw.Close()
	gzipWriters.Put(zw)
	h.Set("Content-Encoding", "gzip")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Write(buf.Bytes())
}

// gzipWriters reuses gzip writers, which are costly to allocate.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return zw
}}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// with a non-zero quality.
func acceptsGzip(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

func (s *server) checkpoint(w http.ResponseWriter, r *http.Request) {
	// The stored note, verified under the archive's key before it is served.
	raw, _, err := s.a.Log().Checkpoint(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeLog(w, r, "text/plain; charset=utf-8", cacheCheckpoint, raw, true)
}

func (s *server) tile(w http.ResponseWriter, r *http.Request) {
	level, index := r.PathValue("level"), r.PathValue("index")
	l, n, p, err := layout.ParseTileLevelIndexPartial(level, index)
	// Only the canonical spelling is served; the file path is built from
	// the parsed numbers, never from the URL.
	if err != nil || layout.TilePath(l, n, p) != "tile/"+level+"/"+index {
		http.NotFound(w, r)
		return
	}
	s.serveLogFile(w, r, layout.TilePath(l, n, p), p)
}

func (s *server) entries(w http.ResponseWriter, r *http.Request) {
	index := r.PathValue("index")
	n, p, err := layout.ParseTileIndexPartial(index)
	if err != nil || layout.EntriesPath(n, p) != "tile/entries/"+index {
		http.NotFound(w, r)
		return
	}
	s.serveLogFile(w, r, layout.EntriesPath(n, p), p)
}

// serveLogFile serves the tile or entry bundle at rel (a layout path) in
// the log directory; partial is its partial width, 0 for a full one.
func (s *server) serveLogFile(w http.ResponseWriter, r *http.Request, rel string, partial uint8) {
	f, err := os.Open(filepath.Join(s.a.Log().Dir(), filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		s.fail(w, r, err)
		return
	}
	cache := cacheImmutable
	if partial > 0 {
		cache = cachePartial
	}
	writeLog(w, r, "application/octet-stream", cache, data, strings.HasPrefix(rel, "tile/entries/"))
}

// LogInfo is the body of GET /api/v1/log.
type LogInfo struct {
	Origin string `json:"origin"`
	Size   uint64 `json:"size"`
	// Root is the root hash of the latest checkpoint, in hex.
	Root string `json:"root"`
	// VKey is the log's current verifier key in C2SP vkey form.
	VKey string `json:"vkey"`
	// PreviousVKeys are the log's earlier keys, newest first, after a
	// key rotation: records made before it verify under them.
	PreviousVKeys []string `json:"previous_vkeys,omitempty"`
}

func (s *server) timestamp(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".tsr")
	size, err := strconv.ParseUint(name, 10, 64)
	if !ok || err != nil || strconv.FormatUint(size, 10) != name {
		http.NotFound(w, r)
		return
	}
	tsr, err := s.a.Timestamp(size)
	if errors.Is(err, archive.ErrNoTimestamp) {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Header().Set("Cache-Control", cacheImmutable)
	w.Write(tsr)
}

func (s *server) witnessPolicy(w http.ResponseWriter, r *http.Request) {
	serveTrustFile(w, s.a.WitnessPolicy(), "text/plain; charset=utf-8", "this archive has no witness policy")
}

func (s *server) tsaRoots(w http.ResponseWriter, r *http.Request) {
	serveTrustFile(w, s.a.TSARoots(), "application/pem-certificate-chain", "this archive has no time-stamping authority")
}

// serveTrustFile serves one of the archive's trust files (they may change
// with a key rotation, so they are revalidated), or 404 with missing.
func serveTrustFile(w http.ResponseWriter, body []byte, contentType, missing string) {
	if body == nil {
		writeError(w, http.StatusNotFound, missing)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(body)
}

func (s *server) logInfo(w http.ResponseWriter, r *http.Request) {
	_, cp, err := s.a.Log().Checkpoint(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info := LogInfo{Origin: cp.Origin, Size: cp.Size, Root: hex.EncodeToString(cp.Hash), VKey: s.a.Key().VKey}
	for _, k := range s.a.Keys()[1:] {
		info.PreviousVKeys = append(info.PreviousVKeys, k.VKey)
	}
	writeJSON(w, info)
}

// RecordInfo is the body of GET /api/v1/records/{id}.
type RecordInfo struct {
	Citation  *archive.Citation `json:"citation"`
	Statement *verify.Statement `json:"statement"`
}

func (s *server) record(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	rec, err := s.a.Get(ctx, id)
	if errors.Is(err, archive.ErrNotFound) {
		// Not a capture: a tracking record, or nothing.
		s.trackingRecord(w, r, id)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, _, err := s.a.Cite(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, RecordInfo{Citation: c, Statement: rec.Statement})
}

func (s *server) bundle(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "tlog-proof" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json or tlog-proof", format))
		return
	}
	// A bundle for a record of any kind, capture or tracking.
	_, b, err := s.a.ProveEntry(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	if format == "tlog-proof" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(b.MarshalProof())
		return
	}
	w.Header().Set("Content-Type", BundleMediaType)
	w.Write(b.Marshal())
}

// snapshot serves a stored object. A snapshot's Content-Type is the media
// type its verified statement gives (see snapshotType); any other object's
// is application/octet-stream. With Content-Disposition: attachment,
// nosniff and a sandbox CSP, archived HTML never runs in this origin.
func (s *server) snapshot(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	digest := r.PathValue("hex")
	if !store.ValidDigest(digest) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q is not a lowercase hex SHA-256 digest", digest))
		return
	}
	st := s.a.Store()
	size, err := st.Stat(ctx, digest)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rc, err := st.Get(ctx, digest)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Disposition", `attachment; filename="`+digest+`"`)
	h.Set("Content-Type", s.snapshotType(ctx, digest))
	h.Set("Cache-Control", cacheImmutable)
	h.Set("ETag", `"`+digest+`"`)
	if size > MaxRangeSnapshot {
		// Too large to hold: stream it, and abort the response if the
		// bytes turn out not to hash to their name.
		h.Set("Accept-Ranges", "none")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		if r.Method == http.MethodHead {
			return
		}
		if _, err := io.Copy(w, rc); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "snapshot stream failed",
				slog.String("sha256", digest), slog.Any("error", err))
			panic(http.ErrAbortHandler)
		}
		return
	}
	// Reading to the end checks the digest before a byte is sent.
	data, err := io.ReadAll(rc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// snapshotType returns the Content-Type for the stored object digest: the
// media type of the snapshot as its newest verified statement gives it,
// parsed and re-formatted so that no malformed value reaches the header;
// application/octet-stream for an object that is no snapshot, a snapshot
// without a valid media type, or when the statement cannot be read (the
// bytes are still served: their digest is checked as they are read).
func (s *server) snapshotType(ctx context.Context, digest string) string {
	const fallback = "application/octet-stream"
	mt, err := s.a.SnapshotInfo(ctx, digest)
	if errors.Is(err, archive.ErrNotFound) {
		return fallback
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "snapshot media type",
			slog.String("sha256", digest), slog.Any("error", err))
		return fallback
	}
	base, params, err := mime.ParseMediaType(mt)
	if err != nil {
		return fallback
	}
	if v := mime.FormatMediaType(base, params); v != "" {
		return v
	}
	return fallback
}

// Proof is the body of the proof endpoints: RFC 6962 hashes, leaf side
// first, standard base64 in JSON.
type Proof struct {
	Proof [][]byte `json:"proof"`
}

// uintParam parses a required decimal query parameter.
func uintParam(r *http.Request, name string) (uint64, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return 0, fmt.Errorf("missing query parameter %q", name)
	}
	v := q.Get(name)
	if len(v) > 1 && v[0] == '0' {
		return 0, fmt.Errorf("%s=%q: leading zero", name, v)
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a non-negative decimal integer", name, v)
	}
	return n, nil
}

// treeSize returns the size of the latest checkpoint.
func (s *server) treeSize(ctx context.Context) (uint64, error) {
	_, cp, err := s.a.Log().Checkpoint(ctx)
	if err != nil {
		return 0, err
	}
	return cp.Size, nil
}

// proofParams reads the two tree positions a proof request names and the
// latest checkpoint's tree size; on failure it has written the error.
func (s *server) proofParams(w http.ResponseWriter, r *http.Request, a, b string) (x, y, cur uint64, ok bool) {
	x, err := uintParam(r, a)
	if err == nil {
		y, err = uintParam(r, b)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return 0, 0, 0, false
	}
	if cur, err = s.treeSize(r.Context()); err != nil {
		s.fail(w, r, err)
		return 0, 0, 0, false
	}
	return x, y, cur, true
}

func (s *server) inclusion(w http.ResponseWriter, r *http.Request) {
	index, size, cur, ok := s.proofParams(w, r, "index", "size")
	if !ok {
		return
	}
	switch {
	case index >= size:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("index %d is not in a tree of size %d", index, size))
		return
	case size > cur:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("size %d is beyond the latest checkpoint's tree size %d", size, cur))
		return
	}
	p, err := s.a.Log().InclusionProof(r.Context(), index, size)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeProof(w, p)
}

func (s *server) consistency(w http.ResponseWriter, r *http.Request) {
	from, to, cur, ok := s.proofParams(w, r, "from", "to")
	if !ok {
		return
	}
	switch {
	case from == 0 || from > to:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("from %d, to %d: want 0 < from <= to", from, to))
		return
	case to > cur:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("to %d is beyond the latest checkpoint's tree size %d", to, cur))
		return
	}
	p, err := s.a.Log().ConsistencyProof(r.Context(), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeProof(w, p)
}

func writeProof(w http.ResponseWriter, p [][]byte) {
	if p == nil {
		p = [][]byte{}
	}
	writeJSON(w, Proof{Proof: p})
}

// metrics are the handler's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	captures *prometheus.CounterVec
	log      *slog.Logger
}

// noRoute is the route label of a request no pattern matched.
const noRoute = "none"

func newMetrics(lr *ledger.Reader, log *slog.Logger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "exhibit_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		captures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_captures_total",
			Help: "Records logged through the write API, by method (fetch, upload) and outcome (captured, http_error, failed).",
		}, []string{"method", "outcome"}),
		log: log,
	}
	m.reg.MustRegister(
		m.requests,
		m.duration,
		m.captures,
		&logCollector{r: lr, log: log},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observe counts one served request.
func (m *metrics) observe(pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = noRoute
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(pattern).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		Registry: m.reg,
	})
}

var (
	logSizeDesc = prometheus.NewDesc("exhibit_log_size",
		"Entries in the log, from its latest checkpoint (signature verified).", nil, nil)
	checkpointAgeDesc = prometheus.NewDesc("exhibit_log_checkpoint_age_seconds",
		"Seconds since the log's checkpoint file was last written.", nil, nil)
)

// logCollector reads the log's size and checkpoint age at scrape time.
// While the log has no readable checkpoint, it reports neither.
type logCollector struct {
	r   *ledger.Reader
	log *slog.Logger
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logSizeDesc
	ch <- checkpointAgeDesc
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	_, cp, err := c.r.Checkpoint(ctx)
	if err != nil {
		if !errors.Is(err, ledger.ErrNoCheckpoint) {
			c.log.LogAttrs(ctx, slog.LevelError, "metrics: reading the checkpoint", slog.Any("error", err))
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(logSizeDesc, prometheus.GaugeValue, float64(cp.Size))
	fi, err := os.Stat(filepath.Join(c.r.Dir(), filepath.FromSlash(layout.CheckpointPath)))
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "metrics: checkpoint file", slog.Any("error", err))
		return
	}
	ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, time.Since(fi.ModTime()).Seconds())
}

// searchResult is one record in a search answer.
type searchResult struct {
	RecordID   string `json:"record_id"`
	Index      uint64 `json:"index"`
	SHA256     string `json:"sha256,omitempty"`
	Outcome    string `json:"outcome"`
	Status     int    `json:"status,omitempty"`
	URL        string `json:"url"`
	FinalURL   string `json:"final_url,omitempty"`
	Entity     string `json:"entity,omitempty"`
	Document   string `json:"document,omitempty"`
	CapturedAt string `json:"captured_at"`
	Claimed    bool   `json:"claimed,omitempty"`
	// Record and Bundle are the API paths of the record and its bundle.
	Record string `json:"record"`
	Bundle string `json:"bundle"`
}

// search answers GET /api/v1/search?url=|sha256=|entity=|document=
// [&limit=N][&before=INDEX]: exact matches over the index, newest first,
// limit (default 50, at most 500) per page; "next" is the before= cursor of
// the next page, absent on the last one. At least one criterion is needed.
func (s *server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sq := archive.SearchQuery{URL: q.Get("url"), SHA256: q.Get("sha256"), Entity: q.Get("entity"), Document: q.Get("document")}
	if sq.URL == "" && sq.SHA256 == "" && sq.Entity == "" && sq.Document == "" {
		writeError(w, http.StatusBadRequest, "search needs url, sha256, entity or document")
		return
	}
	if sq.SHA256 != "" && !store.ValidDigest(sq.SHA256) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("sha256=%q: want 64 lowercase hex digits", sq.SHA256))
		return
	}
	for name, dst := range map[string]*uint64{"before": &sq.Before} {
		if q.Has(name) {
			v, err := uintParam(r, name)
			if err != nil || v == 0 {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: want a positive integer", name, q.Get(name)))
				return
			}
			*dst = v
		}
	}
	sq.Limit = 50
	if q.Has("limit") {
		v, err := uintParam(r, "limit")
		if err != nil || v == 0 || v > 500 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want 1 to 500", q.Get("limit")))
			return
		}
		sq.Limit = int(v)
	}
	recs, err := s.a.Search(r.Context(), sq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		Records []searchResult `json:"records"`
		Next    string         `json:"next,omitempty"`
	}{Records: []searchResult{}}
	for _, rec := range recs {
		out.Records = append(out.Records, searchResult{
			RecordID: rec.RecordID, Index: rec.Index, SHA256: rec.SHA256, Outcome: rec.Outcome, Status: rec.Status,
			URL: rec.URL, FinalURL: rec.FinalURL, Entity: rec.Entity, Document: rec.Document,
			CapturedAt: rec.CapturedAt, Claimed: rec.Claimed,
			Record: "/api/v1/records/" + rec.RecordID, Bundle: "/api/v1/records/" + rec.RecordID + "/bundle",
		})
	}
	if len(recs) == sq.Limit && recs[len(recs)-1].Index > 0 {
		out.Next = strconv.FormatUint(recs[len(recs)-1].Index, 10)
	}
	writeJSON(w, out)
}
