package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	stdhtml "html"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/export"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

const page = `<!DOCTYPE html><html><head><title>Conditions générales</title></head><body><main><h1>Datenschutzerklärung — 隐私政策</h1><p>We keep your data for 30 days.</p></main></body></html>`

// records captures a fetched page over TLS (through a redirect, with an
// untrusted certificate so that its chain is stored), a page over plain
// HTTP, an upload with non-ASCII and markup in its names, and a failed
// capture, and returns their record IDs by name.
func records(t *testing.T, a *archive.Archive) map[string]string {
	t.Helper()
	ctx := context.Background()
	mux := http.NewServeMux()
	mux.HandleFunc("/old", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/policy", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/policy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Test", "é")
		fmt.Fprint(w, page)
	})
	tlsSrv := httptest.NewTLSServer(mux)
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)

	in := ingest.New(a)
	ids := map[string]string{}
	rec, err := in.Capture(ctx, tlsSrv.URL+"/old", ingest.CaptureOptions{Entity: "Zoë & Co", Document: "Privacy <Policy> 隐私", Fetch: capture.Options{InsecureSkipVerify: true}})
	if err != nil || rec.Outcome != verify.OutcomeCaptured {
		t.Fatalf("TLS capture: %v %+v", err, rec)
	}
	if rec.Statement.Capture.Predicate.Observed.TLS.CertificateChainSHA256 == "" {
		t.Fatal("TLS capture stored no chain")
	}
	ids["tls"] = rec.ID
	if rec, err = in.Capture(ctx, plain.URL+"/policy", ingest.CaptureOptions{Entity: "Plain"}); err != nil {
		t.Fatal(err)
	}
	ids["http"] = rec.ID

	f := filepath.Join(t.TempDir(), "terms.html")
	os.WriteFile(f, []byte(page), 0o644)
	if rec, err = in.File(ctx, f, ingest.FileOptions{Entity: "Ünïcode Ltd", Document: "Terms — 条款 \u0645\u0631\u062d\u0628\u0627", URL: "https://example.org/terms?a=1&b=<2>", FetchedAt: time.Date(2026, 5, 8, 11, 13, 55, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	ids["upload"] = rec.ID

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if rec, err = in.Capture(ctx, "http://"+addr+"/gone", ingest.CaptureOptions{}); err != nil || rec.Outcome != verify.OutcomeFailed {
		t.Fatalf("failed capture: %v %+v", err, rec)
	}
	ids["failed"] = rec.ID
	return ids
}

func build(t *testing.T, a *archive.Archive, id string, o export.Options) []byte {
	t.Helper()
	data, rep, err := export.Build(context.Background(), a, id, o)
	if err != nil {
		t.Fatalf("Build %s: %v", id, err)
	}
	if !rep.Verified || rep.RecordID != id {
		t.Fatalf("Build %s: report %+v", id, rep)
	}
	return data
}

// published returns the tree size of the checkpoint the record id was
// first published with.
func published(t *testing.T, a *archive.Archive, id string) uint64 {
	t.Helper()
	rec, err := a.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Published <= rec.Index {
		t.Fatalf("record %s at index %d: published with tree size %d", id, rec.Index, rec.Published)
	}
	return rec.Published
}

// bundleSize returns the tree size of the checkpoint a package's bundle
// is proved against.
func bundleSize(t *testing.T, a *archive.Archive, files map[string][]byte) uint64 {
	t.Helper()
	b, err := verify.ParseBundle(files[verify.PackageBundle])
	if err != nil {
		t.Fatal(err)
	}
	cp, _, err := a.Keys().OpenCheckpoint([]byte(b.Checkpoint))
	if err != nil {
		t.Fatal(err)
	}
	return cp.Size
}

func check(data []byte, key *verify.PublicKey) *verify.PackageReport {
	return verify.CheckPackage(data, key, verify.PackageOptions{Derived: export.Derived})
}

func unzip(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(rc)
		rc.Close()
		files[f.Name] = b.Bytes()
	}
	return files
}

// TestExport exports each kind of capture, checks the package, its
// layout and its determinism, and reads the certificate.
func TestExport(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	for name, id := range ids {
		t.Run(name, func(t *testing.T) {
			data := build(t, a, id, export.Options{})
			rep := check(data, a.Key())
			if !rep.Verified {
				f := rep.Failed()
				t.Fatalf("CheckPackage: %s (%s): %s", f.Name, f.File, f.Detail)
			}
			if again := build(t, a, id, export.Options{}); !bytes.Equal(again, data) {
				t.Error("a second export of the same record differs")
			}
			files := unzip(t, data)
			// By default the bundle is proved against the checkpoint the
			// record was first published with, not the latest.
			if got, want := bundleSize(t, a, files), published(t, a, id); got != want {
				t.Errorf("the package's bundle is against tree size %d, want %d (the checkpoint the record was first published with)", got, want)
			}
			want := []string{"MANIFEST.json", "SHA256SUMS", "VERIFY.md", "bundle.json", "bundle.tlog-proof", "certificate.html", "certificate.pdf", "log-key.vkey", "provenance.json"}
			switch name {
			case "tls":
				want = append(want, "tls-chain.pem")
			case "failed":
			default:
			}
			for _, n := range want {
				if _, ok := files[n]; !ok {
					t.Errorf("no %s in the package", n)
				}
			}
			var snaps int
			for n := range files {
				if strings.HasPrefix(n, "snapshot/") {
					snaps++
					if !strings.HasSuffix(n, ".html") {
						t.Errorf("snapshot named %s, want .html", n)
					}
				}
			}
			if wantSnaps := map[bool]int{true: 0, false: 1}[name == "failed"]; snaps != wantSnaps {
				t.Errorf("%d snapshots, want %d", snaps, wantSnaps)
			}
			if name != "tls" {
				if _, ok := files["tls-chain.pem"]; ok {
					t.Error("tls-chain.pem in a package whose statement names no chain")
				}
			}

			html := stdhtml.UnescapeString(string(files["certificate.html"]))
			pdfText := pdfText(t, files["certificate.pdf"])
			for _, s := range []string{id, "902(13)", "902(14)", "Signature", "Name", "Organisation", "Tree size", a.Key().VKey} {
				if !strings.Contains(html, s) {
					t.Errorf("certificate.html lacks %q", s)
				}
				// Long values wrap at any character in the PDF.
				if !strings.Contains(strings.ReplaceAll(pdfText, " ", ""), strings.ReplaceAll(s, " ", "")) {
					t.Errorf("certificate.pdf lacks %q", s)
				}
			}
			if raw := string(files["certificate.html"]); strings.Contains(raw, "<Policy>") || strings.Contains(raw, "<2>") {
				t.Error("certificate.html holds unescaped text")
			}
			md := string(files["VERIFY.md"])
			for _, s := range []string{"exhibit verify PACKAGE.zip --key '" + a.Key().VKey + "'", "sha256sum -c SHA256SUMS", "openssl ts -verify"} {
				if !strings.Contains(md, s) {
					t.Errorf("VERIFY.md lacks %q", s)
				}
			}
			switch name {
			case "tls":
				for _, s := range []string{"Zoë & Co", "Privacy <Policy> 隐私", "NOT verified", "Redirect 1", "/old answered 301", "127.0.0.1:", "Certificate 1"} {
					if !strings.Contains(html, s) {
						t.Errorf("certificate.html lacks %q", s)
					}
				}
				for _, s := range []string{"Zoë & Co", "Privacy <Policy> [U+9690][U+79C1]", "NOT verified", "Redirect 1"} {
					if !strings.Contains(pdfText, s) {
						t.Errorf("certificate.pdf lacks %q", s)
					}
				}
			case "upload":
				for _, s := range []string{"claimed by the supplier", "2026-05-08T11:13:55", "Terms — [U+6761][U+6B3E] [U+0645]"} {
					if !strings.Contains(pdfText, s) {
						t.Errorf("certificate.pdf lacks %q", s)
					}
				}
				if !strings.Contains(html, "Terms — 条款") {
					t.Error("certificate.html lacks the exact title")
				}
			case "failed":
				if !strings.Contains(html, "FAILED capture") {
					t.Error("certificate.html does not say the capture failed")
				}
			}
		})
	}
}

func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("certificate.pdf starts %q", pdf[:8])
	}
	res, err := extract.Extract(pdf, "application/pdf", extract.Rules{})
	if err != nil {
		t.Fatalf("reading certificate.pdf: %v", err)
	}
	// Lines wrap in the PDF: compare with single spaces, no line breaks.
	return strings.Join(strings.Fields(res.Text), " ")
}

