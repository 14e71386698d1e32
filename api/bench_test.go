package api_test

// Speed benchmarks of the HTTP server, run by bench.sh section (9):
//
//	go test ./api -run '^$' -bench 'BenchmarkServe' -benchtime=1x
//
// Each builds its archive once (outside the timer) and then drives a fixed
// load through many concurrent clients on loopback, reporting rates
// (req/s, captures/s) and latencies (p50-ms, p99-ms) as custom metrics.
// With -benchtime=Nx the load is run N times.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/transparency-dev/tessera/api/layout"
)

const (
	benchReaders    = 64    // concurrent clients of the read benchmarks
	benchRequests   = 20000 // requests per read load
	benchWriters    = 50    // concurrent clients of BenchmarkServeCapture
	benchPerWriter  = 10    // captures per writer
	benchWarmupReqs = 1000  // untimed requests before each read load
)

// benchArchive builds a read-only archive of recs captured files (the
// shared archivetest.SmallLog, closed and reopened read-only) for a
// benchmark.
func benchArchive(b *testing.B, recs int) (*archive.Archive, []*record.Record) {
	b.Helper()
	w, out, _ := archivetest.SmallLog(b, recs)
	return archivetest.Reopen(b, w, archive.OpenOptions{}), out
}

// benchClient is a client for conc concurrent goroutines to one host,
// keeping every connection alive. It uses Go's default transport settings
// otherwise (so it asks for gzip) unless identity is set.
func benchClient(conc int, identity bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2 * conc
	tr.MaxIdleConnsPerHost = 2 * conc
	tr.DisableCompression = identity
	return &http.Client{Transport: tr}
}

