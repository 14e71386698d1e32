package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// An evidence package is one zip file holding a record's evidence, for a
// stranger to check offline (`exhibit export`, docs/FORMATS.md section 6.3).
// Its files, at fixed names:
const (
	// PackageManifest lists every other file but SHA256SUMS, with its size
	// and SHA-256 ([Manifest]).
	PackageManifest = "MANIFEST.json"
	// PackageSums lists every other file in sha256sum(1) format, so that
	// `sha256sum -c SHA256SUMS` checks them.
	PackageSums = "SHA256SUMS"
	// PackageBundle and PackageProof are the record's evidence bundle in its
	// JSON and C2SP tlog-proof forms (section 6).
	PackageBundle = "bundle.json"
	PackageProof  = "bundle.tlog-proof"
	// PackageLogKey is the log's verifier key, one vkey line. It is not
	// trusted: the verifier supplies the key, which must equal it.
	PackageLogKey = "log-key.vkey"
	// PackageProvenance is the signed statement, indented (json.Indent of
	// the DSSE payload, two spaces, final newline).
	PackageProvenance = "provenance.json"
	// PackageTLSChain is the stored certificate chain a capture's
	// statement names by certificate_chain_sha256, byte for byte.
	PackageTLSChain = "tls-chain.pem"
	// PackageHeaders is the stored headers object a capture's statement
	// names by headers_sha256, byte for byte.
	PackageHeaders = "headers.json"
	// PackageSnapshotDir holds the snapshot, named <sha256>.<ext>.
	PackageSnapshotDir = "snapshot/"
	// PackageRenderingDir holds a browser capture's rendering artefacts,
	// each the stored object its statement names, at a fixed name (see
	// [RenderingFile]).
	PackageRenderingDir = "rendering/"
	// PackageTextDir holds the text of a version (for a version, provision
	// or provision-status record), named <sha256>.txt.
	PackageTextDir = "text/"
	// PackagePolicy is a C2SP tlog-policy naming the log and its witnesses,
	// when the archive has one. Not trusted unless the verifier supplies
	// the same policy.
	PackagePolicy = "policy.txt"
	// PackageTimestamp is an RFC 3161 TimeStampResp (DER) over
	// PackageCheckpointBody, PackageTSAChain the TSA's certificates (PEM),
	// and PackageCheckpointBody the bundle checkpoint's body (section 5.3),
	// the bytes the TSA stamped, for `openssl ts -verify -data`.
	PackageTimestamp      = "tsa/checkpoint.tsr"
	PackageTSAChain       = "tsa/chain.pem"
	PackageCheckpointBody = "tsa/checkpoint-body.txt"
	// The documents for people, derived from the rest: the citation
	// certificate (HTML and PDF) and the instructions.
	PackageCertificateHTML = "certificate.html"
	PackageCertificatePDF  = "certificate.pdf"
	PackageInstructions    = "VERIFY.md"
)

// PackageMediaType is the media_type of a package's MANIFEST.json.
const PackageMediaType = "application/vnd.exhibit.package.v1+json"

// PackageTime is the modification time of every file in a package: the
// MS-DOS epoch, so that a package's bytes depend on its contents alone. It
// is not a creation time.
var PackageTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Manifest is a package's MANIFEST.json:
//
//	{
//	  "media_type": "application/vnd.exhibit.package.v1+json",
//	  "record_id": "EXR-…",
//	  "kind": "capture",
//	  "log_origin": "example.org/log",
//	  "log_key": "example.org/log+1234abcd+A…",
//	  "generator": "exhibit 0.1.0",
//	  "files": [{"name": "bundle.json", "size": 1234, "sha256": "…"}, …]
//	}
//
// Files are sorted by name and exclude MANIFEST.json and SHA256SUMS. Kind
// is the record's kind ([Entry.Kind]). Generator names the software that
// wrote the derived documents. Nothing in it is trusted: every value is
// compared with the verified bundle or the files.
type Manifest struct {
	MediaType string         `json:"media_type"`
	RecordID  string         `json:"record_id"`
	Kind      string         `json:"kind"`
	LogOrigin string         `json:"log_origin"`
	LogKey    string         `json:"log_key"`
	Generator string         `json:"generator"`
	Files     []ManifestFile `json:"files"`
}