// TestTamper changes each file of a package in three ways and checks that
// the change is caught, and the file named: a byte flipped in the zip (its
// CRC then fails), a byte changed by a forger who rewrites the zip and
// updates MANIFEST.json and SHA256SUMS to match, a file removed, and a
// file added.
func TestTamper(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	for _, name := range []string{"tls", "failed"} {
		data := build(t, a, ids[name], export.Options{})
		files := unzip(t, data)
		for fname := range files {
			t.Run(name+"/flip/"+fname, func(t *testing.T) {
				bad := bytes.Clone(data)
				i := dataOffset(t, data, fname)
				bad[i+int64(len(files[fname])/2)] ^= 0x01
				wantNamed(t, check(bad, a.Key()), fname)
			})
			t.Run(name+"/forge/"+fname, func(t *testing.T) {
				forged := clone(files)
				b := forged[fname]
				b[len(b)/2] ^= 0x01
				if fname != verify.PackageManifest && fname != verify.PackageSums {
					rewriteManifest(t, forged)
				} else if fname == verify.PackageManifest {
					// Keep the manifest parsable: change a byte of a hash.
					forged[fname] = bytes.Clone(files[fname])
					j := bytes.Index(forged[fname], []byte(`"sha256": "`)) + len(`"sha256": "`)
					if forged[fname][j] == '0' {
						forged[fname][j] = '1'
					} else {
						forged[fname][j] = '0'
					}
					m, _ := verify.ParseManifest(forged[fname])
					if m == nil {
						t.Fatal("the forged manifest does not parse")
					}
					forged[verify.PackageSums] = m.Sums(forged[fname])
				}
				zipData, err := verify.WritePackage(forged)
				if err != nil {
					t.Fatal(err)
				}
				wantNamed(t, check(zipData, a.Key()), fname)
			})
			t.Run(name+"/remove/"+fname, func(t *testing.T) {
				less := clone(files)
				delete(less, fname)
				zipData, _ := verify.WritePackage(less)
				wantNamed(t, check(zipData, a.Key()), fname)
			})
		}
		t.Run(name+"/extra", func(t *testing.T) {
			more := clone(files)
			more["notes.txt"] = []byte("trust me\n")
			zipData, _ := verify.WritePackage(more)
			wantNamed(t, check(zipData, a.Key()), "notes.txt")
			// Listing it in the manifest does not help either.
			rewriteManifest(t, more)
			zipData, _ = verify.WritePackage(more)
			if rep := check(zipData, a.Key()); rep.Verified {
				t.Error("a package with an extra file listed in its manifest verifies")
			}
		})
	}
	t.Run("other-key", func(t *testing.T) {
		other := archivetest.New(t, archive.InitOptions{})
		data := build(t, a, ids["tls"], export.Options{})
		rep := check(data, other.Key())
		if rep.Verified {
			t.Fatal("a package verifies under another log's key")
		}
		wantNamed(t, rep, verify.PackageLogKey)
	})
	t.Run("cited-record", func(t *testing.T) {
		data := build(t, a, ids["tls"], export.Options{})
		rep := verify.CheckPackage(data, a.Key(), verify.PackageOptions{RecordID: ids["upload"]})
		if rep.Verified {
			t.Fatal("a package verifies as another record's")
		}
	})
	t.Run("header-byte", func(t *testing.T) {
		// A byte of a zip header (the first entry's modification time),
		// which archive/zip alone does not check.
		data := build(t, a, ids["tls"], export.Options{})
		bad := bytes.Clone(data)
		bad[10] ^= 0x01
		rep := check(bad, a.Key())
		if rep.Verified {
			t.Fatal("a changed zip header verifies")
		}
		wantNamed(t, rep, verify.PackageManifest)
	})
}

