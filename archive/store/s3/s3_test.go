package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/exhibit-archive/exhibit/archive/store"
	"github.com/exhibit-archive/exhibit/archive/store/s3"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/archive/store/storetest"
)

// gateway is a versitygw S3 gateway on loopback (package s3test).
type gateway struct{ *s3test.Gateway }

// startServer starts versitygw on a free loopback port with fresh
// directories and returns its endpoint and root credentials. The server
// stops when the test ends.
func startServer(t *testing.T) (endpoint, accessKey, secretKey string) {
	t.Helper()
	g := launch(t)
	return g.Endpoint, g.AccessKey, g.SecretKey
}

// launch is startServer, returning the gateway itself for tests that look
// at its files or stop and restart it.
func launch(t *testing.T) *gateway { return &gateway{s3test.Start(t)} }

func (g *gateway) start()                                   { g.Restart() }
func (g *gateway) stop()                                    { g.Stop() }
func (g *gateway) raw(t *testing.T) *minio.Client           { return g.Raw(t) }
func (g *gateway) config(t *testing.T, lock bool) s3.Config { return g.NewBucket(t, lock) }

func open(t *testing.T, cfg s3.Config) *s3.Store {
	t.Helper()
	s, err := s3.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func read(t *testing.T, s store.Store, d string) ([]byte, error) {
	t.Helper()
	rc, err := s.Get(t.Context(), d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// files lists the regular files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestStore(t *testing.T) {
	t.Parallel()
	g := launch(t)
	bucketOf := map[store.Store]s3.Config{}
	storetest.Run(t, storetest.Backend{
		New: func(t *testing.T) store.Store {
			cfg := g.config(t, false)
			s := open(t, cfg)
			bucketOf[s] = cfg
			return s
		},
		Corrupt: func(t *testing.T, s store.Store, d string, data []byte) {
			cfg := bucketOf[s]
			p := filepath.Join(g.DataDir, cfg.Bucket, cfg.Prefix, "sha256", d[:2], d)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// TestPut stores objects of every kind along each path Put takes, and
// checks where they land and that no temporary object is left.
func TestPut(t *testing.T) {
	t.Parallel()
	g := launch(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), (17<<20)/16) // more than one 16 MiB part
	for _, lock := range []bool{false, true} {
		cfg := g.config(t, lock)
		if lock {
			cfg.Retention, cfg.RetentionMode = time.Hour, "governance"
		}
		s := open(t, cfg)
		for _, tc := range []struct {
			name      string
			data      []byte
			knownSize bool
			knownSum  bool
		}{
			{"small", []byte("small"), false, false},
			{"small/size", []byte("small size"), true, false},
			{"small/digest", []byte("small digest"), false, true},
			{"small/size+digest", []byte("small size digest"), true, true},
			{"empty/size+digest", nil, true, true},
			{"big", big, false, false},
			{"big/size", big[2:], true, false},
			{"big/size+digest", big[1:], true, true},
		} {
			t.Run(fmt.Sprintf("lock=%v/%s", lock, tc.name), func(t *testing.T) {
				d := digest(tc.data)
				size, want := int64(-1), ""
				if tc.knownSize {
					size = int64(len(tc.data))
				}
				if tc.knownSum {
					want = d
				}
				obj, err := s.Put(t.Context(), bytes.NewReader(tc.data), size, want)
				if err != nil {
					t.Fatal(err)
				}
				if obj.SHA256 != d || obj.Size != int64(len(tc.data)) || obj.Existed {
					t.Fatalf("Put = %+v, want %s, %d bytes, new", obj, d, len(tc.data))
				}
				p := filepath.Join(g.DataDir, cfg.Bucket, "archive1", "sha256", d[:2], d)
				if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("object not at <prefix>sha256/<2 hex>/<64 hex>: %v", err)
				}
				if got, err := read(t, s, d); err != nil || !bytes.Equal(got, tc.data) {
					t.Fatalf("Get: %d bytes, %v", len(got), err)
				}
				if tc.knownSize && tc.knownSum {
					// Uploaded directly, with its SHA-256 as checksum.
					info, err := g.raw(t).StatObject(t.Context(), cfg.Bucket, "archive1/sha256/"+d[:2]+"/"+d, minio.StatObjectOptions{Checksum: true})
					sum := sha256.Sum256(tc.data)
					if err != nil || info.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
						t.Errorf("stored SHA-256 checksum %q, %v; want %s", info.ChecksumSHA256, err, d)
					}
				}
				if tmp := files(t, filepath.Join(g.DataDir, cfg.Bucket, "archive1", "tmp")); len(tmp) != 0 {
					t.Errorf("temporary objects left: %q", tmp)
				}
				// A non-seekable reader: the same bytes again are reused.
				obj, err = s.Put(t.Context(), io.MultiReader(bytes.NewReader(tc.data)), size, want)
				if err != nil || !obj.Existed || obj.SHA256 != d || obj.Size != int64(len(tc.data)) {
					t.Fatalf("second Put = %+v, %v; want Existed", obj, err)
				}
			})
		}
	}
}

// TestPutEmpty stores an empty object in a bucket that has none, along
// each path Put takes (size known or not, digest known or not), then
// again: the first Put stores it, the second finds it.
func TestPutEmpty(t *testing.T) {
	t.Parallel()
	g := launch(t)
	d := digest(nil)
	for _, tc := range []struct {
		name string
		size int64
		want string
		seek bool
	}{
		{"size", 0, "", true},
		{"no size", -1, "", true},
		{"digest", -1, d, true},
		{"size+digest", 0, d, true},
		{"stream/size", 0, "", false},
		{"stream/no size", -1, "", false},
		{"stream/digest", -1, d, false},
		{"stream/size+digest", 0, d, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, g.config(t, false))
			for i, existed := range []bool{false, true} {
				var r io.Reader = bytes.NewReader(nil)
				if !tc.seek {
					r = io.MultiReader(r)
				}
				obj, err := s.Put(t.Context(), r, tc.size, tc.want)
				if err != nil {
					t.Fatalf("Put %d: %v", i+1, err)
				}
				if obj.SHA256 != d || obj.Size != 0 || obj.Existed != existed {
					t.Fatalf("Put %d = %+v, want %s, 0 bytes, Existed %v", i+1, obj, d, existed)
				}
				// At once, so that a request malformed by a Put (bytes
				// sent beyond its end) spoils this one on the same
				// connection.
				if got, err := read(t, s, d); err != nil || len(got) != 0 {
					t.Fatalf("Get after Put %d: %d bytes, %v", i+1, len(got), err)
				}
			}
			if got, err := read(t, s, d); err != nil || len(got) != 0 {
				t.Fatalf("Get: %d bytes, %v", len(got), err)
			}
		})
	}
}

// TestPutRefused checks that Put with a wrong digest or size stores
// nothing, along both paths.
func TestPutRefused(t *testing.T) {
	t.Parallel()
	g := launch(t)
	cfg := g.config(t, false)
	s := open(t, cfg)
	data := []byte("the archived page")
	other := digest([]byte("another page"))
	for _, tc := range []struct {
		name string
		r    io.Reader
		size int64
		want string
		err  string // in the error, if not a digest mismatch
	}{
		{name: "digest/size", r: bytes.NewReader(data), size: int64(len(data)), want: other},
		{name: "digest/nosize", r: bytes.NewReader(data), size: -1, want: other},
		{name: "longer/digest", r: bytes.NewReader(data), size: 5, want: digest(data[:5]), err: "longer than 5 bytes"},
		{name: "longer", r: bytes.NewReader(data), size: 5, err: "longer than 5 bytes"},
		{name: "shorter/digest", r: bytes.NewReader(data), size: 100, want: digest(data), err: "read 17 bytes, want 100"},
		{name: "nonempty/digest", r: bytes.NewReader(data), size: 0, want: digest(nil), err: "longer than 0 bytes"},
		{name: "failing/digest", r: io.MultiReader(bytes.NewReader(data), iotestErr{}), size: 100, want: digest(data), err: "source broke"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Put(t.Context(), tc.r, tc.size, tc.want)
			var dm *store.DigestMismatchError
			switch {
			case err == nil:
				t.Fatal("Put succeeded")
			case tc.err == "" && (!errors.As(err, &dm) || dm.Want != tc.want || dm.Got != digest(data)):
				t.Fatalf("Put: %v, want a digest mismatch", err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("Put: %v, want %q", err, tc.err)
			}
			if f := files(t, filepath.Join(g.DataDir, cfg.Bucket)); len(f) != 0 {
				t.Fatalf("refused Put left %q", f)
			}
		})
	}
}

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errors.New("source broke") }

