package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TokensFile is the name of the bearer-token file in an archive directory.
const TokensFile = "tokens.json"

// TokenPrefix begins every bearer token.
const TokenPrefix = "exh_"

// ErrNoToken is returned by Tokens.Revoke for an ID or name that matches
// no token.
var ErrNoToken = errors.New("no such token")

// Token is one stored bearer token. The token itself is never stored: only
// its SHA-256.
type Token struct {
	// ID is "tok_" and 8 lowercase hex digits, chosen at random.
	ID string `json:"id"`
	// Name is an optional label, unique among the file's tokens.
	Name string `json:"name,omitempty"`
	// SHA256 is the unpadded base64url SHA-256 of the token string
	// (prefix included).
	SHA256 string `json:"sha256"`
	// Created is RFC 3339 UTC.
	Created string `json:"created"`
}

// Tokens is the bearer-token file of an archive: <archive>/tokens.json, a
// JSON object {"tokens": [Token...]}, mode 0600, replaced atomically
// (temporary file, fsync, rename) on every change. A missing file holds no
// tokens. Concurrent changes from two processes may lose one of them; the
// token commands are meant to be run by one administrator at a time.
type Tokens struct {
	path string
}

// NewTokens returns the token file of the archive directory dir.
func NewTokens(dir string) *Tokens { return &Tokens{path: filepath.Join(dir, TokensFile)} }

// Path is the token file's path.
func (t *Tokens) Path() string { return t.path }

type tokenFile struct {
	Tokens []Token `json:"tokens"`
}

// List returns the stored tokens, oldest first; none if the file is
// missing.
func (t *Tokens) List() ([]Token, error) {
	b, err := os.ReadFile(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var f tokenFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", t.path, err)
	}
	return f.Tokens, nil
}

// Create makes a new token named name (which may be empty, and must not be
// another token's name or ID), stores its hash and returns the token
// string, "exh_" and the unpadded base64url encoding of 32 random bytes:
// it is shown this once and cannot be recovered.
func (t *Tokens) Create(name string, now time.Time) (Token, string, error) {
	toks, err := t.List()
	if err != nil {
		return Token{}, "", err
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return Token{}, "", fmt.Errorf("token name %q holds control characters", name)
	}
	for _, k := range toks {
		if name != "" && (k.Name == name || k.ID == name) {
			return Token{}, "", fmt.Errorf("a token named %q exists", name)
		}
	}
	var secret [32]byte
	var id [4]byte
	rand.Read(secret[:])
	rand.Read(id[:])
	s := TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	k := Token{
		ID:      "tok_" + hex.EncodeToString(id[:]),
		Name:    name,
		SHA256:  hashToken(s),
		Created: now.UTC().Format(time.RFC3339),
	}
	if err := t.write(append(toks, k)); err != nil {
		return Token{}, "", err
	}
	return k, s, nil
}

// Revoke removes the token whose ID or name is idOrName. It returns
// ErrNoToken if none matches.
func (t *Tokens) Revoke(idOrName string) (Token, error) {
	toks, err := t.List()
	if err != nil {
		return Token{}, err
	}
	for i, k := range toks {
		if idOrName != "" && (k.ID == idOrName || k.Name == idOrName) {
			return k, t.write(append(toks[:i:i], toks[i+1:]...))
		}
	}
	return Token{}, fmt.Errorf("%w: %q", ErrNoToken, idOrName)
}

// Verify returns the stored token whose hash matches the token string s.
// Every stored hash is compared, each in constant time. ok is false if
// none matches.
func (t *Tokens) Verify(s string) (k Token, ok bool, err error) {
	toks, err := t.List()
	if err != nil {
		return Token{}, false, err
	}
	h := []byte(hashToken(s))
	for _, c := range toks {
		if subtle.ConstantTimeCompare(h, []byte(c.SHA256)) == 1 {
			k, ok = c, true
		}
	}
	return k, ok, nil
}

func (t *Tokens) write(toks []Token) error {
	if toks == nil {
		toks = []Token{}
	}
	b, err := json.MarshalIndent(tokenFile{toks}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(t.path), "."+TokensFile+".tmp-*")
	if err != nil {
		return err
	}
	err = tmp.Chmod(0o600)
	if err == nil {
		_, err = tmp.Write(append(b, '\n'))
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), t.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func hashToken(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
