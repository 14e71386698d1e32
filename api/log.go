package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/transparency-dev/tessera/api/layout"
)

// The log, per C2SP tlog-tiles, its kept checkpoints and tokens, proofs,
// and the archive's trust files.

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

// checkpoint serves the latest kept checkpoint, verified under the
// archive's keys before it is served.
func (s *server) checkpoint(w http.ResponseWriter, r *http.Request) {
	raw, _, err := s.a.Checkpoint(r.Context())
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
	if s.a.Ledger().Dir() == "" {
		s.serveLogObject(w, r, layout.TilePath(l, n, p), p)
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
	if s.a.Ledger().Dir() == "" {
		s.serveLogObject(w, r, layout.EntriesPath(n, p), p)
		return
	}
	s.serveLogFile(w, r, layout.EntriesPath(n, p), p)
}

// serveLogFile serves the tile or entry bundle at rel (a layout path) in
// the log directory; partial is its partial width, 0 for a full one.
func (s *server) serveLogFile(w http.ResponseWriter, r *http.Request, rel string, partial uint8) {
	f, err := os.Open(filepath.Join(s.a.Ledger().Dir(), filepath.FromSlash(rel)))
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

// serveLogObject serves the tile or entry bundle at rel of a log that is
// not in a directory (one in an S3 bucket), as stored: the same bytes,
// headers and cache lifetimes as serveLogFile.
func (s *server) serveLogObject(w http.ResponseWriter, r *http.Request, rel string, partial uint8) {
	data, err := s.a.Ledger().ReadResource(r.Context(), rel)
	if errors.Is(err, fs.ErrNotExist) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
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

// keptCheckpoint serves GET /checkpoints/<N>[.tsr]: the kept checkpoint
// of tree size N (<N> in the tlog-tiles path encoding, see
// ledger.CheckpointPath), or its RFC 3161 token. Both never change.
func (s *server) keptCheckpoint(w http.ResponseWriter, r *http.Request) {
	p := r.PathValue("path")
	base, tsr := strings.CutSuffix(p, ".tsr")
	size, err := ledger.ParseCheckpointPath(base)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if tsr {
		s.serveTimestamp(w, r, size)
		return
	}
	raw, _, err := s.a.CheckpointAt(r.Context(), size)
	if errors.Is(err, ledger.ErrNotKept) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no checkpoint of tree size %d is kept", size))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeLog(w, r, "text/plain; charset=utf-8", cacheImmutable, raw, true)
}

// timestamp serves GET /timestamps/<tree size>.tsr, where format 1
// published tokens: the token of the kept checkpoint of that size.
func (s *server) timestamp(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("name"), ".tsr")
	size, err := strconv.ParseUint(name, 10, 64)
	if !ok || err != nil || strconv.FormatUint(size, 10) != name {
		http.NotFound(w, r)
		return
	}
	s.serveTimestamp(w, r, size)
}

func (s *server) serveTimestamp(w http.ResponseWriter, r *http.Request, size uint64) {
	tsr, err := s.a.Timestamp(r.Context(), size)
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
	_, cp, err := s.a.Checkpoint(r.Context())
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
	_, cp, err := s.a.Checkpoint(ctx)
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
	p, err := s.a.Ledger().InclusionProof(r.Context(), index, size)
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
	p, err := s.a.Ledger().ConsistencyProof(r.Context(), from, to)
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
