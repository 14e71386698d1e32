package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
)

// TestCorroborateCommand captures a URL into two archives, serves the
// second one, and corroborates the first one's capture with it from the
// command line; the corroboration proves and verifies.
func TestCorroborateCommand(t *testing.T) {
	inTemp(t)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>terms</p>")
	}))
	defer origin.Close()
	other := t.TempDir() + "/other"
	exhibit(t, "--archive", other, "init").want(t, 0)
	exhibit(t, "--archive", other, "capture", origin.URL+"/terms").want(t, 0)
	b, err := archive.Open(context.Background(), other, archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	srv := httptest.NewServer(api.New(b, api.Options{}))
	defer srv.Close()

	r := exhibit(t, "capture", origin.URL+"/terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		ID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "corroborate", rec.ID).want(t, 2, "give at least one --timegate")
	exhibit(t, "corroborate", rec.ID, "--timegate", "ftp://x/").want(t, 2, "is not an http(s) URL prefix")
	exhibit(t, "corroborate", rec.ID, "--timegate", origin.URL+"/nowhere/").want(t, 1, "did not answer as a Memento TimeGate")
	r = exhibit(t, "corroborate", rec.ID, "--timegate", srv.URL+"/timegate/", "-o", "json")
	r.want(t, 0, `"kind": "corroboration"`)
	var c struct {
		ID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &c)
	exhibit(t, "show", c.ID).want(t, 0, "corroboration record "+c.ID, "named the memento "+srv.URL+"/mementos/")
	exhibit(t, "prove", c.ID, "-o", "c.json").want(t, 0)
	exhibit(t, "verify", "c.json", "--record-id", c.ID).want(t, 0, "verified: record "+c.ID)
	exhibit(t, "audit").want(t, 0)
}
