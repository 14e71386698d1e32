// Package taxonomy is exhibit's vocabulary of provision types: the kinds of
// clause (AI training on customer content, arbitration, data sale, …) an
// analysis statement classifies a provision as (docs/TAXONOMY.md).
//
// The built-in vocabulary, "exhibit" version [BuiltinVersion], ships in the
// binary (taxonomy.json, embedded). Each type has a stable ID: an ID, once
// published, is never removed nor given another meaning; a changed
// definition makes a new version of the vocabulary. An operator extends it
// with a file of the same shape, [FileName] in the archive's directory,
// that names its own vocabulary and version and adds types with IDs of its
// own (an ID of the built-in vocabulary is refused). An analysis records
// the type's ID with the name and version of the vocabulary that defines
// it, so that what the ID meant when the analysis was signed stays known.
package taxonomy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/verify"
)

//go:embed taxonomy.json
var builtinJSON []byte

// Builtin is the name of exhibit's built-in vocabulary, and BuiltinVersion
// its version.
const (
	Builtin        = "exhibit"
	BuiltinVersion = "1"
)

// FileName is the operator's extension, in the archive's directory.
const FileName = "taxonomy.json"

// maxFile bounds the operator's file.
const maxFile = 1 << 20

// Categories group the types for people; an operator's type takes one of
// them.
var Categories = []string{"ai", "data", "disputes", "liability", "contract", "content", "other"}

// ErrFile is wrapped by every error about a vocabulary file.
var ErrFile = errors.New("bad taxonomy file")

// Type is one provision type.
type Type struct {
	// ID is stable: lowercase ASCII letters, digits and single inner
	// hyphens, at most 64 characters (see [CheckID]).
	ID         string `json:"id"`
	Name       string `json:"name"`
	Category   string `json:"category"`
	Definition string `json:"definition"`
	// Taxonomy and Version name the vocabulary that defines the type
	// (filled in when a vocabulary is read, not written in its file).
	Taxonomy string `json:"taxonomy"`
	Version  string `json:"version"`
}

// File is a vocabulary file: the built-in one, or an operator's.
type File struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Types   []Type `json:"types"`
}

// Taxonomy is the vocabulary in force: the built-in types, then the
// operator's.
type Taxonomy struct {
	types []*Type
	byID  map[string]*Type
	// Extension is the path of the operator's file read, or "".
	Extension string
}

// Types returns every type, the built-in ones first, each vocabulary in
// the order of its file.
func (t *Taxonomy) Types() []*Type { return t.types }

// Lookup returns the type with the given ID.
func (t *Taxonomy) Lookup(id string) (*Type, bool) {
	ty, ok := t.byID[id]
	return ty, ok
}

// Default returns the built-in vocabulary alone.
func Default() *Taxonomy {
	t := &Taxonomy{byID: map[string]*Type{}}
	if err := t.add(builtinJSON, "built-in "+FileName, true); err != nil {
		panic(err) // the embedded file is checked by the package's tests
	}
	return t
}

// Load returns the vocabulary of the archive in dir: the built-in types
// and, if dir holds FileName, the operator's. A file that cannot be read or
// is malformed is an error wrapping ErrFile that names the file and what is
// wrong in it.
func Load(dir string) (*Taxonomy, error) {
	t := Default()
	path := filepath.Join(dir, FileName)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFile, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFile, path, err)
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrFile, path, maxFile)
	}
	if err := t.add(b, path, false); err != nil {
		return nil, err
	}
	t.Extension = path
	return t, nil
}

var versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+-]{0,31}$`)

// add reads a vocabulary file and adds its types.
func (t *Taxonomy) add(b []byte, where string, builtin bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrFile, where, fmt.Sprintf(format, args...))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return bad("%v (want {\"name\", \"version\", \"types\": [{\"id\", \"name\", \"category\", \"definition\"}, …]})", err)
	}
	if dec.More() {
		return bad("more than one JSON value")
	}
	// A key given twice (or in two cases: "name" and "Name") would have
	// the decoder keep one value and drop the other unseen.
	if err := verify.UniqueKeys(b); err != nil {
		return bad("%v", err)
	}
	if err := CheckID(f.Name); err != nil {
		return bad("name: %v", err)
	}
	if !builtin && f.Name == Builtin {
		return bad("name %q is the built-in vocabulary's: name yours (e.g. after your organisation)", f.Name)
	}
	if !versionRE.MatchString(f.Version) {
		return bad("version %q: want 1 to 32 letters, digits, '.', '+' or '-'", f.Version)
	}
	if len(f.Types) == 0 {
		return bad("no types")
	}
	for i, ty := range f.Types {
		at := fmt.Sprintf("types[%d]", i)
		if err := CheckID(ty.ID); err != nil {
			return bad("%s: %v", at, err)
		}
		if prev, ok := t.byID[ty.ID]; ok {
			return bad("%s: id %q is already defined by vocabulary %s %s: choose another ID", at, ty.ID, prev.Taxonomy, prev.Version)
		}
		if ty.Taxonomy != "" || ty.Version != "" {
			return bad("%s: taxonomy and version are the file's, not a type's", at)
		}
		for name, v := range map[string]string{"name": ty.Name, "definition": ty.Definition} {
			if strings.TrimSpace(v) == "" || !utf8.ValidString(v) || strings.ContainsFunc(v, verify.IsControl) || len(v) > 1000 {
				return bad("%s (%s): %s is empty, longer than 1000 bytes, not UTF-8 or has a control character", at, ty.ID, name)
			}
		}
		if !isCategory(ty.Category) {
			return bad("%s (%s): category %q, want one of %s", at, ty.ID, ty.Category, strings.Join(Categories, ", "))
		}
		ty.Taxonomy, ty.Version = f.Name, f.Version
		p := &ty
		t.types = append(t.types, p)
		t.byID[ty.ID] = p
	}
	return nil
}

// CheckID checks a type's ID or a vocabulary's name: 1 to 64 lowercase
// ASCII letters, digits and single inner hyphens (as verify checks them in
// an analysis statement).
func CheckID(id string) error {
	if len(id) > 64 || verify.CheckDocumentID(id) != nil {
		return fmt.Errorf("%q: want 1 to 64 lowercase letters, digits and single inner hyphens", id)
	}
	return nil
}

func isCategory(c string) bool {
	for _, x := range Categories {
		if c == x {
			return true
		}
	}
	return false
}
