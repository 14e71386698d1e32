package verify_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/verify"
)

// centralDirectoryBomb returns a zip holding no data, whose central
// directory lists n entries with one-byte names, and its end records: a
// plain end record whose 16-bit count is n modulo 65536 (which is all
// archive/zip compares), and with zip64, the zip64 end record with the
// true count. With claim > 0, the end record claims that count and a
// directory of that many entries instead, the rest of the entries lying
// beyond it, where archive/zip still reads them.
func centralDirectoryBomb(n int, zip64 bool, claim int) []byte {
	le := binary.LittleEndian
	var b bytes.Buffer
	hdr := make([]byte, 46+1)
	le.PutUint32(hdr, 0x02014b50)
	le.PutUint16(hdr[4:], 20)
	le.PutUint16(hdr[6:], 20)
	le.PutUint16(hdr[28:], 1) // name length
	for i := range n {
		hdr[46] = 'a' + byte(i%26)
		b.Write(hdr)
	}
	size, count := uint64(b.Len()), uint64(n)
	if claim > 0 {
		size, count = uint64(claim*len(hdr)), uint64(claim)
	}
	end := make([]byte, 22)
	le.PutUint32(end, 0x06054b50)
	if zip64 {
		rec := make([]byte, 56)
		le.PutUint32(rec, 0x06064b50)
		le.PutUint64(rec[4:], 44)
		le.PutUint64(rec[24:], count)
		le.PutUint64(rec[32:], count)
		le.PutUint64(rec[40:], size)
		le.PutUint64(rec[48:], 0)
		off := uint64(b.Len())
		b.Write(rec)
		loc := make([]byte, 20)
		le.PutUint32(loc, 0x07064b50)
		le.PutUint64(loc[8:], off)
		le.PutUint32(loc[16:], 1)
		b.Write(loc)
		le.PutUint16(end[8:], 0xffff)
		le.PutUint16(end[10:], 0xffff)
		le.PutUint32(end[12:], 0xffffffff)
		le.PutUint32(end[16:], 0xffffffff)
	} else {
		le.PutUint16(end[8:], uint16(count))
		le.PutUint16(end[10:], uint16(count))
		le.PutUint32(end[12:], uint32(size))
		le.PutUint32(end[16:], 0)
	}
	b.Write(end)
	return b.Bytes()
}

// falseEndInComment gives zip's end record a 22-byte comment that looks
// like an end record whose own comment would run past the end of the file.
// Were archive/zip to pass over it to the true end record before it, the
// bounds check, which stops there, would let the bomb through.
func falseEndInComment(zip []byte) []byte {
	out := bytes.Clone(zip)
	binary.LittleEndian.PutUint16(out[len(out)-2:], 22)
	fake := make([]byte, 22)
	binary.LittleEndian.PutUint32(fake, 0x06054b50)
	binary.LittleEndian.PutUint16(fake[20:], 0xffff)
	return append(out, fake...)
}

// TestZipCentralDirectoryBomb: a zip whose central directory lists
// hundreds of thousands of names is refused from its end records, before
// archive/zip reads the directory, in little memory and with an error that
// says what is wrong.
func TestZipCentralDirectoryBomb(t *testing.T) {
	_, key := testPackage(t)
	const n = 300_000 // 14 MB of directory; the had 8 million
	for _, tc := range []struct {
		name string
		zip  []byte
		want string
	}{
		{"count modulo 65536", centralDirectoryBomb(n, false, 0), "central directory"},
		{"zip64 count", centralDirectoryBomb(n, true, 0), "lists 300000 entries"},
		{"entries beyond the directory", centralDirectoryBomb(n, false, 3), "does not end where its end record begins"},
		{"zip64 entries beyond the directory", centralDirectoryBomb(n, true, 3), "does not end where its end record begins"},
		// archive/zip, like checkZipDirectory, stops at the first end
		// record from the end, and refuses it for its truncated comment
		// instead of passing over it to the bomb's.
		{"false end record in the comment", falseEndInComment(centralDirectoryBomb(n, false, 0)), "not a readable zip"},
		{"zip64, false end record in the comment", falseEndInComment(centralDirectoryBomb(n, true, 0)), "not a readable zip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rep := verify.CheckPackage(tc.zip, key, verify.PackageOptions{})
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			f := rep.Failed()
			if rep.Verified || f == nil || f.Name != verify.CheckPackageZip || !errors.Is(f.Err, verify.ErrPackage) {
				t.Fatalf("first failure %+v, want package-zip", f)
			}
			if !strings.Contains(f.Detail, tc.want) {
				t.Errorf("detail %q does not say %q", f.Detail, tc.want)
			}
			// archive/zip would allocate a File per entry, hundreds of
			// bytes each: the refusal allocates next to nothing.
			if alloc > 1<<20 {
				t.Errorf("%d bytes allocated refusing a %d-byte zip", alloc, len(tc.zip))
			}
			t.Logf("%s (%d bytes allocated)", f.Detail, alloc)
		})
	}
	// The canonical package passes the same checks.
	files, _ := testPackage(t)
	data, _ := verify.WritePackage(files)
	if rep := verify.CheckPackage(data, key, verify.PackageOptions{}); !rep.Verified {
		t.Fatalf("canonical package: %+v", rep.Failed())
	}
}

