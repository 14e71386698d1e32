package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// Checkpoints keeps every checkpoint a log publishes, and the RFC 3161
// time-stamp token of each, in the store's bucket, laid out as
// ledger.Checkpoints lays them out in a directory:
//
//	<prefix>checkpoints/<N>      the signed checkpoint of tree size N
//	<prefix>checkpoints/<N>.tsr  its RFC 3161 TimeStampResp (DER)
//
// with <N> as ledger.CheckpointPath writes it. Every object is created
// once, with a conditional PutObject (If-None-Match: *), and never
// replaced; with the store's Object Lock retention or legal hold it is
// locked as the snapshots are. When Keep or PutTimestamp returns nil, the
// server acknowledged the object: it is as durable as the bucket. Several
// processes may keep the same checkpoints at once: the first write wins,
// and a different checkpoint for a tree size already kept is a
// *ledger.CheckpointConflictError.
type Checkpoints struct {
	s    *Store
	base string // <prefix>checkpoints/
}

// Checkpoints returns the store's checkpoint store.
func (s *Store) Checkpoints() *Checkpoints {
	return &Checkpoints{s: s, base: s.prefix + "checkpoints/"}
}

// Location returns where the checkpoint of tree size size is kept,
// "s3://bucket/<prefix>checkpoints/<N>" (whether or not it is kept); its
// token's is the same with ".tsr" appended.
func (c *Checkpoints) Location(size uint64) string {
	return "s3://" + c.s.bucket + "/" + c.base + ledger.CheckpointPath(size)
}

// KeptAt returns when the checkpoint of tree size size was kept (its
// object's Last-Modified time), or an error wrapping ledger.ErrNotKept.
func (c *Checkpoints) KeptAt(ctx context.Context, size uint64) (time.Time, error) {
	key := c.base + ledger.CheckpointPath(size)
	var info minio.ObjectInfo
	err := c.s.do(ctx, func() error {
		var err error
		info, err = c.s.client.StatObject(ctx, c.s.bucket, key, minio.StatObjectOptions{})
		return err
	})
	if code(err) == "NoSuchKey" || code(err) == "NotFound" {
		return time.Time{}, fmt.Errorf("checkpoint %d: %w", size, ledger.ErrNotKept)
	}
	if err != nil {
		return time.Time{}, c.s.errorf(err, "reading %s", key)
	}
	return info.LastModified, nil
}

// maxCheckpointObject bounds what is read of one object: a signed
// checkpoint with its cosignatures, or a time-stamp token, is a few KiB.
const maxCheckpointObject = 1 << 20

// create writes data at key unless an object is there; it returns the
// object that is there, or nil if it wrote.
func (c *Checkpoints) create(ctx context.Context, key string, data []byte, contentType string) ([]byte, error) {
	opts := minio.PutObjectOptions{ContentType: contentType}
	c.s.lock(&opts)
	opts.SetMatchETagExcept("*")
	existed := false
	err := c.s.do(ctx, func() error {
		_, err := c.s.client.PutObject(ctx, c.s.bucket, key, bytes.NewReader(data), int64(len(data)), opts)
		if code(err) == "PreconditionFailed" {
			existed = true
			return nil
		}
		return err
	})
	if err != nil {
		return nil, c.s.errorf(err, "storing %s", key)
	}
	if !existed {
		return nil, nil
	}
	have, err := c.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return have, nil
}

func (c *Checkpoints) get(ctx context.Context, key string) ([]byte, error) {
	var b []byte
	err := c.s.do(ctx, func() error {
		obj, err := c.s.client.GetObject(ctx, c.s.bucket, key, minio.GetObjectOptions{})
		if err != nil {
			return err
		}
		defer obj.Close()
		b, err = io.ReadAll(io.LimitReader(obj, maxCheckpointObject+1))
		return err
	})
	if code(err) == "NoSuchKey" {
		return nil, ledger.ErrNotKept
	}
	if err != nil {
		return nil, c.s.errorf(err, "reading %s", key)
	}
	if len(b) > maxCheckpointObject {
		return nil, fmt.Errorf("s3: %s in bucket %q is over %d bytes: not a checkpoint or a token", key, c.s.bucket, maxCheckpointObject)
	}
	return b, nil
}

