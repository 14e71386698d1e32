package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestCaptureBrowserWACZ: a browser capture's WACZ is named in the
// statement, verifies (signature, every file's hash), indexes the main
// page at the offset of its response record, and is checked by exhibit
// verify with --artefact wacz= and in the evidence package.
func TestCaptureBrowserWACZ(t *testing.T) {
	rendertest.Chromium(t)
	inTemp(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	page := srv.URL + "/terms"

	r := exhibit(t, "capture", page, "--browser", "-o", "json")
	r.want(t, 0)
	var rec browserRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	a := rec.Rendering.WACZ
	if a == nil || a.MediaType != verify.MediaTypeWACZ {
		t.Fatalf("no WACZ artefact: %s", r.stdout)
	}
	data := object(t, a.SHA256)
	w, err := verify.CheckWACZ(data, verify.WACZOptions{})
	if err != nil {
		t.Fatalf("CheckWACZ: %v", err)
	}
	if w.Package.MainPageURL != page {
		t.Errorf("mainPageURL %q, want %q", w.Package.MainPageURL, page)
	}

	// The index finds the main page; its offset and length are the gzip
	// member of its response record.
	files := map[string][]byte{}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	warc := files[verify.WACZWARC]
	found := false
	for _, l := range strings.Split(strings.TrimSpace(string(files[verify.WACZIndex])), "\n") {
		parts := strings.SplitN(l, " ", 3)
		if len(parts) != 3 {
			t.Fatalf("CDXJ line %q", l)
		}
		var e struct{ URL, Status, Offset, Length, Mime string }
		if err := json.Unmarshal([]byte(parts[2]), &e); err != nil {
			t.Fatalf("CDXJ line %q: %v", l, err)
		}
		if e.URL != page {
			continue
		}
		found = true
		off, _ := strconv.Atoi(e.Offset)
		n, _ := strconv.Atoi(e.Length)
		if e.Status != "200" || e.Mime != "text/html" || off < 0 || n <= 0 || off+n > len(warc) {
			t.Fatalf("main page entry %q", l)
		}
		gz, err := gzip.NewReader(bytes.NewReader(warc[off : off+n]))
		if err != nil {
			t.Fatal(err)
		}
		gz.Multistream(false)
		body, err := io.ReadAll(gz)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(body, []byte("WARC-Type: response")) || !bytes.Contains(body, []byte("WARC-Target-URI: "+page)) {
			t.Errorf("offset %d length %d is not the main page's response record:\n%.600s", off, n, body)
		}
	}
	if !found {
		t.Errorf("the index has no entry for %s:\n%s", page, files[verify.WACZIndex])
	}
	if !bytes.Contains(files[verify.WACZPages], []byte(`"url":"`+page+`"`)) {
		t.Errorf("pages.jsonl lacks the page:\n%s", files[verify.WACZPages])
	}
	if unzip, err := exec.LookPath("unzip"); err == nil {
		p := filepath.Join(t.TempDir(), "c.wacz")
		os.WriteFile(p, data, 0o644)
		if out, err := exec.Command(unzip, "-t", p).CombinedOutput(); err != nil {
			t.Errorf("unzip -t: %v\n%s", err, out)
		}
	}

	// exhibit verify checks it against the statement, then as a WACZ.
	bundle := proveFile(t, rec.RecordID)
	exhibit(t, "verify", bundle, "--artefact", "wacz="+objectPath(a.SHA256)).want(t, 0,
		"ok   artefact-digest       wacz SHA-256 "+a.SHA256, "ok   wacz ", "signed by P-384 key sha256:")
	bad := append([]byte(nil), data...)
	bad[len(bad)/3] ^= 1
	badPath := filepath.Join(t.TempDir(), "bad.wacz")
	os.WriteFile(badPath, bad, 0o644)
	exhibit(t, "verify", bundle, "--artefact", "wacz="+badPath).want(t, 1, "FAIL artefact-digest", "wacz (file "+badPath+") SHA-256 is ")

	// The evidence package holds it, and verifies it.
	exhibit(t, "export", rec.RecordID, "-o", "p.zip").want(t, 0)
	key := strings.TrimSpace(exhibit(t, "log-key").stdout)
	exhibit(t, "verify", "p.zip", "--key", key).want(t, 0, "rendering/capture.wacz", "ok   wacz ")
}
