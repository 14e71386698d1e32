package capture

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// recordingSink hashes the body with crypto/sha256 and keeps a copy of it.
type recordingSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	calls int
}

func (s *recordingSink) sink(_ context.Context, body io.Reader) (string, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(h, &s.buf), body)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func (s *recordingSink) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// doFetch runs Fetch with a recordingSink.
func doFetch(t *testing.T, url string, opts Options) (*Result, *recordingSink) {
	t.Helper()
	s := &recordingSink{}
	res := Fetch(t.Context(), url, opts, s.sink)
	if res == nil {
		t.Fatal("Fetch returned nil")
	}
	return res, s
}

// wantCaptured fails the test unless res has no failure and holds body.
func wantCaptured(t *testing.T, res *Result, s *recordingSink, body []byte) {
	t.Helper()
	if res.Failure != nil {
		t.Fatalf("Failure = %+v, want nil", *res.Failure)
	}
	if got, want := res.SHA256, sha256Hex(body); got != want {
		t.Errorf("SHA256 = %s, want %s", got, want)
	}
	if got, want := res.Size, int64(len(body)); got != want {
		t.Errorf("Size = %d, want %d", got, want)
	}
	if got := s.bytes(); !bytes.Equal(got, body) {
		t.Errorf("sink saw %d bytes %.40q, want %d bytes %.40q", len(got), got, len(body), body)
	}
}

// wantFailure fails the test unless res failed with reason and no digest.
func wantFailure(t *testing.T, res *Result, reason string) {
	t.Helper()
	if res.Failure == nil {
		t.Fatalf("Failure = nil, want reason %q (Status %d, SHA256 %q)", reason, res.Observed.Status, res.SHA256)
	}
	t.Logf("Failure: %s: %s", res.Failure.Reason, res.Failure.Message)
	if got := res.Failure.Reason; got != reason {
		t.Errorf("Failure.Reason = %q, want %q (message %q)", got, reason, res.Failure.Message)
	}
	if res.Failure.Message == "" {
		t.Error("Failure.Message is empty")
	}
	if res.SHA256 != "" || res.Size != 0 {
		t.Errorf("SHA256, Size = %q, %d on failure, want \"\", 0", res.SHA256, res.Size)
	}
}

func newServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchOK(t *testing.T) {
	body := []byte("<html><body>exhibit A</body></html>\n")
	var (
		mu        sync.Mutex
		gotUA     string
		gotAE     string
		gotMethod string
	)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gotUA, gotAE, gotMethod = r.UserAgent(), r.Header.Get("Accept-Encoding"), r.Method
		mu.Unlock()
		w.Header().Set("X-Test", "yes")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}))

	before := time.Now().Add(-time.Millisecond)
	url := srv.URL + "/doc?q=1"
	res, s := doFetch(t, url, Options{})
	wantCaptured(t, res, s, body)

	obs := res.Observed
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"Status", obs.Status, 200},
		{"RequestedURL", obs.RequestedURL, url},
		{"FinalURL", obs.FinalURL, url},
		{"PeerAddress", obs.PeerAddress, srv.Listener.Addr().String()},
		{"Protocol", obs.Protocol, "HTTP/1.1"},
		{"MediaType", res.MediaType, "text/html; charset=utf-8"},
		{"UserAgent", obs.UserAgent, "exhibit/dev (+https://github.com/exhibit-archive/exhibit)"},
		{"Redirects", len(obs.Redirects), 0},
		{"TLS", obs.TLS == nil, true},
		{"CertChainPEM", res.CertChainPEM == nil, true},
		{"X-Test", fmt.Sprint(obs.Headers["X-Test"]), "[yes]"},
		{"X-Multi", fmt.Sprint(obs.Headers["X-Multi"]), "[one two]"},
		{"Content-Length", fmt.Sprint(obs.Headers["Content-Length"]), fmt.Sprintf("[%d]", len(body))},
		{"Content-Type", fmt.Sprint(obs.Headers["Content-Type"]), "[text/html; charset=utf-8]"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, ok := obs.Headers["Date"]; !ok {
		t.Errorf("Headers lack Date: %v", obs.Headers)
	}

	started, err := verify.ParseTime(obs.StartedAt)
	if err != nil {
		t.Fatalf("StartedAt %q: %v", obs.StartedAt, err)
	}
	if started.Before(before) || started.After(time.Now()) {
		t.Errorf("StartedAt = %v, not between %v and now", started, before)
	}
	if len(obs.StartedAt) != len("2006-01-02T15:04:05.000Z") {
		t.Errorf("StartedAt = %q, want millisecond precision in UTC", obs.StartedAt)
	}
	if obs.DurationMS < 0 || obs.DurationMS > 5000 {
		t.Errorf("DurationMS = %d, want between 0 and 5000", obs.DurationMS)
	}

	mu.Lock()
	defer mu.Unlock()
	if gotMethod != http.MethodGet {
		t.Errorf("server saw method %q, want GET", gotMethod)
	}
	if gotUA != obs.UserAgent {
		t.Errorf("server saw User-Agent %q, want %q", gotUA, obs.UserAgent)
	}
	if gotAE != "gzip, deflate" {
		t.Errorf("server saw Accept-Encoding %q, want %q", gotAE, "gzip, deflate")
	}
}

