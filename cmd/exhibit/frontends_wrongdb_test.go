package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// TestFrontendsWrongDatabase starts two frontends of a shared archive,
// logs records through them, then starts a third whose exhibit.json names
// another, empty, sequencing database (an operator's copy with the dsn
// changed): it is refused at start with an error naming the mismatch, the
// bucket's checkpoint is byte for byte what it was, and the two others
// keep acknowledging writes.
func TestFrontendsWrongDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB, versitygw and three exhibit processes")
	}
	dir, token, db := sharedArchive(t, "wrongdb.test/log")
	var fronts []*frontend
	for _, d := range []string{"f1", "f2"} {
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
	client := &http.Client{Timeout: time.Minute}
	for i := range 6 {
		if _, err := upload(client, fronts[i%2].url, token, i); err != nil {
			t.Fatal(err)
		}
	}

	// f3 names another database, empty.
	cfgPath := filepath.Join(dir, "f3", "exhibit.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	other := db.Config(db.NewDatabase(t))
	other.Passwd = ""
	cfg["log"].(map[string]any)["dsn"] = other.FormatDSN()
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := archivetest.Context(t, 3*time.Minute)
	readCheckpoint := func() []byte {
		t.Helper()
		a, err := archive.Open(ctx, filepath.Join(dir, "f1"), archive.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(context.Background())
		raw, err := a.Ledger().Fetcher().ReadCheckpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	// Stop the two frontends for a moment, so that nothing publishes while
	// the bucket's checkpoint is compared.
	for _, f := range fronts {
		f.stop()
	}
	before := readCheckpoint()

	sctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(sctx, "exhibit", "--archive", filepath.Join(dir, "f3"), "serve", "--listen", "127.0.0.1:"+strconv.Itoa(freePort(t)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if sctx.Err() != nil {
		t.Fatalf("a frontend on another sequencing database was not refused at start: %s", stderr.String())
	}
	if err == nil {
		t.Fatalf("a frontend on another sequencing database exited 0: %s", stderr.String())
	}
	for _, want := range []string{"sequencing database", "holds no log", "refusing to write", other.DBName, "dsn"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("refusal lacks %q: %s", want, stderr.String())
		}
	}
	if after := readCheckpoint(); !bytes.Equal(before, after) {
		t.Errorf("the bucket's checkpoint changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	for _, f := range fronts {
		f.start(t)
	}
	for i := range 6 {
		if _, err := upload(client, fronts[i%2].url, token, 100+i); err != nil {
			t.Errorf("after the refusal: %v", err)
		}
	}

	// The bucket's checkpoint rolled back to the empty tree (what an
	// older exhibit on the wrong database did): the running frontends
	// keep none of it and answer /healthz 503 naming it; put back, they
	// serve again.
	latest := readCheckpoint()
	a, err := archive.Open(ctx, filepath.Join(dir, "f1"), archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	empty, _, err := a.CheckpointAt(ctx, 0)
	a.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	lc := cfg["log"].(map[string]any)
	u, _ := url.Parse(lc["endpoint"].(string))
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	putCheckpoint := func(b []byte) {
		t.Helper()
		prefix, _ := lc["prefix"].(string)
		if _, err := mc.PutObject(ctx, lc["bucket"].(string), prefix+"checkpoint", bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitHealth := func(f *frontend, code int, want string) {
		t.Helper()
		var got int
		var body []byte
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			resp, err := http.Get(f.url + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if got = resp.StatusCode; got == code && strings.Contains(string(body), want) {
				return
			}
		}
		t.Errorf("%s/healthz: %d %s, want %d %q", f.url, got, body, code, want)
	}
	putCheckpoint(empty)
	for _, f := range fronts {
		waitHealth(f, http.StatusServiceUnavailable, "log checkpoint unavailable: the log published a checkpoint of tree size 0 after one of size")
	}
	putCheckpoint(latest)
	for _, f := range fronts {
		waitHealth(f, http.StatusOK, "ok")
	}
	for i := range 2 {
		if _, err := upload(client, fronts[i].url, token, 200+i); err != nil {
			t.Errorf("after the checkpoint was put back: %v", err)
		}
	}
}
