package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/verify"
)

// Records, their bundles, snapshots and search.

// RecordInfo is the body of GET /api/v1/records/{id}, and the record of
// a write route's answer: the record (of any kind: record_id, index,
// kind, published and the fields of its kind, see record.Record), its
// statement exactly as logged, for a capture its citation, and the paths
// of its bundle and page.
type RecordInfo struct {
	*record.Record
	Statement json.RawMessage `json:"statement"`
	Citation  *cite.Citation  `json:"citation,omitempty"`
	// Bundle is the API path of its evidence bundle, against the
	// checkpoint it was published with; Page that of its page (for a
	// tracking record, its document's).
	Bundle string `json:"bundle"`
	Page   string `json:"page"`
}

// recordInfo describes rec, proved by b (for a capture's citation).
func (s *server) recordInfo(rec *record.Record, b *verify.Bundle) (*RecordInfo, error) {
	info := &RecordInfo{Record: rec, Statement: rec.Payload, Bundle: "/api/v1/records/" + rec.ID + "/bundle", Page: "/records/" + rec.ID}
	if rec.Statement.Capture != nil && b != nil {
		cp, _, err := s.a.Keys().OpenCheckpoint([]byte(b.Checkpoint))
		if err != nil {
			return nil, err
		}
		info.Citation = cite.New(rec, cp, s.a.Key().VKey)
	}
	if rec.DocumentID != "" {
		info.Page = "/documents/" + rec.DocumentID
	}
	return info, nil
}

func (s *server) record(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec, b, err := s.a.Prove(ctx, r.PathValue("id"), archive.ProveOptions{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	info, err := s.recordInfo(rec, b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if c := info.Citation; c != nil {
		s.setResponseHeaders(ctx, c, rec)
	}
	writeJSON(w, info)
}

// setResponseHeaders sets c.ResponseHeaders, for a capture whose headers
// were too large for the entry, from the stored object its statement
// names. If that cannot be read, the record is served without them (the
// statement names the object; audit reports it) and the error is logged.
func (s *server) setResponseHeaders(ctx context.Context, c *cite.Citation, rec *record.Record) {
	if c.ResponseHeaders != nil {
		return
	}
	if h, err := s.a.ResponseHeaders(ctx, rec.Statement.Capture.Predicate.Observed); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "response headers",
			slog.String("record", rec.ID), slog.Any("error", err))
	} else {
		c.ResponseHeaders = h
	}
}

// bundle answers GET /api/v1/records/{id}/bundle[?format=json|tlog-proof]
// [&checkpoint=first|latest]: the record's evidence bundle against the
// checkpoint it was first published with (by default), or the latest.
func (s *server) bundle(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "tlog-proof" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("format %q: want json or tlog-proof", format))
		return
	}
	var o archive.ProveOptions
	switch c := q.Get("checkpoint"); c {
	case "", "first":
	case "latest":
		o.Latest = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("checkpoint %q: want first or latest", c))
		return
	}
	_, b, err := s.a.Prove(r.Context(), r.PathValue("id"), o)
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
// is application/octet-stream. With Content-Disposition: attachment (a
// file named by the digest, with the extension of its media type, see
// fileExtension), nosniff and the CSP of a rendering (renderingCSP:
// nothing loads, nothing runs, an opaque origin), archived HTML never runs
// in this origin, nor fetches anything when opened on its own.
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
	mt := s.snapshotType(ctx, digest)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", renderingCSP)
	h.Set("Content-Disposition", `attachment; filename="`+digest+fileExtension(mt)+`"`)
	h.Set("Content-Type", mt)
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

// renderingCSP is the Content-Security-Policy of a served rendering
// artefact and snapshot: nothing loads, nothing runs, and a document
// opened on its own is sandboxed in an opaque origin.
const renderingCSP = "default-src 'none'; sandbox"

