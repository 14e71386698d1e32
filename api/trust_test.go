package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestTrustEndpoints: an archive with a real TSA and a fail-open witness
// policy (its one witness unreachable) serves the tokens, the policy and
// the TSA roots, and its bundles carry the token and the fail-open mark.
func TestTrustEndpoints(t *testing.T) {
	ctx := context.Background()
	tsa := tsatest.Start(t)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	wk, err := verify.NewCosignerKey("gone.example", pub)
	if err != nil {
		t.Fatal(err)
	}
	policy := "witness W1 " + wk.VKey + " http://127.0.0.1:1\nquorum W1\n"
	dir := filepath.Join(t.TempDir(), "archive")
	if _, err := archive.Init(ctx, dir, archive.InitOptions{Origin: "api.example/log",
		WitnessPolicy: []byte(policy), WitnessFailOpen: true,
		TSAURL: tsa.TimestampURL, TSARootsPEM: tsa.ChainPEM}); err != nil {
		t.Fatal(err)
	}
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true, Ledger: ledger.Config{WitnessTimeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	p := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(p, []byte("served with its token\n"), 0o644)
	rec, err := a.CaptureFile(ctx, p, archive.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	get := func(path string, status int, ctype string) []byte {
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

	raw := get("/api/v1/records/"+rec.RecordID+"/bundle", 200, api.BundleMediaType)
	b, err := verify.ParseBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	if b.Timestamp == nil || b.Witnessing != verify.WitnessingFailOpen {
		t.Fatalf("served bundle: %d token bytes, witnessing %q", len(b.Timestamp), b.Witnessing)
	}
	pol, err := verify.ParsePolicy(get("/api/v1/witness-policy", 200, "text/plain; charset=utf-8"))
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
	tsr := get("/timestamps/"+strconv.FormatUint(cp.Size, 10)+".tsr", 200, "application/timestamp-reply")
	if string(tsr) != string(b.Timestamp) {
		t.Error("the served token is not the bundle's")
	}
	get("/timestamps/999999.tsr", 404, "application/json")
	for _, bad := range []string{"/timestamps/01.tsr", "/timestamps/1", "/timestamps/x.tsr"} {
		get(bad, 404, "")
	}
}
