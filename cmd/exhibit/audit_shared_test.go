package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
)

// TestAuditSharedOrphans audits a shared archive (its log on S3 and
// MariaDB) holding an object no entry names, as a write refused after its
// object was stored leaves: exhibit audit notes it, exits 0 and lists it
// in its JSON output (an archive with a lock reports it as a problem).
func TestAuditSharedOrphans(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and versitygw")
	}
	o, _, g := archivetest.AWS(t, "auditshared.test/log")
	inTemp(t)
	exhibit(t, "init", "--origin", "auditshared.test/log", "--store", "s3://evidence/matter", "--s3-endpoint", g.Endpoint, "--s3-path-style", "--s3-create-bucket",
		"--log-db", o.Log.DSN, "--index-db", o.Log.IndexDSN).want(t, 0)
	os.WriteFile("doc.html", []byte("<p>terms</p>"), 0o644)
	exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms").want(t, 0)
	exhibit(t, "audit").want(t, 0, "audit: ok")

	ctx := context.Background()
	a, err := archive.Open(ctx, "exhibit-archive", archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	orphan := []byte("stored, then its statement refused")
	d := archivetest.SHA256(orphan)
	if _, err := a.Store().Put(ctx, bytes.NewReader(orphan), int64(len(orphan)), d); err != nil {
		t.Fatal(err)
	}
	a.Close(ctx)
	r := exhibit(t, "audit")
	r.want(t, 0, "note     1 stored objects named by no log entry up to the cut", "audit: ok")
	r = exhibit(t, "audit", "-o", "json")
	r.want(t, 0)
	var rep struct {
		OK       bool     `json:"ok"`
		Shared   bool     `json:"shared"`
		Orphans  int      `json:"orphans"`
		Orphaned []string `json:"orphaned"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.OK || !rep.Shared || rep.Orphans != 1 || len(rep.Orphaned) != 1 || rep.Orphaned[0] != d {
		t.Errorf("audit -o json: %+v, want ok, shared, the orphan %s", rep, d)
	}
}