func TestFetchUserAgent(t *testing.T) {
	var (
		mu  sync.Mutex
		got string
	)
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.UserAgent()
		mu.Unlock()
	}))
	for _, tt := range []struct {
		desc string
		opts Options
		want string
	}{
		{"default", Options{}, "exhibit/dev (+https://github.com/exhibit-archive/exhibit)"},
		{"version", Options{Version: "1.2.3"}, "exhibit/1.2.3 (+https://github.com/exhibit-archive/exhibit)"},
		{"explicit", Options{UserAgent: "custom/1", Version: "1.2.3"}, "custom/1"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			res, s := doFetch(t, srv.URL, tt.opts)
			wantCaptured(t, res, s, nil)
			if res.Observed.UserAgent != tt.want {
				t.Errorf("Observed.UserAgent = %q, want %q", res.Observed.UserAgent, tt.want)
			}
			mu.Lock()
			defer mu.Unlock()
			if got != tt.want {
				t.Errorf("server saw User-Agent %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFetchNotFound(t *testing.T) {
	body := []byte("no such exhibit\n")
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		w.Write(body)
	}))
	res, s := doFetch(t, srv.URL+"/missing", Options{})
	wantCaptured(t, res, s, body)
	if got, want := res.Observed.Status, 404; got != want {
		t.Errorf("Status = %d, want %d", got, want)
	}
	if got, want := res.MediaType, "text/plain"; got != want {
		t.Errorf("MediaType = %q, want %q", got, want)
	}
}

// hopServer serves /hop/N, which redirects to /hop/N-1, down to /hop/0,
// which answers 200 "arrived".
func hopServer(t *testing.T) *httptest.Server {
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if n == 0 {
			io.WriteString(w, "arrived")
			return
		}
		w.Header().Set("Location", fmt.Sprintf("/hop/%d", n-1))
		w.WriteHeader(http.StatusFound)
	}))
}

func TestFetchRedirects(t *testing.T) {
	var srv *httptest.Server
	srv = newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			w.Header().Set("Location", "/b")
			w.WriteHeader(http.StatusMovedPermanently)
		case "/b":
			w.Header().Set("Location", "c?x=1") // relative to /b
			w.WriteHeader(http.StatusFound)
		case "/c":
			w.Header().Set("Location", srv.URL+"/d")
			w.WriteHeader(http.StatusTemporaryRedirect)
			io.WriteString(w, "a redirect body, which is not kept")
		case "/d":
			w.Header().Set("X-Final", "d")
			io.WriteString(w, "final")
		default:
			http.NotFound(w, r)
		}
	}))
	res, s := doFetch(t, srv.URL+"/a", Options{})
	wantCaptured(t, res, s, []byte("final"))
	want := []verify.Hop{
		{URL: srv.URL + "/a", Status: 301, Location: "/b"},
		{URL: srv.URL + "/b", Status: 302, Location: "c?x=1"},
		{URL: srv.URL + "/c?x=1", Status: 307, Location: srv.URL + "/d"},
	}
	if !slices.Equal(res.Observed.Redirects, want) {
		t.Errorf("Redirects = %+v, want %+v", res.Observed.Redirects, want)
	}
	if got, want := res.Observed.FinalURL, srv.URL+"/d"; got != want {
		t.Errorf("FinalURL = %q, want %q", got, want)
	}
	if got, want := res.Observed.RequestedURL, srv.URL+"/a"; got != want {
		t.Errorf("RequestedURL = %q, want %q", got, want)
	}
	if got := res.Observed.Headers["X-Final"]; !slices.Equal(got, []string{"d"}) {
		t.Errorf("Headers[X-Final] = %q, want the final response's [d]", got)
	}
	if got, want := res.Observed.Status, 200; got != want {
		t.Errorf("Status = %d, want %d", got, want)
	}
}

