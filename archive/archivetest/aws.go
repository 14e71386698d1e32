package archivetest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/store/s3/s3test"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
)

// AWS returns the options of a new archive whose log is on Tessera's
// storage/aws driver: a bucket of a real S3 server (versitygw, see s3test)
// holding the snapshots, the log and the kept checkpoints, and two
// databases of a real MariaDB (see mariadbtest), the log's and the
// index's, all started for the test. The S3
// credentials and the database password are set in the environment
// (t.Setenv), as an operator would give them; the options hold none.
func AWS(t testing.TB, origin string) (archive.InitOptions, *mariadbtest.Server, *s3test.Gateway) {
	t.Helper()
	db := mariadbtest.Start(t)
	g := s3test.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", g.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", g.SecretKey)
	t.Setenv(archive.EnvDBPassword, mariadbtest.Password)
	dsn := db.Config(db.NewDatabase(t))
	dsn.Passwd = ""
	ix := db.Config(db.NewDatabase(t) + "_index")
	ix.Passwd = ""
	return archive.InitOptions{
		Origin:       origin,
		Store:        archive.StoreConfig{Type: "s3", Bucket: "evidence", Prefix: "archive/", Endpoint: g.Endpoint, PathStyle: true},
		CreateBucket: true,
		Log:          &archive.LogConfig{Type: "aws", DSN: dsn.FormatDSN(), IndexDSN: ix.FormatDSN()},
	}, db, g
}

// Join makes another frontend's directory of the shared archive in from:
// a copy of its exhibit.json and signing key, all another frontend needs.
func Join(t testing.TB, from string) string {
	t.Helper()
	dir, err := os.MkdirTemp(t.TempDir(), "frontend")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"exhibit.json", "key.pem"} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// EditConfig rewrites the exhibit.json of the archive in dir with edit
// applied to it, as an operator editing it by hand would.
func EditConfig(t testing.TB, dir string, edit func(cfg map[string]any)) {
	t.Helper()
	path := filepath.Join(dir, "exhibit.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
