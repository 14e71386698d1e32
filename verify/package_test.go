package verify_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

// testPackage builds a package from the checked-in bundle and snapshot,
// without derived documents (package verify has no generator).
func testPackage(t testing.TB) (map[string][]byte, *verify.PublicKey) {
	t.Helper()
	files, key, err := buildTestPackage()
	if err != nil {
		t.Fatal(err)
	}
	return files, key
}

func buildTestPackage() (map[string][]byte, *verify.PublicKey, error) {
	var err error
	read := func(n string) []byte {
		b, rerr := os.ReadFile("testdata/" + n)
		if rerr != nil && err == nil {
			err = rerr
		}
		return b
	}
	vkey, bundle, snapshot := read("log.vkey"), read("bundle.json"), read("snapshot.html")
	if err != nil {
		return nil, nil, err
	}
	key, err := verify.ParseVKey(string(vkey))
	if err != nil {
		return nil, nil, err
	}
	b, err := verify.ParseBundle(bundle)
	if err != nil {
		return nil, nil, err
	}
	env, err := verify.ParseEnvelope(b.Entry)
	if err != nil {
		return nil, nil, err
	}
	st, err := verify.ParseStatement(env.Payload)
	if err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{
		verify.PackageBundle:       b.Marshal(),
		verify.PackageProof:        b.MarshalProof(),
		verify.PackageLogKey:       []byte(key.VKey + "\n"),
		verify.PackageProvenance:   verify.IndentStatement(env.Payload),
		verify.SnapshotName(st):    snapshot,
		verify.PackageInstructions: []byte("# Verifying\n"),
	}
	m := verify.NewManifest(b.RecordID, "capture", key, "test", files)
	files[verify.PackageManifest] = m.Marshal()
	files[verify.PackageSums] = m.Sums(files[verify.PackageManifest])
	return files, key, nil
}

func TestCheckPackage(t *testing.T) {
	files, key := testPackage(t)
	data, err := verify.WritePackage(files)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := verify.WritePackage(files); !bytes.Equal(again, data) {
		t.Fatal("WritePackage is not deterministic")
	}
	rep := verify.CheckPackage(data, key, verify.PackageOptions{})
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("%s (%s): %s", f.Name, f.File, f.Detail)
	}
	// Every byte of the zip matters.
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if rep := verify.CheckPackage(bad, key, verify.PackageOptions{}); rep.Verified {
			t.Fatalf("byte %d changed: the package still verifies", i)
		}
	}
	if rep := verify.CheckPackage(data, nil, verify.PackageOptions{}); rep.Verified {
		t.Error("verified without a key")
	}
	if rep := verify.CheckPackage([]byte("PK not a zip"), key, verify.PackageOptions{}); rep.Verified || rep.Failed().Name != verify.CheckPackageZip {
		t.Errorf("not a zip: %+v", rep)
	}
}

func TestWritePackageNames(t *testing.T) {
	for _, n := range []string{"", "/abs", "../up", "a/../b", `a\b`, "a b", "a/", "./a", "a\x00"} {
		if _, err := verify.WritePackage(map[string][]byte{n: nil}); err == nil {
			t.Errorf("WritePackage accepts the name %q", n)
		}
	}
}

func TestSnapshotExtension(t *testing.T) {
	for mt, want := range map[string]string{
		"text/html; charset=utf-8": ".html", "application/pdf": ".pdf", "TEXT/PLAIN": ".txt",
		"": ".bin", "application/x-unknown": ".bin", "image/jpeg": ".jpg",
	} {
		if got := verify.SnapshotExtension(mt); got != want {
			t.Errorf("SnapshotExtension(%q) = %q, want %q", mt, got, want)
		}
	}
}

