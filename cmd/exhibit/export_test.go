package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportVerify exports a record, verifies the package with the
// archive's key and with --key alone, refuses to overwrite it, and names
// the file of a changed byte.
func TestExportVerify(t *testing.T) {
	inTemp(t)
	os.WriteFile("doc.html", []byte("<html><title>Bedingungen</title>Straße 中</html>"), 0o644)
	r := exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms", "--entity", "Zoë", "--document", "Terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)

	exhibit(t, "export", rec.RecordID).want(t, 2, "-o FILE.zip is required")
	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 0, "wrote p.zip: capture record "+rec.RecordID)
	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 2, "p.zip exists; pass --force")
	first, _ := os.ReadFile("p.zip")
	exhibit(t, "export", rec.RecordID, "-o", "p.zip", "--force").want(t, 0)
	if again, _ := os.ReadFile("p.zip"); !bytes.Equal(first, again) {
		t.Error("a second export differs")
	}

	exhibit(t, "verify", "p.zip").want(t, 0, "ok   package-zip", "ok   inclusion-proof", "ok   derived-documents", "verified: package of record "+rec.RecordID, "cite as:  Zoë")
	key := strings.TrimSpace(exhibit(t, "log-key").stdout)
	exhibit(t, "verify", "p.zip", "--key", key, "--archive", "nowhere", "--record-id", rec.RecordID).want(t, 0, "verified")
	exhibit(t, "verify", "p.zip", "--snapshot", "doc.html").want(t, 2, "do not apply to an evidence package")

	r = exhibit(t, "verify", "p.zip", "-o", "json")
	r.want(t, 0)
	var rep struct {
		Verified bool `json:"verified"`
		Checks   []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
			File string `json:"file"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Verified || len(rep.Checks) < 10 {
		t.Fatalf("verify -o json: %v %s", err, r.stdout)
	}

	// Another archive's key: the package's own key is not trusted.
	exhibit(t, "init", "--archive", "other").want(t, 0)
	exhibit(t, "verify", "p.zip", "--archive", "other").want(t, 1, "FAIL log-key", "verification failed: log-key (log-key.vkey)")

	// A changed byte in the snapshot is named.
	zr, _ := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	var off int64
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "snapshot/") {
			off, _ = f.DataOffset()
		}
	}
	bad := bytes.Clone(first)
	bad[off+3] ^= 0x20
	os.WriteFile("bad.zip", bad, 0o644)
	exhibit(t, "verify", "bad.zip").want(t, 1, "NOT VERIFIED", "verification failed: package-zip (snapshot/")
	exhibit(t, "verify", "missing.zip").want(t, 2, "reading bundle")

	// A zip under another name is still checked as a package.
	os.WriteFile("p.evidence", first, 0o644)
	exhibit(t, "verify", "p.evidence").want(t, 0, "ok   package-zip")

	// The evidence now comes from the archive: the flags that supplied it
	// are gone, and an archive without witnesses or a TSA exports neither.
	exhibit(t, "export", rec.RecordID, "-o", "w.zip", "--policy", "policy.txt").want(t, 2, "unknown flag: --policy")
	exhibit(t, "verify", "p.evidence", "--tsa-roots", "p.evidence").want(t, 2)
}

// TestVerifyRezippedPackage: a package unpacked with unzip, one file
// changed, and zipped again with stock zip (with directory entries, and
// without: -D) gets the per-file report, and the failure names the file
// that changed.
func TestVerifyRezippedPackage(t *testing.T) {
	zipBin, err := exec.LookPath("zip")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zip not found; CI must install it (Debian: apt-get install zip)")
		}
		t.Skip("zip not found: install it (Debian: apt-get install zip) to test re-zipped packages")
	}
	dir := inTemp(t)
	os.WriteFile("doc.html", []byte("<p>terms</p>"), 0o644)
	r := exhibit(t, "capture", "doc.html", "--url", "https://example.org/terms", "-o", "json")
	r.want(t, 0)
	var rec struct {
		RecordID string `json:"record_id"`
	}
	json.Unmarshal([]byte(r.stdout), &rec)
	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 0)
	zr, err := zip.OpenReader("p.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	unpacked := filepath.Join(dir, "unpacked")
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name == "provenance.json" {
			b = append(b, ' ')
		}
		p := filepath.Join(unpacked, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, b, 0o644)
	}
	for _, flags := range [][]string{{"-r"}, {"-r", "-D"}} {
		out := filepath.Join(dir, "re"+strings.Join(flags, "")+".zip")
		cmd := exec.Command(zipBin, append(append([]string{"-q"}, flags...), out, ".")...)
		cmd.Dir = unpacked
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("zip %v: %v\n%s", flags, err, b)
		}
		r := exhibit(t, "verify", out)
		r.want(t, 1, "FAIL package-zip           invalid evidence package: not the canonical zip of its files: it was re-zipped",
			"ok   file                  bundle.json", "FAIL file                  provenance.json",
			"FAIL provenance", "files that fail: provenance.json")
		if strings.Contains(r.stdout, "FAIL file                  bundle.json") {
			t.Errorf("zip %v: an unchanged file is reported changed:\n%s", flags, r.stdout)
		}
	}
}
