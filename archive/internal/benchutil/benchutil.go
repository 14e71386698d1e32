// Package benchutil generates the workloads of exhibit's speed benchmarks
// (archive/bench_test.go and bench.sh): import manifests of synthetic
// documents, and distinct copies of the policy corpus
// (../shared/corpus/policies, see its README.md).
//
// A manifest is JSON Lines in the format archive.ReadManifest reads: one
// object per line with entity, document, url, fetched_at (RFC 3339 UTC),
// file (relative to the manifest's directory), sha256 and size.
package benchutil

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ManifestFile is the name of the manifest that SmallDocs and CorpusCopies
// write in their output directory.
const ManifestFile = "manifest.jsonl"

// line is one manifest line.
type line struct {
	Entity    string `json:"entity"`
	Document  string `json:"document"`
	URL       string `json:"url"`
	FetchedAt string `json:"fetched_at"`
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Size      int    `json:"size"`
}

// Workload is a generated set of documents.
type Workload struct {
	// Manifest is the path of the manifest listing the documents.
	Manifest string
	// Files are the documents' paths, in manifest order.
	Files []string
	// Bytes is the documents' total size.
	Bytes int64
}

// SmallDocs writes n distinct documents of exactly size bytes (HTML-like
// text; at least 64) under dir/docs, at most 1000 to a directory, and a
// manifest listing them with their SHA-256 at dir/manifest.jsonl. Each run
// draws a fresh random nonce, so documents of two runs differ too.
func SmallDocs(dir string, n, size int) (*Workload, error) {
	if size < 64 {
		return nil, fmt.Errorf("benchutil: document size %d is under 64 bytes", size)
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	run := hex.EncodeToString(nonce[:])
	filler := make([]byte, size)
	const alphabet = "abcdefghijklmnopqrstuvwxyz     ,.\n"
	for i := range filler {
		filler[i] = alphabet[(i*7+i/13)%len(alphabet)]
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := &Workload{Manifest: filepath.Join(dir, ManifestFile), Files: make([]string, 0, n)}
	var m manifest
	for i := range n {
		sub := fmt.Sprintf("docs/%04d", i/1000)
		if i%1000 == 0 {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				return nil, err
			}
		}
		doc := make([]byte, 0, size)
		doc = fmt.Appendf(doc, "<!-- run %s doc %d -->\n<p>", run, i)
		doc = append(doc, filler[:size-len(doc)]...)
		rel := fmt.Sprintf("%s/%d.html", sub, i)
		p := filepath.Join(dir, rel)
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(doc)
		m.add(line{
			Entity:    "Bench",
			Document:  fmt.Sprintf("Synthetic document %d", i%100),
			URL:       fmt.Sprintf("https://bench.example/%s/doc/%d", run, i),
			FetchedAt: base.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			File:      rel,
			SHA256:    hex.EncodeToString(sum[:]),
			Size:      len(doc),
		})
		w.Files = append(w.Files, p)
		w.Bytes += int64(len(doc))
	}
	return w, m.write(w.Manifest)
}

// CorpusCopies writes copies distinct copies of the corpus whose manifest is
// src (the policy corpus's manifest.jsonl) under dir/copy<N>/, and a manifest
// of all of them at dir/manifest.jsonl. Copy N of a file is the file followed
// by "\n<!-- copy N -->\n"; the manifest keeps each entry's entity,
// document, url and fetched_at, and gives the new sha256 and size.
func CorpusCopies(src, dir string, copies int) (*Workload, error) {
	var entries []line
	f, err := os.Open(src)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e line
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		entries = append(entries, e)
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%s lists no documents", src)
	}
	w := &Workload{Manifest: filepath.Join(dir, ManifestFile)}
	var m manifest
	srcDir := filepath.Dir(src)
	for c := 1; c <= copies; c++ {
		for _, e := range entries {
			doc, err := os.ReadFile(filepath.Join(srcDir, e.File))
			if err != nil {
				return nil, err
			}
			doc = fmt.Appendf(doc, "\n<!-- copy %d -->\n", c)
			e.File = filepath.ToSlash(filepath.Join(fmt.Sprintf("copy%d", c), e.File))
			p := filepath.Join(dir, e.File)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return nil, err
			}
			if err := os.WriteFile(p, doc, 0o644); err != nil {
				return nil, err
			}
			sum := sha256.Sum256(doc)
			e.SHA256, e.Size = hex.EncodeToString(sum[:]), len(doc)
			m.add(e)
			w.Files = append(w.Files, p)
			w.Bytes += int64(len(doc))
		}
	}
	return w, m.write(w.Manifest)
}

// manifest accumulates manifest lines.
type manifest struct{ buf bytes.Buffer }

func (m *manifest) add(l line) {
	b, _ := json.Marshal(l) // strings and ints only: cannot fail
	m.buf.Write(b)
	m.buf.WriteByte('\n')
}

func (m *manifest) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, m.buf.Bytes(), 0o644)
}