func TestFetchRedirectLimits(t *testing.T) {
	srv := hopServer(t)
	for _, tt := range []struct {
		desc       string
		hops       int
		max        int
		wantReason string // "" for success
		wantHops   int
	}{
		{desc: "10 hops succeed", hops: 10, wantHops: 10},
		{desc: "11 hops", hops: 11, wantReason: "too_many_redirects", wantHops: 11},
		{desc: "max 2, 2 hops", hops: 2, max: 2, wantHops: 2},
		{desc: "max 2, 3 hops", hops: 3, max: 2, wantReason: "too_many_redirects", wantHops: 3},
		{desc: "negative max, no hop", hops: 0, max: -1, wantHops: 0},
		{desc: "negative max, 1 hop", hops: 1, max: -1, wantReason: "too_many_redirects", wantHops: 1},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			url := fmt.Sprintf("%s/hop/%d", srv.URL, tt.hops)
			res, s := doFetch(t, url, Options{MaxRedirects: tt.max})
			if tt.wantReason == "" {
				wantCaptured(t, res, s, []byte("arrived"))
				if got, want := res.Observed.FinalURL, srv.URL+"/hop/0"; got != want {
					t.Errorf("FinalURL = %q, want %q", got, want)
				}
			} else {
				wantFailure(t, res, tt.wantReason)
				last := fmt.Sprintf("%s/hop/%d", srv.URL, tt.hops-tt.wantHops+1)
				if got := res.Observed.FinalURL; got != last {
					t.Errorf("FinalURL = %q, want the last URL requested, %q", got, last)
				}
				if got, want := res.Observed.Status, 302; got != want {
					t.Errorf("Status = %d, want the unfollowed redirect's %d", got, want)
				}
			}
			hops := res.Observed.Redirects
			if len(hops) != tt.wantHops {
				t.Fatalf("%d hops recorded, want %d: %+v", len(hops), tt.wantHops, hops)
			}
			for i, h := range hops {
				want := verify.Hop{
					URL:      fmt.Sprintf("%s/hop/%d", srv.URL, tt.hops-i),
					Status:   302,
					Location: fmt.Sprintf("/hop/%d", tt.hops-i-1),
				}
				if h != want {
					t.Errorf("hop %d = %+v, want %+v", i, h, want)
				}
			}
		})
	}
}

func TestFetchRedirectLoop(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		loc := map[string]string{
			"/a":    "/b",
			"/b":    "/a",
			"/self": "/self",
			"/frag": "/frag#section", // the same resource
			"/x":    "/y",
			"/y":    "/z",
			"/z":    "/x?",
		}[r.URL.Path]
		if r.URL.RawQuery != "" || r.URL.ForceQuery {
			loc = "/y"
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusFound)
	}))
	for _, tt := range []struct {
		desc     string
		path     string
		wantHops []verify.Hop
	}{
		{"A to B to A", "/a", []verify.Hop{
			{URL: srv.URL + "/a", Status: 302, Location: "/b"},
			{URL: srv.URL + "/b", Status: 302, Location: "/a"},
		}},
		{"to itself", "/self", []verify.Hop{
			{URL: srv.URL + "/self", Status: 302, Location: "/self"},
		}},
		{"to itself with a fragment", "/frag", []verify.Hop{
			{URL: srv.URL + "/frag", Status: 302, Location: "/frag#section"},
		}},
		{"back to the second URL", "/x", []verify.Hop{
			{URL: srv.URL + "/x", Status: 302, Location: "/y"},
			{URL: srv.URL + "/y", Status: 302, Location: "/z"},
			{URL: srv.URL + "/z", Status: 302, Location: "/x?"},
			{URL: srv.URL + "/x?", Status: 302, Location: "/y"},
		}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			res, s := doFetch(t, srv.URL+tt.path, Options{})
			wantFailure(t, res, "redirect_loop")
			if !slices.Equal(res.Observed.Redirects, tt.wantHops) {
				t.Errorf("Redirects = %+v, want %+v", res.Observed.Redirects, tt.wantHops)
			}
			if s.calls != 0 {
				t.Errorf("sink called %d times, want 0", s.calls)
			}
		})
	}
}

func TestFetchRedirectBadLocation(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ftp":
			w.Header().Set("Location", "ftp://example.com/file")
		case "/unparsable":
			w.Header().Set("Location", "http://[::1")
		}
		w.WriteHeader(http.StatusFound)
		if r.URL.Path == "/nolocation" {
			io.WriteString(w, "a 302 without Location is final")
		}
	}))
	for _, tt := range []struct {
		path, wantReason string
	}{
		{"/ftp", "bad_url"},
		{"/unparsable", "protocol"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res, _ := doFetch(t, srv.URL+tt.path, Options{})
			wantFailure(t, res, tt.wantReason)
			if got := len(res.Observed.Redirects); got != 1 {
				t.Errorf("%d hops recorded, want 1", got)
			}
		})
	}
	t.Run("/nolocation", func(t *testing.T) {
		res, s := doFetch(t, srv.URL+"/nolocation", Options{})
		wantCaptured(t, res, s, []byte("a 302 without Location is final"))
		if got, want := res.Observed.Status, 302; got != want {
			t.Errorf("Status = %d, want %d", got, want)
		}
	})
}