// load sends total GETs from conc goroutines, the i-th to paths[i %
// len(paths)], reading every body to the end, and returns the rate. Any
// status but 200 fails the benchmark.
func load(b *testing.B, c *http.Client, base string, paths []string, conc, total int) float64 {
	b.Helper()
	var next, bad atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(total) {
					return
				}
				resp, err := c.Get(base + paths[int(i)%len(paths)])
				if err != nil {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					bad.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: status %d, %v", paths[int(i)%len(paths)], resp.StatusCode, err))
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if n := bad.Load(); n > 0 {
		b.Fatalf("%d of %d requests failed; first: %v", n, total, firstErr.Load())
	}
	return float64(total) / el.Seconds()
}

// runLoad runs the fixed read load b.N times after a warm-up and reports
// req/s.
func runLoad(b *testing.B, c *http.Client, base string, paths []string) {
	load(b, c, base, paths, benchReaders, benchWarmupReqs)
	b.ResetTimer()
	var sum float64
	for range b.N {
		sum += load(b, c, base, paths, benchReaders, benchRequests)
	}
	b.StopTimer()
	b.ReportMetric(sum/float64(b.N), "req/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkServeTile compares GET of a full tile from exhibit with Go's
// http.FileServer serving the same log directory, the baseline measured
// first in the same run. "exhibit" uses Go's default client (which asks for
// gzip, and exhibit compresses each tile it serves); "exhibit-identity"
// asks for no compression, like the file server's answers.
func BenchmarkServeTile(b *testing.B) {
	a, recs := benchArchive(b, 260) // 260 > 256: tile 0 of every level 0 file is full
	paths := []string{"/" + layout.TilePath(0, 0, 0), "/" + layout.EntriesPath(0, 0)}
	if len(recs) < layout.TileWidth {
		b.Fatalf("%d records: no full tile", len(recs))
	}
	fsrv := httptest.NewServer(http.FileServer(http.Dir(a.Ledger().Dir())))
	defer fsrv.Close()
	esrv := httptest.NewServer(api.New(a, api.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer esrv.Close()
	for _, p := range paths {
		want, err := os.ReadFile(filepath.Join(a.Ledger().Dir(), filepath.FromSlash(p[1:])))
		if err != nil {
			b.Fatal(err)
		}
		for _, base := range []string{fsrv.URL, esrv.URL} {
			resp, err := benchClient(1, false).Get(base + p)
			if err != nil {
				b.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
				b.Fatalf("%s%s: status %d, %d bytes, want the %d stored", base, p, resp.StatusCode, len(got), len(want))
			}
		}
	}
	b.Run("fileserver", func(b *testing.B) { runLoad(b, benchClient(benchReaders, false), fsrv.URL, paths[:1]) })
	b.Run("exhibit", func(b *testing.B) { runLoad(b, benchClient(benchReaders, false), esrv.URL, paths[:1]) })
	b.Run("exhibit-identity", func(b *testing.B) { runLoad(b, benchClient(benchReaders, true), esrv.URL, paths[:1]) })
}

// BenchmarkServeRecord measures GET /api/v1/records/{id}, cycling through
// every record.
func BenchmarkServeRecord(b *testing.B) {
	a, recs := benchArchive(b, 260)
	srv := httptest.NewServer(api.New(a, api.Options{Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	paths := make([]string, len(recs))
	for i, r := range recs {
		paths[i] = "/api/v1/records/" + r.ID
	}
	runLoad(b, benchClient(benchReaders, false), srv.URL, paths)
}

// BenchmarkServeCapture measures POST /api/v1/captures of distinct loopback
// URLs from 50 concurrent clients: the time from sending each request to
// having read its answer (the record and its bundle), each bundle then
// checked with verify.Check outside the timing. MaxCaptures is set to the
// number of clients and the rate limit is off, so no request is refused;
// a 503 would be retried after its Retry-After and counted in its time.
func BenchmarkServeCapture(b *testing.B) {
	a := archivetest.New(b, archive.InitOptions{Origin: "bench.example/log"})
	tokens := api.NewTokens(a.Dir())
	_, token, err := tokens.Create("bench", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body>Terms of service at %s</body></html>\n", r.URL.Path)
	}))
	defer pages.Close()
	srv := httptest.NewServer(api.New(a, api.Options{
		Logger: slog.New(slog.DiscardHandler), Tokens: tokens, AllowPrivateTargets: true,
		RateLimit: -1, MaxCaptures: benchWriters, MaxPerToken: -1, TempDir: b.TempDir(),
	}))
	defer srv.Close()
	c := benchClient(benchWriters, false)

	type result struct {
		d       time.Duration
		body    []byte
		url     string
		retries int
		err     error
	}
	capture := func(u string) result {
		body, _ := json.Marshal(map[string]string{"url": u, "entity": "Example", "document": "Terms"})
		res := result{url: u}
		start := time.Now()
		for {
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/captures", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := c.Do(req)
			if err != nil {
				res.err = err
				return res
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				res.retries++
				time.Sleep(time.Second)
				continue
			}
			res.d = time.Since(start)
			if err == nil && resp.StatusCode != http.StatusCreated {
				err = fmt.Errorf("status %d: %s", resp.StatusCode, data)
			}
			res.body, res.err = data, err
			return res
		}
	}

	// Warm-up: one capture, so the log and the client's connection exist.
	if r := capture(pages.URL + "/warmup"); r.err != nil {
		b.Fatal(r.err)
	}
	b.ResetTimer()
	var all []time.Duration
	var elapsed time.Duration
	retries := 0
	for round := range b.N {
		results := make([]result, benchWriters*benchPerWriter)
		var wg sync.WaitGroup
		start := time.Now()
		for w := range benchWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range benchPerWriter {
					k := w*benchPerWriter + i
					results[k] = capture(fmt.Sprintf("%s/r%d/c%d/terms", pages.URL, round, k))
				}
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
		b.StopTimer()
		for _, r := range results {
			if r.err != nil {
				b.Fatalf("%s: %v", r.url, r.err)
			}
			var res api.WriteResult
			if err := json.Unmarshal(r.body, &res); err != nil {
				b.Fatalf("%s: %v", r.url, err)
			}
			if res.Record.Outcome != "captured" || res.Record.URL != r.url {
				b.Fatalf("%s: record %+v", r.url, res.Record)
			}
			snap := fmt.Sprintf("<html><body>Terms of service at %s</body></html>\n", strings.TrimPrefix(r.url, pages.URL))
			rep := verify.Check(res.Bundle, a.Key(), verify.Options{RecordID: res.Record.ID, Snapshot: strings.NewReader(snap)})
			if !rep.Verified {
				b.Fatalf("%s: bundle does not verify: %+v", r.url, rep)
			}
			all = append(all, r.d)
			retries += r.retries
		}
		b.StartTimer()
	}
	b.StopTimer()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p int) float64 {
		k := (len(all)*p + 99) / 100 // nearest rank
		return float64(all[max(k, 1)-1]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(99), "p99-ms")
	b.ReportMetric(float64(all[len(all)-1])/float64(time.Millisecond), "max-ms")
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "captures/s")
	b.ReportMetric(float64(retries), "retries")
	b.ReportMetric(0, "ns/op")
}
