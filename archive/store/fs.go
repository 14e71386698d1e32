package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FS is a Store in a local directory. An object lives at
//
//	<root>/sha256/<first two hex digits>/<all 64 hex digits>
//
// with mode 0444. Put writes to a temporary file under <root>/tmp, renames
// it into place and makes both durable before it returns, so an object is
// either absent or complete. On Linux, durability is a group commit: one
// syncfs(2) of the file system serves every Put waiting at that moment
// (it also flushes other writes to the same file system). Elsewhere each
// Put fsyncs its file and its directory.
type FS struct {
	root   string
	syncer groupSyncer
}

var _ Store = (*FS)(nil)

// FSConfig configures an FS store.
type FSConfig struct {
	// Path is the store's root directory. It is created if missing.
	Path string
}

// NewFS opens (creating if needed) the store at cfg.Path.
func NewFS(cfg FSConfig) (*FS, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: empty path")
	}
	for _, d := range []string{cfg.Path, filepath.Join(cfg.Path, "sha256"), filepath.Join(cfg.Path, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return &FS{root: cfg.Path}, nil
}

// Location implements Store.
func (s *FS) Location() string {
	abs, err := filepath.Abs(s.root)
	if err != nil {
		abs = s.root
	}
	return "file://" + filepath.ToSlash(abs)
}

func (s *FS) path(digest string) string {
	return filepath.Join(s.root, "sha256", digest[:2], digest)
}

// Put implements Store.
func (s *FS) Put(ctx context.Context, r io.Reader, size int64, want string) (Object, error) {
	if want != "" && !ValidDigest(want) {
		return Object{}, fmt.Errorf("store: expected digest %q: %w", want, ErrDigest)
	}
	tmp, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "put-*")
	if err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return Object{}, fmt.Errorf("store: writing object: %w", err)
	}
	if size >= 0 && n != size {
		return Object{}, fmt.Errorf("store: read %d bytes, want %d", n, size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return Object{}, &DigestMismatchError{Want: want, Got: got}
	}
	obj := Object{SHA256: got, Size: n}
	dst := s.path(got)
	if _, err := os.Stat(dst); err == nil {
		// Another Put may have renamed it there and not yet made it
		// durable: wait for that as well.
		obj.Existed = true
		if err := s.makeDurable(dst, true); err != nil {
			return Object{}, fmt.Errorf("store: syncing: %w", err)
		}
		return obj, nil
	}
	if err := tmp.Chmod(0o444); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	if !haveSyncfs {
		if err := tmp.Sync(); err != nil {
			return Object{}, fmt.Errorf("store: fsync: %w", err)
		}
	}
	if err := tmp.Close(); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	// Rename is atomic; a concurrent Put of the same bytes renames
	// identical content over it, which is harmless.
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Object{}, fmt.Errorf("store: %w", err)
	}
	committed = true
	if err := s.makeDurable(dst, false); err != nil {
		return Object{}, fmt.Errorf("store: syncing: %w", err)
	}
	return obj, nil
}

// makeDurable makes the object at path, renamed into place, durable: by a
// group syncfs where there is one, else by fsyncing its directory (and the
// file itself, unless the caller already has).
func (s *FS) makeDurable(path string, syncFile bool) error {
	if haveSyncfs {
		return s.syncer.sync(s.root)
	}
	if syncFile {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return syncDir(filepath.Dir(path))
}

// Get implements Store.
func (s *FS) Get(ctx context.Context, digest string) (io.ReadCloser, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("store: %q: %w", digest, ErrDigest)
	}
	f, err := os.Open(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return NewVerifyingReader(f, digest), nil
}

// Stat implements Store.
func (s *FS) Stat(ctx context.Context, digest string) (int64, error) {
	if !ValidDigest(digest) {
		return 0, fmt.Errorf("store: %q: %w", digest, ErrDigest)
	}
	fi, err := os.Stat(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("store: %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return fi.Size(), nil
}

// List implements Store. Files in the object tree whose names are not
// digests, or that sit under the wrong prefix, are reported as errors.
func (s *FS) List(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		base := filepath.Join(s.root, "sha256")
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			name := d.Name()
			if !ValidDigest(name) || filepath.Base(filepath.Dir(p)) != name[:2] {
				if !yield("", fmt.Errorf("store: stray file %s", p)) {
					return filepath.SkipAll
				}
				return nil
			}
			if !yield(name, nil) {
				return filepath.SkipAll
			}
			return nil
		})
		if err != nil {
			yield("", fmt.Errorf("store: listing: %w", err))
		}
	}
}

// VerifyingReader hashes what it reads and, at the end, returns a
// *DigestMismatchError instead of io.EOF if the bytes do not hash to the
// expected digest.
type VerifyingReader struct {
	r    io.ReadCloser
	h    hash.Hash
	want string
}

// NewVerifyingReader wraps r, whose bytes must hash to want.
func NewVerifyingReader(r io.ReadCloser, want string) *VerifyingReader {
	return &VerifyingReader{r: r, h: sha256.New(), want: want}
}

func (v *VerifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, &DigestMismatchError{Want: v.want, Got: got, Stored: true}
		}
	}
	return n, err
}

// Close closes the underlying reader.
func (v *VerifyingReader) Close() error { return v.r.Close() }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// CleanTemp removes temporary files left by interrupted Puts.
func (s *FS) CleanTemp() error {
	ents, err := os.ReadDir(filepath.Join(s.root, "tmp"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "put-") {
			os.Remove(filepath.Join(s.root, "tmp", e.Name()))
		}
	}
	return nil
}

// groupSyncer makes writes durable in rounds: every caller of sync waits for
// a round that started after it called, and one round (one syncfs(2) of
// the file system) serves every caller waiting for it. This is group
// commit: under concurrency, one flush covers many objects.
type groupSyncer struct {
	mu      sync.Mutex
	waiters []chan error
	running bool
}

func (g *groupSyncer) sync(path string) error {
	ch := make(chan error, 1)
	g.mu.Lock()
	g.waiters = append(g.waiters, ch)
	if !g.running {
		g.running = true
		go g.loop(path)
	}
	g.mu.Unlock()
	return <-ch
}

func (g *groupSyncer) loop(path string) {
	for {
		g.mu.Lock()
		batch := g.waiters
		g.waiters = nil
		if len(batch) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		err := syncFS(path)
		for _, ch := range batch {
			ch <- err
		}
	}
}
