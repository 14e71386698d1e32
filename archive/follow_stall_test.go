package archive_test

import (
	"context"
	"errors"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// TestFollowerDatabaseHangs stops a shared archive's MariaDB with SIGSTOP
// (a server that hangs: connections are accepted, nothing answers) while
// the index follower runs a round: the round fails within its bound
// instead of blocking for ever, Health and FollowerErr report the index
// follower stalled, and once the server is continued (SIGCONT) the
// follower recovers on its own, without a new checkpoint, and a new
// record is acknowledged and indexed.
func TestFollowerDatabaseHangs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw, and stops MariaDB for half a minute")
	}
	o, db, _ := archivetest.AWS(t, "stall.test/log")
	ctx := archivetest.Context(t, 5*time.Minute)
	a := archivetest.New(t, o)
	defer a.Close(ctx)
	archivetest.Upload(t, a)
	if err := a.FollowerErr(); err != nil {
		t.Fatalf("FollowerErr before the database hangs: %v", err)
	}

	db.Pause()
	defer db.Resume()
	paused := time.Now()
	a.KickFollower()
	var stalled *archive.IndexStalledError
	for deadline := paused.Add(archive.FollowDBTimeout + 60*time.Second); ; time.Sleep(100 * time.Millisecond) {
		if errors.As(a.FollowerErr(), &stalled) {
			break
		}
		if time.Now().After(deadline) {
			var buf strings.Builder
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Log(buf.String())
			t.Fatalf("the follower does not report the hung database %v after it hung (its calls are bounded by %v)", time.Since(paused).Round(time.Second), archive.FollowDBTimeout)
		}
	}
	t.Logf("the follower reported the hung database after %v: %v", time.Since(paused).Round(100*time.Millisecond), stalled)
	if !errors.Is(stalled, context.DeadlineExceeded) {
		t.Errorf("FollowerErr %v, want a deadline exceeded", stalled)
	}
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	var ue *archive.UnavailableError
	if err := a.Health(hctx); !errors.As(err, &ue) {
		t.Errorf("Health with the database hung: %v, want an *UnavailableError", err)
	}
	cancel()

	db.Resume()
	resumed := time.Now()
	for deadline := resumed.Add(60 * time.Second); a.FollowerErr() != nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			var buf strings.Builder
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Log(buf.String())
			t.Fatalf("the follower still fails 60s after the database was continued: %v", a.FollowerErr())
		}
	}
	t.Logf("the follower recovered %v after the database was continued", time.Since(resumed).Round(100*time.Millisecond))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := a.Health(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || strings.Contains(err.Error(), "index follower") {
			t.Fatalf("Health after the database was continued: %v", err)
		}
	}
	rec := archivetest.Upload(t, a)
	if got, err := a.Index().Get(ctx, rec.ID); err != nil || got.Index != rec.Index {
		t.Fatalf("the record logged after the database returned: %v, %v", got, err)
	}
	if lag, err := a.IndexLag(); err != nil || lag != 0 {
		t.Errorf("IndexLag after recovery: %d, %v; want 0", lag, err)
	}
}