func TestFetchChunked(t *testing.T) {
	parts := []string{"first part, ", "second part, ", strings.Repeat("third ", 1000)}
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range parts {
			io.WriteString(w, p)
			w.(http.Flusher).Flush()
			time.Sleep(5 * time.Millisecond)
		}
	}))
	res, s := doFetch(t, srv.URL, Options{})
	wantCaptured(t, res, s, []byte(strings.Join(parts, "")))
	if got := res.Observed.Headers["Transfer-Encoding"]; !slices.Equal(got, []string{"chunked"}) {
		t.Errorf("Headers[Transfer-Encoding] = %q, want [chunked]", got)
	}
	if got, ok := res.Observed.Headers["Content-Length"]; ok {
		t.Errorf("Headers[Content-Length] = %q, want none", got)
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zlibbed(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func deflated(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// encodedServer serves the given encoded bytes with a Content-Encoding header
// (when not empty) and an explicit Content-Length.
func encodedServer(t *testing.T, encoding string, encoded []byte) *httptest.Server {
	return newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(encoded)))
		w.Header().Set("Content-Type", "text/plain")
		w.Write(encoded)
	}))
}

func TestFetchContentEncoding(t *testing.T) {
	doc := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200))
	gz := gzipped(t, doc)
	for _, tt := range []struct {
		desc       string
		encoding   string
		encoded    []byte
		want       []byte
		wantReason string
	}{
		{desc: "gzip", encoding: "gzip", encoded: gz, want: doc},
		{desc: "x-gzip", encoding: "x-gzip", encoded: gz, want: doc},
		{desc: "upper case", encoding: "GZIP", encoded: gz, want: doc},
		{desc: "deflate as zlib", encoding: "deflate", encoded: zlibbed(t, doc), want: doc},
		{desc: "deflate as raw deflate", encoding: "deflate", encoded: deflated(t, doc), want: doc},
		{desc: "gzip then deflate", encoding: "gzip, deflate", encoded: zlibbed(t, gz), want: doc},
		{desc: "identity", encoding: "identity", encoded: doc, want: doc},
		{desc: "none", encoded: doc, want: doc},
		{desc: "empty gzip body", encoding: "gzip", encoded: nil, want: nil},
		{desc: "unknown coding", encoding: "br", encoded: doc, wantReason: "protocol"},
		{desc: "unknown among known", encoding: "gzip, zstd", encoded: doc, wantReason: "protocol"},
		{desc: "four codings", encoding: "gzip, gzip, gzip, gzip", encoded: doc, wantReason: "protocol"},
		{desc: "not gzip", encoding: "gzip", encoded: doc, wantReason: "protocol"},
		{desc: "truncated gzip", encoding: "gzip", encoded: gz[:len(gz)/2], wantReason: "protocol"},
		{desc: "corrupt gzip checksum", encoding: "gzip", encoded: corruptTrailer(gz), wantReason: "protocol"},
		{desc: "corrupt zlib", encoding: "deflate", encoded: corruptTrailer(zlibbed(t, doc)), wantReason: "protocol"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			srv := encodedServer(t, tt.encoding, tt.encoded)
			res, s := doFetch(t, srv.URL, Options{})
			if tt.wantReason != "" {
				wantFailure(t, res, tt.wantReason)
			} else {
				wantCaptured(t, res, s, tt.want)
			}
			// The headers are as received, whatever the outcome.
			h := res.Observed.Headers
			if tt.encoding != "" {
				if got := h["Content-Encoding"]; !slices.Equal(got, []string{tt.encoding}) {
					t.Errorf("Headers[Content-Encoding] = %q, want [%s]", got, tt.encoding)
				}
			}
			if got, want := h["Content-Length"], []string{strconv.Itoa(len(tt.encoded))}; !slices.Equal(got, want) {
				t.Errorf("Headers[Content-Length] = %q, want %q", got, want)
			}
			if got, want := res.Observed.Status, 200; got != want {
				t.Errorf("Status = %d, want %d", got, want)
			}
		})
	}
}

// corruptTrailer flips a bit in the last byte, part of the checksum.
func corruptTrailer(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)-1] ^= 1
	return b
}

