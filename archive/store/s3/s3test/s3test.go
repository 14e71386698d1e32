// Package s3test runs a real S3 server for tests: versitygw
// (https://github.com/versity/versitygw), on a free loopback port, serving
// a fresh posix directory with Object Lock support (its versioning
// directory).
//
// Install the server with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// Without it, Start skips the test, or fails it when CI=true.
package s3test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/exhibit-archive/exhibit/archive/store/s3"
)

// Gateway is a running versitygw. Bucket b's object k is the file
// DataDir/b/k.
type Gateway struct {
	// Addr is "127.0.0.1:port"; Endpoint is "http://" + Addr.
	Addr, Endpoint string
	// DataDir holds the buckets.
	DataDir string
	// AccessKey and SecretKey are the root credentials.
	AccessKey, SecretKey string

	t        testing.TB
	bin      string
	versions string
	cmd      *exec.Cmd
	exited   chan struct{}
	out      bytes.Buffer
}

// Start starts versitygw with fresh directories; it stops when the test
// ends.
func Start(t testing.TB) *Gateway {
	t.Helper()
	bin := find(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	g := &Gateway{
		t:         t,
		bin:       bin,
		Addr:      addr,
		Endpoint:  "http://" + addr,
		DataDir:   filepath.Join(dir, "data"),
		versions:  filepath.Join(dir, "versions"),
		AccessKey: "exhibit-test-access",
		SecretKey: "exhibit-test-secret-0123456789",
	}
	for _, d := range []string{g.DataDir, g.versions} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	g.Restart()
	t.Cleanup(g.Stop)
	return g
}

// find returns the path of the versitygw binary. Without one it skips the
// test, or fails it under CI.
func find(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, gp := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(gp, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	const msg = "versitygw is not in PATH or $(go env GOPATH)/bin; install it with\n\tgo install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Restart runs the gateway (again, after Stop) and waits until it answers
// HTTP.
func (g *Gateway) Restart() {
	g.t.Helper()
	g.out.Reset()
	g.cmd = exec.Command(g.bin, "--port", g.Addr, "--quiet",
		"posix", "--versioning-dir", g.versions, g.DataDir)
	g.cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+g.AccessKey, "ROOT_SECRET_KEY="+g.SecretKey)
	if _, ok := os.LookupEnv("VGW_KEEP_ALIVE"); !ok {
		// Connections kept alive, as deployed (docs/DEPLOYMENT.md):
		// what a client sends beyond a request's end is then read as
		// the next request. VGW_KEEP_ALIVE=false closes each after one
		// request.
		g.cmd.Env = append(g.cmd.Env, "VGW_KEEP_ALIVE=true")
	}
	g.cmd.Stdout, g.cmd.Stderr = &g.out, &g.out
	if err := g.cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	g.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(g.cmd, g.exited)
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		select {
		case <-g.exited:
			g.t.Fatalf("versitygw exited: %s", g.out.String())
		default:
		}
		if resp, err := client.Get(g.Endpoint + "/"); err == nil {
			resp.Body.Close()
			return
		}
	}
	g.Stop()
	g.t.Fatalf("versitygw does not answer on %s: %s", g.Addr, g.out.String())
}

// Stop kills the gateway, if running, and waits for it to exit.
func (g *Gateway) Stop() {
	if g.cmd == nil {
		return
	}
	g.cmd.Process.Kill()
	<-g.exited
	g.cmd = nil
}

// Raw returns a client that talks to the gateway behind a store's back.
func (g *Gateway) Raw(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(g.Addr, &minio.Options{
		Creds:        credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var buckets atomic.Int64

// NewBucket creates a new bucket (with Object Lock if lock) and returns
// the configuration of a store in it, under the prefix "archive1/".
func (g *Gateway) NewBucket(t testing.TB, lock bool) s3.Config {
	t.Helper()
	cfg := s3.Config{
		Bucket:      fmt.Sprintf("exhibit-%d", buckets.Add(1)),
		Prefix:      "archive1/",
		Endpoint:    g.Endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticV4(g.AccessKey, g.SecretKey, ""),
	}
	if err := s3.CreateBucket(t.Context(), cfg, lock); err != nil {
		t.Fatal(err)
	}
	return cfg
}
