package export_test

import (
	"context"
	"errors"
	"fmt"
	stdhtml "html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/verify"
)

// packageOptions are a verifier's: the archive's policy and the TSA's
// root, obtained independently.
func packageOptions(tr *archivetest.Trusted) verify.PackageOptions {
	return verify.PackageOptions{Policy: tr.PolicyText, TSARoots: tr.TSA.Roots, Derived: export.Derived}
}

func failedCheck(rep *verify.PackageReport, name, file string) *verify.PackageCheck {
	for i, c := range rep.Checks {
		if !c.OK && c.Name == name && c.File == file {
			return &rep.Checks[i]
		}
	}
	return nil
}

func failures(rep *verify.PackageReport) string {
	var f []string
	for _, c := range rep.Checks {
		if !c.OK {
			f = append(f, fmt.Sprintf("%s (%s): %s", c.Name, c.File, c.Detail))
		}
	}
	return strings.Join(f, "; ")
}

// TestTrustedPackage exports, with no options, a record of an archive with
// three real witnesses (2 of 3) and a real TSA: the package holds the
// archive's policy, the cosigned checkpoint, its token and the TSA's
// chain, verifies with the verifier's policy and TSA root naming the
// witnesses and the time, and VERIFY.md's steps pass with stock tools
// (openssl ts -verify, and the cosignatures with openssl pkeyutl). A
// tampered token, a tampered cosignature and a swapped policy.txt are each
// rejected by the check and file they concern.
func TestTrustedPackage(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{TSA: true})
	ctx := context.Background()
	rec, err := ingest.New(tr.A).File(ctx, writeTemp(t, "the witnessed document"), ingest.FileOptions{Entity: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	data := build(t, tr.A, rec.ID, export.Options{})
	files := unzip(t, data)
	for _, f := range []string{verify.PackagePolicy, verify.PackageTimestamp, verify.PackageCheckpointBody, verify.PackageTSAChain} {
		if _, ok := files[f]; !ok {
			t.Errorf("the package has no %s", f)
		}
	}

	rep := verify.CheckPackage(data, tr.A.Key(), packageOptions(tr))
	if !rep.Verified {
		t.Fatalf("the package does not verify: %s", failures(rep))
	}
	var witnessed, stamped string
	for _, c := range rep.Checks {
		switch c.Name {
		case verify.CheckPackagePolicy:
			witnessed = c.Detail
		case verify.CheckPackageTimestamp:
			stamped = c.Detail
		}
	}
	if strings.Count(witnessed, " witnessed no later than 20") < 2 || !strings.Contains(witnessed, `quorum "two-of-three" met`) || strings.Contains(witnessed, "package's own policy") {
		t.Errorf("witnesses check: %q", witnessed)
	}
	if !strings.Contains(stamped, "the checkpoint existed no later than 20") || !strings.Contains(stamped, "(TSA ") {
		t.Errorf("timestamp check: %q", stamped)
	}
	html := stdhtml.UnescapeString(string(files[verify.PackageCertificateHTML]))
	md := string(files[verify.PackageInstructions])
	for _, want := range []string{"Witnessed by W", `“two-of-three”, met, by `, "Time-stamped (RFC 3161)", "the checkpoint existed no later than 20",
		"checked against the keys and quorum of the package's policy.txt. That file is NOT signed", "its own copy of the log's witness policy", "The time-stamp in section 4 rests on the RFC 3161 token"} {
		if !strings.Contains(html, want) {
			t.Errorf("certificate.html lacks %q", want)
		}
	}
	checkWholeSeconds(t, "certificate.html", html)
	checkWholeSeconds(t, "VERIFY.md", md)
	if pdf := pdfText(t, files[verify.PackageCertificatePDF]); !strings.Contains(pdf, "Time-stamped (RFC 3161)") || !strings.Contains(pdf, "Witnessed by W") {
		t.Errorf("certificate.pdf does not state the witnesses and the time")
	}
	for _, want := range []string{"The checkpoint was witnessed by:", "Quorum: “two-of-three”, met", "existed no later than 20", "openssl ts -verify -data tsa/checkpoint-body.txt -in tsa/checkpoint.tsr -CAfile \"$TSA_ROOT\" -untrusted tsa/chain.pem"} {
		if !strings.Contains(md, want) {
			t.Errorf("VERIFY.md lacks %q", want)
		}
	}

	t.Run("stock tools", func(t *testing.T) {
		for _, tool := range []string{"sha256sum", "openssl", "jq", "python3", "bash", "base64"} {
			if _, err := exec.LookPath(tool); err != nil {
				needTool(t, tool)
			}
		}
		dir := t.TempDir()
		for n, b := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
			os.WriteFile(filepath.Join(dir, n), b, 0o644)
		}
		os.WriteFile(filepath.Join(dir, "TSA-ROOT.pem"), tr.TSA.RootPEM, 0o644)
		cmd := verifySteps(t, dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("VERIFY.md's steps fail: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Verification: OK") || !strings.Contains(string(out), "Time stamp:") || strings.Count(string(out), "cosigned at") < 2 || strings.Count(string(out), "Signature Verified Successfully") < 4 {
			t.Errorf("VERIFY.md's steps print:\n%s", out)
		}
		// Another TSA root, or an altered cosignature, fails the steps.
		other := newOpenSSLTSA(t)
		os.WriteFile(filepath.Join(dir, "TSA-ROOT.pem"), other.rootPEM, 0o644)
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("VERIFY.md's steps pass with another TSA root:\n%s", out)
		}
	})

	tamper := func(t *testing.T, change func(files map[string][]byte)) *verify.PackageReport {
		t.Helper()
		forged := clone(files)
		change(forged)
		rewriteManifest(t, forged)
		zipData, err := verify.WritePackage(forged)
		if err != nil {
			t.Fatal(err)
		}
		return verify.CheckPackage(zipData, tr.A.Key(), packageOptions(tr))
	}
	bundle := func(t *testing.T, files map[string][]byte) *verify.Bundle {
		t.Helper()
		b, err := verify.ParseBundle(files[verify.PackageBundle])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("token", func(t *testing.T) {
		// The package's token altered (its last byte is in the signature).
		rep := tamper(t, func(f map[string][]byte) {
			tok := append([]byte(nil), f[verify.PackageTimestamp]...)
			tok[len(tok)-1] ^= 1
			f[verify.PackageTimestamp] = tok
		})
		if failedCheck(rep, verify.CheckPackageTimestamp, verify.PackageTimestamp) == nil {
			t.Errorf("no failed timestamp check naming %s: %s", verify.PackageTimestamp, failures(rep))
		}
		// The same altered token in bundle.json too: the token's signature
		// no longer verifies.
		rep = tamper(t, func(f map[string][]byte) {
			b := bundle(t, f)
			tok := append([]byte(nil), b.Timestamp...)
			tok[len(tok)-1] ^= 1
			b.Timestamp = tok
			f[verify.PackageTimestamp], f[verify.PackageBundle] = tok, b.Marshal()
		})
		c := failedCheck(rep, verify.CheckPackageTimestamp, verify.PackageTimestamp)
		var se *verify.TimestampSignatureError
		if c == nil || !errors.As(c.Err, &se) {
			t.Errorf("no failed timestamp check naming %s for a bad signature: %s", verify.PackageTimestamp, failures(rep))
		}
	})
	t.Run("cosignature", func(t *testing.T) {
		rep := tamper(t, func(f map[string][]byte) {
			b := bundle(t, f)
			lines := strings.Split(b.Checkpoint, "\n")
			changed := false
			for i, l := range lines {
				if strings.HasPrefix(l, "— ") && !strings.HasPrefix(l, "— trust.example/log ") && !changed {
					sig := []byte(l)
					// One base64 digit inside the Ed25519 signature: the
					// digits before the "==" padding carry only 2 bits of
					// it, and a decoder may ignore the other 4.
					if p := len(sig) - 10; sig[p] == 'A' {
						sig[p] = 'B'
					} else {
						sig[p] = 'A'
					}
					lines[i], changed = string(sig), true
				}
			}
			if !changed {
				t.Fatal("no cosignature line")
			}
			b.Checkpoint = strings.Join(lines, "\n")
			f[verify.PackageBundle], f[verify.PackageProof] = b.Marshal(), b.MarshalProof()
		})
		c := failedCheck(rep, verify.CheckPackagePolicy, verify.PackageBundle)
		var ce *verify.CosignatureError
		if c == nil || !errors.As(c.Err, &ce) {
			t.Errorf("no failed witnesses check naming %s: %s", verify.PackageBundle, failures(rep))
		}
	})
	t.Run("policy", func(t *testing.T) {
		rep := tamper(t, func(f map[string][]byte) {
			// The same log, a quorum of one witness the forger controls.
			f[verify.PackagePolicy] = []byte("log " + tr.A.Key().VKey + "\nquorum none\n")
		})
		if failedCheck(rep, verify.CheckPackagePolicy, verify.PackagePolicy) == nil {
			t.Errorf("no failed witnesses check naming %s: %s", verify.PackagePolicy, failures(rep))
		}
		// Without the verifier's policy, the package's is only reported.
		rep = verify.CheckPackage(data, tr.A.Key(), verify.PackageOptions{TSARoots: tr.TSA.Roots})
		if !rep.Verified || !strings.Contains(strings.Join(rep.Notes, "\n"), "package's policy.txt") {
			t.Errorf("without --policy: verified %v, notes %q", rep.Verified, rep.Notes)
		}
	})

	// A record captured while the TSA is down: its package says the token
	// is pending.
	t.Run("pending", func(t *testing.T) {
		tr.TSAOff.Store(true)
		defer tr.TSAOff.Store(false)
		rec, err := ingest.New(tr.A).File(ctx, writeTemp(t, "captured while the TSA is down"), ingest.FileOptions{Entity: "Example"})
		if err != nil {
			t.Fatal(err)
		}
		data, rep, err := export.Build(ctx, tr.A, rec.ID, export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Pending || !rep.Verified {
			t.Fatalf("pending %v, verified %v: %s", rep.Pending, rep.Verified, failures(rep.PackageReport))
		}
		files := unzip(t, data)
		if _, ok := files[verify.PackageTimestamp]; ok {
			t.Error("a package exported while its token is pending holds one")
		}
		if b := bundle(t, files); b.TimestampStatus != verify.TimestampPending {
			t.Errorf("bundle.json: timestamp_status %q", b.TimestampStatus)
		}
		for n, want := range map[string]string{verify.PackageInstructions: "had not yet obtained the token", verify.PackageCertificateHTML: "pending: the archive had not yet obtained its token"} {
			if !strings.Contains(string(files[n]), want) {
				t.Errorf("%s does not say the token is pending", n)
			}
		}
		vrep := verify.CheckPackage(data, tr.A.Key(), packageOptions(tr))
		c := failedCheck(vrep, verify.CheckPackageTimestamp, verify.PackageBundle)
		if vrep.Verified || c == nil || !errors.Is(c.Err, verify.ErrTimestampPending) {
			t.Errorf("with TSA roots: verified %v: %s", vrep.Verified, failures(vrep))
		}
		vrep = verify.CheckPackage(data, tr.A.Key(), verify.PackageOptions{Policy: tr.PolicyText, Derived: export.Derived})
		if !vrep.Verified || !strings.Contains(strings.Join(vrep.Notes, "\n"), "pending") {
			t.Errorf("without TSA roots: verified %v, notes %q: %s", vrep.Verified, vrep.Notes, failures(vrep))
		}

		// Once the TSA answers again and the archive has the token, the
		// same record exports with it, against the same checkpoint.
		tr.TSAOff.Store(false)
		if left, err := tr.A.RetryTimestamps(ctx); err != nil || left != 0 {
			t.Fatalf("RetryTimestamps: %d left: %v", left, err)
		}
		data, rep, err = export.Build(ctx, tr.A, rec.ID, export.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Pending || !rep.Verified {
			t.Fatalf("after the token arrived: pending %v, verified %v: %s", rep.Pending, rep.Verified, failures(rep.PackageReport))
		}
		files = unzip(t, data)
		if _, ok := files[verify.PackageTimestamp]; !ok {
			t.Error("a package exported once the token arrived holds none")
		}
		if got := bundleSize(t, tr.A, files); got != rec.Published {
			t.Errorf("after the token arrived: exported against tree size %d, want %d", got, rec.Published)
		}
		if vrep := verify.CheckPackage(data, tr.A.Key(), packageOptions(tr)); !vrep.Verified {
			t.Errorf("after the token arrived, with TSA roots: %s", failures(vrep))
		}
	})
}

// TestFailOpenPackage: a fail-open archive with two of its three witnesses
// down publishes a checkpoint with one cosignature; its package verifies
// with the verifier's policy, reporting the quorum NOT met, as a bundle's
// check does. Without the bundle's fail-open mark it fails.
func TestFailOpenPackage(t *testing.T) {
	tr := archivetest.NewTrusted(t, archivetest.TrustOptions{FailOpen: true, TSA: true})
	ctx := context.Background()
	tr.Witnesses[1].Stop()
	tr.Witnesses[2].Stop()
	rec, err := ingest.New(tr.A).File(ctx, writeTemp(t, "witnessed by one"), ingest.FileOptions{Entity: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	data := build(t, tr.A, rec.ID, export.Options{})
	if rep := verify.CheckPackage(data, tr.A.Key(), packageOptions(tr)); rep.Verified {
		t.Fatal("a package without the quorum verifies for a verifier who does not accept fail-open")
	}
	opts := packageOptions(tr)
	opts.AcceptFailOpen = true
	rep := verify.CheckPackage(data, tr.A.Key(), opts)
	if !rep.Verified {
		t.Fatalf("the package does not verify: %s", failures(rep))
	}
	var detail string
	for _, c := range rep.Checks {
		if c.Name == verify.CheckPackagePolicy {
			detail = c.Detail
		}
	}
	if !strings.Contains(detail, "1 cosignature(s): W1 witnessed no later than ") || !strings.Contains(detail, "NOT met (marked fail-open") {
		t.Errorf("witnesses check: %q", detail)
	}
	files := unzip(t, data)
	html := stdhtml.UnescapeString(string(files[verify.PackageCertificateHTML]))
	if !strings.Contains(html, `“two-of-three”, NOT met, by 1 of the 3`) {
		t.Error("certificate.html does not say the quorum was not met")
	}
	if !strings.Contains(html, "Witnessed by W1") || !strings.Contains(html, "the checkpoint existed no later than") {
		t.Error("certificate.html gives no witness or TSA time")
	}
	checkWholeSeconds(t, "certificate.html", html)
	checkWholeSeconds(t, "VERIFY.md", string(files[verify.PackageInstructions]))
	b, err := verify.ParseBundle(files[verify.PackageBundle])
	if err != nil {
		t.Fatal(err)
	}
	b.Witnessing = ""
	files[verify.PackageBundle] = b.Marshal()
	rewriteManifest(t, files)
	zipData, _ := verify.WritePackage(files)
	rep = verify.CheckPackage(zipData, tr.A.Key(), opts)
	if c := failedCheck(rep, verify.CheckPackagePolicy, verify.PackageBundle); c == nil || !errors.Is(c.Err, verify.ErrQuorum) {
		t.Errorf("without the fail-open mark: %s", failures(rep))
	}
}