func TestFetchBodyLimit(t *testing.T) {
	body4k := bytes.Repeat([]byte("0123456789abcdef"), 256)
	bomb := gzipped(t, make([]byte, 8<<20))
	for _, tt := range []struct {
		desc     string
		encoding string
		body     []byte
		limit    int64
		wantOK   bool
	}{
		{desc: "4 KiB over 1 KiB", body: body4k, limit: 1024},
		{desc: "exactly at the limit", body: body4k, limit: 4096, wantOK: true},
		{desc: "one byte over", body: body4k, limit: 4095},
		{desc: "gzip decoding over the limit", encoding: "gzip", body: bomb, limit: 1 << 20},
		{desc: "gzip decoding under the limit", encoding: "gzip", body: gzipped(t, body4k), limit: 4096, wantOK: true},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			if tt.encoding != "" && len(tt.body) > int(tt.limit) && !tt.wantOK {
				// The compressed bytes fit: only decoding exceeds the limit.
				t.Fatalf("test bug: %d compressed bytes are over the limit %d", len(tt.body), tt.limit)
			}
			srv := encodedServer(t, tt.encoding, tt.body)
			res, s := doFetch(t, srv.URL, Options{MaxBodyBytes: tt.limit})
			if tt.wantOK {
				want := body4k
				wantCaptured(t, res, s, want)
				return
			}
			wantFailure(t, res, "body_too_large")
			if want := strconv.FormatInt(tt.limit, 10) + " bytes"; !strings.Contains(res.Failure.Message, want) {
				t.Errorf("Failure.Message = %q, want it to state the limit %q", res.Failure.Message, want)
			}
			if got := int64(len(s.bytes())); got > tt.limit {
				t.Errorf("sink was given %d bytes, over the limit %d", got, tt.limit)
			}
			if got, want := res.Observed.Status, 200; got != want {
				t.Errorf("Status = %d, want %d", got, want)
			}
		})
	}
}

func TestLimitReader(t *testing.T) {
	for _, tt := range []struct {
		size, limit int64
		wantErr     bool
	}{
		{0, 1, false},
		{0, 0, false},
		{1, 0, true},
		{10, 10, false},
		{11, 10, true},
		{100000, 99999, true},
		{5, 1<<63 - 1, false},
	} {
		t.Run(fmt.Sprintf("%d/%d", tt.size, tt.limit), func(t *testing.T) {
			l := &limitReader{r: io.LimitReader(zeros{}, tt.size), limit: tt.limit}
			n, err := io.Copy(io.Discard, l)
			if got := errors.Is(err, ErrBodyTooLarge); got != tt.wantErr {
				t.Fatalf("err = %v, want ErrBodyTooLarge: %v", err, tt.wantErr)
			}
			if tt.wantErr && n != tt.limit {
				t.Errorf("read %d bytes before the error, want the limit %d", n, tt.limit)
			}
			if !tt.wantErr && n != tt.size {
				t.Errorf("read %d bytes, want %d", n, tt.size)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stall-body" {
			w.Header().Set("Content-Length", "1000")
			io.WriteString(w, "the first bytes")
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for handlers

	const timeout = 200 * time.Millisecond
	for _, tt := range []struct {
		path       string
		wantStatus int
	}{
		{"/slow-headers", 0},
		{"/stall-body", 200},
	} {
		t.Run(tt.path, func(t *testing.T) {
			start := time.Now()
			res, _ := doFetch(t, srv.URL+tt.path, Options{Timeout: timeout})
			elapsed := time.Since(start)
			wantFailure(t, res, "timeout")
			if elapsed < timeout || elapsed > 2*time.Second {
				t.Errorf("Fetch took %v, want between %v and 2s", elapsed, timeout)
			}
			if d := res.Observed.DurationMS; d < timeout.Milliseconds() || d > 2000 {
				t.Errorf("DurationMS = %d, want between %d and 2000", d, timeout.Milliseconds())
			}
			if got := res.Observed.Status; got != tt.wantStatus {
				t.Errorf("Status = %d, want %d", got, tt.wantStatus)
			}
			if !strings.Contains(res.Failure.Message, "200ms") {
				t.Errorf("Failure.Message = %q, want it to state the timeout", res.Failure.Message)
			}
		})
	}

	t.Run("ctx deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		s := &recordingSink{}
		res := Fetch(ctx, srv.URL+"/slow-headers", Options{}, s.sink)
		wantFailure(t, res, "timeout")
	})
	t.Run("ctx canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		s := &recordingSink{}
		res := Fetch(ctx, srv.URL+"/slow-headers", Options{}, s.sink)
		wantFailure(t, res, "other")
		if !strings.Contains(res.Failure.Message, "canceled") {
			t.Errorf("Failure.Message = %q, want it to say canceled", res.Failure.Message)
		}
	})
}

// rawServer accepts TCP connections on 127.0.0.1 and hands each, after
// reading one request, to handle. It returns the base URL.
func rawServer(t *testing.T, handle func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				handle(c.(*net.TCPConn))
			})
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

func reset(c *net.TCPConn) {
	c.SetLinger(0) // Close sends RST instead of FIN
	c.Close()
}

func TestFetchConnectionReset(t *testing.T) {
	for _, tt := range []struct {
		desc       string
		handle     func(c *net.TCPConn)
		wantStatus int
	}{
		{"reset before the response", reset, 0},
		{"reset in the body", func(c *net.TCPConn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes")
			time.Sleep(50 * time.Millisecond) // let the headers be read
			reset(c)
		}, 200},
		{"closed before the response", func(c *net.TCPConn) { c.Close() }, 0},
		{"closed in the body", func(c *net.TCPConn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes")
			c.Close()
		}, 200},
		{"closed in a chunked body", func(c *net.TCPConn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
			c.Close()
		}, 200},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			url := rawServer(t, tt.handle)
			res, _ := doFetch(t, url, Options{Timeout: 5 * time.Second})
			wantFailure(t, res, "connection_reset")
			if got := res.Observed.Status; got != tt.wantStatus {
				t.Errorf("Status = %d, want %d", got, tt.wantStatus)
			}
			if tt.wantStatus != 0 {
				if got, want := res.Observed.PeerAddress, strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"); got != want {
					t.Errorf("PeerAddress = %q, want %q", got, want)
				}
			}
		})
	}
}

