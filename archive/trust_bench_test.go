package archive_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
)

// BenchmarkTrustedCapture measures, in one run, the latency of a capture
// (an upload of a small file) until its bundle file is written: into an
// archive with three local omniwitness witnesses (2 of 3, fail closed) and
// a local timestamp-server, so that the bundle is witnessed and
// time-stamped, against the same capture into a plain archive. Captures
// alternate between the two archives, each after an idle gap longer than
// the checkpoint interval, so that neither waits on the other's timing.
// A capture whose token the TSA did not give in time (bundle "pending") is
// counted in tsa-pending; any other bundle that does not verify fails the
// benchmark. Every trusted bundle is verified
// with the policy and the TSA roots (not timed). Reports p50 and p99 in
// ms of each; target: trusted p99 < 2000 ms. EXHIBIT_BENCH_TRUST_CAPTURES
// sets the captures per archive [100]. Run with -benchtime 1x.
func BenchmarkTrustedCapture(b *testing.B) {
	n := envInt(b, "EXHIBIT_BENCH_TRUST_CAPTURES", 100)
	tr := newTrusted(b, false, true)
	ctx := context.Background()
	plainDir := filepath.Join(b.TempDir(), "plain")
	if _, err := archive.Init(ctx, plainDir, archive.InitOptions{Origin: "plain.example/log"}); err != nil {
		b.Fatal(err)
	}
	plain, err := archive.Open(ctx, plainDir, archive.OpenOptions{Write: true})
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close(ctx)
	plainTr := &trusted{a: plain}

	for range b.N {
		var tPlain, tTrusted []time.Duration
		unverified, pending := 0, 0
		var firstFailure string
		for range n {
			for _, x := range []*trusted{plainTr, tr} {
				// Each capture finds its archive idle, past the
				// checkpoint interval, as a lone capture does.
				time.Sleep(idleGap)
				start := time.Now()
				rec, err := x.capture(b)
				d := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := os.Stat(rec.Bundle); err != nil {
					b.Fatal(err)
				}
				if x == plainTr {
					tPlain = append(tPlain, d)
					continue
				}
				tTrusted = append(tTrusted, d)
				bun, rep := tr.check(b, rec)
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