// Keep stores signed, the checkpoint cp parsed from it (whose signature
// the caller checked), unless the bucket already holds it. It returns a
// *ledger.CheckpointConflictError if the bucket holds another checkpoint
// of the same tree size.
func (c *Checkpoints) Keep(ctx context.Context, signed []byte, cp *verify.Checkpoint) error {
	have, err := c.create(ctx, c.base+ledger.CheckpointPath(cp.Size), signed, "text/plain; charset=utf-8")
	if err != nil {
		return fmt.Errorf("keeping checkpoint %d: %w", cp.Size, err)
	}
	if have != nil && !bytes.Equal(have, signed) {
		return &ledger.CheckpointConflictError{Size: cp.Size, Kept: have, Offered: signed}
	}
	return nil
}

// Get returns the kept checkpoint of tree size size (a signed note, not
// verified here), or an error wrapping ledger.ErrNotKept.
func (c *Checkpoints) Get(ctx context.Context, size uint64) ([]byte, error) {
	b, err := c.get(ctx, c.base+ledger.CheckpointPath(size))
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: %w", size, err)
	}
	return b, nil
}

// PutTimestamp stores tsr, the RFC 3161 token over the body of the kept
// checkpoint of tree size size. A token is stored once: if one is held
// for that size, it is kept and PutTimestamp returns nil.
func (c *Checkpoints) PutTimestamp(ctx context.Context, size uint64, tsr []byte) error {
	if _, err := c.create(ctx, c.base+ledger.CheckpointPath(size)+".tsr", tsr, "application/timestamp-reply"); err != nil {
		return fmt.Errorf("storing the time-stamp of checkpoint %d: %w", size, err)
	}
	return nil
}

// Timestamp returns the stored token of the checkpoint of tree size size,
// or an error wrapping ledger.ErrNotKept.
func (c *Checkpoints) Timestamp(ctx context.Context, size uint64) ([]byte, error) {
	b, err := c.get(ctx, c.base+ledger.CheckpointPath(size)+".tsr")
	if err != nil {
		return nil, fmt.Errorf("time-stamp of checkpoint %d: %w", size, err)
	}
	return b, nil
}

// All returns every kept checkpoint, by increasing tree size. Keys that
// do not parse are skipped.
func (c *Checkpoints) All(ctx context.Context) ([]ledger.KeptFile, error) {
	all, _, err := c.walk(ctx)
	return all, err
}

// LoneTokens returns the tree sizes of the tokens stored without their
// checkpoint, increasing: each is a kept checkpoint lost.
func (c *Checkpoints) LoneTokens(ctx context.Context) ([]uint64, error) {
	_, lone, err := c.walk(ctx)
	return lone, err
}

func (c *Checkpoints) walk(ctx context.Context) ([]ledger.KeptFile, []uint64, error) {
	stamped := map[uint64]bool{}
	var out []ledger.KeptFile
	err := c.s.do(ctx, func() error {
		stamped, out = map[uint64]bool{}, nil
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for obj := range c.s.client.ListObjects(lctx, c.s.bucket, minio.ListObjectsOptions{Prefix: c.base, Recursive: true}) {
			if obj.Err != nil {
				return obj.Err
			}
			base, tsr := strings.CutSuffix(obj.Key[len(c.base):], ".tsr")
			n, err := ledger.ParseCheckpointPath(base)
			if err != nil {
				continue
			}
			if tsr {
				stamped[n] = true
			} else {
				out = append(out, ledger.KeptFile{Size: n})
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing kept checkpoints: %w", c.s.errorf(err, "listing %s", c.base))
	}
	slices.SortFunc(out, func(a, b ledger.KeptFile) int {
		switch {
		case a.Size < b.Size:
			return -1
		case a.Size > b.Size:
			return 1
		}
		return 0
	})
	for i := range out {
		out[i].Timestamped = stamped[out[i].Size]
		delete(stamped, out[i].Size)
	}
	var lone []uint64
	for n := range stamped {
		lone = append(lone, n)
	}
	slices.Sort(lone)
	return out, lone, nil
}
