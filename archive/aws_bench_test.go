package archive_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/ledger"
)

// BenchmarkAWSFrontends measures records/s into an archive whose log is on
// Tessera's storage/aws driver (versitygw and MariaDB on loopback), in one
// run: raw appends of entries the size of exhibit's (no statement signing,
// no snapshot, no index) through the same driver, then 1 KiB documents
// uploaded through one frontend, then through three frontends (three
// archives opened for writing in this process, as three machines would
// open it), with the same number of records in flight in all. Each reports
// records/s; the ratios to raw are what matter (target: one frontend at
// least 0.5x raw, three not slower than one). EXHIBIT_BENCH_AWS_DOCS sets
// the records per run [1000], EXHIBIT_BENCH_AWS_INFLIGHT those in flight
// [256], EXHIBIT_BENCH_AWS_ROUNDS how many times the three are run in
// turn [1]: the ratios logged are of the medians, and three to one by
// round.
func BenchmarkAWSFrontends(b *testing.B) {
	n := benchEnv(b, "EXHIBIT_BENCH_AWS_DOCS", 1000)
	inflight := benchEnv(b, "EXHIBIT_BENCH_AWS_INFLIGHT", 256)
	// versitygw closes every connection after one request unless told
	// to keep it (--keep-alive, or VGW_KEEP_ALIVE, which s3test sets to
	// true unless it is set); Amazon S3, and versitygw as
	// docs/DEPLOYMENT.md runs it, keep them. Measure the frontends, not a
	// TCP handshake per S3 request. EXHIBIT_BENCH_AWS_CLOSE=1 measures
	// with a connection per request.
	if os.Getenv("EXHIBIT_BENCH_AWS_CLOSE") != "" {
		b.Setenv("VGW_KEEP_ALIVE", "false")
	}
	// The machine's load drifts: the configurations are run in turn,
	// EXHIBIT_BENCH_AWS_ROUNDS times, and compared round by round.
	rounds := benchEnv(b, "EXHIBIT_BENCH_AWS_ROUNDS", 1)
	rates := map[string][]float64{}
	for range rounds {
		benchAWSRound(b, n, inflight, rates)
	}
	med := func(k string) float64 { return median(rates[k]) }
	var per []string
	for i := range min(len(rates["frontends=1"]), len(rates["frontends=3"])) {
		per = append(per, fmt.Sprintf("%.2f", rates["frontends=3"][i]/rates["frontends=1"][i]))
	}
	b.Logf("records/s, median of %d rounds: raw %.0f, 1 frontend %.0f (%.2fx raw), 3 frontends %.0f (%.2fx raw, %.2fx one); 3/1 by round: %v",
		rounds, med("raw"), med("frontends=1"), med("frontends=1")/med("raw"), med("frontends=3"), med("frontends=3")/med("raw"), med("frontends=3")/med("frontends=1"), per)
}

// median returns the median of xs (the mean of the middle two for an
// even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchAWSRound runs the raw driver, one frontend and three, once each,
// and appends their records/s to rates.
func benchAWSRound(b *testing.B, n, inflight int, rates map[string][]float64) {
	b.Run("raw", func(b *testing.B) {
		_, db, g := archivetest.AWS(b, "bench.test/log")
		bucket := g.NewBucket(b, false)
		c := ledger.AWS{
			Bucket: bucket.Bucket, Prefix: "raw/", Endpoint: g.Endpoint,
			AccessKey: g.AccessKey, SecretKey: g.SecretKey,
			DB: db.Config(db.NewDatabase(b)),
		}
		pem, _ := ledger.GenerateKey()
		s, err := ledger.NewSigner(pem, "raw.test/log")
		if err != nil {
			b.Fatal(err)
		}
		w, err := ledger.OpenAWSWriter(b.Context(), c, s, ledger.Config{Keeper: ledger.NewCheckpoints(b.TempDir())})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close(context.Background())
		for range b.N {
			entries := make([][]byte, n)
			for i := range entries {
				entries[i] = make([]byte, 1800) // a 1 KiB upload's DSSE entry
				rand.Read(entries[i])
			}
			rates["raw"] = append(rates["raw"], run(b, n, inflight, func(i int) error {
				_, _, err := w.Append(b.Context(), entries[i])
				return err
			}))
		}
	})
	for _, fronts := range []int{1, 3} {
		name := fmt.Sprintf("frontends=%d", fronts)
		b.Run(name, func(b *testing.B) {
			o, _, _ := archivetest.AWS(b, "bench.test/log")
			first := filepath.Join(b.TempDir(), "archive")
			if _, err := archive.Init(b.Context(), first, o); err != nil {
				b.Fatal(err)
			}
			var as []*archive.Archive
			for i := range fronts {
				d := first
				if i > 0 {
					d = archivetest.Join(b, first)
				}
				as = append(as, archivetest.Open(b, d, archive.OpenOptions{Write: true}))
			}
			docs := b.TempDir()
			for it := range b.N {
				paths := make([]string, n)
				for i := range paths {
					paths[i] = filepath.Join(docs, fmt.Sprintf("%d-%d.html", it, i))
					doc := make([]byte, 1024)
					copy(doc, fmt.Sprintf("<html>document %d %d</html>", it, i))
					os.WriteFile(paths[i], doc, 0o644)
				}
				rates[name] = append(rates[name], run(b, n, inflight, func(i int) error {
					_, err := ingest.New(as[i%fronts]).File(b.Context(), paths[i], ingest.FileOptions{})
					return err
				}))
			}
		})
	}
}

// run does f(0..n-1), inflight at once, and reports and returns records/s.
func run(b *testing.B, n, inflight int, f func(i int) error) float64 {
	b.Helper()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range inflight {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				if err := f(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(rate, "records/s")
	return rate
}

func benchEnv(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}
