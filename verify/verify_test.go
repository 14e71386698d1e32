package verify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testKey(t testing.TB) *verify.PublicKey {
	t.Helper()
	k, err := verify.ParseVKey(string(testdata(t, "log.vkey")))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ExampleCheck() {
	bundle, _ := os.ReadFile("testdata/bundle.json")
	vkey, _ := os.ReadFile("testdata/log.vkey")
	snapshot, _ := os.Open("testdata/snapshot.html")
	defer snapshot.Close()

	key, err := verify.ParseVKey(string(vkey))
	if err != nil {
		fmt.Println(err)
		return
	}
	rep := verify.Check(bundle, key, verify.Options{Snapshot: snapshot})
	for _, c := range rep.Checks {
		fmt.Println(c.Name, c.OK)
	}
	fmt.Println("verified:", rep.Verified)
	fmt.Println("captured:", rep.Statement.Subject[0].Name)
	// Output:
	// bundle-parse true
	// checkpoint-signature true
	// statement-signature true
	// record-id true
	// leaf-hash true
	// inclusion-proof true
	// snapshot-digest true
	// verified: true
	// captured: https://example.org/privacy
}

// TestTestdata: both forms of the checked-in bundle verify, and agree.
func TestTestdata(t *testing.T) {
	key := testKey(t)
	j := verify.Check(testdata(t, "bundle.json"), key, verify.Options{Snapshot: bytes.NewReader(testdata(t, "snapshot.html"))})
	p := verify.Check(testdata(t, "bundle.tlog-proof"), key, verify.Options{Snapshot: bytes.NewReader(testdata(t, "snapshot.html"))})
	for _, r := range []*verify.Report{j, p} {
		if !r.Verified {
			t.Fatalf("testdata bundle fails: %+v", r.Failed())
		}
	}
	if j.RecordID != p.RecordID || j.Bundle.Index != p.Bundle.Index || j.Checkpoint.Size != p.Checkpoint.Size {
		t.Errorf("JSON and tlog-proof forms disagree: %s@%d vs %s@%d", j.RecordID, j.Bundle.Index, p.RecordID, p.Bundle.Index)
	}
	st, err := verify.ParseStatement(testdata(t, "statement.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.SubjectDigest() != verify.SHA256Hex(testdata(t, "snapshot.html")) {
		t.Error("statement.json does not sign snapshot.html")
	}
	at, claimed := st.CapturedAt()
	if !claimed || at.Format("2006-01-02T15:04:05Z") != "2026-05-08T11:13:57Z" {
		t.Errorf("CapturedAt = %v, %v", at, claimed)
	}

	// A failed capture verifies, has no snapshot, and says so.
	f := verify.Check(testdata(t, "failed.json"), key, verify.Options{})
	if !f.Verified || f.Statement.Predicate.Outcome != verify.OutcomeFailed || f.Statement.Predicate.Failure.Reason != "redirect_loop" {
		t.Fatalf("failed-capture bundle: %+v %+v", f.Failed(), f.Statement)
	}
	f = verify.Check(testdata(t, "failed.json"), key, verify.Options{Snapshot: strings.NewReader("")})
	if f.Verified || f.Failed().Name != verify.CheckSnapshotDigest || !strings.Contains(f.Failed().Detail, "no snapshot") {
		t.Errorf("failed capture with --snapshot: %+v", f.Failed())
	}
}

// TestStatementRejects: statements that break exhibit's rules are refused
// even though correctly encoded.
func TestStatementRejects(t *testing.T) {
	good := testdata(t, "statement.json")
	if _, err := verify.ParseStatement(good); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		json.Unmarshal(good, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	pred := func(m map[string]any) map[string]any { return m["predicate"].(map[string]any) }
	for name, b := range map[string][]byte{
		"type":           mutate(func(m map[string]any) { m["_type"] = "https://in-toto.io/Statement/v0.1" }),
		"predicate type": mutate(func(m map[string]any) { m["predicateType"] = "https://slsa.dev/provenance/v1" }),
		"two subjects":   mutate(func(m map[string]any) { m["subject"] = append(m["subject"].([]any), m["subject"].([]any)[0]) }),
		"uppercase digest": mutate(func(m map[string]any) {
			d := m["subject"].([]any)[0].(map[string]any)["digest"].(map[string]any)
			d["sha256"] = strings.ToUpper(d["sha256"].(string))
		}),
		"unknown field":   mutate(func(m map[string]any) { pred(m)["trust_me"] = true }),
		"no observed":     mutate(func(m map[string]any) { delete(pred(m), "observed") }),
		"method":          mutate(func(m map[string]any) { pred(m)["method"] = "teleport" }),
		"outcome":         mutate(func(m map[string]any) { pred(m)["outcome"] = "maybe" }),
		"snapshot digest": mutate(func(m map[string]any) { pred(m)["snapshot"].(map[string]any)["sha256"] = strings.Repeat("0", 64) }),
		"failed with snapshot": mutate(func(m map[string]any) {
			pred(m)["outcome"] = "failed"
			pred(m)["failure"] = map[string]any{"reason": "dns", "message": "x"}
		}),
		"local time": mutate(func(m map[string]any) {
			pred(m)["observed"].(map[string]any)["started_at"] = "2026-05-08T13:13:55.000+02:00"
		}),
		"trailing data": append(bytes.Clone(good), []byte(" {}")...),
	} {
		if _, err := verify.ParseStatement(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestCitedRecordID: a valid bundle of another record is rejected when the
// verifier says which record it was cited.
func TestCitedRecordID(t *testing.T) {
	key := testKey(t)
	b := testdata(t, "bundle.json")
	good := verify.Check(b, key, verify.Options{})
	if !good.Verified {
		t.Fatal(good.Failed())
	}
	if r := verify.Check(b, key, verify.Options{RecordID: strings.ToLower(good.RecordID)}); !r.Verified {
		t.Errorf("the right cited ID (lower case) fails: %+v", r.Failed())
	}
	other := verify.Check(testdata(t, "failed.json"), key, verify.Options{})
	r := verify.Check(b, key, verify.Options{RecordID: other.RecordID})
	if r.Verified || r.Failed().Name != verify.CheckRecordID {
		t.Errorf("another record's cited ID: %+v", r.Failed())
	}
	var mm *verify.RecordIDMismatchError
	if !errors.As(r.Failed().Err, &mm) || mm.Computed != good.RecordID {
		t.Errorf("error %v is not a RecordIDMismatchError naming %s", r.Failed().Err, good.RecordID)
	}
}