// TestObjectLock checks that objects are written locked, in both modes and
// with a legal hold, and that the server then refuses to delete them.
func TestObjectLock(t *testing.T) {
	t.Parallel()
	g := launch(t)
	raw := g.raw(t)
	for _, tc := range []struct {
		mode      string
		legalHold bool
	}{
		{mode: "governance"},
		{mode: "compliance"},
		{legalHold: true},
	} {
		for _, direct := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/legalhold=%v/direct=%v", tc.mode, tc.legalHold, direct), func(t *testing.T) {
				cfg := g.config(t, true)
				cfg.LegalHold = tc.legalHold
				if tc.mode != "" {
					cfg.Retention, cfg.RetentionMode = 24*time.Hour, tc.mode
				}
				s := open(t, cfg)
				data := []byte("locked evidence " + t.Name())
				d, size := digest(data), int64(len(data))
				want := ""
				if direct {
					want = d
				}
				before := time.Now()
				if _, err := s.Put(t.Context(), bytes.NewReader(data), size, want); err != nil {
					t.Fatal(err)
				}
				key := "archive1/sha256/" + d[:2] + "/" + d
				info, err := raw.StatObject(t.Context(), cfg.Bucket, key, minio.StatObjectOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if tc.mode != "" {
					// versitygw v1.8.0 answers GetObjectRetention with an
					// element minio-go cannot parse; HeadObject has it.
					mode := info.Metadata.Get("X-Amz-Object-Lock-Mode")
					until, err := time.Parse(time.RFC3339, info.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
					if !strings.EqualFold(mode, tc.mode) || err != nil ||
						until.Before(before.Add(24*time.Hour-time.Second)) || until.After(time.Now().Add(24*time.Hour+time.Second)) {
						t.Errorf("lock mode %q until %v (%v), want %s until a day from now", mode, until, err, tc.mode)
					}
				}
				if tc.legalHold {
					st, err := raw.GetObjectLegalHold(t.Context(), cfg.Bucket, key, minio.GetObjectLegalHoldOptions{})
					if err != nil || *st != minio.LegalHoldEnabled {
						t.Errorf("legal hold %v, %v; want ON", st, err)
					}
				}
				if err := raw.RemoveObject(t.Context(), cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID}); err == nil {
					t.Fatal("server deleted a locked object")
				}
				bypass := raw.RemoveObject(t.Context(), cfg.Bucket, key, minio.RemoveObjectOptions{VersionID: info.VersionID, GovernanceBypass: true})
				if bypass == nil && tc.mode != "governance" {
					t.Fatal("server deleted a locked object when asked to bypass governance mode")
				}
				if tc.mode == "governance" {
					if bypass != nil {
						t.Fatalf("bypassing governance mode: %v", bypass)
					}
					return // gone, as governance mode allows
				}
				if got, err := read(t, s, d); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("after failed deletes: %q, %v", got, err)
				}
				obj, err := s.Put(t.Context(), bytes.NewReader(data), size, want)
				if err != nil || !obj.Existed {
					t.Fatalf("second Put = %+v, %v; want Existed", obj, err)
				}
				n := 0
				for v := range raw.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: "archive1/", Recursive: true, WithVersions: true}) {
					if v.Err != nil {
						t.Fatal(v.Err)
					}
					if !strings.HasPrefix(v.Key, "archive1/sha256/") {
						t.Errorf("left behind: %s version %s", v.Key, v.VersionID)
					}
					n++
				}
				if n != 1 {
					t.Errorf("%d object versions, want 1", n)
				}
			})
		}
	}
}

