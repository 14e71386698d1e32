package ingest_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/ledger/mariadbtest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestImportLeaseLost imports a manifest into a shared archive while
// another holder takes two documents' leases from under it (as a frontend
// does once this one's lease expired: it paused, or the database did not
// answer): one just before it is handed to the log (seen by the renewal
// made then), one earlier (seen by the renewal every LeaseTTL/4). Neither
// is imported or logged; each is reported once, failed, with an error
// wrapping archive.ErrLeaseLost; the others are imported. A re-run once
// the leases are free imports the two and skips the rest: every document
// is logged once.
func TestImportLeaseLost(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, _, _ := archivetest.AWS(t, "importlease.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	a := archivetest.New(t, o)
	defer a.Close(ctx)

	cfg, err := mysql.ParseDSN(o.Log.IndexDSN)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = mariadbtest.Password
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	docs := t.TempDir()
	var manifest strings.Builder
	const n = 6
	for i := range n {
		name := fmt.Sprintf("doc%d.txt", i)
		if err := os.WriteFile(filepath.Join(docs, name), []byte(fmt.Sprintf("document %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&manifest, `{"entity":"e","document":"d%d","url":"https://example.org/%d","fetched_at":"2026-01-02T03:04:05Z","file":%q}`+"\n", i, i, name)
	}
	mpath := filepath.Join(docs, "manifest.jsonl")
	if err := os.WriteFile(mpath, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := ingest.ReadManifest(mpath)
	if err != nil {
		t.Fatal(err)
	}
	steal := func(key string) {
		t.Helper()
		name := "import/" + verify.SHA256Hex([]byte(key))
		res, err := db.ExecContext(ctx, `UPDATE leases SET holder = 'thief', until = NOW(6) + INTERVAL 10 MINUTE WHERE name = ?`, name)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Errorf("stealing lease %s: %d rows", name, n)
		}
	}
	lostAt := map[string]string{
		"https://example.org/1": "confirm", // taken just before it is logged
		"https://example.org/4": "renewal", // taken earlier: the renewal sees it
	}
	ingest.SetImportHook(t, func(lease context.Context, key string) {
		url, _, _ := strings.Cut(key, "\n")
		switch lostAt[url] {
		case "confirm":
			steal(key)
		case "renewal":
			steal(key)
			select {
			case <-lease.Done():
			case <-time.After(archive.LeaseTTL):
				t.Errorf("%s: the lease's work not cancelled within %v of its loss", url, archive.LeaseTTL)
			}
		}
	})
	var mu sync.Mutex
	reported := map[string][]error{}
	sum, err := ingest.New(a).Import(ctx, entries, ingest.ImportOptions{
		Concurrency: 2,
		OnResult: func(res ingest.ImportResult) {
			mu.Lock()
			defer mu.Unlock()
			reported[res.Entry.URL] = append(reported[res.Entry.URL], res.Err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != n-2 || sum.Failed != 2 || sum.LeaseLost != 2 {
		t.Errorf("summary %+v, want %d imported, 2 failed, 2 lease lost", sum, n-2)
	}
	for _, e := range entries {
		errs := reported[e.URL]
		if len(errs) != 1 {
			t.Errorf("%s reported %d times, want once: %v", e.URL, len(errs), errs)
			continue
		}
		switch how := lostAt[e.URL]; {
		case how != "" && !errors.Is(errs[0], archive.ErrLeaseLost):
			t.Errorf("%s, its lease lost at the %s: %v, want ErrLeaseLost", e.URL, how, errs[0])
		case how != "" && !strings.Contains(errs[0].Error(), "not imported"):
			t.Errorf("%s: %v does not say it was not imported", e.URL, errs[0])
		case how == "" && errs[0] != nil:
			t.Errorf("%s: %v", e.URL, errs[0])
		}
	}
	t.Logf("lost at the confirmation: %v", reported["https://example.org/1"])
	t.Logf("lost at a renewal: %v", reported["https://example.org/4"])
	count := func() map[string]int {
		c := map[string]int{}
		for r, err := range a.Index().Records(ctx) {
			if err != nil {
				t.Fatal(err)
			}
			c[r.URL]++
		}
		return c
	}
	if c := count(); len(c) != n-2 || c["https://example.org/1"] != 0 || c["https://example.org/4"] != 0 {
		t.Errorf("logged after the first run: %v; want every document but 1 and 4, once", c)
	}

	// The thief gives up; a re-run imports the two.
	if _, err := db.ExecContext(ctx, `DELETE FROM leases WHERE holder = 'thief'`); err != nil {
		t.Fatal(err)
	}
	ingest.SetImportHook(t, nil)
	sum, err = ingest.New(a).Import(ctx, entries, ingest.ImportOptions{Concurrency: 2})
	if err != nil || sum.Imported != 2 || sum.Skipped != n-2 || sum.Failed != 0 {
		t.Fatalf("re-run: %+v, %v; want 2 imported, %d skipped", sum, err, n-2)
	}
	for url, k := range count() {
		if k != 1 {
			t.Errorf("%s logged %d times", url, k)
		}
	}
	if c := count(); len(c) != n {
		t.Errorf("%d documents logged, want %d", len(c), n)
	}
}