// FuzzParseManifest: never crashes; what parses marshals to what parses
// to the same manifest.
func FuzzParseManifest(f *testing.F) {
	files, _ := testPackage(f)
	f.Add(files[verify.PackageManifest])
	f.Add([]byte(`{"media_type":"application/vnd.exhibit.package.v1+json","record_id":"","kind":"","log_origin":"","log_key":"","generator":"","files":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := verify.ParseManifest(b)
		if err != nil {
			return
		}
		again, err := verify.ParseManifest(m.Marshal())
		if err != nil {
			t.Fatalf("re-parsing: %v", err)
		}
		if !bytes.Equal(again.Marshal(), m.Marshal()) {
			t.Fatal("round trip changed the manifest")
		}
	})
}

// FuzzCheckPackage: never crashes, whatever the zip.
func FuzzCheckPackage(f *testing.F) {
	files, key := testPackage(f)
	data, _ := verify.WritePackage(files)
	f.Add(data)
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Fuzz(func(t *testing.T, b []byte) {
		verify.CheckPackage(b, key, verify.PackageOptions{MaxSize: 1 << 20})
	})
}

// Check an evidence package (exhibit export) against the log key obtained
// from the archive's operator.
func ExampleCheckPackage() {
	files, key, err := buildTestPackage() // the files of a package, and the log key
	if err != nil {
		panic(err)
	}
	zipData, _ := verify.WritePackage(files) // what exhibit export writes

	rep := verify.CheckPackage(zipData, key, verify.PackageOptions{})
	fmt.Println("verified:", rep.Verified)
	for _, c := range rep.Checks {
		if c.Name == verify.CheckPackageLogKey || c.Name == verify.CheckInclusionProof {
			fmt.Println(c.Name, c.OK)
		}
	}
	// Output:
	// verified: true
	// log-key true
	// inclusion-proof true
}

// A compressed entry that expands beyond the bound (a zip bomb;
// MaxPackageSize by default) is refused before it is read whole. Within
// the bound, a compressed zip is read, and refused as re-zipped.
func TestCheckPackageExpansion(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("big.txt")
	w.Write(bytes.Repeat([]byte{0}, 10<<20))
	zw.Close()
	_, key := testPackage(t)
	rep := verify.CheckPackage(buf.Bytes(), key, verify.PackageOptions{MaxSize: 1 << 20})
	if f := rep.Failed(); rep.Verified || f.Name != verify.CheckPackageZip || f.File != "big.txt" || !strings.Contains(f.Detail, "exceed 1048576 bytes") {
		t.Fatalf("a zip bomb: %+v", f)
	}
	rep = verify.CheckPackage(buf.Bytes(), key, verify.PackageOptions{})
	if f := rep.Failed(); rep.Verified || f.Name != verify.CheckPackageZip || !strings.Contains(f.Detail, "re-zipped (1 entry compressed") {
		t.Fatalf("a compressed zip within the bound: %+v", f)
	}
}

// TestCheckPackageReserialised: a MANIFEST.json whose JSON is unchanged
// but re-serialised (indented otherwise, its final newline dropped) is
// refused with a message that says so and quotes where it differs (issue
// 12: it said `line 76 is "", want ""`).
func TestCheckPackageReserialised(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		change func([]byte) []byte
		want   []string
	}{
		{"indented with four spaces", func(b []byte) []byte {
			var out bytes.Buffer
			if err := json.Indent(&out, bytes.TrimSpace(b), "", "    "); err != nil {
				t.Fatal(err)
			}
			return append(out.Bytes(), '\n')
		}, []string{"line 2, column 3:", `canonical form "  \"media_type`}},
		{"final newline dropped", func(b []byte) []byte { return bytes.TrimSuffix(b, []byte("\n")) }, []string{"it ends after line", `the canonical form goes on with line`}},
		{"a newline added", func(b []byte) []byte { return append(bytes.Clone(b), '\n') }, []string{`""`, "past the canonical form's last line"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			files, key := testPackage(t)
			files[verify.PackageManifest] = tc.change(files[verify.PackageManifest])
			data, err := verify.WritePackage(files)
			if err != nil {
				t.Fatal(err)
			}
			rep := verify.CheckPackage(data, key, verify.PackageOptions{})
			if rep.Verified {
				t.Fatal("verified")
			}
			var details []string
			for _, c := range rep.Checks {
				if !c.OK {
					details = append(details, c.Detail)
				}
			}
			all := strings.Join(details, "\n")
			for _, w := range append(tc.want, "MANIFEST.json is not byte-identical to its canonical form, as if re-serialised") {
				if !strings.Contains(all, w) {
					t.Errorf("failures %q lack %q", all, w)
				}
			}
		})
	}
}