// rendering answers GET /api/v1/records/{id}/rendering/{name}: the
// rendering artefact called name (verify.ArtefactKinds: "screenshot", "pdf", "dom", "warc", "wacz") of a browser
// capture, read from the store (its bytes are checked against their digest
// before any is sent; one over MaxRangeSnapshot is streamed, the response
// aborted if they do not match) and served with the media type the signed statement
// gives it: the screenshot inline (image/png, for the record page's
// <img>), the PDF and the DOM as downloads (a capture's HTML never runs in
// this origin); all with a strict CSP, nosniff, and cached for good.
func (s *server) rendering(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	// The statement read from the log and proved, as the record page
	// reads it, not the index's copy.
	rec, _, err := s.a.Prove(ctx, r.PathValue("id"), archive.ProveOptions{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var a *verify.Artefact
	if c := rec.Statement.Capture; c != nil {
		a = c.Predicate.Rendering.Artefact(name)
	}
	if a == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("record %s has no rendering artefact %q (a browser capture has %s)", rec.ID, name, strings.Join(verify.ArtefactNames(), ", ")))
		return
	}
	rc, err := s.a.Store().Get(ctx, a.SHA256)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", renderingCSP)
	h.Set("Content-Type", a.MediaType)
	h.Set("Cache-Control", cacheImmutable)
	h.Set("ETag", `"`+a.SHA256+`"`)
	// The package's file name (screenshot.png, page.pdf, …): its
	// extension follows the media type, as fileExtension's does.
	file := rec.ID + "-" + strings.TrimPrefix(verify.RenderingFile(name), verify.PackageRenderingDir)
	disposition := "attachment"
	if name == "screenshot" {
		disposition = "inline"
	}
	h.Set("Content-Disposition", disposition+`; filename="`+file+`"`)
	if a.Size > MaxRangeSnapshot {
		// Too large to hold (a WARC can be): stream it, and abort the
		// response if the bytes turn out not to hash to their name.
		h.Set("Accept-Ranges", "none")
		h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
		if r.Method == http.MethodHead {
			return
		}
		if _, err := io.Copy(w, rc); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "rendering artefact stream failed",
				slog.String("sha256", a.SHA256), slog.Any("error", err))
			panic(http.ErrAbortHandler)
		}
		return
	}
	// Reading to the end checks the digest before a byte is sent.
	data, err := io.ReadAll(io.LimitReader(rc, MaxRangeSnapshot+1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if int64(len(data)) != a.Size {
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("the stored %s artefact is %d bytes, the statement signs %d", name, len(data), a.Size))
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

// snapshotExtensions are the file extensions of the media types archived
// documents commonly have, for a download's file name; others take
// mime.ExtensionsByType's first, or ".bin".
var snapshotExtensions = map[string]string{
	"text/html":                         ".html",
	"application/xhtml+xml":             ".xhtml",
	"text/plain":                        ".txt",
	"text/markdown":                     ".md",
	"text/csv":                          ".csv",
	"text/xml":                          ".xml",
	"application/xml":                   ".xml",
	"application/json":                  ".json",
	"application/pdf":                   ".pdf",
	"image/png":                         ".png",
	"image/jpeg":                        ".jpg",
	"application/octet-stream":          ".bin",
	"application/pem-certificate-chain": ".pem",
	verify.MediaTypeWARC:                ".warc.gz",
	verify.MediaTypeWACZ:                ".wacz",
}

// fileExtension returns the file extension (with its dot) of a
// download of media type mediaType (parameters ignored): ".bin" for one
// unknown or malformed.
func fileExtension(mediaType string) string {
	mt, _, err := mime.ParseMediaType(mediaType)
	if err != nil {
		return ".bin"
	}
	if e, ok := snapshotExtensions[mt]; ok {
		return e
	}
	if es, _ := mime.ExtensionsByType(mt); len(es) > 0 {
		return es[0]
	}
	return ".bin"
}

// searchResult is one record in a search answer: the record, and the API
// paths of its details and its bundle.
type searchResult struct {
	*record.Record
	Details string `json:"record"`
	Bundle  string `json:"bundle"`
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
		out.Records = append(out.Records, searchResult{Record: rec,
			Details: "/api/v1/records/" + rec.ID, Bundle: "/api/v1/records/" + rec.ID + "/bundle"})
	}
	if len(recs) == sq.Limit && recs[len(recs)-1].Index > 0 {
		out.Next = strconv.FormatUint(recs[len(recs)-1].Index, 10)
	}
	writeJSON(w, out)
}
