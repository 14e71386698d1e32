package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/exhibit-archive/exhibit/ledger/tsatest"
)

// TestInitTSAUnchecked: init refuses a TSA that does not answer, writing
// nothing, and creates the archive with a warning under --tsa-unchecked.
func TestInitTSAUnchecked(t *testing.T) {
	inTemp(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	tsa := tsatest.Start(t)
	if err := os.WriteFile("tsa-chain.pem", tsa.ChainPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	exhibit(t, "init", "--tsa", down.URL, "--tsa-roots", "tsa-chain.pem").want(t, 1, "did not give a token that verifies", "503", "--tsa-unchecked")
	if _, err := os.Stat("exhibit-archive"); !os.IsNotExist(err) {
		t.Fatalf("init refused but left the archive folder: %v", err)
	}
	r := exhibit(t, "init", "--tsa", down.URL, "--tsa-roots", "tsa-chain.pem", "--tsa-unchecked")
	r.want(t, 0, "created archive", "tsa     "+down.URL)
	if want := "exhibit: warning: "; len(r.stderr) < len(want) || r.stderr[:len(want)] != want {
		t.Errorf("stderr %q, want a warning", r.stderr)
	}
	exhibit(t, "init", "--archive", "other", "--tsa-unchecked").want(t, 2, "--tsa-unchecked goes with --tsa URL")
}
