package ingest_test

// Speed benchmarks: exhibit's import path against the baselines it should be
// compared with. Run them all once with bench.sh at the repository root, or:
//
//	go test ./archive/ingest -run '^$' -bench . -benchtime=1x
//
// Each reports records/s; one iteration is a whole workload (2000 documents,
// or 3 copies of the corpus) into a fresh archive or log. Each baseline is
// declared, hence run, just before what it is compared with, because the
// speed of fsync on a shared virtual disk drifts over minutes.
//
// BenchmarkImportCorpusS3 and its baseline BenchmarkPutObjectLoop run
// versitygw on loopback (package s3test: skipped without it, failed under
// CI=true; VGW_KEEP_ALIVE=true in the environment lets it keep connections
// alive, which it does not by default). The corpus imports and the loop
// also report the CPU time per record of this process (client-cpu-ms/rec)
// and of versitygw (server-cpu-ms/rec), steadier than records/s when other
// work shares the machine's cores. Environment:
//
//	EXHIBIT_BENCH_COPIES  distinct copies of the corpus per import (default 3)
//	EXHIBIT_BENCH_DOCS    synthetic 1 KiB documents per import (default 2000)
//	EXHIBIT_BENCH_CONC    comma-separated import concurrencies (default 32,64,128,256;
//	                      32 is ingest.DefaultImportConcurrency)

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/internal/benchutil"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/minio/minio-go/v7"
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
// (its workers plus ingest.MaxPublishing waiting for a checkpoint). Nothing
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
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) { benchTessera(b, entries, c+ingest.MaxPublishing) })
	}
}

// BenchmarkCreateFiles is the bound of BenchmarkImportSmall that is not the
// log's: the rate at which the file system creates the files an import of
// the same 1 KiB documents must create, one per document, named by its
// SHA-256 in 256 shard directories, written from the import's concurrency
// of goroutines, then made durable by one syncfs at the end (the least an
// import's group commit can do). Nothing is read, signed or logged.
func BenchmarkCreateFiles(b *testing.B) {
	n := envInt(b, "EXHIBIT_BENCH_DOCS", 2000)
	doc := make([]byte, smallDocSize)
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				for i := range 256 {
					os.MkdirAll(filepath.Join(dir, fmt.Sprintf("%02x", i)), 0o755)
				}
				syscall.Sync()
				b.StartTimer()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range c {
					wg.Go(func() {
						for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
							sum := sha256.Sum256(fmt.Appendf(doc[:0:0], "%d", i))
							p := filepath.Join(dir, fmt.Sprintf("%02x", sum[0]), fmt.Sprintf("%x", sum))
							if err := os.WriteFile(p, doc, 0o444); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				f, err := os.Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				err = syscallSyncfs(f)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b, n)
		})
	}
}

// BenchmarkImportSmall imports distinct 1 KiB documents into a new archive
// through Ingester.Import, the product path, at each concurrency.
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
// through Ingester.Import, at each concurrency.
func BenchmarkImportCorpus(b *testing.B) {
	w := corpusCopies(b)
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) { benchImport(b, w, c) })
	}
}

// BenchmarkPutObjectLoop is the baseline for BenchmarkImportCorpusS3: one
// sequential loop over the same files that reads each, hashes it with
// SHA-256 (naming it by its digest, as the store does) and uploads it with a
// plain minio-go PutObject (default options) into a fresh bucket on a local
// versitygw, started as BenchmarkImportCorpusS3 starts its own.
func BenchmarkPutObjectLoop(b *testing.B) {
	w := corpusCopies(b)
	g := s3test.Start(b)
	client := g.Raw(b)
	cpu := &cpuMeter{server: gatewayPID(g)}
	ctx := context.Background()
	b.SetBytes(w.Bytes)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		bucket := benchBucket()
		if err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: "us-east-1"}); err != nil {
			b.Fatal(err)
		}
		syscall.Sync()
		b.StartTimer()
		cpu.start()
		for _, p := range w.Files {
			data, err := os.ReadFile(p)
			if err != nil {
				b.Fatal(err)
			}
			sum := sha256.Sum256(data)
			key := fmt.Sprintf("sha256/%x/%x", sum[:1], sum)
			if _, err := client.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		cpu.stop()
	}
	reportRate(b, len(w.Files))
	cpu.report(b, b.N*len(w.Files))
}

// BenchmarkImportCorpusS3 imports the same copies of the corpus as
// BenchmarkImportCorpus through Ingester.Import, at each concurrency, into an
// archive whose snapshots live in a fresh bucket of a local versitygw (the
// log and index stay in the archive directory).
func BenchmarkImportCorpusS3(b *testing.B) {
	w := corpusCopies(b)
	g := s3test.Start(b)
	b.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	b.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	pid := gatewayPID(g)
	for _, c := range concurrencies(b) {
		b.Run(fmt.Sprintf("conc=%d", c), func(b *testing.B) {
			benchImportTo(b, w, c, pid, func() archive.StoreConfig {
				return archive.StoreConfig{Type: "s3", Bucket: benchBucket(), Endpoint: g.Endpoint, PathStyle: true}
			})
		})
	}
}