// dataOffset returns where a file's bytes are stored in the zip.
func dataOffset(t *testing.T, data []byte, name string) int64 {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			return off
		}
	}
	t.Fatalf("%s is not in the zip", name)
	return 0
}

func clone(files map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for n, b := range files {
		out[n] = bytes.Clone(b)
	}
	return out
}

// rewriteManifest makes MANIFEST.json and SHA256SUMS list files as they
// are, as a forger would.
func rewriteManifest(t *testing.T, files map[string][]byte) {
	t.Helper()
	old, err := verify.ParseManifest(files[verify.PackageManifest])
	if err != nil {
		t.Fatal(err)
	}
	key, err := verify.ParseVKey(old.LogKey)
	if err != nil {
		t.Fatal(err)
	}
	m := verify.NewManifest(old.RecordID, old.Kind, key, old.Generator, files)
	files[verify.PackageManifest] = m.Marshal()
	files[verify.PackageSums] = m.Sums(files[verify.PackageManifest])
}

func wantNamed(t *testing.T, rep *verify.PackageReport, file string) {
	t.Helper()
	if rep.Verified {
		t.Fatalf("the package verifies; want a failure naming %s", file)
	}
	for _, c := range rep.Checks {
		if !c.OK && c.File == file {
			return
		}
	}
	var failed []string
	for _, c := range rep.Checks {
		if !c.OK {
			failed = append(failed, fmt.Sprintf("%s (%s): %s", c.Name, c.File, c.Detail))
		}
	}
	t.Fatalf("no failed check names %s; failed: %s", file, strings.Join(failed, "; "))
}

