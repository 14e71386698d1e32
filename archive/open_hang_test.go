package archive_test

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/go-sql-driver/mysql"
)

// TestOpenDatabaseHangsMidOpen opens a shared archive through a proxy of
// its database that accepts every connection and never answers it: the
// opening's first call hangs, as when a database stops answering while a
// frontend opens (a read-only opening needs one connection, so the proxy
// cannot let the first calls through and hang only later ones; the
// watch's probes, each on a new connection, hang too). Open fails with
// an *UnavailableError within a few probes instead of hanging until the
// database answers again.
func TestOpenDatabaseHangsMidOpen(t *testing.T) {
	o, _, _ := archivetest.AWS(t, "openhang.test/log")
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(t.Context(), dir, o); err != nil {
		t.Fatal(err)
	}
	archivetest.EditConfig(t, dir, func(cfg map[string]any) {
		lc := cfg["log"].(map[string]any)
		c, err := mysql.ParseDSN(lc["dsn"].(string))
		if err != nil {
			t.Fatal(err)
		}
		p := hangingProxy(t, c.Addr, 0)
		for _, k := range []string{"dsn", "index_dsn"} {
			c, _ := mysql.ParseDSN(lc[k].(string))
			c.Addr = p
			lc[k] = c.FormatDSN()
		}
	})

	done := make(chan error, 1)
	start := time.Now()
	go func() {
		a, err := archive.Open(t.Context(), dir, archive.OpenOptions{})
		if a != nil {
			a.Close(t.Context())
		}
		done <- err
	}()
	select {
	case err := <-done:
		var ue *archive.UnavailableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "has not answered probes") {
			t.Fatalf("opening while the database stops answering: %v, want an UnavailableError", err)
		}
		t.Logf("refused after %v: %v", time.Since(start).Round(100*time.Millisecond), err)
	case <-time.After(time.Minute):
		t.Fatal("Open still waits a minute after the database stopped answering")
	}
}

// hangingProxy passes the first n connections to addr, and accepts every
// later one without ever answering it. It returns its address.
func hangingProxy(t *testing.T, addr string, n int64) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns sync.WaitGroup
	var held []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
		conns.Wait()
	})
	var count atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			if count.Add(1) > n {
				continue // accepted, never answered
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			held = append(held, s)
			mu.Unlock()
			conns.Go(func() { io.Copy(s, c); s.Close() })
			conns.Go(func() { io.Copy(c, s); c.Close() })
		}
	}()
	return l.Addr().String()
}
