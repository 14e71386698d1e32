package archive_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// TestDBDownCountsFromLastOutage hangs a shared archive's MariaDB
// (SIGSTOP) twice, with a recovery between: a write during the second
// outage fails saying how long the database has not answered counted from
// the second outage, not the first, after waiting as long as the first
// did; a write right after it fails at once.
func TestDBDownCountsFromLastOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw, and stops MariaDB twice")
	}
	o, db, _ := archivetest.AWS(t, "dbdown.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	a := archivetest.New(t, o)
	defer a.Close(ctx)
	archivetest.Upload(t, a)
	defer db.Resume()

	answered := regexp.MustCompile(`the database has not answered for ([0-9hms.]+):`)
	// down hangs the database and writes once: the write must fail with
	// an *UnavailableError saying for how long the database has not
	// answered, which is returned.
	down := func(name string) (time.Duration, time.Time) {
		t.Helper()
		paused := time.Now()
		_, err := archivetest.UploadErr(t, a)
		var ue *archive.UnavailableError
		if !errors.As(err, &ue) || ue.What != "database" {
			t.Fatalf("%s: a write with the database hung: %v, want a database *UnavailableError", name, err)
		}
		m := answered.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("%s: %v does not say how long the database has not answered", name, err)
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: the write failed after %v: %v", name, time.Since(paused).Round(100*time.Millisecond), ue)
		return d, paused
	}

	db.Pause()
	down("first outage")
	db.Resume()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		err := a.Health(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Health 60s after the database was continued: %v", err)
		}
	}
	archivetest.Upload(t, a)

	db.Pause()
	d, paused := down("second outage")
	if since := time.Since(paused); d > since+time.Second {
		t.Errorf("the second outage's write says the database has not answered for %v; it was stopped %v ago", d, since.Round(time.Second))
	}
	if d < archive.DBDownWait-time.Second {
		t.Errorf("the second outage's write failed after the database had not answered for %v, want at least %v", d, archive.DBDownWait)
	}

	// Known down: the next write fails at once, not after DBDownWait.
	start := time.Now()
	down("known down")
	if took := time.Since(start); took >= archive.DBDownWait {
		t.Errorf("a write while the database is known down failed after %v, want at once", took.Round(time.Second))
	}
}