func TestFetchMalformedResponse(t *testing.T) {
	url := rawServer(t, func(c *net.TCPConn) {
		io.WriteString(c, "this is not HTTP\r\n\r\n")
	})
	res, _ := doFetch(t, url, Options{Timeout: 5 * time.Second})
	// net/http reports a malformed response with an untyped error.
	wantFailure(t, res, "other")
}

func TestFetchConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res, _ := doFetch(t, "http://"+addr+"/", Options{Timeout: 5 * time.Second})
	wantFailure(t, res, "connect")
	if got, want := res.Observed.FinalURL, "http://"+addr+"/"; got != want {
		t.Errorf("FinalURL = %q, want %q", got, want)
	}
	if res.Observed.PeerAddress != "" || res.Observed.Status != 0 {
		t.Errorf("PeerAddress, Status = %q, %d, want \"\", 0", res.Observed.PeerAddress, res.Observed.Status)
	}
}

func TestFetchControlRefuses(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	refused := errors.New("address refused by policy")
	var (
		mu   sync.Mutex
		seen []string
	)
	control := func(network, address string, _ syscall.RawConn) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, network+" "+address)
		return refused
	}
	res, _ := doFetch(t, srv.URL, Options{Control: control})
	wantFailure(t, res, "connect")
	if !strings.Contains(res.Failure.Message, refused.Error()) {
		t.Errorf("Failure.Message = %q, want it to contain %q", res.Failure.Message, refused)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "tcp4 " + srv.Listener.Addr().String(); !slices.Contains(seen, want) {
		t.Errorf("Control saw %q, want %q", seen, want)
	}
}

func tlsServer(t *testing.T, http2 bool, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = http2
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

func parseChain(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for len(b) > 0 {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			t.Fatalf("CertChainPEM has trailing data %.40q", b)
		}
		if blk.Type != "CERTIFICATE" {
			t.Fatalf("CertChainPEM has a %q block", blk.Type)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return certs
}

func TestFetchTLS(t *testing.T) {
	body := []byte("over TLS")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) })
	srv, pool := tlsServer(t, false, handler)
	srv2, pool2 := tlsServer(t, true, handler)
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) // not in the certificate

	for _, tt := range []struct {
		desc         string
		url          string
		opts         Options
		wantReason   string
		wantVerified bool
		wantProto    string
	}{
		{desc: "untrusted", url: srv.URL, wantReason: "tls"},
		{desc: "untrusted, insecure", url: srv.URL, opts: Options{InsecureSkipVerify: true}, wantProto: "HTTP/1.1"},
		{desc: "trusted", url: srv.URL, opts: Options{RootCAs: pool}, wantVerified: true, wantProto: "HTTP/1.1"},
		{desc: "trusted, insecure", url: srv.URL, opts: Options{RootCAs: pool, InsecureSkipVerify: true}, wantVerified: true, wantProto: "HTTP/1.1"},
		{desc: "wrong name", url: localhost, opts: Options{RootCAs: pool}, wantReason: "tls"},
		{desc: "wrong name, insecure", url: localhost, opts: Options{RootCAs: pool, InsecureSkipVerify: true}, wantProto: "HTTP/1.1"},
		{desc: "HTTP/2, trusted", url: srv2.URL, opts: Options{RootCAs: pool2}, wantVerified: true, wantProto: "HTTP/2.0"},
		{desc: "HTTP/2, untrusted", url: srv2.URL, wantReason: "tls"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			res, s := doFetch(t, tt.url+"/doc", tt.opts)
			if tt.wantReason != "" {
				wantFailure(t, res, tt.wantReason)
			} else {
				wantCaptured(t, res, s, body)
			}
			chain := parseChain(t, res.CertChainPEM)
			server := srv
			if strings.HasPrefix(tt.url, srv2.URL) {
				server = srv2
			}
			if len(chain) != 1 || !chain[0].Equal(server.Certificate()) {
				t.Fatalf("CertChainPEM holds %d certificates, want the server's one", len(chain))
			}
			st := res.Observed.TLS
			if st == nil {
				t.Fatal("Observed.TLS is nil")
			}
			if st.Verified != tt.wantVerified {
				t.Errorf("TLS.Verified = %v, want %v", st.Verified, tt.wantVerified)
			}
			if got, want := st.Certificates, 1; got != want {
				t.Errorf("TLS.Certificates = %d, want %d", got, want)
			}
			if got, want := st.LeafSubject, "O=Acme Co"; got != want {
				t.Errorf("TLS.LeafSubject = %q, want %q", got, want)
			}
			if st.CertificateChainSHA256 != "" {
				t.Errorf("TLS.CertificateChainSHA256 = %q, want it left empty", st.CertificateChainSHA256)
			}
			wantName := "" // no SNI for an IP address
			if tt.url == localhost {
				wantName = "localhost"
			}
			if st.ServerName != wantName {
				t.Errorf("TLS.ServerName = %q, want %q", st.ServerName, wantName)
			}
			if tt.wantReason != "" {
				if st.Version != "" || st.CipherSuite != "" {
					t.Errorf("TLS.Version, CipherSuite = %q, %q after a failed handshake, want empty", st.Version, st.CipherSuite)
				}
				return
			}
			if got, want := st.Version, "TLS 1.3"; got != want {
				t.Errorf("TLS.Version = %q, want %q", got, want)
			}
			if !strings.HasPrefix(st.CipherSuite, "TLS_") {
				t.Errorf("TLS.CipherSuite = %q, want a TLS_ name", st.CipherSuite)
			}
			if got := res.Observed.Protocol; got != tt.wantProto {
				t.Errorf("Protocol = %q, want %q", got, tt.wantProto)
			}
			if got, want := res.Observed.PeerAddress, server.Listener.Addr().String(); got != want {
				t.Errorf("PeerAddress = %q, want %q", got, want)
			}
		})
	}
}

