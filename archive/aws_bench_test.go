package archive_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
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
// [256].
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
	rates := map[string]float64{}
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
			rates["raw"] = run(b, n, inflight, func(i int) error {
				_, _, err := w.Append(b.Context(), entries[i])
				return err
			})
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
					d = joinArchive(b, first)
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
				rates[name] = run(b, n, inflight, func(i int) error {
					_, err := ingest.New(as[i%fronts]).File(b.Context(), paths[i], ingest.FileOptions{})
					return err
				})
			}
		})
	}
	if raw := rates["raw"]; raw > 0 {
		b.Logf("records/s: raw %.0f, 1 frontend %.0f (%.2fx raw), 3 frontends %.0f (%.2fx raw, %.2fx one)",
			raw, rates["frontends=1"], rates["frontends=1"]/raw, rates["frontends=3"], rates["frontends=3"]/raw, rates["frontends=3"]/rates["frontends=1"])
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
