package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
)

// trackSite serves tracked documents slowly, so that rounds overlap, and
// counts the requests for each, and how many were ever in flight at once.
type trackSite struct {
	mu        sync.Mutex
	delay     time.Duration
	edition   int
	count     map[string]int
	inFlight  map[string]int
	maxAtOnce map[string]int // most requests for one document at once
	at        map[string][]time.Time
}

func (s *trackSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	p := r.URL.Path
	s.count[p]++
	s.inFlight[p]++
	s.maxAtOnce[p] = max(s.maxAtOnce[p], s.inFlight[p])
	s.at[p] = append(s.at[p], time.Now())
	delay, edition := s.delay, s.edition
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight[p]--
		s.mu.Unlock()
	}()
	time.Sleep(delay)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<html><body><main><p>Terms of %s, edition %d.</p></main></body></html>", p, edition)
}

// snapshot returns a copy of the counts and of the documents in flight.
func (s *trackSite) snapshot() (count map[string]int, inFlight []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	count = map[string]int{}
	for p, n := range s.count {
		count[p] = n
	}
	for p, n := range s.inFlight {
		if n > 0 {
			inFlight = append(inFlight, p)
		}
	}
	return count, inFlight
}

// startTrackRun starts `exhibit track run`, a round every second, in
// archive directory dir; its output is in out.
func startTrackRun(t *testing.T, dir string, out *bytes.Buffer) (*exec.Cmd, chan struct{}) {
	t.Helper()
	cmd := exec.Command("exhibit", "--archive", dir, "track", "run", "--interval", "1s", "--concurrency", "2", "--host-delay", "0", "--retries", "0", "--timeout", "30s")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	return cmd, done
}