func TestFetchTLSToPlainServer(t *testing.T) {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	res, _ := doFetch(t, strings.Replace(srv.URL, "http:", "https:", 1), Options{Timeout: 5 * time.Second})
	wantFailure(t, res, "tls")
	if res.CertChainPEM != nil {
		t.Errorf("CertChainPEM = %q, want nil", res.CertChainPEM)
	}
}

func TestFetchRedirectToTLS(t *testing.T) {
	tsrv, pool := tlsServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "secure")
	}))
	srv := newServer(t, http.RedirectHandler(tsrv.URL+"/s", http.StatusMovedPermanently))
	res, s := doFetch(t, srv.URL+"/p", Options{RootCAs: pool})
	wantCaptured(t, res, s, []byte("secure"))
	if res.Observed.TLS == nil || !res.Observed.TLS.Verified {
		t.Errorf("Observed.TLS = %+v, want the final connection's, verified", res.Observed.TLS)
	}
	if got, want := res.Observed.PeerAddress, tsrv.Listener.Addr().String(); got != want {
		t.Errorf("PeerAddress = %q, want the final server's %q", got, want)
	}
	if got, want := len(res.Observed.Redirects), 1; got != want {
		t.Errorf("%d hops, want %d", got, want)
	}

	// Untrusted at the end of a redirect: the hop stays recorded.
	res, _ = doFetch(t, srv.URL+"/p", Options{})
	wantFailure(t, res, "tls")
	if got, want := res.Observed.FinalURL, tsrv.URL+"/s"; got != want {
		t.Errorf("FinalURL = %q, want %q", got, want)
	}
	if got, want := len(res.Observed.Redirects), 1; got != want {
		t.Errorf("%d hops, want %d", got, want)
	}
	if len(res.CertChainPEM) == 0 {
		t.Error("CertChainPEM is empty")
	}
}

func TestFetchBadURL(t *testing.T) {
	for _, url := range []string{
		"ftp://example.com/file",
		"not a url",
		"",
		"mailto:someone@example.com",
		"http://",
		"https:///path",
		"http://:8080/",
		"http://[::1",
		"//example.com/",
		"/relative/path",
	} {
		t.Run(url, func(t *testing.T) {
			res, s := doFetch(t, url, Options{})
			wantFailure(t, res, "bad_url")
			if s.calls != 0 {
				t.Errorf("sink called %d times, want 0", s.calls)
			}
			if got := res.Observed.RequestedURL; got != url {
				t.Errorf("RequestedURL = %q, want %q", got, url)
			}
			if _, err := verify.ParseTime(res.Observed.StartedAt); err != nil {
				t.Errorf("StartedAt: %v", err)
			}
		})
	}
}

