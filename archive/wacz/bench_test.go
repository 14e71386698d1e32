package wacz_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

// BenchmarkBuild measures Build and CheckWACZ on a WARC of 200 pages of
// 20 KiB each, against a baseline in the same run: hashing the WARC with
// SHA-256 and storing it in a zip, the least any writer of a WACZ does.
// Compare the ns/op of the sub-benchmarks as ratios.
func BenchmarkBuild(b *testing.B) {
	pages := map[string]string{}
	for i := range 200 {
		pages[fmt.Sprintf("https://example.com/p/%d", i)] = strings.Repeat(fmt.Sprintf("<p>page %d</p>", i), 20<<10/14)
	}
	in := testInput(b)
	in.WARC = testWARC(b, pages)
	b.Logf("WARC %d bytes", len(in.WARC))
	b.Run("baseline=sha256+zip", func(b *testing.B) {
		b.SetBytes(int64(len(in.WARC)))
		for b.Loop() {
			sha256.Sum256(in.WARC)
			zw := zip.NewWriter(io.Discard)
			fw, _ := zw.CreateHeader(&zip.FileHeader{Name: verify.WACZWARC, Method: zip.Store})
			fw.Write(in.WARC)
			zw.Close()
		}
	})
	var w bytes.Buffer
	b.Run("build", func(b *testing.B) {
		b.SetBytes(int64(len(in.WARC)))
		for b.Loop() {
			w.Reset()
			if err := wacz.Build(context.Background(), &w, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.SetBytes(int64(len(in.WARC)))
		for b.Loop() {
			if _, err := verify.CheckWACZ(w.Bytes(), verify.WACZOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