// TestNewErrors checks that New fails at once, with a clear error, when
// the server cannot serve the configuration.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	g := launch(t)
	plain := g.config(t, false)
	for _, tc := range []struct {
		name   string
		change func(*s3.Config)
		is     error
		code   string
	}{
		{"unknown access key", func(c *s3.Config) {
			c.Credentials = credentials.NewStaticV4("no-such-access-key", g.SecretKey, "")
		}, s3.ErrAccessDenied, ""},
		{"wrong secret", func(c *s3.Config) {
			c.Credentials = credentials.NewStaticV4(g.AccessKey, "not-the-secret-key", "")
		}, s3.ErrAccessDenied, "SignatureDoesNotMatch"},
		{"no credentials", func(c *s3.Config) {
			c.Credentials = credentials.NewStaticV4("", "", "")
		}, s3.ErrAccessDenied, ""},
		{"missing bucket", func(c *s3.Config) { c.Bucket = "no-such-bucket" }, s3.ErrNoBucket, ""},
		{"retention without object lock", func(c *s3.Config) {
			c.Retention, c.RetentionMode = time.Hour, "compliance"
		}, s3.ErrNoObjectLock, ""},
		{"legal hold without object lock", func(c *s3.Config) { c.LegalHold = true }, s3.ErrNoObjectLock, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := plain
			tc.change(&cfg)
			start := time.Now()
			_, err := s3.New(t.Context(), cfg)
			if !errors.Is(err, tc.is) {
				t.Fatalf("New: %v, want %v", err, tc.is)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("New took %v to fail", d)
			}
			var resp minio.ErrorResponse
			if tc.code != "" && (!errors.As(err, &resp) || resp.Code != tc.code) {
				t.Errorf("New: %v, want S3 error code %s", err, tc.code)
			}
			msg := err.Error()
			if errors.Is(tc.is, s3.ErrAccessDenied) && !strings.Contains(msg, "read from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") {
				t.Errorf("error %q does not say where the credentials are read from", msg)
			}
			if tc.name == "no credentials" && !strings.Contains(msg, "no credentials found") {
				t.Errorf("error %q does not say no credentials were found", msg)
			}
			if !strings.Contains(msg, cfg.Bucket) || !strings.Contains(msg, g.Endpoint) {
				t.Errorf("error %q does not name bucket %s and endpoint %s", msg, cfg.Bucket, g.Endpoint)
			}
			if strings.Contains(msg, "bucket in bucket") {
				t.Errorf("error %q says bucket twice", msg)
			}
			if strings.Contains(msg, g.SecretKey) || strings.Contains(msg, g.AccessKey) ||
				strings.Contains(msg, "not-the-secret-key") || strings.Contains(msg, "no-such-access-key") {
				t.Errorf("error %q reveals credentials", msg)
			}
		})
	}
}

