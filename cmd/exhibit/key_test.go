package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
)

// TestKeyRotate runs the rotation from the command line: rotate with
// overlap, verify old and new bundles with one key or several, retire,
// list the keys, and audit and reindex throughout.
func TestKeyRotate(t *testing.T) {
	inTemp(t)
	// capture returns the record ID and its bundle, proved at once against
	// the checkpoint the record was published with.
	capture := func(name string) (string, string) {
		t.Helper()
		os.WriteFile(name, []byte("terms of "+name), 0o644)
		r := exhibit(t, "capture", name, "--url", "https://rotate.example/"+name, "-o", "json")
		r.want(t, 0)
		var rec struct {
			RecordID string `json:"record_id"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
			t.Fatalf("capture -o json: %v\n%s", err, r.stdout)
		}
		return rec.RecordID, proveFile(t, rec.RecordID)
	}
	id1, b1 := capture("one.txt")
	r := exhibit(t, "log-key")
	r.want(t, 0)
	old := strings.TrimSpace(r.stdout)

	r = exhibit(t, "key", "rotate")
	r.want(t, 0, "current key", "old key     "+old+" (cosigns until: exhibit key retire")
	r = exhibit(t, "log-key")
	r.want(t, 0)
	nw := strings.TrimSpace(r.stdout)
	if nw == old {
		t.Fatal("log-key still prints the old key")
	}
	exhibit(t, "log-key", "--all").want(t, 0, nw+"\n"+old+"\n")
	exhibit(t, "key", "list").want(t, 0, "current "+nw+" key-", "overlap "+old+" key.pem replaced ")
	_, b2 := capture("two.txt")

	exhibit(t, "verify", b1, "--key", old, "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "verify", b1, "--key", nw, "--archive", "nowhere").want(t, 1, "FAIL checkpoint-signature")
	exhibit(t, "verify", b1, "--key", nw, "--key", old, "--archive", "nowhere").want(t, 0, "signed by "+old+" (one of 2 trusted keys)")
	exhibit(t, "verify", b1).want(t, 0, "verified") // the archive's keys
	exhibit(t, "verify", b2, "--key", old, "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "verify", b2, "--key", nw, "--archive", "nowhere").want(t, 0, "verified")
	// The keys as the "log" lines of a policy, without an archive.
	os.WriteFile("policy.txt", []byte("log "+nw+"\nlog "+old+"\nquorum none\n"), 0o644)
	exhibit(t, "verify", b1, "--policy", "policy.txt", "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "audit").want(t, 0, "audit: ok")

	exhibit(t, "key", "retire", old).want(t, 0, "retired     "+old)
	exhibit(t, "key", "retire", old).want(t, 1, "not a previous key still signing")
	exhibit(t, "key", "list").want(t, 0, "retired "+old+" key.pem replaced ", " retired 20")
	_, b3 := capture("three.txt")
	exhibit(t, "verify", b3, "--key", old, "--archive", "nowhere").want(t, 1, "FAIL checkpoint-signature")
	exhibit(t, "verify", b3, "--key", nw, "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "verify", b1, "--key", old, "--archive", "nowhere").want(t, 0, "verified")
	// Proved again now, the old record's bundle is still against the
	// checkpoint it was first published with, which the old key signed.
	exhibit(t, "prove", id1, "-o", "b1-again.json").want(t, 0)
	if again, _ := os.ReadFile("b1-again.json"); string(again) != readFile(t, b1) {
		t.Error("the old record's bundle, proved after the retirement, differs from the one proved at capture")
	}
	exhibit(t, "verify", "b1-again.json", "--key", old, "--archive", "nowhere").want(t, 0, "verified")
	exhibit(t, "reindex").want(t, 0, "reindexed 3 records")
	exhibit(t, "audit").want(t, 0, "audit: ok")

	// The API serves the log, whose latest checkpoint only the new key
	// signs, and names both keys; the old bundle's checkpoint is
	// consistent with it when both keys are trusted.
	a, err := archive.Open(context.Background(), "exhibit-archive", archive.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/v1/log")
	if err != nil {
		t.Fatal(err)
	}
	var li api.LogInfo
	json.NewDecoder(resp.Body).Decode(&li)
	resp.Body.Close()
	if li.VKey != nw || len(li.PreviousVKeys) != 1 || li.PreviousVKeys[0] != old || li.Size != 3 {
		t.Errorf("log info %+v", li)
	}
	exhibit(t, "verify", b1, "--key", nw, "--key", old, "--archive", "nowhere", "--log", srv.URL).want(t, 0, "ok   log-consistency", "serves tree size 3")
	exhibit(t, "verify", b1, "--key", old, "--archive", "nowhere", "--log", srv.URL).want(t, 1, "FAIL log-consistency")

	// A KMS reference no provider serves is refused with the reason.
	t.Setenv("PATH", t.TempDir())
	exhibit(t, "key", "rotate", "--key", "awskms:///arn:aws:kms:eu-west-1:111122223333:key/x").want(t, 1, "no awskms provider compiled in")
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