// ManifestFile is one file of a package.
type ManifestFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// NewManifest lists files (name to contents) in a manifest, sorted by
// name, leaving out MANIFEST.json and SHA256SUMS.
func NewManifest(recordID, kind string, key *PublicKey, generator string, files map[string][]byte) *Manifest {
	m := &Manifest{MediaType: PackageMediaType, RecordID: recordID, Kind: kind, LogOrigin: key.Name, LogKey: key.VKey, Generator: generator, Files: []ManifestFile{}}
	for name, b := range files {
		if name == PackageManifest || name == PackageSums {
			continue
		}
		m.Files = append(m.Files, ManifestFile{Name: name, Size: int64(len(b)), SHA256: SHA256Hex(b)})
	}
	slices.SortFunc(m.Files, func(a, b ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	return m
}

// Marshal returns the manifest's JSON, indented by two spaces, with a
// final newline.
func (m *Manifest) Marshal() []byte {
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		panic(err) // Manifest holds only marshalable types.
	}
	return append(out, '\n')
}

// ParseManifest decodes a MANIFEST.json strictly (as bundles are: no
// unknown, duplicate or differently cased keys, no trailing data) and
// checks its shape: the media type, file names that are safe relative
// paths, sorted and unique, and lowercase hex SHA-256s.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := decodeStrict(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPackage, err)
	}
	if m.MediaType != PackageMediaType {
		return nil, fmt.Errorf("%w: media_type is %q, want %q", ErrPackage, m.MediaType, PackageMediaType)
	}
	for i, f := range m.Files {
		if err := checkPackageName(f.Name); err != nil {
			return nil, fmt.Errorf("%w: files[%d]: %v", ErrPackage, i, err)
		}
		if f.Name == PackageManifest || f.Name == PackageSums {
			return nil, fmt.Errorf("%w: files[%d]: %s lists itself", ErrPackage, i, f.Name)
		}
		if i > 0 && m.Files[i-1].Name >= f.Name {
			return nil, fmt.Errorf("%w: files are not sorted by name and unique at %q", ErrPackage, f.Name)
		}
		if !IsSHA256Hex(f.SHA256) || f.Size < 0 {
			return nil, fmt.Errorf("%w: files[%d] (%s): bad sha256 or size", ErrPackage, i, f.Name)
		}
	}
	return &m, nil
}

// Sums returns the SHA256SUMS file of a package with this manifest, whose
// MANIFEST.json is manifestJSON: one line per file, "<hex>  <name>\n"
// (sha256sum's text mode), sorted by name, MANIFEST.json included.
func (m *Manifest) Sums(manifestJSON []byte) []byte {
	files := append([]ManifestFile{{Name: PackageManifest, SHA256: SHA256Hex(manifestJSON)}}, m.Files...)
	slices.SortFunc(files, func(a, b ManifestFile) int { return strings.Compare(a.Name, b.Name) })
	var w bytes.Buffer
	for _, f := range files {
		fmt.Fprintf(&w, "%s  %s\n", f.SHA256, f.Name)
	}
	return w.Bytes()
}

// ErrPackage is wrapped by errors about a package's structure.
var ErrPackage = errors.New("invalid evidence package")

