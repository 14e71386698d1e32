package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/ledger/witnesstest"
)

// TestWitnessedTimestampedCLI follows the README's setup: an archive with
// three real witnesses (2 of 3) and a real TSA; a capture's bundle verifies
// with --policy and --tsa-roots, and its token with the README's
// "openssl ts -verify" command.
func TestWitnessedTimestampedCLI(t *testing.T) {
	inTemp(t)
	keyPEM, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(keyPEM, "cli.example/log")
	if err != nil {
		t.Fatal(err)
	}
	ws := witnesstest.Start(t, 3, s.PublicKey())
	tsa := tsatest.Start(t)
	os.WriteFile("key.pem", keyPEM, 0o600)
	os.WriteFile("policy.txt", []byte(ws[0].PolicyLine()+ws[1].PolicyLine()+ws[2].PolicyLine()+"group two-of-three 2 W1 W2 W3\nquorum two-of-three\n"), 0o644)
	os.WriteFile("tsa-chain.pem", tsa.ChainPEM, 0o644)
	os.WriteFile("doc.txt", []byte("a witnessed document\n"), 0o644)

	exhibit(t, "init", "--origin", "cli.example/log", "--key", "key.pem", "--witness-policy", "policy.txt",
		"--tsa", tsa.TimestampURL, "--tsa-roots", "tsa-chain.pem").want(t, 0, "witness witness-policy.txt (fail closed)", "tsa     "+tsa.TimestampURL)
	exhibit(t, "init", "--archive", "other", "--witness-fail-open").want(t, 2, "--witness-fail-open goes with --witness-policy")
	exhibit(t, "init", "--archive", "other", "--tsa", tsa.TimestampURL).want(t, 2, "--tsa URL and --tsa-roots PEM go together")

	r := exhibit(t, "capture", "doc.txt", "--url", "https://example.org/doc", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID  string `json:"record_id"`
		Published uint64 `json:"published"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// The checkpoint the record was first published with is kept with its
	// token beside it; the bundle against it carries its cosignatures and
	// that token.
	kept := filepath.Join("exhibit-archive", "checkpoints", filepath.FromSlash(ledger.CheckpointPath(rec.Published)))
	for _, f := range []string{kept, kept + ".tsr"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not kept: %v", err)
		}
	}
	bundle := proveFile(t, rec.RecordID)
	r = exhibit(t, "verify", bundle, "--policy", "exhibit-archive/witness-policy.txt", "--tsa-roots", "exhibit-archive/tsa-roots.pem")
	t.Log(r.stdout)
	r.want(t, 0,
		"ok   witness-cosignatures  quorum two-of-three met; ", "witnessed no later than ",
		"ok   timestamp             the checkpoint existed no later than ",
		"note:     witnessed: ", "note:     the checkpoint existed no later than ")
	r = exhibit(t, "verify", bundle, "--policy", "exhibit-archive/witness-policy.txt", "--tsa-roots", "tsa-chain.pem", "-o", "json")
	r.want(t, 0, `"name": "witness-cosignatures"`, `"name": "timestamp"`)
	// Another TSA's roots: the timestamp check fails.
	os.WriteFile("other.pem", []byte(otherRootPEM), 0o644)
	exhibit(t, "verify", bundle, "--tsa-roots", "other.pem").want(t, 1, "FAIL timestamp")
	// Without --policy and --tsa-roots the bundle still verifies, saying
	// what it carries that was not checked.
	exhibit(t, "verify", bundle).want(t, 0, "signature line(s) by other keys than the log's (witness cosignatures?), NOT checked: give the log's witness policy with --policy",
		"the bundle carries an RFC 3161 time-stamp token, NOT checked: give the TSA's roots with --tsa-roots")
	// Once the log has grown, --latest proves the record against the
	// latest checkpoint, cosigned and time-stamped too; by default prove
	// still gives the checkpoint it was first published with.
	os.WriteFile("doc2.txt", []byte("another witnessed document\n"), 0o644)
	exhibit(t, "capture", "doc2.txt", "--url", "https://example.org/doc2").want(t, 0)
	exhibit(t, "prove", rec.RecordID, "--latest", "-o", "fresh.json").want(t, 0)
	exhibit(t, "verify", "fresh.json", "--policy", "exhibit-archive/witness-policy.txt", "--tsa-roots", "tsa-chain.pem").want(t, 0, "ok   timestamp", "ok   witness-cosignatures", fmt.Sprintf("(tree size %d)", rec.Published+1))
	exhibit(t, "prove", rec.RecordID, "-o", "first.json").want(t, 0)
	if readFile(t, "first.json") != readFile(t, bundle) {
		t.Error("prove without --latest no longer gives the checkpoint the record was first published with")
	}

	exhibit(t, "audit").want(t, 0, "time-stamped, 0 pending", "audit: ok")

	// The evidence package, with no flags: the archive's policy, the
	// cosigned checkpoint and its token; verified with the verifier's
	// policy and TSA root.
	id := rec.RecordID
	exhibit(t, "export", id, "-o", "p.zip").want(t, 0, "witnesses: 2 cosignature(s): ", "timestamp: the checkpoint existed no later than ")
	os.WriteFile("tsa-root.pem", tsa.RootPEM, 0o644)
	r = exhibit(t, "verify", "p.zip", "--policy", "policy.txt", "--tsa-roots", "tsa-root.pem")
	t.Log(r.stdout)
	r.want(t, 1, "verification failed: witnesses (policy.txt): policy.txt is not the trusted policy")
	r = exhibit(t, "verify", "p.zip", "--policy", "exhibit-archive/witness-policy.txt", "--tsa-roots", "tsa-root.pem")
	r.want(t, 0, fmt.Sprintf("ok   %-21s 2 cosignature(s): W", "witnesses"), `quorum "two-of-three" met`,
		fmt.Sprintf("ok   %-21s the checkpoint existed no later than ", "timestamp"), "(TSA CN=", "ok   derived-documents")
	exhibit(t, "verify", "p.zip", "--tsa-roots", "other.pem").want(t, 1, "FAIL timestamp", "verification failed: timestamp (tsa/checkpoint.tsr)")

	// The README's openssl command, on the token and checkpoint body taken
	// from the bundle (as jq and base64 -d do there).
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is not installed (CI=true: .ci/install-tools installs it)")
		}
		t.Skip("openssl is not installed: install it (Debian: apt-get install openssl, or .ci/install-tools)")
	}
	var b struct {
		Checkpoint string `json:"checkpoint"`
		Timestamp  string `json:"timestamp"`
	}
	raw, _ := os.ReadFile(bundle)
	json.Unmarshal(raw, &b)
	tsr, err := base64.StdEncoding.DecodeString(b.Timestamp)
	if err != nil || len(tsr) == 0 {
		t.Fatalf("bundle timestamp: %v", err)
	}
	os.WriteFile("checkpoint.tsr", tsr, 0o644)
	os.WriteFile("checkpoint.body", []byte(b.Checkpoint[:strings.Index(b.Checkpoint, "\n\n")+1]), 0o644)
	out, err := exec.Command(openssl, "ts", "-verify", "-data", "checkpoint.body", "-in", "checkpoint.tsr", "-CAfile", "exhibit-archive/tsa-roots.pem").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Fatalf("openssl ts -verify: %v\n%s", err, out)
	}
	// The same with the shell pipeline the README shows.
	sh := `jq -r .timestamp "$1" | base64 -d > cp.tsr && jq -r .checkpoint "$1" | sed '/^$/,$d' > cp.body && openssl ts -verify -data cp.body -in cp.tsr -CAfile exhibit-archive/tsa-roots.pem`
	if _, err := exec.LookPath("jq"); err == nil {
		if out, err := exec.Command("sh", "-c", sh, "sh", bundle).CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
			t.Errorf("README pipeline: %v\n%s", err, out)
		}
	}
}

// otherRootPEM is a self-signed CA that signed no TSA used here.
const otherRootPEM = `-----BEGIN CERTIFICATE-----
MIIBozCCAUmgAwIBAgIUOIs8gy/DGvSTIqdWisJRmpYVzmswCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTdW50cnVzdGVkIHRlc3Qgcm9vdDAgFw0yNjExMjkyMDQ4MzBa
GA8yMTI2MTEwNTIwNDgzMFowHjEcMBoGA1UEAwwTdW50cnVzdGVkIHRlc3Qgcm9v
dDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHMLX5dQWYm/jVOM6anN2NMOEDuv
1nb4qMOxzvxVcuCWm6bMOug7TatnxMl4TOQIAA31a2ojoP9Pqkx4vCYgOtmjYzBh
MB0GA1UdDgQWBBSOaEtOIgqGxscr+9JFX+fVQi33DzAfBgNVHSMEGDAWgBSOaEtO
IgqGxscr+9JFX+fVQi33DzAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIC
BDAKBggqhkjOPQQDAgNIADBFAiEA3nniicDe0YwXF9mLynDXVVFjgSSBujgymtY1
i9vlbqcCIHj1E7++99bZPX7icEd2H4q4Spi+ZqhoSykfBvDFooNK
-----END CERTIFICATE-----
`
