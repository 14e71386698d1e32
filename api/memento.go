package api

// Memento (RFC 7089, https://www.rfc-editor.org/rfc/rfc7089): exhibit
// serve answers as a TimeGate and a TimeMap for the URLs it captured, so
// that web-archive tools find its captures.
//
//	GET /timegate/{URI-R}         302 to the memento nearest Accept-Datetime
//	                              (the newest without it), Vary: accept-datetime
//	GET /timemap/link/{URI-R}     the TimeMap, application/link-format (RFC 6690)
//	GET /mementos/{record_id}     the memento: the capture's snapshot, with
//	                              Memento-Datetime (its citation time) and Link
//
// URI-R is the URL as requested when captured, written as is after the
// prefix (its own query string included), without a fragment: a capture
// requested as URI-R#fragment fetched URI-R (a fragment is never sent,
// RFC 9110 7.1) and is one of its mementos, whose rel="original" is URI-R.
// Mementos are the captures exhibit fetched itself (method fetch or
// browser, outcome "captured": not copies supplied to it; a browser
// capture's memento is the main document as the server sent it) whose requested URL is URI-R,
// with or without a fragment, at most the newest MaxMementos; a memento's
// datetime is the capture's citation time.

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
)

// MaxMementos bounds the captures of one URL a TimeMap lists and a
// TimeGate chooses from: the newest.
const MaxMementos = 500

// mementoRoutes answers the TimeGate and TimeMap paths before the mux,
// whose path cleaning would turn "https://" into "https:/"; the rest goes
// to next.
func (s *server) mementoRoutes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		switch {
		case (r.URL.Path == "/timegate/" || r.URL.Path == "/timemap/link/") && r.URL.RawQuery == "":
			writeError(w, http.StatusBadRequest, "no URL: want "+r.URL.Path+"{URL}, e.g. "+r.URL.Path+"https://example.org/terms")
		case strings.HasPrefix(r.URL.Path, "/timegate/"):
			s.timegate(w, r, uriR(r, "/timegate/"))
		case strings.HasPrefix(r.URL.Path, "/timemap/link/"):
			s.timemap(w, r, uriR(r, "/timemap/link/"))
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// uriR returns the original URL written after prefix in the request
// target, undoing a "scheme:/" a client or proxy collapsed.
func uriR(r *http.Request, prefix string) string {
	u := strings.TrimPrefix(r.RequestURI, prefix)
	for _, scheme := range []string{"http:/", "https:/"} {
		if strings.HasPrefix(u, scheme) && !strings.HasPrefix(u, scheme+"/") {
			u = scheme + "/" + strings.TrimPrefix(u, scheme)
		}
	}
	return u
}

// mementoRef is a capture of a URL.
type mementoRef struct {
	id string
	at time.Time
}

// mementos returns the successful captures of uri, oldest first.
func (s *server) mementos(r *http.Request, uri string) ([]mementoRef, error) {
	recs, err := s.a.Search(r.Context(), archive.SearchQuery{URL: uri, URLFragments: true, Limit: MaxMementos})
	if err != nil {
		return nil, err
	}
	var out []mementoRef
	for _, rec := range recs {
		if rec.Outcome != "captured" || rec.Kind != record.Capture || (rec.Method != verify.MethodFetch && rec.Method != verify.MethodBrowser) || withoutFragment(rec.URL) != uri {
			continue
		}
		t, err := verify.ParseTime(rec.CapturedAt)
		if err != nil {
			continue
		}
		out = append(out, mementoRef{rec.ID, t})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out, nil
}

// withoutFragment returns u without its fragment ("#…"), the resource a
// fetch of u requests.
func withoutFragment(u string) string {
	if i := strings.IndexByte(u, '#'); i >= 0 {
		return u[:i]
	}
	return u
}

// linkURI returns uri as it may stand between "<" and ">" in a Link
// header or a link-format document (RFC 8288 section 3, RFC 6690): every
// byte that may not appear in a URI (RFC 3986 section 2: outside
// unreserved, reserved and "%") percent-encoded, so that a requested
// URL holding ">", a quote, a comma after a space, a control character
// or a raw non-ASCII byte cannot end the target early or inject a link.
func linkURI(uri string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(uri); i++ {
		c := uri[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// httpDate formats t as RFC 7089 requires (RFC 7231 IMF-fixdate).
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func (s *server) timegate(w http.ResponseWriter, r *http.Request, uri string) {
	w.Header().Set("Vary", "accept-datetime")
	ms, err := s.mementos(r, uri)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(ms) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no capture of %q in this archive", uri))
		return
	}
	best := ms[len(ms)-1]
	if v := r.Header.Get("Accept-Datetime"); v != "" {
		want, err := http.ParseTime(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Accept-Datetime %q is not an HTTP date (RFC 7231), e.g. Fri, 08 May 2026 11:13:55 GMT", v))
			return
		}
		// Compare at the granularity of HTTP dates, as TimeMaps show the
		// mementos' datetimes; of equally near ones, the earliest.
		dist := func(m mementoRef) time.Duration { return m.at.Truncate(time.Second).Sub(want).Abs() }
		best = ms[0]
		for _, m := range ms[1:] {
			if dist(m) < dist(best) {
				best = m
			}
		}
	}
	u := linkURI(uri)
	w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="original", </timemap/link/%s>; rel="timemap"; type="application/link-format"`, u, u))
	w.Header().Set("Location", "/mementos/"+best.id)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusFound)
}

func (s *server) timemap(w http.ResponseWriter, r *http.Request, uri string) {
	ms, err := s.mementos(r, uri)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(ms) == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no capture of %q in this archive", uri))
		return
	}
	var b strings.Builder
	uri = linkURI(uri)
	fmt.Fprintf(&b, "<%s>; rel=\"original\",\n", uri)
	fmt.Fprintf(&b, "</timemap/link/%s>; rel=\"self\"; type=\"application/link-format\"; from=\"%s\"; until=\"%s\",\n", uri, httpDate(ms[0].at), httpDate(ms[len(ms)-1].at))
	fmt.Fprintf(&b, "</timegate/%s>; rel=\"timegate\"", uri)
	for i, m := range ms {
		rel := "memento"
		switch {
		case len(ms) == 1:
			rel = "first last memento"
		case i == 0:
			rel = "first memento"
		case i == len(ms)-1:
			rel = "last memento"
		}
		fmt.Fprintf(&b, ",\n</mementos/%s>; rel=\"%s\"; datetime=\"%s\"", m.id, rel, httpDate(m.at))
	}
	b.WriteString("\n")
	w.Header().Set("Content-Type", "application/link-format")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write([]byte(b.String()))
}

// memento serves GET /mementos/{id}: the capture's snapshot, as the
// snapshot endpoint serves it (a download, sandboxed), with the Memento
// headers.
func (s *server) memento(w http.ResponseWriter, r *http.Request) {
	id, err := verify.ParseRecordID(r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec, err := s.a.Get(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if rec.Kind != record.Capture || rec.SHA256 == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%s is not a capture with a snapshot", id))
		return
	}
	t, _ := verify.ParseTime(rec.CapturedAt)
	w.Header().Set("Memento-Datetime", httpDate(t))
	uri := linkURI(withoutFragment(rec.URL))
	w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="original", </timegate/%s>; rel="timegate", </timemap/link/%s>; rel="timemap"; type="application/link-format", </records/%s>; rel="describedby"`, uri, uri, uri, rec.ID))
	r.SetPathValue("hex", rec.SHA256)
	s.snapshot(w, r)
}
