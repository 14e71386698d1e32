package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFrontendsKillRecovery kills one of two frontends with SIGKILL under
// a steady load of uploads through both and restarts it at once: no write
// through the survivor fails. It logs where the time of recovery goes:
// how long the restarted frontend takes to answer /healthz 200, the
// slowest write through the survivor after the kill (up to the index
// follower's lease, 5 s, when the killed one led the indexing), and the
// restarted frontend's log of its start.
func TestFrontendsKillRecovery(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("starts MariaDB, versitygw and two exhibit processes")
	}
	dir, token, _ := sharedArchive(t, "recovery.test/log")
	f1 := startFrontend(t, filepath.Join(dir, "f1"), freePort(t))
	f2 := &frontend{dir: filepath.Join(dir, "f2"), url: fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
	f2.start(t)
	defer func() { f1.kill(); f2.kill() }()
	var (
		stop    atomic.Bool
		killAt  atomic.Int64
		mu      sync.Mutex
		slowest time.Duration
		errs    int
		wg      sync.WaitGroup
		next    atomic.Int64
	)
	client := &http.Client{Timeout: 2 * time.Minute}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				began := time.Now()
				_, err := upload(client, f1.url, token, int(next.Add(1)))
				took := time.Since(began)
				mu.Lock()
				if k := killAt.Load(); k != 0 && began.UnixNano() >= k-int64(5*time.Second) {
					slowest = max(slowest, took)
				}
				if err != nil {
					errs++
					t.Logf("upload through the survivor: %v", err)
				}
				mu.Unlock()
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if killAt.Load() != 0 {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				upload(client, f2.url, token, int(next.Add(1)))
			}
		})
	}
	time.Sleep(10 * time.Second)
	killAt.Store(time.Now().UnixNano())
	f2.kill()
	restart := time.Now()
	f2.cmd = nil
	f2.start(t)
	t.Logf("the killed frontend answered /healthz 200 %v after its restart", time.Since(restart).Round(100*time.Millisecond))
	time.Sleep(30 * time.Second)
	stop.Store(true)
	wg.Wait()
	t.Logf("slowest write through the survivor from 5 s before the kill: %v", slowest)
	if errs > 0 {
		t.Errorf("%d writes through the survivor failed when the other frontend was killed", errs)
	}
	out := f2.out.String()
	t.Logf("restarted frontend's stderr:\n%s", out[max(0, len(out)-6000):])
	if !strings.Contains(out, "serving") {
		t.Error("the restarted frontend never said it serves")
	}
}