// TestWrongScheme checks that https to a plain HTTP server is not taken
// for a transient failure.
func TestWrongScheme(t *testing.T) {
	t.Parallel()
	endpoint, access, secret := startServer(t)
	cfg := s3.Config{
		Bucket:      "scheme",
		Endpoint:    endpoint,
		PathStyle:   true,
		Credentials: credentials.NewStaticV4(access, secret, ""),
	}
	if err := s3.CreateBucket(t.Context(), cfg, false); err != nil {
		t.Fatal(err)
	}
	if err := s3.CreateBucket(t.Context(), cfg, false); err == nil {
		t.Error("CreateBucket succeeded for an existing bucket")
	}
	open(t, cfg)
	cfg.Endpoint = strings.Replace(endpoint, "http://", "https://", 1)
	start := time.Now()
	_, err := s3.New(t.Context(), cfg)
	if err == nil || errors.Is(err, s3.ErrUnavailable) || time.Since(start) > 2*time.Second {
		t.Errorf("New over https to an http server: %v after %v, want a quick failure", err, time.Since(start))
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	ok := s3.Config{Bucket: "bkt", Endpoint: "http://127.0.0.1:1", Credentials: credentials.NewStaticV4("a", "b", "")}
	for _, tc := range []struct {
		name   string
		change func(*s3.Config)
		err    string
	}{
		{"no bucket", func(c *s3.Config) { c.Bucket = "" }, "no bucket"},
		{"bad bucket", func(c *s3.Config) { c.Bucket = "a/b" }, "bucket"},
		{"no endpoint", func(c *s3.Config) { c.Endpoint = "" }, "endpoint"},
		{"no scheme", func(c *s3.Config) { c.Endpoint = "127.0.0.1:9000" }, "endpoint"},
		{"ftp", func(c *s3.Config) { c.Endpoint = "ftp://example.org" }, "scheme"},
		{"path", func(c *s3.Config) { c.Endpoint = "https://example.org/s3" }, "path"},
		{"password in URL", func(c *s3.Config) { c.Endpoint = "https://key:sekrit@example.org" }, "Credentials"},
		{"retention without mode", func(c *s3.Config) { c.Retention = time.Hour }, "mode"},
		{"unknown mode", func(c *s3.Config) { c.Retention, c.RetentionMode = time.Hour, "forever" }, "forever"},
		{"mode without retention", func(c *s3.Config) { c.RetentionMode = "compliance" }, "without"},
		{"negative retention", func(c *s3.Config) { c.Retention, c.RetentionMode = -time.Hour, "compliance" }, "negative"},
		{"negative deadline", func(c *s3.Config) { c.RetryDeadline = -1 }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.change(&cfg)
			_, err := s3.New(t.Context(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("New: %v, want an error about %q", err, tc.err)
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("error %q reveals the password", err)
			}
		})
	}
	err := s3.CreateBucket(t.Context(), s3.Config{Bucket: "bkt", Endpoint: "http://127.0.0.1:1", LegalHold: true}, false)
	if err == nil || !strings.Contains(err.Error(), "Object Lock") {
		t.Errorf("CreateBucket without Object Lock for a legal hold: %v", err)
	}
}

// TestUnavailable stops the server under a store: operations fail within
// the retry deadline, and work again once it is back.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	g := launch(t)
	cfg := g.config(t, false)
	cfg.RetryDeadline = 2 * time.Second
	s := open(t, cfg)
	data := []byte("before the outage")
	if _, err := s.Put(t.Context(), bytes.NewReader(data), -1, ""); err != nil {
		t.Fatal(err)
	}
	g.stop()
	fresh := []byte("during the outage")
	// All at once, to save time (t.Parallel would run only GOMAXPROCS).
	var wg sync.WaitGroup
	for _, tc := range []struct {
		name string
		op   func() error
	}{
		{"Put", func() error { _, err := s.Put(t.Context(), bytes.NewReader(fresh), -1, ""); return err }},
		{"Put/digest", func() error {
			_, err := s.Put(t.Context(), bytes.NewReader(fresh), int64(len(fresh)), digest(fresh))
			return err
		}},
		{"Get", func() error { _, err := s.Get(t.Context(), digest(data)); return err }},
		{"Stat", func() error { _, err := s.Stat(t.Context(), digest(data)); return err }},
		{"List", func() error {
			for _, err := range s.List(t.Context()) {
				if err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		wg.Go(func() {
			start := time.Now()
			err := tc.op()
			if !errors.Is(err, s3.ErrUnavailable) {
				t.Errorf("%s with the server down: %v, want ErrUnavailable", tc.name, err)
			}
			if d := time.Since(start); d < cfg.RetryDeadline || d > cfg.RetryDeadline+time.Second {
				t.Errorf("%s failed after %v, want about the retry deadline, %v", tc.name, d, cfg.RetryDeadline)
			}
		})
	}
	wg.Wait()
	g.start()
	if _, err := s.Put(t.Context(), bytes.NewReader(fresh), -1, ""); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
	// A Put that starts while the server is down succeeds when it comes
	// back within the deadline.
	cfg.RetryDeadline = 20 * time.Second
	s = open(t, cfg)
	fresh = []byte("across a restart")
	g.stop()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put(context.Background(), bytes.NewReader(fresh), int64(len(fresh)), digest(fresh))
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	g.start()
	if err := <-done; err != nil {
		t.Fatalf("Put across a restart: %v", err)
	}
	if got, err := read(t, s, digest(fresh)); err != nil || !bytes.Equal(got, fresh) {
		t.Fatalf("after restart: %q, %v", got, err)
	}
}

// TestListStray checks that List reports keys outside the layout and
// skips temporary objects.
func TestListStray(t *testing.T) {
	t.Parallel()
	g := launch(t)
	cfg := g.config(t, false)
	s := open(t, cfg)
	raw := g.raw(t)
	obj, err := s.Put(t.Context(), strings.NewReader("kept"), -1, "")
	if err != nil {
		t.Fatal(err)
	}
	d := obj.SHA256
	for _, key := range []string{
		"archive1/sha256/" + d[:2] + "/" + d[:63],     // short
		"archive1/sha256/00/" + d,                     // wrong directory
		"archive1/sha256/" + d[:2] + "/" + d + ".bak", // suffix
		"archive1/tmp/0123",                           // temporary: ignored
		"other/sha256/" + d[:2] + "/" + d,             // other prefix: ignored
	} {
		if _, err := raw.PutObject(t.Context(), cfg.Bucket, key, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	strays := 0
	for d, err := range s.List(t.Context()) {
		if err != nil {
			if !strings.Contains(err.Error(), "stray object") {
				t.Fatal(err)
			}
			strays++
			continue
		}
		got = append(got, d)
	}
	if len(got) != 1 || got[0] != d || strays != 3 {
		t.Errorf("List = %q and %d strays, want [%s] and 3", got, strays, d)
	}
}

func TestLocation(t *testing.T) {
	t.Parallel()
	g := launch(t)
	cfg := g.config(t, false)
	for _, tc := range []struct{ prefix, want string }{
		{"", "s3://%s/ (%s)"},
		{"archive1", "s3://%s/archive1/ (%s)"},
		{"/a/b/", "s3://%s/a/b/ (%s)"},
	} {
		cfg.Prefix = tc.prefix
		if got, want := open(t, cfg).Location(), fmt.Sprintf(tc.want, cfg.Bucket, g.Endpoint); got != want {
			t.Errorf("Location() = %q, want %q", got, want)
		}
	}
}

// faultProxy stands between a store and the gateway and answers some
// requests with an S3 error instead of passing them on.
type faultProxy struct {
	URL    string
	mu     sync.Mutex
	fault  func(r *http.Request) (status int, code string) // status 0: pass on
	seen   []string                                        // "METHOD faulted?" of each request
	lost   map[int]bool                                    // requests the proxy failed to pass on
	server *httptest.Server
}

type seenKey struct{}

func newFaultProxy(t *testing.T, g *gateway) *faultProxy {
	t.Helper()
	up, err := url.Parse(g.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	p := &faultProxy{lost: map[int]bool{}}
	// The gateway may answer a conditional PUT with 412 before reading its
	// body and reset the connection while the proxy still writes it; the
	// proxy then answers 502 and the client rightly retries. Such a request
	// never reached the gateway whole, so requests leaves it out.
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		p.mu.Lock()
		if i, ok := r.Context().Value(seenKey{}).(int); ok {
			p.lost[i] = true
		}
		p.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		status, code := 0, ""
		if p.fault != nil {
			status, code = p.fault(r)
		}
		i := len(p.seen)
		p.seen = append(p.seen, fmt.Sprintf("%s %v", r.Method, status != 0))
		p.mu.Unlock()
		if status == 0 {
			rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), seenKey{}, i)))
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected</Message></Error>", code)
	}))
	t.Cleanup(p.server.Close)
	p.URL = p.server.URL
	return p
}

