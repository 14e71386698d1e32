package verify

import (
	"archive/zip"
	"bytes"
	"fmt"
	"slices"
)

// Writing a package: its canonical zip.

// WritePackage writes files (name to contents) as a package's canonical
// zip: entries sorted by name, stored (not compressed), each with
// [PackageTime] as its modification time and mode 0644, no comment. The
// bytes are thus a function of the files alone, and [CheckPackage]
// rebuilds them to check that nothing else in the zip was changed.
// Names must be clean relative paths with forward slashes.
func WritePackage(files map[string][]byte) ([]byte, error) {
	b, _, err := writePackage(files)
	return b, err
}

// writePackage also returns, for each file, the offset where its entry
// (local header) begins, and under "" that of the central directory.
func writePackage(files map[string][]byte) ([]byte, map[string]int64, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		if err := checkPackageName(n); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", ErrPackage, err)
		}
		names = append(names, n)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	offsets := map[string]int64{}
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		if err := zw.Flush(); err != nil {
			return nil, nil, err
		}
		offsets[n] = int64(buf.Len())
		fh := &zip.FileHeader{Name: n, Method: zip.Store, Modified: PackageTime}
		fh.SetMode(0o644)
		w, err := zw.CreateHeader(fh)
		if err != nil {
			return nil, nil, err
		}
		if _, err := w.Write(files[n]); err != nil {
			return nil, nil, err
		}
	}
	if err := zw.Flush(); err != nil {
		return nil, nil, err
	}
	offsets[""] = int64(buf.Len()) // the central directory
	if err := zw.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), offsets, nil
}
