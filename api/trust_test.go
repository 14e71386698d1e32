package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// trustGet returns a function that fetches a path from srv, wants the
// status and (unless empty) the Content-Type, and returns the body.
func trustGet(t *testing.T, srv *httptest.Server) func(path string, status int, ctype string) []byte {
	return func(path string, status int, ctype string) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("GET %s: %d, want %d: %s", path, resp.StatusCode, status, b)
		}
		if ctype != "" && resp.Header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, resp.Header.Get("Content-Type"), ctype)
		}
		return b
	}
}

// TestTrustEndpoints: an archive with a real TSA and a fail-open witness
// policy (its witnesses unreachable) serves the tokens, the policy and
// the TSA roots, and its bundles carry the token and the fail-open mark.
func TestTrustEndpoints(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{Origin: "api.example/log", FailOpen: true, TSA: true})
	for _, w := range tr.Witnesses {
		w.Stop()
	}
	a := tr.A
	rec := archivetest.Upload(t, a)
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	get := trustGet(t, srv)

	raw := get("/api/v1/records/"+rec.ID+"/bundle", 200, api.BundleMediaType)
	b, err := verify.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.Timestamp == nil || b.Witnessing != verify.WitnessingFailOpen {
		t.Fatalf("served bundle: %d token bytes (%q), witnessing %q", len(b.Timestamp), b.TimestampStatus, b.Witnessing)
	}
	policy := get("/api/v1/witness-policy", 200, "text/plain; charset=utf-8")
	if string(policy) != string(tr.PolicyText) {
		t.Errorf("served policy:\n%s\nwant the archive's\n%s", policy, tr.PolicyText)
	}
	pol, err := verify.ParsePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	roots, err := verify.ParseTSARoots(get("/api/v1/tsa-roots", 200, "application/pem-certificate-chain"))
	if err != nil {
		t.Fatal(err)
	}
	// The archive publishes fail-open, as its operator says: accept that.
	rep := verify.Check(raw, a.Key(), verify.Options{Policy: pol, Timestamps: &roots, AcceptFailOpen: true})
	if !rep.Verified || rep.Witnessed.QuorumMet {
		t.Fatalf("served bundle: %+v", rep.Checks)
	}

	cp, err := verify.OpenCheckpoint([]byte(b.Checkpoint), a.Key())
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != rec.Published {
		t.Errorf("bundle against tree size %d, want the record's checkpoint %d", cp.Size, rec.Published)
	}
	tsr := get("/timestamps/"+strconv.FormatUint(cp.Size, 10)+".tsr", 200, "application/timestamp-reply")
	if string(tsr) != string(b.Timestamp) {
		t.Error("the served token is not the bundle's")
	}
	// The same token and checkpoint where they are kept, for good.
	kept := "/checkpoints/" + ledger.CheckpointPath(cp.Size)
	if tsr := get(kept+".tsr", 200, "application/timestamp-reply"); string(tsr) != string(b.Timestamp) {
		t.Error("the kept token served is not the bundle's")
	}
	if c := get(kept, 200, "text/plain; charset=utf-8"); string(c) != b.Checkpoint {
		t.Errorf("the kept checkpoint served:\n%s\nis not the bundle's\n%s", c, b.Checkpoint)
	}
	get("/timestamps/999999.tsr", 404, "application/json")
	get("/checkpoints/"+ledger.CheckpointPath(999999)+".tsr", 404, "application/json")
	for _, bad := range []string{"/timestamps/01.tsr", "/timestamps/1", "/timestamps/x.tsr", "/checkpoints/01.tsr", "/checkpoints/1.tsr", "/checkpoints/x.tsr"} {
		get(bad, 404, "")
	}
}

// TestTimestampPending: a record whose checkpoint the TSA could not
// stamp is served with "timestamp_status": "pending". Serving never asks
// the TSA, even once it is back: the token comes when the writer's stamper
// gets it, and every bundle served after carries it.
func TestTimestampPending(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	a := tr.A
	tr.TSAOff.Store(true)
	rec := archivetest.Upload(t, a)
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	get := trustGet(t, srv)
	path := "/api/v1/records/" + rec.ID + "/bundle"
	tsr := "/checkpoints/" + ledger.CheckpointPath(rec.Published) + ".tsr"

	check := func(wantToken bool) *verify.Bundle {
		t.Helper()
		raw := get(path, 200, api.BundleMediaType)
		b, err := verify.ParseBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		if wantToken {
			if b.Timestamp == nil || b.TimestampStatus != "" {
				t.Fatalf("bundle: %d token bytes, status %q; want the token", len(b.Timestamp), b.TimestampStatus)
			}
		} else if b.Timestamp != nil || b.TimestampStatus != verify.TimestampPending {
			t.Fatalf("bundle: %d token bytes, status %q; want pending", len(b.Timestamp), b.TimestampStatus)
		}
		if b.Witnessing != "" {
			t.Errorf("witnessing %q in a fail-closed archive", b.Witnessing)
		}
		// Witnessed by the quorum either way; the token, once there,
		// verifies under the TSA's roots. A verifier that wants a token
		// is told it is pending.
		rep := verify.Check(raw, a.Key(), verify.Options{Policy: tr.Policy})
		if !rep.Verified || !rep.Witnessed.QuorumMet {
			t.Fatalf("bundle: %+v", rep.Checks)
		}
		if rep.Checkpoint.Size != rec.Published {
			t.Errorf("bundle against tree size %d, want %d", rep.Checkpoint.Size, rec.Published)
		}
		rep = verify.Check(raw, a.Key(), tr.Verify)
		if wantToken {
			if !rep.Verified || rep.Timestamp == nil {
				t.Fatalf("bundle with its token: %+v", rep.Checks)
			}
		} else if f := rep.Failed(); rep.Verified || f == nil || f.Name != "timestamp" || !strings.Contains(f.Detail, "pending") {
			t.Fatalf("pending bundle checked with the TSA's roots: %+v", rep.Checks)
		}
		return b
	}

	check(false)
	get(tsr, 404, "application/json")
	get("/timestamps/"+strconv.FormatUint(rec.Published, 10)+".tsr", 404, "application/json")
	tr.TSAOff.Store(false)
	check(false)
	get(tsr, 404, "application/json")

	if _, err := a.RetryTimestamps(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := check(true)
	if got := get(tsr, 200, "application/timestamp-reply"); string(got) != string(b.Timestamp) {
		t.Error("the kept token served is not the bundle's")
	}
	// The record, and its citation, are unchanged by the token.
	var info api.RecordInfo
	if err := json.Unmarshal(get("/api/v1/records/"+rec.ID, 200, "application/json"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Record == nil || info.Published != rec.Published || info.Citation == nil || info.Citation.CheckpointSize != rec.Published {
		t.Errorf("record %+v, citation %+v", info.Record, info.Citation)
	}
}