func checkPackageName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("file name %q is empty or too long", name)
	case strings.HasPrefix(name, "/") || strings.Contains(name, `\`) || path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == "..":
		return fmt.Errorf("file name %q is not a clean relative path", name)
	}
	for _, r := range name {
		if IsControl(r) || r == ' ' {
			return fmt.Errorf("file name %q holds a space or control character", name)
		}
	}
	return nil
}

// IndentStatement returns a statement's payload as provenance.json holds
// it: json.Indent with two spaces, and a final newline. The payload's
// bytes are otherwise kept, escapes included.
func IndentStatement(payload []byte) []byte {
	var b bytes.Buffer
	if err := json.Indent(&b, payload, "", "  "); err != nil {
		return nil
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// snapshotName is the name of a snapshot in a package:
// snapshot/<sha256>.<ext>, the extension chosen from the media type by a
// fixed table (".bin" when none fits).
func snapshotName(s *Snapshot) string {
	return PackageSnapshotDir + s.SHA256 + SnapshotExtension(s.MediaType)
}

// SnapshotName returns the name of a capture's snapshot in a package,
// snapshot/<sha256><ext> (see [SnapshotExtension]), or "" for a failed
// capture.
func SnapshotName(st *Statement) string {
	if st.Predicate.Snapshot == nil {
		return ""
	}
	return snapshotName(st.Predicate.Snapshot)
}

// RenderingFile returns the name in a package of the rendering artefact
// called name: PackageRenderingDir and its kind's File
// (rendering/screenshot.png, rendering/page.pdf, rendering/dom.html,
// rendering/capture.warc.gz); "" for another name.
func RenderingFile(name string) string {
	if k, ok := ArtefactKindOf(name); ok {
		return PackageRenderingDir + k.File
	}
	return ""
}

// SnapshotExtension returns the file extension, with its dot, for a media
// type, from a fixed table: .html, .xhtml, .pdf, .txt, .md, .json, .xml,
// .csv, .png, .jpg, .gif, .webp, .svg, .docx, .doc, .rtf; otherwise .bin.
// Parameters are ignored.
func SnapshotExtension(mediaType string) string {
	mt, _, _ := strings.Cut(mediaType, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "text/html":
		return ".html"
	case "application/xhtml+xml":
		return ".xhtml"
	case "application/pdf":
		return ".pdf"
	case "text/plain":
		return ".txt"
	case "text/markdown":
		return ".md"
	case "application/json":
		return ".json"
	case "application/xml", "text/xml":
		return ".xml"
	case "text/csv":
		return ".csv"
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/svg+xml":
		return ".svg"
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return ".docx"
	case "application/msword":
		return ".doc"
	case "application/rtf", "text/rtf":
		return ".rtf"
	}
	return ".bin"
}

// TextName returns the name of the text file in a package for a tracking
// record that names a version's text (version, provision,
// provision-status), or "".
func TextName(e *Entry) string {
	if d := textDigest(e); d != "" {
		return PackageTextDir + d + ".txt"
	}
	return ""
}

func textDigest(e *Entry) string {
	switch {
	case e.Version != nil:
		return e.Version.Predicate.Text.SHA256
	case e.Provision != nil:
		return e.Provision.Predicate.Text.SHA256
	case e.ProvisionStatus != nil:
		return e.ProvisionStatus.Predicate.Text.SHA256
	case e.Analysis != nil:
		return e.Analysis.Predicate.Text.SHA256
	}
	return ""
}

// onlyFileIn returns the first file under dir, by name.
func onlyFileIn(files map[string][]byte, dir string) (string, []byte) {
	for _, n := range sortedKeys(files) {
		if strings.HasPrefix(n, dir) {
			return n, files[n]
		}
	}
	return "", nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// firstLineDiff describes the first line where got and want differ: its
// number, the column of the first differing byte and both lines quoted
// from a little before it; or, where one is a prefix of the other, the
// first line only one has.
func firstLineDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		switch {
		case i >= len(g):
			return fmt.Sprintf("it ends after line %d; the canonical form goes on with line %d %q", len(g), i+1, abbreviate(w[i], 80))
		case i >= len(w):
			return fmt.Sprintf("line %d %q is past the canonical form's last line %d", i+1, abbreviate(g[i], 80), len(w))
		case g[i] != w[i]:
			a, b := g[i], w[i]
			col := 0
			for col < len(a) && col < len(b) && a[col] == b[col] {
				col++
			}
			from := max(0, col-20)
			for from > 0 && !utf8.RuneStart(a[from]) {
				from--
			}
			return fmt.Sprintf("line %d, column %d: %q, canonical form %q", i+1, col+1, abbreviate(a[from:], 60), abbreviate(b[from:], 60))
		}
	}
	return "they differ"
}