// set installs fault and forgets the requests seen so far.
func (p *faultProxy) set(fault func(r *http.Request) (int, string)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fault, p.seen, p.lost = fault, nil, map[int]bool{}
}

// requests returns the requests seen since set, other than those the
// proxy failed to pass on.
func (p *faultProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var seen []string
	for i, s := range p.seen {
		if !p.lost[i] {
			seen = append(seen, s)
		}
	}
	return seen
}

// TestFaults checks which server errors are retried.
func TestFaults(t *testing.T) {
	t.Parallel()
	g := launch(t)
	p := newFaultProxy(t, g)
	cfg := g.config(t, false)
	cfg.Endpoint = p.URL
	cfg.RetryDeadline = 2 * time.Second
	s := open(t, cfg)
	ctx := t.Context()

	t.Run("SlowDown", func(t *testing.T) {
		cfg := cfg
		cfg.RetryDeadline = 20 * time.Second // ample: no flakes
		s := open(t, cfg)
		for i, op := range []func(data []byte) error{
			func(data []byte) error { _, err := s.Put(ctx, bytes.NewReader(data), -1, ""); return err },
			func(data []byte) error {
				_, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), digest(data))
				return err
			},
			func(data []byte) error {
				if _, err := s.Stat(ctx, digest(data)); err != nil {
					return err
				}
				_, err := read(t, s, digest(data))
				return err
			},
		} {
			data := []byte(fmt.Sprintf("object %d", i))
			if i == 2 {
				data = []byte("object 1")
			}
			// Two of every kind of request are throttled first.
			counts := map[string]int{}
			p.set(func(r *http.Request) (int, string) {
				if counts[r.Method]++; counts[r.Method] <= 2 {
					return http.StatusServiceUnavailable, "SlowDown"
				}
				return 0, ""
			})
			if err := op(data); err != nil {
				t.Errorf("operation %d: %v (requests %q)", i, err, p.requests())
			}
		}
		p.set(nil)
		for u := range g.raw(t).ListIncompleteUploads(ctx, cfg.Bucket, "archive1/", true) {
			t.Errorf("incomplete upload left: %+v", u)
		}
	})

	t.Run("AccessDenied", func(t *testing.T) {
		p.set(func(r *http.Request) (int, string) {
			if r.Method == http.MethodPut {
				return http.StatusForbidden, "AccessDenied"
			}
			return 0, ""
		})
		defer p.set(nil)
		data := []byte("not allowed")
		for _, want := range []string{"", digest(data)} {
			_, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), want)
			if !errors.Is(err, s3.ErrAccessDenied) {
				t.Errorf("Put: %v, want ErrAccessDenied", err)
			}
		}
		if n := strings.Count(strings.Join(p.requests(), ","), "PUT true"); n != 2 {
			t.Errorf("%d PUT requests for 2 Puts, want no retries: %q", n, p.requests())
		}
	})

	t.Run("InternalError", func(t *testing.T) {
		p.set(func(r *http.Request) (int, string) { return http.StatusInternalServerError, "InternalError" })
		defer p.set(nil)
		start := time.Now()
		_, err := s.Stat(ctx, digest([]byte("x")))
		if !errors.Is(err, s3.ErrUnavailable) || time.Since(start) < cfg.RetryDeadline {
			t.Errorf("Stat: %v after %v, want ErrUnavailable after %v", err, time.Since(start), cfg.RetryDeadline)
		}
		if n := len(p.requests()); n < 3 {
			t.Errorf("%d attempts, want several", n)
		}
	})

	// A server that does not implement conditional or checksummed PUTs:
	// Put falls back to a temporary key, and keeps using that.
	t.Run("NotImplemented", func(t *testing.T) {
		p.set(func(r *http.Request) (int, string) {
			if r.Method == http.MethodPut && r.Header.Get("If-None-Match") != "" {
				return http.StatusNotImplemented, "NotImplemented"
			}
			return 0, ""
		})
		defer p.set(nil)
		for _, data := range [][]byte{[]byte("first direct"), []byte("second direct")} {
			obj, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)), digest(data))
			if err != nil || obj.Existed {
				t.Fatalf("Put = %+v, %v", obj, err)
			}
			if got, err := read(t, s, digest(data)); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Get = %q, %v", got, err)
			}
		}
		if n := strings.Count(strings.Join(p.requests(), ","), "PUT true"); n != 1 {
			t.Errorf("%d refused PUTs, want 1: %q", n, p.requests())
		}
	})
}