// benchBuckets numbers the buckets benchBucket names.
var benchBuckets atomic.Int64

// benchBucket returns the name of a bucket not used before in this process.
func benchBucket() string {
	return fmt.Sprintf("exhibit-bench-%d", benchBuckets.Add(1))
}

// benchImport imports w into a new archive per iteration, with the given
// concurrency. The timer covers Import and Close (which flushes the log and
// indexes what is left), not Init or Open.
func benchImport(b *testing.B, w *benchutil.Workload, conc int) {
	benchImportTo(b, w, conc, 0, nil)
}

// benchImportTo is benchImport into an archive whose store, if newStore is
// not nil, is the one newStore returns for each iteration (Init creates its
// bucket, untimed), served by process serverPID (0 if none) whose
// CPU time it reports beside its own.
func benchImportTo(b *testing.B, w *benchutil.Workload, conc, serverPID int, newStore func() archive.StoreConfig) {
	ctx := context.Background()
	cpu := &cpuMeter{server: serverPID}
	entries, err := ingest.ReadManifest(w.Manifest)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(w.Bytes)
	var entryBytes int
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		opts := archive.InitOptions{Origin: "bench.example/exhibit"}
		if newStore != nil {
			opts.Store, opts.CreateBucket = newStore(), true
		}
		a := archivetest.Open(b, archivetest.Init(b, opts), archive.OpenOptions{Write: true})
		var firstErr error
		syscall.Sync()
		b.StartTimer()
		cpu.start()
		sum, err := ingest.New(a).Import(ctx, entries, ingest.ImportOptions{
			Concurrency: conc,
			OnResult: func(res ingest.ImportResult) {
				if res.Err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", res.Entry.File, res.Err)
					}
					return
				}
				entryBytes += len(res.Record.Entry)
			},
		})
		cerr := a.Close(ctx)
		cpu.stop()
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
	cpu.report(b, b.N*len(entries))
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
	entries, err := ingest.ReadManifest(w.Manifest)
	if err != nil {
		b.Fatal(err)
	}
	a := archivetest.New(b, archive.InitOptions{Origin: "bench.example/exhibit"})
	defer a.Close(ctx) // now, not when the benchmark ends: it must not run beside the baseline
	size := 0
	_, err = ingest.New(a).Import(ctx, entries, ingest.ImportOptions{
		OnResult: func(res ingest.ImportResult) {
			if res.Err == nil {
				size = len(res.Record.Entry)
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
// corpus it skips the benchmark, or fails it when CI=true
// (archivetest.Corpus).
func corpusCopies(b *testing.B) *benchutil.Workload {
	manifest := filepath.Join(archivetest.Corpus(b, "policies"), "manifest.jsonl")
	w, err := benchutil.CorpusCopies(manifest, b.TempDir(), envInt(b, "EXHIBIT_BENCH_COPIES", 3))
	if err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
	return w
}

// concurrencies returns the import concurrencies to try: EXHIBIT_BENCH_CONC,
// or ingest.DefaultImportConcurrency (32) and larger values.
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

// cpuMeter adds up the CPU time (user and system) that this process, and
// the server process if any, spend between start and stop. It is a steadier
// measure than records/s on a machine whose cores other work shares.
type cpuMeter struct {
	server       int // pid, or 0
	self, srv    time.Duration
	self0, srv0  time.Duration
	serverFailed bool
}

func (m *cpuMeter) start() {
	m.self0 = selfCPU()
	if m.server != 0 {
		m.srv0 = m.serverCPU()
	}
}

func (m *cpuMeter) stop() {
	m.self += selfCPU() - m.self0
	if m.server != 0 {
		m.srv += m.serverCPU() - m.srv0
	}
}

func (m *cpuMeter) serverCPU() time.Duration {
	d, err := procCPU(m.server)
	if err != nil {
		m.serverFailed = true
	}
	return d
}

// report reports the CPU milliseconds per record of this process
// (client-cpu-ms/rec) and of the server (server-cpu-ms/rec).
func (m *cpuMeter) report(b *testing.B, records int) {
	if m.self > 0 {
		b.ReportMetric(float64(m.self.Microseconds())/1e3/float64(records), "client-cpu-ms/rec")
	}
	if m.server != 0 && !m.serverFailed {
		b.ReportMetric(float64(m.srv.Microseconds())/1e3/float64(records), "server-cpu-ms/rec")
	}
}

// selfCPU returns the CPU time this process has used, or 0 if unknown.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU returns the CPU time process pid has used, from /proc/PID/stat
// (utime and stime, in clock ticks of 1/100 s, Linux's USER_HZ).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses: state
	// is the first, utime the 12th and stime the 13th.
	bad := fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, bad
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, bad
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, bad
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// gatewayPID returns the pid of the versitygw process of g, a child of this
// process listening on g.Addr, or 0 if it cannot tell (no /proc).
func gatewayPID(g *s3test.Gateway) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	self := strconv.Itoa(os.Getpid())
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(stat[i+1:])); len(f) < 2 || f[1] != self {
			continue // not a child of this process
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte("\x00"+g.Addr+"\x00")) {
			return pid
		}
	}
	return 0
}
