package extract

import (
	"bytes"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

type benchInput struct {
	body  []byte
	rules Rules
}

// loadBenchCorpus reads every corpus snapshot into memory with its rules.
func loadBenchCorpus(b *testing.B) (in []benchInput, total int64) {
	b.Helper()
	for _, d := range loadCorpus(b) {
		for _, s := range d.snapshots {
			body := readSnapshot(b, s)
			in = append(in, benchInput{body, d.decl.rules()})
			total += int64(len(body))
		}
	}
	return in, total
}

func extractAll(b *testing.B, in []benchInput) {
	for _, x := range in {
		if _, err := Extract(x.body, "text/html; charset=utf-8", x.rules); err != nil && reason(err) != ReasonNoMatch {
			b.Fatal(err)
		}
	}
}

func parseAll(b *testing.B, in []benchInput) {
	for _, x := range in {
		if _, err := goquery.NewDocumentFromReader(bytes.NewReader(x.body)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExtractCorpus extracts every corpus snapshot with its declared
// rules; MB/s is snapshot bytes per second.
func BenchmarkExtractCorpus(b *testing.B) {
	in, total := loadBenchCorpus(b)
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		extractAll(b, in)
	}
}

// BenchmarkGoqueryParseCorpus only parses every corpus snapshot with
// goquery.NewDocumentFromReader: the floor Extract is compared with.
func BenchmarkGoqueryParseCorpus(b *testing.B) {
	in, total := loadBenchCorpus(b)
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		parseAll(b, in)
	}
}

// BenchmarkExtractVsParse runs both in the same iteration and reports
// throughput-ratio, Extract's throughput as a fraction of goquery parsing
// alone (target >= 0.5).
func BenchmarkExtractVsParse(b *testing.B) {
	in, total := loadBenchCorpus(b)
	b.SetBytes(2 * total)
	var extract, parse time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		parseAll(b, in)
		t1 := time.Now()
		extractAll(b, in)
		parse += t1.Sub(t0)
		extract += time.Since(t1)
	}
	b.ReportMetric(parse.Seconds()/extract.Seconds(), "throughput-ratio")
	b.ReportMetric(float64(total)*float64(b.N)/extract.Seconds()/1e6, "extract-MB/s")
	b.ReportMetric(float64(total)*float64(b.N)/parse.Seconds()/1e6, "parse-MB/s")
}
