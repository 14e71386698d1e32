package archive_test

import (
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/verify"
)

// BenchmarkTrustedCapture measures, in one run, the latency of a capture
// (an upload of a small file) until it is acknowledged: into an
// archive with three local omniwitness witnesses (2 of 3, fail closed) and
// a local timestamp-server, so that the bundle is witnessed and
// time-stamped, against the same capture into a plain archive. Captures
// alternate between the two archives, each after an idle gap longer than
// the checkpoint interval, so that neither waits on the other's timing.
// Each capture's bundle is then made (not timed). A capture whose token
// the TSA did not give in time (bundle "pending") is
// counted in tsa-pending; any other bundle that does not verify fails the
// benchmark. Every trusted bundle is verified
// with the policy and the TSA roots (not timed). Reports p50 and p99 in
// ms of each; target: trusted p99 < 2000 ms. EXHIBIT_BENCH_TRUST_CAPTURES
// sets the captures per archive [100]. Run with -benchtime 1x.
func BenchmarkTrustedCapture(b *testing.B) {
	n := envInt(b, "EXHIBIT_BENCH_TRUST_CAPTURES", 100)
	tr := archivetest.NewTrusted(b, archivetest.TrustOptions{TSA: true})
	plain := archivetest.New(b, archive.InitOptions{Origin: "plain.example/log"})

	for range b.N {
		var tPlain, tTrusted []time.Duration
		unverified, pending := 0, 0
		var firstFailure string
		for range n {
			for _, x := range []*archive.Archive{plain, tr.A} {
				// Each capture finds its archive idle, past the
				// checkpoint interval, as a lone capture does.
				time.Sleep(idleGap)
				start := time.Now()
				rec, err := archivetest.UploadErr(b, x)
				d := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				archivetest.Bundle(b, x, rec)
				if x == plain {
					tPlain = append(tPlain, d)
					continue
				}
				tTrusted = append(tTrusted, d)
				bun, rep := tr.Check(b, rec)
				switch {
				case bun.TimestampStatus == verify.TimestampPending:
					pending++ // the TSA did not answer within TSATimeout
				case !rep.Verified:
					unverified++
					if f := rep.Failed(); firstFailure == "" {
						firstFailure = f.Name + ": " + f.Detail
					}
				}
			}
		}
		if unverified > 0 {
			b.Errorf("%d of %d witnessed, time-stamped bundles do not verify; the first: %s", unverified, n, firstFailure)
		}
		b.ReportMetric(float64(pending), "tsa-pending")
		b.ReportMetric(percentileMS(tPlain, 50), "plain-p50-ms")
		b.ReportMetric(percentileMS(tPlain, 99), "plain-p99-ms")
		b.ReportMetric(percentileMS(tTrusted, 50), "trusted-p50-ms")
		b.ReportMetric(percentileMS(tTrusted, 99), "trusted-p99-ms")
	}
}

// idleGap is longer than the default checkpoint interval (100 ms).
const idleGap = 150 * time.Millisecond

// percentileMS returns the p-th percentile of ds (nearest rank), in ms.
func percentileMS(ds []time.Duration, p int) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	return float64(s[i-1].Microseconds()) / 1000
}

// envInt reads a positive integer from the environment, or def.
func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