// TestPutRequests checks the requests a Put of known digest makes: one
// conditional PUT for an object up to 1 MiB, new or not (a 412 answer
// says it existed); a HEAD first for a larger one, and nothing more if it
// exists. Bytes that do not hash to the digest are refused either way.
func TestPutRequests(t *testing.T) {
	t.Parallel()
	g := launch(t)
	p := newFaultProxy(t, g)
	cfg := g.config(t, false)
	cfg.Endpoint = p.URL
	s := open(t, cfg)
	ctx := t.Context()
	small := bytes.Repeat([]byte("s"), 1<<20)
	big := bytes.Repeat([]byte("b"), 1<<20+1)
	for _, tc := range []struct {
		desc    string
		data    []byte
		want    string // digest given; "" for the data's
		existed bool
		wantErr bool
		reqs    string
	}{
		{desc: "small, new", data: small, reqs: "PUT false"},
		{desc: "small, again", data: small, existed: true, reqs: "PUT false"},
		{desc: "small, wrong digest", data: []byte("tampered"), want: digest([]byte("original")), wantErr: true},
		{desc: "big, new", data: big, reqs: "HEAD false,PUT false"},
		{desc: "big, again", data: big, existed: true, reqs: "HEAD false"},
		{desc: "big, wrong digest", data: big[1:], want: digest(small[1:]), wantErr: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = digest(tc.data)
			}
			p.set(nil)
			obj, err := s.Put(ctx, bytes.NewReader(tc.data), int64(len(tc.data)), want)
			if tc.wantErr {
				var dm *store.DigestMismatchError
				if !errors.As(err, &dm) {
					t.Fatalf("Put = %+v, %v; want a digest mismatch", obj, err)
				}
				if _, err := s.Stat(ctx, want); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("after a refused Put, Stat: %v; want ErrNotFound", err)
				}
				return
			}
			if err != nil || obj.Existed != tc.existed || obj.SHA256 != want {
				t.Fatalf("Put = %+v, %v; want %s, existed %v", obj, err, want, tc.existed)
			}
			if got := strings.Join(p.requests(), ","); got != tc.reqs {
				t.Errorf("requests %q, want %q", got, tc.reqs)
			}
		})
	}
}