// TestFrontendsTrack runs `exhibit track run` in three processes on one
// shared archive, one after the other overlapping: six tracked documents,
// each served in three seconds. The first process is killed (SIGKILL) with
// two captures in flight; the two others capture the four left at once
// and, once the killed one's leases expired (archive.LeaseTTL: it renewed
// them while it lived), the two it held. A minute later the documents are
// due again, and changed: each is captured once more. The site never
// serves one document to two requests at once, each is fetched once per
// round (twice for the two whose capture was killed), both processes
// capture, and each document has two versions, numbered 1 and 2, the
// second naming the first as previous. It takes about two minutes (111 s
// here on a loaded 2-core machine).
func TestFrontendsTrack(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and three exhibit processes, for two minutes")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: three race-instrumented processes")
	}
	dir, _, _ := sharedArchive(t, "track.test/log")
	site := &trackSite{delay: 3 * time.Second, edition: 1, count: map[string]int{}, inFlight: map[string]int{}, maxAtOnce: map[string]int{}, at: map[string][]time.Time{}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	const docs = 6
	for i := range docs {
		exhibit(t, "--archive", filepath.Join(dir, "f1"), "track", "add", fmt.Sprintf("%s/doc%d", srv.URL, i),
			"--entity", "Example", "--document", fmt.Sprintf("Terms %d", i), "--id", fmt.Sprintf("doc%d", i), "--every", "1m").want(t, 0)
	}

	var outA, outB, outC bytes.Buffer
	a, aDone := startTrackRun(t, filepath.Join(dir, "f1"), &outA)
	var held []string
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, held = site.snapshot(); len(held) == 2 {
			break
		}
		if time.Now().After(deadline) {
			a.Process.Kill()
			t.Fatalf("the first track run has %d captures in flight, want 2: %s", len(held), outA.String())
		}
	}
	a.Process.Kill()
	<-aDone
	killed := time.Now()

	b, bDone := startTrackRun(t, filepath.Join(dir, "f2"), &outB)
	c, cDone := startTrackRun(t, filepath.Join(dir, "f3"), &outC)
	defer func() {
		for _, p := range []struct {
			cmd  *exec.Cmd
			done chan struct{}
			out  *bytes.Buffer
			name string
		}{{b, bDone, &outB, "second"}, {c, cDone, &outC, "third"}} {
			p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
			}
			if t.Failed() {
				t.Logf("%s track run:\n%s", p.name, p.out.String())
			}
		}
	}()
	// waitCounts waits until the site has served each document want
	// times (plus one for those held by the killed process).
	waitCounts := func(want int, within time.Duration) map[string]int {
		t.Helper()
		for deadline := time.Now().Add(within); ; time.Sleep(100 * time.Millisecond) {
			count, inFlight := site.snapshot()
			ok := len(inFlight) == 0
			for i := range docs {
				p := fmt.Sprintf("/doc%d", i)
				w := want
				if strings.Contains(strings.Join(held, " ")+" ", p+" ") {
					w++
				}
				if count[p] < w {
					ok = false
				}
			}
			if ok {
				return count
			}
			if time.Now().After(deadline) {
				t.Fatalf("the site served %v (in flight %v), want each document %d times, those the killed process held (%v) once more", count, inFlight, want, held)
			}
		}
	}
	waitCounts(1, 90*time.Second)
	site.mu.Lock()
	for _, p := range held {
		// The killed process held the lease until it expired.
		if at := site.at[p]; len(at) < 2 || at[1].Sub(killed) < archive.LeaseTTL/2 {
			t.Errorf("%s fetched again at %v, %v after the first track run was killed holding its lease (lease TTL %v)", p, at, at[len(at)-1].Sub(killed), archive.LeaseTTL)
		}
		if at := site.at[p]; len(at) >= 2 {
			t.Logf("%s, its lease held by the killed process, fetched again %v after the kill (lease TTL %v)", p, at[1].Sub(killed).Round(100*time.Millisecond), archive.LeaseTTL)
		}
	}
	site.edition, site.delay = 2, time.Second
	site.mu.Unlock()

	// A minute after their first capture, the documents are due again:
	// one capture each, whichever process comes first.
	waitCounts(2, 2*time.Minute)
	time.Sleep(3 * time.Second) // any second capture of a round would have started
	count, _ := site.snapshot()
	site.mu.Lock()
	for i := range docs {
		p := fmt.Sprintf("/doc%d", i)
		want := 2
		if strings.Contains(strings.Join(held, " ")+" ", p+" ") {
			want++
		}
		if count[p] != want {
			t.Errorf("%s served %d times, want %d: captured twice in a round", p, count[p], want)
		}
		if site.maxAtOnce[p] != 1 {
			t.Errorf("%s served to %d requests at once: captured twice at once", p, site.maxAtOnce[p])
		}
	}
	site.mu.Unlock()
	for name, out := range map[string]*bytes.Buffer{"second": &outB, "third": &outC} {
		if !strings.Contains(out.String(), "version") {
			t.Errorf("the %s track run recorded no version: %s", name, out.String())
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	ctx := archivetest.Context(t, time.Minute)
	ar, err := archive.Open(ctx, filepath.Join(dir, "worker"), archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close(context.Background())
	for i := range docs {
		id := fmt.Sprintf("doc%d", i)
		vs, err := ar.Index().Tracking(ctx, index.TrackingQuery{Document: id, Kinds: []string{record.Version}})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 {
			t.Errorf("%s: %d versions, want 2", id, len(vs))
			continue
		}
		v1, v2 := vs[0].Statement.Version.Predicate, vs[1].Statement.Version.Predicate
		if v1.Number != 1 || v1.Previous != "" || v2.Number != 2 || v2.Previous != vs[0].ID {
			t.Errorf("%s: versions %d (previous %q) and %d (previous %q, want %s)", id, v1.Number, v1.Previous, v2.Number, v2.Previous, vs[0].ID)
		}
		caps, err := ar.Index().Search(ctx, index.SearchQuery{Entity: "Example", Document: fmt.Sprintf("Terms %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if len(caps) != 2 {
			t.Errorf("%s: %d captures logged, want 2 (one a round)", id, len(caps))
		}
	}
}

// TestFrontendsImportTwice runs two `exhibit import` processes of one
// manifest at once on a shared archive: both succeed, and each document
// is logged once (each under the lease one of them held; the other finds
// it).
func TestFrontendsImportTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and two exhibit processes")
	}
	if raceEnabled {
		t.Skip("skipped under the race detector: two race-instrumented processes")
	}
	dir, _, _ := sharedArchive(t, "import.test/log")
	const docs = 80
	var manifest bytes.Buffer
	os.Mkdir("docs", 0o755)
	for i := range docs {
		name := fmt.Sprintf("docs/doc%d.html", i)
		os.WriteFile(name, fmt.Appendf(nil, "<html>document %d</html>", i), 0o644)
		fmt.Fprintf(&manifest, `{"entity":"Example","document":"Doc %d","url":"https://example.org/doc/%d","fetched_at":"2026-01-01T00:00:00Z","file":%q}`+"\n", i, i, name)
	}
	os.WriteFile("manifest.jsonl", manifest.Bytes(), 0o644)
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i, d := range []string{"f2", "f3"} {
		cmds[i] = exec.Command("exhibit", "--archive", filepath.Join(dir, d), "import", "manifest.jsonl")
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("import %d: %v\n%s", i, err, outs[i].String())
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	ctx := archivetest.Context(t, time.Minute)
	a, err := archive.Open(ctx, filepath.Join(dir, "f1"), archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	logged := map[string]int{}
	for r, err := range a.Index().Records(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == record.Capture {
			logged[r.URL]++
		}
	}
	for i := range docs {
		if u := fmt.Sprintf("https://example.org/doc/%d", i); logged[u] != 1 {
			t.Errorf("%s logged %d times, want once", u, logged[u])
		}
	}
	_, cp, err := a.Checkpoint(ctx)
	if err != nil || cp.Size != docs {
		t.Errorf("checkpoint %v, %v; want %d entries", cp, err, docs)
	}
	t.Logf("%s\n%s", lastLine(outs[0].String()), lastLine(outs[1].String()))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
