package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
)

// serveArchive serves the archive in dir read-only, as exhibit serve does.
func serveArchive(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	a, err := archive.Open(context.Background(), dir, archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(context.Background()) })
	srv := httptest.NewServer(api.New(a, api.Options{}))
	t.Cleanup(srv.Close)
	return srv
}

// TestMonitor follows a log that grows, checks it in full, and detects a
// fork: another log under the same origin and key that diverges.
func TestMonitor(t *testing.T) {
	inTemp(t)
	capture := func(dir string, n int, prefix string) {
		for i := range n {
			f := fmt.Sprintf("%s%d.html", prefix, i)
			os.WriteFile(f, []byte("<p>"+f+"</p>"), 0o644)
			exhibit(t, "--archive", dir, "capture", f, "--url", "https://example.org/"+f).want(t, 0)
		}
	}
	exhibit(t, "init", "--origin", "monitor.test/log").want(t, 0)
	capture("exhibit-archive", 3, "a")
	srv := serveArchive(t, "exhibit-archive")
	exhibit(t, "monitor", srv.URL, "--once", "--full").want(t, 0, "tree size 3", "first checkpoint seen", "all 3 entries downloaded")
	capture("exhibit-archive", 2, "b")
	exhibit(t, "monitor", srv.URL, "--once").want(t, 0, "tree size 5", "consistent with size 3 seen before")

	// A fork: the same key and origin, other entries.
	key, _ := os.ReadFile(filepath.Join("exhibit-archive", "key.pem"))
	os.WriteFile("key.pem", key, 0o600)
	exhibit(t, "--archive", "fork", "init", "--origin", "monitor.test/log", "--key", "key.pem").want(t, 0)
	capture("fork", 7, "z")
	forkSrv := serveArchive(t, "fork")
	state, _ := os.ReadFile("exhibit-monitor.state")
	r := exhibit(t, "monitor", forkSrv.URL, "--once")
	r.want(t, 1, "FORK: no consistency from tree size 5 to 7", "earlier checkpoint", "monitor.test/log\n5\n", "latest checkpoint", "monitor.test/log\n7\n", "consistency proof served:")
	if after, _ := os.ReadFile("exhibit-monitor.state"); string(after) != string(state) {
		t.Error("a fork changed the monitor's state")
	}
	// A log smaller than what was seen is a fork too.
	exhibit(t, "--archive", "small", "init", "--origin", "monitor.test/log", "--key", "key.pem").want(t, 0)
	capture("small", 1, "s")
	exhibit(t, "monitor", serveArchive(t, "small").URL, "--once").want(t, 1, "FORK", "smaller than the 5 seen before")
	// Another key's log is not trusted at all.
	exhibit(t, "--archive", "other", "init", "--origin", "monitor.test/log").want(t, 0)
	capture("other", 6, "o")
	exhibit(t, "monitor", serveArchive(t, "other").URL, "--once").want(t, 1, "no valid signature")
}
