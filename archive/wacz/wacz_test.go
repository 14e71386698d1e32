package wacz_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

var captured = time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)

// testWARC writes a WARC with gowarc, one gzip member per record: a
// warcinfo, then a request and response for each of pages (URL to HTML
// body) and a resource record.
func testWARC(t testing.TB, pages map[string]string) []byte {
	t.Helper()
	var out bytes.Buffer
	m := gowarc.NewMarshaler()
	add := func(typ gowarc.RecordType, target, contentType, block string) {
		rb := gowarc.NewRecordBuilder(typ, gowarc.WithAddMissingDigest(true), gowarc.WithAddMissingContentLength(true),
			gowarc.WithAddMissingRecordId(true), gowarc.WithFixDigest(true))
		if _, err := rb.WriteString(block); err != nil {
			t.Fatal(err)
		}
		rb.AddWarcHeaderTime(gowarc.WarcDate, captured)
		rb.AddWarcHeader(gowarc.ContentType, contentType)
		if target != "" {
			rb.AddWarcHeader(gowarc.WarcTargetURI, target)
		}
		rec, _, err := rb.Build()
		if err != nil {
			t.Fatal(err)
		}
		gz := gzip.NewWriter(&out)
		if _, _, err := m.Marshal(gz, rec, 0); err != nil {
			t.Fatal(err)
		}
		if err := gz.Close(); err != nil {
			t.Fatal(err)
		}
	}
	add(gowarc.Warcinfo, "", "application/warc-fields", "software: wacz_test\r\nformat: WARC File Format 1.1\r\n")
	for _, u := range sortedKeys(pages) {
		body := pages[u]
		add(gowarc.Request, u, "application/http;msgtype=request", "GET / HTTP/1.1\r\nHost: example\r\n\r\n")
		add(gowarc.Response, u, "application/http;msgtype=response",
			"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	}
	add(gowarc.Resource, "https://example.com/favicon.ico", "image/x-icon", "\x00\x00\x01\x00")
	return out.Bytes()
}

func sortedKeys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

// testKey is a fixed P-384 key, so that builds are comparable.
func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	d := sha256.Sum256([]byte("wacz_test key"))
	k, err := ecdsa.ParseRawPrivateKey(elliptic.P384(), append(make([]byte, 16), d[:]...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const mainURL = "https://example.com/a?b=2&a=1"

func testInput(t testing.TB) wacz.Input {
	return wacz.Input{
		WARC:     testWARC(t, map[string]string{mainURL: "<title>A</title><p>hello</p>", "http://www.example.com:8080/x": "<p>x</p>"}),
		Pages:    []wacz.Page{{URL: mainURL, TS: captured, Title: "A", Text: "hello"}},
		Created:  captured,
		Software: "exhibit test",
		Key:      testKey(t),
	}
}

func build(t testing.TB, in wacz.Input) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := wacz.Build(context.Background(), &b, in); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBuildVerifies(t *testing.T) {
	in := testInput(t)
	w := build(t, in)
	got, err := verify.CheckWACZ(w, verify.WACZOptions{})
	if err != nil {
		t.Fatalf("CheckWACZ: %v", err)
	}
	pub, err := wacz.PublicKey(&in.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify.CheckWACZ(w, verify.WACZOptions{PublicKey: pub}); err != nil {
		t.Fatalf("CheckWACZ with the signing key: %v", err)
	}
	if got.Package.MainPageURL != mainURL || got.Package.WACZVersion != "1.1.1" || len(got.Package.Resources) != 3 {
		t.Errorf("datapackage = %+v", got.Package)
	}

	// Each file's hash and size, read independently of CheckWACZ.
	zr, err := zip.NewReader(bytes.NewReader(w), int64(len(w)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s is compressed (method %d)", f.Name, f.Method)
		}
		if !f.Modified.Equal(captured) {
			t.Errorf("%s modified %v, want %v", f.Name, f.Modified, captured)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		names = append(names, f.Name)
	}
	if want := []string{"archive/data.warc.gz", "indexes/index.cdx", "pages/pages.jsonl", "datapackage.json", "datapackage-digest.json"}; strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("files %v, want %v", names, want)
	}
	if !bytes.Equal(files["archive/data.warc.gz"], in.WARC) {
		t.Error("the WARC was not stored byte for byte")
	}
	for _, r := range got.Package.Resources {
		sum := sha256.Sum256(files[r.Path])
		if r.Hash != "sha256:"+hex.EncodeToString(sum[:]) || r.Bytes != int64(len(files[r.Path])) {
			t.Errorf("%s: listed %s %d, is %x %d", r.Path, r.Hash, r.Bytes, sum, len(files[r.Path]))
		}
	}
	var d verify.WACZDigest
	if err := json.Unmarshal(files["datapackage-digest.json"], &d); err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(files["datapackage.json"]); d.Hash != "sha256:"+hex.EncodeToString(sum[:]) || d.SignedData.Hash != d.Hash {
		t.Errorf("digest %s / signed %s, datapackage.json is %x", d.Hash, d.SignedData.Hash, sum)
	}
	// The signature is WebCrypto's P1363 form, as ReplayWeb.page verifies it.
	sig, _ := base64.StdEncoding.DecodeString(d.SignedData.Signature)
	h := sha256.Sum256([]byte(d.Hash))
	if len(sig) != 96 || !ecdsa.Verify(&in.Key.PublicKey, h[:], new(big.Int).SetBytes(sig[:48]), new(big.Int).SetBytes(sig[48:])) {
		t.Errorf("signature %d bytes does not verify as r||s", len(sig))
	}

	// pages.jsonl: header, then the page.
	lines := strings.Split(strings.TrimSpace(string(files["pages/pages.jsonl"])), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"format":"json-pages-1.0"`) || !strings.Contains(lines[1], `"url":"`+mainURL+`"`) || !strings.Contains(lines[1], `"text":"hello"`) {
		t.Errorf("pages.jsonl:\n%s", files["pages/pages.jsonl"])
	}

	// The index finds the main page, and its offset and length are one
	// gzip member holding the response record.
	found := false
	for _, l := range strings.Split(strings.TrimSpace(string(files["indexes/index.cdx"])), "\n") {
		parts := strings.SplitN(l, " ", 3)
		var e wacz.Entry
		if err := json.Unmarshal([]byte(parts[2]), &e); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if e.URL != mainURL {
			continue
		}
		found = true
		if parts[0] != "com,example)/a?a=1&b=2" || parts[1] != "20261204140000" || e.Status != "200" || e.Mime != "text/html" || e.Filename != "data.warc.gz" {
			t.Errorf("entry %q", l)
		}
		off, _ := strconv.Atoi(e.Offset)
		n, _ := strconv.Atoi(e.Length)
		gz, err := gzip.NewReader(bytes.NewReader(in.WARC[off : off+n]))
		if err != nil {
			t.Fatal(err)
		}
		gz.Multistream(false)
		rec, err := io.ReadAll(gz)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(rec, []byte("WARC-Type: response")) || !bytes.HasSuffix(bytes.TrimRight(rec, "\r\n"), []byte("<p>hello</p>")) {
			t.Errorf("offset %d length %d is not the response record:\n%s", off, n, rec)
		}
	}
	if !found {
		t.Errorf("index has no entry for %s:\n%s", mainURL, files["indexes/index.cdx"])
	}
}

func TestBuildDeterministic(t *testing.T) {
	in := testInput(t)
	a, b := build(t, in), build(t, in)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of one input differ")
	}
	in.Created = in.Created.Add(time.Second)
	if bytes.Equal(a, build(t, in)) {
		t.Fatal("another creation time gives the same package")
	}
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		desc string
		edit func(*wacz.Input)
	}{
		{"no WARC", func(in *wacz.Input) { in.WARC = nil }},
		{"no page", func(in *wacz.Input) { in.Pages = nil }},
		{"no time", func(in *wacz.Input) { in.Created = time.Time{} }},
		{"no key", func(in *wacz.Input) { in.Key = nil }},
		{"a P-256 key", func(in *wacz.Input) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), nil)
			in.Key = k
		}},
		{"a WARC that is not one", func(in *wacz.Input) { in.WARC = []byte("GIF89a not a WARC at all\r\n\r\n") }},
		{"a page without URL", func(in *wacz.Input) { in.Pages = []wacz.Page{{TS: captured}} }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in := testInput(t)
			tc.edit(&in)
			var b bytes.Buffer
			err := wacz.Build(context.Background(), &b, in)
			if !errors.Is(err, wacz.ErrInput) {
				t.Errorf("Build = %v, want ErrInput", err)
			}
			if b.Len() != 0 {
				t.Errorf("wrote %d bytes", b.Len())
			}
		})
	}
}

// TestUnzip has Info-ZIP's unzip test the package, an independent reader.
func TestUnzip(t *testing.T) {
	unzip, err := exec.LookPath("unzip")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("unzip is not installed")
		}
		t.Skip("unzip is not installed")
	}
	p := filepath.Join(t.TempDir(), "capture.wacz")
	if err := os.WriteFile(p, build(t, testInput(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(unzip, "-t", p).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors detected") {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
}

func TestSURT(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://example.com/", "com,example)/"},
		{"https://www.Example.com/A/b?z=1&a=2#frag", "com,example)/a/b?a=2&z=1"},
		{"http://www2.example.co.uk:8080", "uk,co,example:8080)/"},
		{"https://example.com:443/x", "com,example)/x"},
		{"http://www.com/", "com,www)/"},
		{"http://127.0.0.1:45463/terms", "127.0.0.1:45463)/terms"},
		{"http://[::1]:8080/", "[::1]:8080)/"},
	} {
		u, err := url.Parse(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := wacz.SURT(u); got != tc.want {
			t.Errorf("SURT(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func ExampleBuild() {
	key, err := wacz.NewKey()
	if err != nil {
		panic(err)
	}
	var warc []byte // a WARC/1.1 file, e.g. render.Result.WARC
	var out bytes.Buffer
	err = wacz.Build(context.Background(), &out, wacz.Input{
		WARC:    warc,
		Pages:   []wacz.Page{{URL: "https://example.com/", TS: time.Now()}},
		Created: time.Now(),
		Key:     key,
	})
	fmt.Println(errors.Is(err, wacz.ErrInput))
	// Output: true
}

// TestWebCrypto verifies the signature with Node's WebCrypto exactly as
// ReplayWeb.page does (testdata/webcrypto-verify.mjs), an implementation
// independent of Go's: it must accept the package's signature and refuse
// one over another hash.
func TestWebCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is not installed")
		}
		t.Skip("node is not installed")
	}
	var digest []byte
	w := build(t, testInput(t))
	zr, err := zip.NewReader(bytes.NewReader(w), int64(len(w)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == verify.WACZDigestFile {
			rc, _ := f.Open()
			digest, _ = io.ReadAll(rc)
		}
	}
	run := func(in []byte) (string, error) {
		cmd := exec.Command(node, "testdata/webcrypto-verify.mjs")
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := run(digest); err != nil || out != "valid" {
		t.Fatalf("WebCrypto: %v: %s", err, out)
	}
	var d verify.WACZDigest
	if err := json.Unmarshal(digest, &d); err != nil {
		t.Fatal(err)
	}
	d.SignedData.Hash = verify.WACZHash([]byte("another datapackage.json"))
	other, _ := json.Marshal(d)
	if out, err := run(other); err == nil || out != "invalid" {
		t.Fatalf("WebCrypto accepted a signature over another hash: %v: %s", err, out)
	}
}