// zipTool returns the path of Info-ZIP's zip(1), or skips the test (fails
// it under CI=true, where .ci/run installs it).
func zipTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("zip")
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("zip not found; CI must install it (Debian: apt-get install zip)")
	}
	t.Skip("zip not found: install it (Debian: apt-get install zip) to test re-zipped packages")
	return ""
}

// TestRezippedPackage: a package unpacked, changed (or not) and zipped
// again with stock zip(1), with or without directory entries, fails
// package-zip as re-zipped, naming no one file, and still gets the
// per-file report, which names the file that changed and only it.
func TestRezippedPackage(t *testing.T) {
	zipBin := zipTool(t)
	files, key := testPackage(t)
	var snapshot string
	for n := range files {
		if strings.HasPrefix(n, verify.PackageSnapshotDir) {
			snapshot = n
		}
	}
	for _, tc := range []struct {
		name    string
		args    []string
		changed string
	}{
		{"zip -r, unchanged", []string{"-r"}, ""},
		{"zip -r, snapshot changed", []string{"-r"}, snapshot},
		{"zip -r -D, snapshot changed", []string{"-r", "-D"}, snapshot},
		{"zip -r -D, VERIFY.md changed", []string{"-r", "-D"}, verify.PackageInstructions},
		{"zip -r -0, provenance.json changed", []string{"-r", "-0"}, verify.PackageProvenance},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, b := range files {
				if n == tc.changed {
					b = append(bytes.Clone(b), " "...)
				}
				p := filepath.Join(dir, filepath.FromSlash(n))
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out := filepath.Join(t.TempDir(), "package.zip")
			cmd := exec.Command(zipBin, append(append([]string{"-q"}, tc.args...), out, ".")...)
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("zip: %v\n%s", err, b)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			rep := verify.CheckPackage(data, key, verify.PackageOptions{})
			if rep.Verified {
				t.Fatal("a re-zipped package verified")
			}
			zipCheck := rep.Checks[0]
			if zipCheck.Name != verify.CheckPackageZip || zipCheck.OK || zipCheck.File != "" || !strings.Contains(zipCheck.Detail, "re-zipped") {
				t.Errorf("first check %+v, want package-zip failed as re-zipped, naming no file", zipCheck)
			}
			t.Log(zipCheck.Detail)
			perFile := map[string]bool{}
			for _, c := range rep.Checks {
				if c.Name == verify.CheckPackageFile {
					perFile[c.File] = c.OK
				}
			}
			if len(perFile) != len(files)-2 { // all but MANIFEST.json and SHA256SUMS
				t.Errorf("per-file report of %d files, want %d: %v", len(perFile), len(files)-2, perFile)
			}
			for n, ok := range perFile {
				if ok == (n == tc.changed) {
					t.Errorf("file check of %s: ok=%v, but the changed file is %q", n, ok, tc.changed)
				}
			}
		})
	}
}

// TestChangedByteNamesItsEntry: a byte changed in the data of one entry of
// a canonical package is not taken for a re-zip: package-zip names that
// entry's file.
func TestChangedByteNamesItsEntry(t *testing.T) {
	files, key := testPackage(t)
	data, err := verify.WritePackage(files)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, files[verify.PackageProvenance])
	if i < 0 {
		t.Fatal("provenance.json not stored as is")
	}
	data[i+10] ^= 0x01
	rep := verify.CheckPackage(data, key, verify.PackageOptions{})
	c := rep.Checks[0]
	if c.Name != verify.CheckPackageZip || c.OK || c.File != verify.PackageProvenance || strings.Contains(c.Detail, "re-zipped") {
		t.Errorf("package-zip %+v, want it to name %s", c, verify.PackageProvenance)
	}
	// The per-file report still runs, and blames that file alone.
	for _, c := range rep.Checks {
		if c.Name == verify.CheckPackageFile && c.OK == (c.File == verify.PackageProvenance) {
			t.Errorf("file check %+v", c)
		}
	}
	if f := rep.Checks[len(rep.Checks)-1]; len(rep.Checks) < 10 {
		t.Errorf("the report stops at %+v", f)
	}
}