// TestRemove removes an object from a bucket without Object Lock (every
// version goes), and is refused, removing nothing, for objects under
// retention in governance or compliance mode, or a legal hold.
func TestRemove(t *testing.T) {
	t.Parallel()
	g := launch(t)
	raw := g.raw(t)
	versions := func(cfg s3.Config, d string) int {
		n := 0
		for v := range raw.ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Prefix: "archive1/sha256/" + d[:2] + "/" + d, WithVersions: true}) {
			if v.Err != nil {
				t.Fatal(v.Err)
			}
			n++
		}
		return n
	}
	for _, tc := range []struct {
		name      string
		lock      bool
		mode      string
		legalHold bool
	}{
		{name: "unlocked"},
		{name: "lock-enabled-bucket, no retention", lock: true},
		{name: "governance", lock: true, mode: "governance"},
		{name: "compliance", lock: true, mode: "compliance"},
		{name: "legal-hold", lock: true, legalHold: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := g.config(t, tc.lock)
			cfg.LegalHold = tc.legalHold
			if tc.mode != "" {
				cfg.Retention, cfg.RetentionMode = 24*time.Hour, tc.mode
			}
			s := open(t, cfg)
			data := []byte("an orphan " + t.Name())
			d := digest(data)
			if _, err := s.Put(t.Context(), bytes.NewReader(data), int64(len(data)), d); err != nil {
				t.Fatal(err)
			}
			err := s.Remove(t.Context(), d)
			if tc.mode == "" && !tc.legalHold {
				if err != nil {
					t.Fatalf("Remove: %v", err)
				}
				if _, err := s.Stat(t.Context(), d); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("after Remove, Stat = %v, want ErrNotFound", err)
				}
				if n := versions(cfg, d); n != 0 {
					t.Errorf("after Remove, %d versions or delete markers left", n)
				}
				if err := s.Remove(t.Context(), d); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("second Remove = %v, want ErrNotFound", err)
				}
				return
			}
			var re *store.RetainedError
			if !errors.As(err, &re) || !errors.Is(err, store.ErrRetained) || re.Digest != d || re.LegalHold != tc.legalHold ||
				(tc.mode != "" && (re.Mode != strings.ToUpper(tc.mode) || re.RetainUntil.Before(time.Now().Add(23*time.Hour)))) {
				t.Fatalf("Remove of a retained object = %#v, want a *store.RetainedError", err)
			}
			if got, err := read(t, s, d); err != nil || !bytes.Equal(got, data) {
				t.Errorf("after a refused Remove: %q, %v", got, err)
			}
			if n := versions(cfg, d); n != 1 {
				t.Errorf("after a refused Remove, %d versions, want 1", n)
			}
		})
	}
	if err := open(t, g.config(t, false)).Remove(t.Context(), "nonsense"); !errors.Is(err, store.ErrDigest) {
		t.Errorf("Remove(nonsense) = %v, want ErrDigest", err)
	}
}

// TestEnvCredentialsHalf checks that New refuses an environment holding an
// access key without a secret key (or the reverse), naming what is
// missing, before it asks the server anything.
func TestEnvCredentialsHalf(t *testing.T) {
	for _, tc := range []struct{ id, secret, want string }{
		{"exhibit", "", "AWS_SECRET_ACCESS_KEY is not"},
		{"", "secret", "AWS_ACCESS_KEY_ID is not"},
	} {
		t.Setenv("AWS_ACCESS_KEY_ID", tc.id)
		t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
		_, err := s3.New(t.Context(), s3.Config{Endpoint: "http://127.0.0.1:1", Bucket: "evidence", PathStyle: true})
		if !errors.Is(err, s3.ErrCredentials) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("id %q, secret %q: %v, want ErrCredentials saying %q", tc.id, tc.secret, err, tc.want)
		}
	}
}
