package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/audit"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"github.com/exhibit-archive/exhibit/verify"
)

// frontend is an `exhibit serve` process with the write API.
type frontend struct {
	dir, url string
	cmd      *exec.Cmd
	done     chan struct{}
	out      bytes.Buffer
}

func startFrontend(t *testing.T, dir string, port int) *frontend {
	t.Helper()
	f := &frontend{dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	f.start(t)
	return f
}

func (f *frontend) start(t *testing.T) {
	t.Helper()
	f.cmd = exec.Command("exhibit", "--archive", f.dir, "serve", "--rate-limit", "-1", "--allow-private-targets", "--listen", strings.TrimPrefix(f.url, "http://"))
	f.out.Reset()
	f.cmd.Stdout, f.cmd.Stderr = io.Discard, &f.out
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(f.cmd, f.done)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(f.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-f.done:
			t.Fatalf("frontend %s exited at start: %s", f.dir, f.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("frontend %s does not answer: %s", f.dir, f.out.String())
		}
	}
}

func (f *frontend) kill() { f.cmd.Process.Kill(); <-f.done }

// dumpStuck logs, for each frontend that does not answer /healthz with
// 200 within 10 seconds, its goroutines: it sends SIGQUIT, which makes a
// Go program print every goroutine's stack and exit.
func dumpStuck(t *testing.T, fronts []*frontend) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	for _, f := range fronts {
		resp, err := c.Get(f.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				continue
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		f.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-f.done:
		case <-time.After(10 * time.Second):
		}
		t.Logf("frontend %s stuck (/healthz: %v); its stderr and goroutines:\n%s", f.dir, err, f.out.String())
	}
}
func (f *frontend) stop() { f.cmd.Process.Signal(os.Interrupt); <-f.done }