// TestStockTools unzips a package and runs VERIFY.md's shell steps with
// the system's unzip, sha256sum, openssl, jq and python3, when present.
func TestStockTools(t *testing.T) {
	for _, tool := range []string{"unzip", "sha256sum", "openssl", "jq", "python3", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			needTool(t, tool)
		}
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(ek)
	ecdsaArchive := archivetest.New(t, archive.InitOptions{KeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})})
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	ids["ecdsa"] = records(t, ecdsaArchive)["tls"]
	for name, id := range ids {
		a := a
		if name == "ecdsa" {
			a = ecdsaArchive
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			zipPath := filepath.Join(dir, "p.zip")
			os.WriteFile(zipPath, build(t, a, id, export.Options{}), 0o644)
			out, err := exec.Command("unzip", "-q", zipPath, "-d", filepath.Join(dir, "p")).CombinedOutput()
			if err != nil {
				t.Fatalf("unzip: %v\n%s", err, out)
			}
			pkg := filepath.Join(dir, "p")
			cmd := verifySteps(t, pkg)
			out, err = cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("VERIFY.md's steps fail: %v\n%s\nscript:\n%s", err, out, cmd.Args[len(cmd.Args)-1])
			}
			for _, s := range []string{"MANIFEST.json: OK", "Verified", "provenance.json is the signed statement", "is in the tree of size"} {
				if !strings.Contains(string(out), s) {
					t.Errorf("VERIFY.md's steps print no %q:\n%s", s, out)
				}
			}
			// A changed snapshot or statement fails the steps.
			for _, f := range []string{"provenance.json", "bundle.json"} {
				b, _ := os.ReadFile(filepath.Join(pkg, f))
				os.WriteFile(filepath.Join(pkg, f), append(b, ' '), 0o644)
				if out, err := cmd.CombinedOutput(); err == nil {
					t.Errorf("VERIFY.md's steps pass with %s changed:\n%s", f, out)
				}
				os.WriteFile(filepath.Join(pkg, f), b, 0o644)
			}
		})
	}
}