func TestFetchDNS(t *testing.T) {
	const host = "exhibit-test.invalid" // RFC 2606: never resolves
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		t.Skipf("the resolver answers %v for %s; not fetching from it", addrs, host)
	case !errors.As(err, &dnsErr) || dnsErr.IsTimeout:
		t.Skipf("no working DNS resolver: looking up %s: %v", host, err)
	}
	res, _ := doFetch(t, "http://"+host+"/", Options{Timeout: 10 * time.Second})
	wantFailure(t, res, "dns")
	if got, want := res.Observed.FinalURL, "http://"+host+"/"; got != want {
		t.Errorf("FinalURL = %q, want %q", got, want)
	}
}

func TestFetchSinkErrors(t *testing.T) {
	body := []byte("some body")
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	full := errors.New("disk full")
	for _, tt := range []struct {
		desc       string
		opts       Options
		sink       BodySink
		wantReason string
		wantMsg    string
	}{
		{
			desc: "sink fails",
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				io.Copy(io.Discard, r)
				return "", 0, fmt.Errorf("storing: %w", full)
			},
			wantReason: "other",
			wantMsg:    "disk full",
		},
		{
			desc: "sink wraps the read error",
			opts: Options{MaxBodyBytes: 4},
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				_, err := io.Copy(io.Discard, r)
				return "", 0, fmt.Errorf("storing: %w", err)
			},
			wantReason: "body_too_large",
		},
		{
			desc: "sink swallows the read error",
			opts: Options{MaxBodyBytes: 4},
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				n, _ := io.Copy(io.Discard, r)
				return sha256Hex(nil), n, nil
			},
			wantReason: "body_too_large",
		},
		{
			desc: "sink stops early",
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				b := make([]byte, 3)
				n, _ := io.ReadFull(r, b)
				return sha256Hex(b), int64(n), nil
			},
			wantReason: "other",
			wantMsg:    "before the end of the body",
		},
		{
			desc: "sink misreports the size",
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				n, _ := io.Copy(io.Discard, r)
				return sha256Hex(body), n + 1, nil
			},
			wantReason: "other",
			wantMsg:    "reported 10 bytes, but 9 were read",
		},
		{
			desc: "sink reads exactly the body",
			sink: func(ctx context.Context, r io.Reader) (string, int64, error) {
				b := make([]byte, len(body))
				n, err := io.ReadFull(r, b)
				return sha256Hex(b), int64(n), err
			},
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			res := Fetch(t.Context(), srv.URL, tt.opts, tt.sink)
			if tt.wantReason == "" {
				if res.Failure != nil {
					t.Fatalf("Failure = %+v, want nil", *res.Failure)
				}
				if got, want := res.SHA256, sha256Hex(body); got != want {
					t.Errorf("SHA256 = %s, want %s", got, want)
				}
				return
			}
			wantFailure(t, res, tt.wantReason)
			if !strings.Contains(res.Failure.Message, tt.wantMsg) {
				t.Errorf("Failure.Message = %q, want it to contain %q", res.Failure.Message, tt.wantMsg)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	ctx := t.Context()
	opErr := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	for i, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", ErrBodyTooLarge), "body_too_large"},
		{&failError{"redirect_loop", errors.New("loop")}, "redirect_loop"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{context.Canceled, "other"},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "dns"},
		{opErr("dial", &net.DNSError{Err: "no such host", IsNotFound: true}), "dns"},
		{opErr("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), "connect"},
		{opErr("dial", syscall.EHOSTUNREACH), "connect"},
		{opErr("dial", syscall.ENETUNREACH), "connect"},
		{opErr("read", syscall.ECONNRESET), "connection_reset"},
		{opErr("write", syscall.EPIPE), "connection_reset"},
		{io.ErrUnexpectedEOF, "connection_reset"},
		{x509.UnknownAuthorityError{}, "tls"},
		{x509.HostnameError{Host: "x"}, "tls"},
		{opErr("remote error", errors.New("tls: bad certificate")), "tls"},
		{&contentError{codings: []string{"gzip"}, err: errors.New("bad")}, "protocol"},
		{errors.New("something else"), "other"},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, tt.want), func(t *testing.T) {
			if got := classify(ctx, tt.err, nil); got != tt.want {
				t.Errorf("classify(%#v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if got := classify(ctx, errors.New("tls: some untyped handshake error"), errors.New("handshake")); got != "tls" {
		t.Errorf("classify with a failed handshake = %q, want tls", got)
	}
}

func TestIsZlibHeader(t *testing.T) {
	doc := []byte("hello, hello, hello")
	if !isZlibHeader(zlibbed(t, doc)) {
		t.Error("a zlib stream is not recognised")
	}
	for level := flate.HuffmanOnly; level <= flate.BestCompression; level++ {
		var buf bytes.Buffer
		zw, _ := flate.NewWriter(&buf, level)
		zw.Write(doc)
		zw.Close()
		if isZlibHeader(buf.Bytes()) {
			t.Errorf("raw deflate at level %d looks like zlib: % x", level, buf.Bytes()[:2])
		}
	}
}
