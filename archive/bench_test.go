package archive_test

// Speed benchmarks: exhibit's import path against the baselines it should be
// compared with. Run them all once with bench.sh at the repository root, or:
//
//	go test ./archive -run '^$' -bench . -benchtime=1x
//
// Each reports records/s; one iteration is a whole workload (2000 documents,
// or 3 copies of the corpus) into a fresh archive or log. Each baseline is
// declared, hence run, just before what it is compared with, because the
// speed of fsync on a shared virtual disk drifts over minutes. Environment:
//
//	EXHIBIT_BENCH_COPIES  distinct copies of the corpus per import (default 3)
//	EXHIBIT_BENCH_DOCS    synthetic 1 KiB documents per import (default 2000)
//	EXHIBIT_BENCH_CONC    comma-separated import concurrencies (default 32,64,128,256;
//	                      32 is archive.ImportOptions' default)

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/internal/benchutil"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/client"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// smallDocSize is the size of the synthetic documents.
const smallDocSize = 1024

// BenchmarkTesseraAppend is the baseline for BenchmarkImportSmall: raw
// appends to a Tessera POSIX log, with exhibit's batching and checkpoint
// settings (ledger.Config defaults) and pushback, of random entries the size
// of the DSSE entry exhibit writes for a 1 KiB document, each awaited until
// a checkpoint covers it, as many at once as the import may have in flight
// (its workers plus archive.MaxPublishing waiting for a checkpoint). Nothing
// but the checkpoints is signed.
func BenchmarkTesseraAppend(b *testing.B) {
	n := envInt(b, "EXHIBIT_BENCH_DOCS", 2000)
	size := exhibitEntrySize(b)
	entries := make([][]byte, n)
	for i := range entries {
		entries[i] = make([]byte, size)
		rand.Read(entries[i])
	}
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) { benchTessera(b, entries, c+archive.MaxPublishing) })
	}
}

// BenchmarkImportSmall imports distinct 1 KiB documents into a new archive
// through Archive.Import, the product path, at each concurrency.
func BenchmarkImportSmall(b *testing.B) {
	w, err := benchutil.SmallDocs(b.TempDir(), envInt(b, "EXHIBIT_BENCH_DOCS", 2000), smallDocSize)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) { benchImport(b, w, c) })
	}
}

// BenchmarkSequentialFsync is the baseline for BenchmarkImportCorpus: one
// loop over the same files that reads each, hashes it with SHA-256, writes
// it to a new file and fsyncs that file.
func BenchmarkSequentialFsync(b *testing.B) {
	w := corpusCopies(b)
	b.SetBytes(w.Bytes)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		out := b.TempDir()
		syscall.Sync()
		b.StartTimer()
		for i, p := range w.Files {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(data)
			f, err := os.Create(filepath.Join(out, fmt.Sprintf("%d-%x", i, sum[:8])))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		}
	}
	reportRate(b, len(w.Files))
}

// BenchmarkImportCorpus imports distinct copies of the real policy pages
// through Archive.Import, at each concurrency.
func BenchmarkImportCorpus(b *testing.B) {
	w := corpusCopies(b)
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) { benchImport(b, w, c) })
	}
}

// benchImport imports w into a new archive per iteration, with the given
// concurrency. The timer covers Import and Close (which flushes the log and
// marks the index), not Init or Open.
func benchImport(b *testing.B, w *benchutil.Workload, conc int) {
	ctx := context.Background()
	entries, err := archive.ReadManifest(w.Manifest)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(w.Bytes)
	var entryBytes int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "archive")
		if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "bench.example/exhibit"}); err != nil {
			b.Fatal(err)
		}
		a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
		if err != nil {
			b.Fatal(err)
		}
		var firstErr error
		syscall.Sync()
		b.StartTimer()
		sum, err := a.Import(ctx, entries, archive.ImportOptions{
			Concurrency: conc,
			OnRecord: func(e *archive.ManifestEntry, r *archive.Record, err error) {
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", e.File, err)
					}
					return
				}
				entryBytes += len(r.Entry)
			},
		})
		cerr := a.Close(ctx)
		b.StopTimer()
		if err != nil || cerr != nil || firstErr != nil {
			b.Fatalf("import: %v; close: %v; first failure: %v", err, cerr, firstErr)
		}
		if sum.Imported != len(entries) {
			b.Fatalf("imported %d of %d documents (skipped %d, failed %d)", sum.Imported, len(entries), sum.Skipped, sum.Failed)
		}
	}
	reportRate(b, len(entries))
	b.ReportMetric(float64(entryBytes)/float64(b.N*len(entries)), "entry-bytes")
}

