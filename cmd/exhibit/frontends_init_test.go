package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// TestFrontendsInitRefused creates a shared archive, then tries to create
// others where it is: on its bucket prefix, on its log's database, on its
// index's database, with another origin or another key. Each is refused
// with an error naming what already holds what, before anything is
// written (no directory), and the archive's log and index are untouched
// (the same checkpoint and index before and after). A frontend joining
// with a copy of exhibit.json and a key that is not the log's, or an
// exhibit.json whose origin was changed, is refused at start.
func TestFrontendsInitRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, db, g := archivetest.AWS(t, "init.test/log")
	inTemp(t)
	const store = "s3://evidence/main"
	exhibit(t, "--archive", "first", "init", "--origin", "init.test/log", "--store", store, "--s3-endpoint", g.Endpoint,
		"--s3-path-style", "--s3-create-bucket", "--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN).want(t, 0)
	exhibit(t, "--archive", "first", "track", "add", "http://127.0.0.1:1/terms", "--entity", "Example", "--document", "Terms").want(t, 0)

	state := func() (string, string) {
		t.Helper()
		ctx := archivetest.Context(t, time.Minute)
		a, err := archive.Open(ctx, "first", archive.OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close(context.Background())
		signed, _, err := a.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(signed), dumpIndex(t, a)
	}
	cp, ix := state()

	fresh := func() string {
		c := db.Config(db.NewDatabase(t))
		c.Passwd = ""
		return c.FormatDSN()
	}
	keyFile := filepath.Join(t.TempDir(), "other.pem")
	key, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyFile, key, 0o600)
	for _, c := range []struct {
		name  string
		args  []string
		wants []string
	}{
		{"the bucket prefix holds a log", []string{"--origin", "init.test/log", "--store", store, "--log-db", fresh(), "--index-db", fresh()},
			[]string{"s3://evidence/main/log/ already holds a log's checkpoint", "join that archive"}},
		{"the bucket prefix, another origin and key", []string{"--origin", "other.test/log", "--key", keyFile, "--store", store, "--log-db", fresh(), "--index-db", fresh()},
			[]string{"s3://evidence/main/log/ already holds a log's checkpoint"}},
		{"the log's database holds a log", []string{"--origin", "other.test/log", "--store", "s3://evidence/other", "--log-db", o.Log.DSN, "--index-db", fresh()},
			[]string{"the log's database", "already holds tables", "join that archive"}},
		{"the index's database holds an index", []string{"--origin", "other.test/log", "--store", "s3://evidence/other", "--log-db", fresh(), "--index-db", o.Log.IndexDSN},
			[]string{"the index's database", "already holds tables"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--archive", "second", "init", "--s3-endpoint", g.Endpoint, "--s3-path-style"}, c.args...)
			r := exhibit(t, args...)
			if r.code == 0 {
				t.Fatalf("init %s: exit 0: %s", c.name, r.stdout)
			}
			for _, w := range c.wants {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("init %s: stderr lacks %q:\n%s", c.name, w, r.stderr)
				}
			}
			if _, err := os.Stat("second"); !os.IsNotExist(err) {
				t.Errorf("init %s refused, but wrote its directory: %v", c.name, err)
				os.RemoveAll("second")
			}
		})
	}
	if gotCP, gotIx := state(); gotCP != cp || gotIx != ix {
		t.Errorf("the refused inits changed the first archive: checkpoint\n%s\nthen\n%s", cp, gotCP)
	}

	// Joining: a copy of exhibit.json and key.pem. With another key, or
	// with exhibit.json naming another origin, a frontend is refused at
	// start; the log is untouched.
	join := func(name string, edit func(cfg, key []byte) ([]byte, []byte)) string {
		cfg, _ := os.ReadFile(filepath.Join("first", "exhibit.json"))
		k, _ := os.ReadFile(filepath.Join("first", "key.pem"))
		cfg, k = edit(cfg, k)
		os.Mkdir(name, 0o755)
		os.WriteFile(filepath.Join(name, "exhibit.json"), cfg, 0o644)
		os.WriteFile(filepath.Join(name, "key.pem"), k, 0o600)
		return name
	}
	for _, c := range []struct {
		name string
		dir  string
		want string
	}{
		{"another key", join("wrongkey", func(cfg, _ []byte) ([]byte, []byte) { return cfg, key }), "the signing key does not match"},
		{"another origin", join("wrongorigin", func(cfg, k []byte) ([]byte, []byte) {
			return []byte(strings.ReplaceAll(string(cfg), `"init.test/log"`, `"other.test/log"`)), k
		}), "is not named by the archive's origin"},
	} {
		r := exhibit(t, "--archive", c.dir, "track", "add", "http://127.0.0.1:1/other", "--entity", "Example", "--document", "Other")
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("a frontend with %s: exit %d, stderr %q, want refused (%q)", c.name, r.code, r.stderr, c.want)
		} else {
			t.Logf("a frontend with %s: %s", c.name, strings.TrimSpace(r.stderr))
		}
	}
	// The right copy joins.
	exhibit(t, "--archive", join("joined", func(cfg, k []byte) ([]byte, []byte) { return cfg, k }), "track", "add", "http://127.0.0.1:1/other",
		"--entity", "Example", "--document", "Other").want(t, 0)
	if gotCP, _ := state(); gotCP == cp {
		t.Error("the joined frontend's declaration is not in the log")
	}
}

// TestFrontendsInitFails runs `exhibit init` of a shared archive that
// fails: the log's database unreachable, its password wrong, the index's
// database impossible to create. Each fails with a clear error and leaves
// nothing in the archive directory (no key.pem, no lock), so that the
// retry, with the mistake fixed, creates the archive.
func TestFrontendsInitFails(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, _, g := archivetest.AWS(t, "fails.test/log")
	inTemp(t)
	base := []string{"--archive", "a", "init", "--origin", "fails.test/log", "--store", "s3://evidence/main", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket"}
	for _, c := range []struct {
		name     string
		password string
		args     []string
		wants    []string
	}{
		{"the log's database unreachable", mariadbtest.Password, []string{"--log-db", "exhibit@tcp(127.0.0.1:1)/log", "--index-db", o.Log.IndexDSN},
			[]string{"127.0.0.1:1", "connection refused"}},
		{"a wrong password", "wrong", []string{"--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN},
			[]string{"Access denied", archive.EnvDBPassword}},
		{"the index's database cannot be created", mariadbtest.Password, []string{"--log-db", o.Log.DSN, "--index-db", "exhibit@tcp(" + strings.Split(strings.Split(o.Log.DSN, "(")[1], ")")[0] + ")/" + strings.Repeat("x", 70)},
			[]string{strings.Repeat("x", 70)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(archive.EnvDBPassword, c.password)
			r := exhibit(t, append(base, c.args...)...)
			if r.code == 0 {
				t.Fatalf("init: exit 0: %s", r.stdout)
			}
			for _, want := range c.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("init's error lacks %q: %s", want, r.stderr)
				}
			}
			if ents, err := os.ReadDir("a"); err == nil && len(ents) > 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("a failed init left %v", names)
			}
		})
	}
	exhibit(t, append(base, "--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN)...).want(t, 0)
}