// sharedArchive makes, in a new temporary working directory (returned),
// an archive on MariaDB and versitygw in f1 and its copies in f2, f3 and
// worker (exhibit.json, key.pem, tokens.json: what a frontend needs to
// join), and returns a write token and the database server.
func sharedArchive(t *testing.T, origin string) (string, string, *mariadbtest.Server) {
	t.Helper()
	o, db, g := archivetest.AWS(t, origin)
	dir := inTemp(t)
	exhibit(t, "--archive", "f1", "init", "--origin", origin, "--store", "s3://evidence/main", "--s3-endpoint", g.Endpoint,
		"--s3-path-style", "--s3-create-bucket", "--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN).want(t, 0)
	r := exhibit(t, "--archive", "f1", "token", "create", "--name", "load")
	r.want(t, 0)
	for _, d := range []string{"f2", "f3", "worker"} {
		os.Mkdir(d, 0o755)
		for _, f := range []string{"exhibit.json", "key.pem", "tokens.json"} {
			b, _ := os.ReadFile(filepath.Join("f1", f))
			os.WriteFile(filepath.Join(d, f), b, 0o600)
		}
	}
	return dir, strings.TrimSpace(r.stdout), db
}

// TestFrontendsKill runs three `exhibit serve` processes and an `exhibit
// import` worker on one shared archive: 1,500 records at once, server-side
// captures (POST /api/v1/captures) of pages a loopback HTTP server serves,
// uploads (POST /api/v1/snapshots) through the three and the worker's
// import. It kills one frontend with SIGKILL mid-load, then restarts it:
// every acknowledged record verifies offline, no entry is logged twice,
// the audit (consistency from the first kept checkpoint to the last
// included) is clean, and a reindex from the log gives the same index.
// It takes two to three and a half minutes on a 2-core machine (137 s and
// 193 s in two runs here; CI included).
func TestFrontendsKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and four exhibit processes")
	}
	if raceEnabled {
		// Every frontend would run race-instrumented: minutes more, and
		// the race run is for concurrency within a process, which the
		// in-process tests of package archive cover (TestAWS*).
		t.Skip("skipped under the race detector: four race-instrumented processes under load")
	}
	dir, token, _ := sharedArchive(t, "kill.test/log")
	// The pages the frontends capture, each its own.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body>page %s</body></html>", r.URL.Path)
	}))
	defer site.Close()
	var fronts []*frontend
	for _, d := range []string{"f1", "f2", "f3"} {
		fronts = append(fronts, startFrontend(t, filepath.Join(dir, d), freePort(t)))
	}
	defer func() {
		for _, f := range fronts {
			f.kill()
		}
	}()

	// The import worker: its own manifest of documents, in its own process.
	const (
		imports  = 300
		captures = 600
		uploads  = 600
		writes   = captures + uploads
	)
	var manifest bytes.Buffer
	os.Mkdir("docs", 0o755)
	for i := range imports {
		name := fmt.Sprintf("docs/import%d.html", i)
		os.WriteFile(name, fmt.Appendf(nil, "<html>imported %d</html>", i), 0o644)
		fmt.Fprintf(&manifest, `{"entity":"Example","document":"Doc %d","url":"https://example.org/import/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`+"\n", i, i, name)
	}
	os.WriteFile("manifest.jsonl", manifest.Bytes(), 0o644)
	worker := exec.Command("exhibit", "--archive", "worker", "import", "manifest.jsonl")
	var workerOut bytes.Buffer
	worker.Stdout, worker.Stderr = &workerOut, &workerOut
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}

	loadStart := time.Now()
	var mu sync.Mutex
	var acked []string
	var next, done atomic.Int64
	killed := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 60 * time.Second}
	for range 24 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < writes; i = next.Add(1) - 1 {
				// A client retries, on the next frontend, until it is
				// acknowledged: through the kill, and the 503s of a
				// frontend at its MaxCaptures.
				deadline := time.Now().Add(3 * time.Minute)
				for attempt := 0; ; attempt++ {
					f := fronts[(int(i)+attempt)%3] // a load balancer: the next one on failure
					var id string
					var err error
					if i%2 == 0 { // captures and uploads interleaved
						id, err = captureURL(client, f.url, token, fmt.Sprintf("%s/page/%d", site.URL, i))
					} else {
						id, err = upload(client, f.url, token, int(i))
					}
					if errors.Is(err, errNotCaptured) {
						t.Errorf("write %d: %v", i, err)
						return
					}
					if err == nil {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
						break
					}
					if time.Now().After(deadline) {
						t.Errorf("write %d: %v", i, err)
						return
					}
					time.Sleep(100 * time.Millisecond)
				}
				if done.Add(1) == writes/3 {
					close(killed)
				}
			}
		})
	}
	<-killed
	fronts[1].kill()
	time.Sleep(time.Second)
	fronts[1].start(t)
	wg.Wait()
	if err := worker.Wait(); err != nil {
		t.Fatalf("import worker: %v\n%s", err, workerOut.String())
	}
	for _, f := range fronts {
		f.stop()
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d captures and uploads acknowledged through three frontends, one killed and restarted; %d documents imported; in %v",
		len(acked), imports, time.Since(loadStart).Round(time.Second))
	checkStart := time.Now()
	defer func() { t.Logf("checked in %v", time.Since(checkStart).Round(time.Second)) }()

	ctx := archivetest.Context(t, 5*time.Minute)
	a, err := archive.Open(ctx, "f1", archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	cp := checkAcknowledged(t, ctx, a, acked)
	if cp.Size < writes+imports {
		t.Errorf("the log has %d entries, want at least %d", cp.Size, writes+imports)
	}
	archivetest.AuditOK(t, a)
	before := dumpIndex(t, a)
	if _, err := a.Reindex(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if dumpIndex(t, a) != before {
		t.Error("a reindex from the log gives another index")
	}
}

// TestFrontendsDatabaseDown kills the database of an archive three
// `exhibit serve` processes write at once, mid-load: every write answers
// 201 or 503 with Retry-After (a write in flight waits for the database
// up to archive.DBDownWait, then is answered 503; none hangs, none is
// answered 500), nothing acknowledged is lost, and the three serve again
// once it is back: every acknowledged record verifies
// offline, nothing is logged twice, the audit is clean.
func TestFrontendsDatabaseDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and three exhibit processes")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: three race-instrumented processes under load")
	}
	dir, token, db := sharedArchive(t, "down.test/log")
	var fronts []*frontend
	for _, d := range []string{"f1", "f2", "f3"} {
		fronts = append(fronts, startFrontend(t, filepath.Join(dir, d), freePort(t)))
	}
	defer func() {
		for _, f := range fronts {
			f.kill()
			if t.Failed() {
				out := f.out.String()
				t.Logf("frontend %s: ...%s", f.dir, out[max(0, len(out)-3000):])
			}
		}
	}()
	var (
		mu          sync.Mutex
		acked       []string
		unavailable int
		next        atomic.Int64
		downAt      atomic.Int64 // UnixNano of db.Kill, 0 before
		inFlight503 int          // writes begun before db.Kill, answered 503
		slowest     time.Duration
		stop        atomic.Bool
		wg          sync.WaitGroup
	)
	// A write in flight when the database goes down is answered 503
	// within archive.DBDownWait and two probes (16 s); the margin is for
	// a loaded machine, and well under the 2 min writes once waited.
	const inFlightBound = archive.DBDownWait + 40*time.Second
	client := &http.Client{Timeout: inFlightBound}
	for w := range 9 { // three clients a frontend, under its 4 requests a token
		wg.Go(func() {
			for !stop.Load() {
				i := int(next.Add(1))
				began := time.Now()
				id, err := upload(client, fronts[w%3].url, token, i)
				took := time.Since(began)
				down := downAt.Load()
				mu.Lock()
				slowest = max(slowest, took)
				switch {
				case err == nil:
					acked = append(acked, id)
				case strings.Contains(err.Error(), "status 503") && strings.Contains(err.Error(), "unavailable") && strings.Contains(err.Error(), "Retry-After"):
					unavailable++
					if down != 0 && began.UnixNano() < down {
						inFlight503++
					}
				default:
					t.Errorf("upload %d with the database down or coming back: %v", i, err)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(200 * time.Millisecond)
				}
			}
		})
	}
	waitAcked := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			got := len(acked)
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				dumpStuck(t, fronts)
				t.Fatalf("%d uploads acknowledged, want %d", got, n)
			}
		}
	}
	waitAcked(60)
	db.Kill()
	downAt.Store(time.Now().UnixNano())
	// Writes in flight may wait for the database (an entry sequenced
	// before it went down is integrated when it is back); new ones are
	// refused at once. The clients above may all be waiting, so each
	// frontend is sent a new write here.
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	probe := &http.Client{Timeout: 30 * time.Second}
	for j, f := range fronts {
		_, err := upload(probe, f.url, token, 1_000_000+j)
		if err != nil {
			mu.Lock()
			unavailable++ // its document may be stored, orphaned: see the audit below
			mu.Unlock()
		}
		if err == nil || !strings.Contains(err.Error(), "status 503") || !strings.Contains(err.Error(), "unavailable") || !strings.Contains(err.Error(), "Retry-After") {
			t.Errorf("%s: a new write with the database down: %v, want 503 with Retry-After, database unavailable", f.url, err)
		}
	}
	for _, f := range fronts {
		resp, err := http.Get(f.url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s/healthz with the database down: %d, Retry-After %q", f.url, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	// Keep it down long enough for the writes in flight to be answered.
	time.Sleep(archive.DBDownWait + 10*time.Second)
	mu.Lock()
	if inFlight503 == 0 {
		t.Errorf("no write in flight when the database went down was answered 503 within %v (slowest write %v)", archive.DBDownWait+10*time.Second, slowest)
	}
	mu.Unlock()
	restarted := time.Now()
	db.Restart()
	waitAcked(before + 60)
	t.Logf("60 more writes acknowledged %v after the database came back", time.Since(restarted).Round(100*time.Millisecond))
	stop.Store(true)
	wg.Wait()
	for _, f := range fronts {
		f.stop()
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d uploads acknowledged, %d refused with 503 while the database was down or coming back (%d of them in flight when it went down); slowest write %v", len(acked), unavailable, inFlight503, slowest)

	ctx := archivetest.Context(t, 5*time.Minute)
	a, err := archive.Open(ctx, "f1", archive.OpenOptions{Write: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	checkAcknowledged(t, ctx, a, acked)
	// A refused upload may have stored its document before the log
	// refused its statement: an object no entry names, which the audit
	// of a shared archive counts as an orphan, not a problem, one at most
	// per refusal. Nothing may be wrong.
	rep, err := audit.Run(ctx, a, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("audit: %+v", p)
	}
	if orphans := rep.Orphans; orphans > unavailable {
		t.Errorf("audit: %d orphaned objects, more than the %d uploads refused", orphans, unavailable)
	}
	if rep.TreeRoot != rep.Root {
		t.Errorf("audit: tree root %s, checkpoint root %s", rep.TreeRoot, rep.Root)
	}
}

// upload posts one document to a frontend and returns its record ID once
// acknowledged (201).
func upload(c *http.Client, base, token string, i int) (string, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("url", fmt.Sprintf("https://example.org/upload/%d", i))
	mw.WriteField("fetched_at", "2026-05-08T11:13:00Z")
	fw, _ := mw.CreateFormFile("file", "doc.html")
	fmt.Fprintf(fw, "<html>uploaded %d</html>", i)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/api/v1/snapshots", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			return "", fmt.Errorf("status %d (Retry-After %s): %s", resp.StatusCode, ra, b)
		}
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var res struct {
		Record struct {
			ID string `json:"record_id"`
		} `json:"record"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Record.ID == "" {
		return "", fmt.Errorf("answer %s: %v", b, err)
	}
	return res.Record.ID, nil
}

// errNotCaptured is a capture logged with another outcome than
// "captured": a failure of the test, not retried.
var errNotCaptured = errors.New("logged, but not captured")

// captureURL asks a frontend to capture u and returns the record ID once
// acknowledged (201) with the page captured.
func captureURL(c *http.Client, base, token, u string) (string, error) {
	body, _ := json.Marshal(map[string]string{"url": u, "entity": "Example", "document": u})
	req, _ := http.NewRequest("POST", base+"/api/v1/captures", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	var res struct {
		Record struct {
			ID      string `json:"record_id"`
			Outcome string `json:"outcome"`
		} `json:"record"`
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Record.ID == "" {
		return "", fmt.Errorf("answer %s: %v", b, err)
	}
	if res.Record.Outcome != "captured" {
		return "", fmt.Errorf("capture of %s: outcome %q: %w", u, res.Record.Outcome, errNotCaptured)
	}
	return res.Record.ID, nil
}

// dumpIndex renders every record and checkpoint the index holds.
func dumpIndex(t *testing.T, a *archive.Archive) string {
	t.Helper()
	var b strings.Builder
	for r, err := range a.Index().Records(t.Context()) {
		if err != nil {
			t.Fatal(err)
		}
		j, _ := json.Marshal(r)
		b.Write(j)
	}
	cps, err := a.Index().Checkpoints(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(cps)
	b.Write(j)
	return b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// checkAcknowledged checks that every acknowledged record of a verifies
// offline and that no entry is in its log twice, and returns the log's
// latest checkpoint.
func checkAcknowledged(t *testing.T, ctx context.Context, a *archive.Archive, acked []string) *verify.Checkpoint {
	t.Helper()
	for _, id := range acked {
		rec, err := a.Get(ctx, id)
		if err != nil {
			t.Fatalf("acknowledged record %s: %v", id, err)
		}
		archivetest.Check(t, a, rec, verify.Options{})
	}
	_, cp, err := a.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for e, err := range a.Ledger().Entries(ctx, 0, cp.Size, cp.Size) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(e.Data)] {
			t.Errorf("entry %d logged twice", e.Index)
		}
		seen[string(e.Data)] = true
	}
	return cp
}