// benchTessera appends entries to a new Tessera POSIX log per iteration from
// conc goroutines, each awaiting publication of its entry as ledger.Writer
// does. The timer covers the appends and the appender's shutdown.
func benchTessera(b *testing.B, entries [][]byte, conc int) {
	ctx := context.Background()
	skey, _, err := note.GenerateKey(rand.Reader, "bench.example/tessera")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "log")
		drv, err := posix.New(ctx, posix.Config{Path: dir})
		if err != nil {
			b.Fatal(err)
		}
		// The settings of ledger.OpenWriter with a zero ledger.Config.
		opts := tessera.NewAppendOptions().
			WithCheckpointSigner(signer).
			WithBatching(1024, 10*time.Millisecond).
			WithCheckpointInterval(100 * time.Millisecond).
			WithPushback(1 << 16)
		actx, cancel := context.WithCancel(ctx)
		app, shutdown, _, err := tessera.NewAppender(actx, drv, opts)
		if err != nil {
			b.Fatal(err)
		}
		aw := tessera.NewPublicationAwaiter(actx, client.FileFetcher{Root: dir}.ReadCheckpoint, 10*time.Millisecond)
		work := make(chan []byte)
		errs := make(chan error, conc)
		var wg sync.WaitGroup
		syscall.Sync()
		b.StartTimer()
		for range conc {
			wg.Go(func() {
				for e := range work {
					if _, _, err := aw.Await(actx, app.Add(actx, tessera.NewEntry(e))); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for _, e := range entries {
			work <- e
		}
		close(work)
		wg.Wait()
		err = shutdown(ctx)
		b.StopTimer()
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
	}
	reportRate(b, len(entries))
	b.ReportMetric(float64(len(entries[0])), "entry-bytes")
}

// exhibitEntrySize returns the size of the log entry (the DSSE envelope)
// exhibit writes when importing one synthetic 1 KiB document.
func exhibitEntrySize(b *testing.B) int {
	ctx := context.Background()
	w, err := benchutil.SmallDocs(b.TempDir(), 1, smallDocSize)
	if err != nil {
		b.Fatal(err)
	}
	entries, err := archive.ReadManifest(w.Manifest)
	if err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(b.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "bench.example/exhibit"}); err != nil {
		b.Fatal(err)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close(ctx)
	size := 0
	_, err = a.Import(ctx, entries, archive.ImportOptions{
		OnRecord: func(_ *archive.ManifestEntry, r *archive.Record, err error) {
			if err == nil {
				size = len(r.Entry)
			}
		},
	})
	if err != nil || size == 0 {
		b.Fatalf("importing one document to size its log entry: %v", err)
	}
	return size
}

// corpusCopies writes EXHIBIT_BENCH_COPIES distinct copies of the policy
// corpus to a temporary directory, and flushes them to disk. Without the
// corpus it skips the benchmark, or fails it when CI=true (corpusDir).
func corpusCopies(b *testing.B) *benchutil.Workload {
	manifest := filepath.Join(corpusDir(b), "manifest.jsonl")
	w, err := benchutil.CorpusCopies(manifest, b.TempDir(), envInt(b, "EXHIBIT_BENCH_COPIES", 3))
	if err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
	return w
}

// concurrencies returns the import concurrencies to try: EXHIBIT_BENCH_CONC,
// or archive.ImportOptions' default (32) and larger values.
func concurrencies(b *testing.B) []int {
	s := os.Getenv("EXHIBIT_BENCH_CONC")
	if s == "" {
		return []int{32, 64, 128, 256}
	}
	var cs []int
	for f := range strings.SplitSeq(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c <= 0 {
			b.Fatalf("EXHIBIT_BENCH_CONC=%q: want comma-separated positive integers", s)
		}
		cs = append(cs, c)
	}
	return cs
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// reportRate reports records/s over the timed part of the benchmark.
func reportRate(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "records/s")
}
