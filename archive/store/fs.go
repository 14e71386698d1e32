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
	// linkTemps reports whether objects are written as unnamed files
	// (O_TMPFILE) and linked into place: probed at the first Put, so that
	// a store only read is not written to.
	linkTemps func() bool
	shards    sync.Map // shard directories known to exist
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
	tmp := filepath.Join(cfg.Path, "tmp")
	return &FS{root: cfg.Path, linkTemps: sync.OnceValue(func() bool { return probeLinkTemp(tmp) })}, nil
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
	obj, durable, err := s.PutAsync(ctx, r, size, want)
	if err == nil {
		err = durable()
	}
	if err != nil {
		return Object{}, err
	}
	return obj, nil
}

// PutAsync is Put, but for durability: it returns as soon as the object is
// complete at its name, with a function that waits until it is durable and
// returns nil then (or why it could not be made so). On Linux one group
// syncfs serves every object put before it started, so that callers that
// put many objects before they wait pay for few flushes; elsewhere the
// object is fsynced before PutAsync returns. Nothing may depend on the
// object (a log entry naming it, say) before durable returns nil.
func (s *FS) PutAsync(ctx context.Context, r io.Reader, size int64, want string) (obj Object, durable func() error, err error) {
	if want != "" && !ValidDigest(want) {
		return Object{}, nil, fmt.Errorf("store: expected digest %q: %w", want, ErrDigest)
	}
	tmp, err := s.newTemp()
	if err != nil {
		return Object{}, nil, fmt.Errorf("store: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.abort()
		}
	}()
	h := sha256.New()
	buf := copyBuffers.Get().(*[]byte)
	n, err := io.CopyBuffer(io.MultiWriter(tmp.f, h), ctxReader{ctx, r}, *buf)
	copyBuffers.Put(buf)
	if err != nil {
		return Object{}, nil, fmt.Errorf("store: writing object: %w", err)
	}
	if size >= 0 && n != size {
		return Object{}, nil, fmt.Errorf("store: read %d bytes, want %d", n, size)
	}
	got := hex.EncodeToString(h.Sum(nil))
	if want != "" && got != want {
		return Object{}, nil, &DigestMismatchError{Want: want, Got: got}
	}
	obj = Object{SHA256: got, Size: n}
	dst := s.path(got)
	if !haveSyncfs {
		if err := tmp.f.Sync(); err != nil {
			return Object{}, nil, fmt.Errorf("store: fsync: %w", err)
		}
	}
	if err := s.mkShard(filepath.Dir(dst)); err != nil {
		return Object{}, nil, fmt.Errorf("store: %w", err)
	}
	existed, err := tmp.commit(dst)
	committed = err == nil
	if err != nil {
		return Object{}, nil, fmt.Errorf("store: %w", err)
	}
	// An object that existed may have been put there by a Put not yet
	// durable: wait for that as well.
	obj.Existed = existed
	return obj, s.makeDurable(dst, existed), nil
}

// mkShard creates a shard directory (sha256/<2 hex>) once.
func (s *FS) mkShard(dir string) error {
	if _, ok := s.shards.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s.shards.Store(dir, true)
	return nil
}

// temp is an object being written: a file without a name yet, or with a
// temporary one.
type temp struct {
	f *os.File
	// commit gives the file its name dst, unless dst exists (existed is
	// then true and the file is dropped), and closes it.
	commit func(dst string) (existed bool, err error)
	// abort drops the file.
	abort func()
}

// newTemp returns a new temporary file in the store: an unnamed one where
// the file system can (linkTemp), else a named one under tmp/ that commit
// renames into place.
func (s *FS) newTemp() (*temp, error) {
	if s.linkTemps() {
		if t, err := linkTemp(filepath.Join(s.root, "tmp")); err == nil {
			return t, nil
		}
	}
	f, err := os.CreateTemp(filepath.Join(s.root, "tmp"), "put-*")
	if err != nil {
		return nil, err
	}
	return &temp{
		f: f,
		commit: func(dst string) (bool, error) {
			if _, err := os.Stat(dst); err == nil {
				f.Close()
				os.Remove(f.Name())
				return true, nil
			}
			err := f.Chmod(0o444)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err == nil {
				// Rename is atomic; a concurrent Put of the same bytes
				// renames identical content over it, which is harmless.
				err = os.Rename(f.Name(), dst)
			}
			if err != nil {
				os.Remove(f.Name())
			}
			return false, err
		},
		abort: func() {
			f.Close()
			os.Remove(f.Name())
		},
	}, nil
}

// copyBuffers are the buffers Put copies through (io.Copy would allocate
// one per call: an import of small documents would be mostly garbage).
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// makeDurable starts making the object at path, renamed into place,
// durable, and returns the wait for it: by a group syncfs where there is
// one, else by fsyncing its directory (and the file itself, unless the
// caller already has) before it returns.
func (s *FS) makeDurable(path string, syncFile bool) func() error {
	if haveSyncfs {
		wait := s.syncer.later(s.root, path)
		return func() error {
			if err := wait(); err != nil {
				return fmt.Errorf("store: syncing: %w", err)
			}
			return nil
		}
	}
	var err error
	if syncFile {
		err = fsyncFile(path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		err = fmt.Errorf("store: syncing: %w", err)
	}
	return func() error { return err }
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

var _ Remover = (*FS)(nil)

// Remove implements Remover: it removes the object's file and fsyncs its
// directory. A local folder retains nothing: every object can be removed.
func (s *FS) Remove(ctx context.Context, digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("store: %q: %w", digest, ErrDigest)
	}
	p := s.path(digest)
	err := os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
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

// groupSyncer makes objects durable in rounds: every caller of later
// waits for a round that started after it called. A round of a few
// objects fsyncs each and its directory; a round of more, one syncfs(2) of
// the file system, which serves them all (it also flushes other writes to
// the same file system, so it costs more than a few fsyncs when little
// waits). This is group commit: under concurrency, one flush covers many
// objects.
type groupSyncer struct {
	mu      sync.Mutex
	waiters []syncWaiter
	running bool
}

type syncWaiter struct {
	path string // the object, renamed or linked into place
	done chan error
}

// fsyncRound is the largest round made durable by fsyncs rather than by
// one syncfs.
const fsyncRound = 4

// later joins the next round for the object at path and returns the wait
// for it.
func (g *groupSyncer) later(root, path string) func() error {
	ch := make(chan error, 1)
	g.mu.Lock()
	g.waiters = append(g.waiters, syncWaiter{path, ch})
	if !g.running {
		g.running = true
		go g.loop(root)
	}
	g.mu.Unlock()
	return sync.OnceValue(func() error { return <-ch })
}

func (g *groupSyncer) loop(root string) {
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
		var err error
		if len(batch) <= fsyncRound {
			err = syncFiles(batch)
		} else {
			err = syncFS(root)
		}
		for _, w := range batch {
			w.done <- err
		}
	}
}

// fsyncFile opens the file at path and fsyncs it.
func fsyncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	return err
}

// syncFiles fsyncs each object and each of their directories once.
func syncFiles(ws []syncWaiter) error {
	dirs := map[string]bool{}
	for _, w := range ws {
		if err := fsyncFile(w.path); err != nil {
			return err
		}
		dirs[filepath.Dir(w.path)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}