// verifySteps returns the command that runs the shell steps of VERIFY.md
// (its sh blocks, in order, with bash -euo pipefail) in the unzipped
// package pkg.
func verifySteps(t *testing.T, pkg string) *exec.Cmd {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(pkg, "VERIFY.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	in := false
	for _, l := range strings.Split(string(md), "\n") {
		switch {
		case l == "```sh":
			in = true
		case l == "```":
			in = false
		case in:
			script.WriteString(l + "\n")
		}
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = pkg
	return cmd
}

// TestPolicy includes a trust policy with no witnesses: the package
// verifies, the witnesses check reports it, and a note says the policy was
// the package's own.
func TestPolicy(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	pol := []byte("log " + a.Key().VKey + "\nquorum none\n")
	data := build(t, a, ids["upload"], export.Options{Policy: pol})
	rep := check(data, a.Key())
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("%s (%s): %s", f.Name, f.File, f.Detail)
	}
	var found bool
	for _, c := range rep.Checks {
		found = found || (c.Name == verify.CheckPackagePolicy && c.OK)
	}
	if !found || len(rep.Notes) == 0 {
		t.Errorf("no witnesses check or note: %+v", rep)
	}
	other := []byte("log " + a.Key().VKey + "\n# another\nquorum none\n")
	if rep := verify.CheckPackage(data, a.Key(), verify.PackageOptions{Policy: other}); rep.Verified {
		t.Error("a package verifies with a policy other than the trusted one")
	}
}

// TestManifestJSON pins the manifest's members.
func TestManifestJSON(t *testing.T) {
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	files := unzip(t, build(t, a, ids["http"], export.Options{}))
	var m map[string]any
	if err := json.Unmarshal(files[verify.PackageManifest], &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"media_type", "record_id", "kind", "log_origin", "log_key", "generator", "files"} {
		if _, ok := m[k]; !ok {
			t.Errorf("MANIFEST.json lacks %q", k)
		}
	}
	if m["record_id"] != ids["http"] || m["kind"] != "capture" || m["log_origin"] != "test.example/log" {
		t.Errorf("MANIFEST.json: %v", m)
	}
}

// TestExportTracking exports the tracking records of a tracked document:
// its declaration, its first version (with the version's text), and a
// provision quoted from it (with the text it is checked against).
func TestExportTracking(t *testing.T) {
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	tr := track.New(a)
	decl, err := tr.Declare(ctx, track.Declaration{Entity: "Acme", Document: "Privacy Policy", URL: srv.URL + "/policy", Select: []string{"main"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Capture(ctx, decl.DocumentID, ingest.CaptureOptions{})
	if err != nil || res.Version == nil {
		t.Fatalf("Capture: %v %+v", err, res)
	}
	prov, _, err := tr.Quote(ctx, res.Version.ID, track.QuoteOptions{Exact: "We keep your data for 30 days."})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*record.Record{decl, res.Version, prov} {
		t.Run(r.Kind, func(t *testing.T) {
			data := build(t, a, r.ID, export.Options{})
			rep := check(data, a.Key())
			if !rep.Verified {
				f := rep.Failed()
				t.Fatalf("%s (%s): %s", f.Name, f.File, f.Detail)
			}
			files := unzip(t, data)
			text := verify.TextName(r.Statement)
			if (text != "") != (r.Kind != "declaration") {
				t.Fatalf("text file %q for a %s", text, r.Kind)
			}
			if text != "" {
				if !strings.Contains(string(files[text]), "We keep your data for 30 days.") {
					t.Errorf("%s: %q", text, files[text])
				}
				forged := clone(files)
				forged[text] = append(forged[text], '!')
				rewriteManifest(t, forged)
				zipData, _ := verify.WritePackage(forged)
				wantNamed(t, check(zipData, a.Key()), text)
			}
			html := stdhtml.UnescapeString(string(files["certificate.html"]))
			if !strings.Contains(html, "What the record attests: "+cite.Describe(r.Statement)) {
				t.Errorf("certificate.html does not describe the %s", r.Kind)
			}
			if r.Kind == "version" && !strings.Contains(html, "That snapshot is not in this package: it is the snapshot of capture record "+res.Version.Statement.Version.Predicate.Snapshot.RecordID+", whose own evidence package (exhibit export ") {
				t.Error("certificate.html does not say where the version's snapshot is")
			}
		})
	}
}

// TestTimestamp puts a real RFC 3161 token over the bundle's checkpoint in
// a package, made by OpenSSL's TSA (openssl ts -reply, an implementation
// independent of exhibit's): it verifies with the TSA's root, is noted as
// unchecked without it, fails for a token over another checkpoint, and
// openssl ts -verify accepts the package's files as VERIFY.md says.
func TestTimestamp(t *testing.T) {
	tsa := newOpenSSLTSA(t)
	ctx := context.Background()
	a := archivetest.New(t, archive.InitOptions{})
	ids := records(t, a)
	signed, _, err := a.Ledger().Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := verify.CheckpointBody(signed)
	tok := tsa.stamp(t, body)
	data := build(t, a, ids["http"], export.Options{Checkpoint: signed, Timestamp: tok, TSAChain: tsa.chainPEM})
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(tsa.rootPEM)
	rep := verify.CheckPackage(data, a.Key(), verify.PackageOptions{TSARoots: roots, Derived: export.Derived})
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("%s (%s): %s", f.Name, f.File, f.Detail)
	}
	var ok bool
	for _, c := range rep.Checks {
		ok = ok || (c.Name == verify.CheckPackageTimestamp && c.OK && strings.Contains(c.Detail, "existed no later than"))
	}
	if !ok {
		t.Errorf("no timestamp check: %+v", rep.Checks)
	}
	if rep := check(data, a.Key()); !rep.Verified || !strings.Contains(strings.Join(rep.Notes, "\n"), "time-stamp token was not checked") {
		t.Errorf("without roots: verified %v, notes %q", rep.Verified, rep.Notes)
	}

	// A token over another checkpoint (the log has grown since).
	if _, err := ingest.New(a).File(ctx, writeTemp(t, "more"), ingest.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	newer, _, _ := a.Ledger().Checkpoint(ctx)
	newerBody, _ := verify.CheckpointBody(newer)
	forged := unzip(t, data)
	forged[verify.PackageTimestamp] = tsa.stamp(t, newerBody)
	rewriteManifest(t, forged)
	zipData, _ := verify.WritePackage(forged)
	wantNamed(t, verify.CheckPackage(zipData, a.Key(), verify.PackageOptions{TSARoots: roots}), verify.PackageTimestamp)

	// OpenSSL, as VERIFY.md says.
	dir := t.TempDir()
	for n, b := range unzip(t, data) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
		os.WriteFile(filepath.Join(dir, n), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "TSA-ROOT.pem"), tsa.rootPEM, 0o644)
	cmd := exec.Command("openssl", "ts", "-verify", "-data", "tsa/checkpoint-body.txt", "-in", "tsa/checkpoint.tsr", "-CAfile", "TSA-ROOT.pem", "-untrusted", "tsa/chain.pem")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "VERIFY.md"))
	if !strings.Contains(string(md), `openssl ts -verify -data tsa/checkpoint-body.txt -in tsa/checkpoint.tsr -CAfile "$TSA_ROOT" -untrusted tsa/chain.pem`) {
		t.Error("VERIFY.md does not give the openssl ts -verify command")
	}
	// VERIFY.md's steps, the time-stamp's included, with stock tools.
	if out, err := verifySteps(t, dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "Verification: OK") || !strings.Contains(string(out), "Time stamp:") {
		t.Errorf("VERIFY.md's steps: %v\n%s", err, out)
	}
}

// openSSLTSA is a time-stamping authority run by openssl ts -reply in a
// temporary directory: a fresh root, and a time-stamping certificate it
// issues (extended key usage timeStamping, critical).
type openSSLTSA struct {
	dir               string
	rootPEM, chainPEM []byte
}

func newOpenSSLTSA(t *testing.T) *openSSLTSA {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		needTool(t, "openssl")
	}
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("openssl", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	write := func(name, content string) { os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644) }
	write("serial", "01\n")
	write("ext.cnf", "extendedKeyUsage=critical,timeStamping\nbasicConstraints=CA:FALSE\n")
	write("ts.cnf", `[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = ./serial
signer_cert = ./tsa.pem
certs = ./tsa.pem
signer_key = ./tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
other_policies = 1.2.3.4.2
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
crypto_device = builtin
`)
	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "root.key", "-out", "root.pem", "-subj", "/CN=Test TSA Root", "-days", "2")
	run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=Test TSA")
	run("x509", "-req", "-in", "tsa.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "tsa.pem", "-days", "2", "-extfile", "ext.cnf")
	s := &openSSLTSA{dir: dir}
	s.rootPEM, _ = os.ReadFile(filepath.Join(dir, "root.pem"))
	s.chainPEM, _ = os.ReadFile(filepath.Join(dir, "tsa.pem"))
	return s
}

// stamp returns a TimeStampResp (DER) over data.
func (s *openSSLTSA) stamp(t *testing.T, data []byte) []byte {
	t.Helper()
	os.WriteFile(filepath.Join(s.dir, "data"), data, 0o644)
	for _, args := range [][]string{
		{"ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq"},
		{"ts", "-reply", "-queryfile", "q.tsq", "-config", "ts.cnf", "-out", "r.tsr"},
	} {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = s.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	tok, err := os.ReadFile(filepath.Join(s.dir, "r.tsr"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "doc.txt")
	os.WriteFile(p, []byte(content), 0o644)
	return p
}

// needTool fails the test under CI=true (.ci/run installs the tool, with
// .ci/install-tools) and skips it elsewhere, saying how to install it.
func needTool(t *testing.T, tool string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (CI=true)", tool)
	}
	t.Skipf("%s is not installed: install it (on Debian, .ci/install-tools installs the tools the tests use)", tool)
}
