package archive

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// PreviousKey is an earlier key of the log, replaced by exhibit key
// rotate. Its vkey stays published: the records and checkpoints it signed
// keep verifying under it.
type PreviousKey struct {
	// VKey is the key in C2SP vkey form.
	VKey string `json:"vkey"`
	// KeyFile is its PEM file, relative to the archive, while the archive
	// still holds it; KMS its KMS reference instead.
	KeyFile string `json:"key_file,omitempty"`
	KMS     string `json:"kms,omitempty"`
	// ReplacedAt is when it stopped being the current key (RFC 3339 UTC).
	ReplacedAt string `json:"replaced_at"`
	// Overlap is set while the key still cosigns every checkpoint and
	// statement beside the current key.
	Overlap bool `json:"overlap"`
	// RetiredAt is when it stopped signing (RFC 3339 UTC): at rotation
	// without overlap, or when exhibit key retire ended the overlap.
	RetiredAt string `json:"retired_at,omitempty"`
}

var (
	// ErrNoEd25519Signer is returned when a rotation or retirement would
	// leave no Ed25519 key signing checkpoints: witnesses and most
	// checkpoint clients verify only Ed25519 log signatures.
	ErrNoEd25519Signer = errors.New("no Ed25519 key would sign checkpoints")
	// ErrKeyKnown is returned by Rotate for a key the log already has.
	ErrKeyKnown = errors.New("the key is already one of the log's keys")
	// ErrNotOverlapping is returned by Retire for a key that is not a
	// previous key still signing.
	ErrNotOverlapping = errors.New("not a previous key still signing")
	// ErrPolicyKey is returned when the witness policy would list none of
	// the Ed25519 keys that sign checkpoints.
	ErrPolicyKey = errors.New("the witness policy lists none of the Ed25519 keys that would sign checkpoints")
)

// openCheckpoint verifies a checkpoint of the archive's log under any of its
// keys.
func (a *Archive) openCheckpoint(signed []byte) (*verify.Checkpoint, error) {
	cp, _, err := a.keys.OpenCheckpoint(signed)
	return cp, err
}

// openEntry opens a statement of the archive's log under any of its keys.
func (a *Archive) openEntry(entry []byte) (*verify.Entry, error) {
	e, _, _, err := a.keys.OpenEntry(entry)
	return e, err
}

// openStatement is openEntry for a capture statement.
func (a *Archive) openStatement(entry []byte) (*verify.Statement, error) {
	e, err := a.openEntry(entry)
	if err != nil {
		return nil, err
	}
	if e.Capture == nil {
		return nil, fmt.Errorf("%w: a %s statement, not a capture", verify.ErrStatement, e.Kind())
	}
	return e.Capture, nil
}

// SigningKeys returns the keys that sign checkpoints and statements: the
// current key, then the previous keys whose overlap has not ended.
func (c *Config) SigningKeys() (verify.Keyring, error) {
	all, err := c.Keys()
	if err != nil {
		return nil, err
	}
	r := verify.Keyring{all[0]}
	for i, p := range c.PreviousKeys {
		if p.Overlap {
			r = append(r, all[i+1])
		}
	}
	return r, nil
}

// loadSigners loads the current key and the previous keys still
// overlapping, as one signer with cosigners.
func (c *Config) loadSigners(ctx context.Context, dir string) (*ledger.Signer, error) {
	s, err := c.loadSigner(ctx, dir, c.VKey, c.KeyFile, c.KMS)
	if err != nil {
		return nil, err
	}
	var co []*ledger.Signer
	for _, p := range c.PreviousKeys {
		if !p.Overlap {
			continue
		}
		if p.KeyFile == "" && p.KMS == "" {
			return nil, fmt.Errorf("previous key %s still signs, but the archive holds no key file or KMS reference for it: run exhibit key retire", p.VKey)
		}
		x, err := c.loadSigner(ctx, dir, p.VKey, p.KeyFile, p.KMS)
		if err != nil {
			return nil, err
		}
		co = append(co, x)
	}
	if len(co) == 0 {
		return s, nil
	}
	return s.WithCosigners(co...)
}

func (c *Config) loadSigner(ctx context.Context, dir, vkey, file, kmsRef string) (*ledger.Signer, error) {
	var s *ledger.Signer
	var err error
	if kmsRef != "" {
		file = kmsRef
		s, err = ledger.NewKMSSigner(ctx, kmsRef, c.Origin)
	} else {
		var keyPEM []byte
		if keyPEM, err = os.ReadFile(filepath.Join(dir, file)); err != nil {
			return nil, fmt.Errorf("reading signing key: %w", err)
		}
		s, err = ledger.NewSigner(keyPEM, c.Origin)
	}
	if err != nil {
		return nil, err
	}
	if s.PublicKey().VKey != vkey {
		return nil, fmt.Errorf("%w: %s signs as %s, but %s publishes %s", ErrKeyMismatch, file, s.PublicKey().VKey, configFile, vkey)
	}
	return s, nil
}

// RotateOptions configure Rotate.
type RotateOptions struct {
	// KeyPEM is the new key, an Ed25519 or ECDSA P-256 private key (PEM).
	// If empty (and KMS too), a new Ed25519 key is generated.
	KeyPEM []byte
	// KMS, if set instead of KeyPEM, is the new key's sigstore KMS
	// reference (see ledger.NewKMSSigner).
	KMS string
	// NoOverlap stops the old key signing at once. Default: it keeps
	// cosigning every checkpoint and statement until Retire, so that
	// verifiers who trust only the old key keep verifying new records
	// while they learn the new one.
	NoOverlap bool
	// WitnessPolicy, if set, replaces the archive's witness policy
	// (witness-policy.txt), which must then list, as a log, an Ed25519 key
	// that signs checkpoints after the rotation. Without it, the current
	// policy must.
	WitnessPolicy []byte
}

// Rotate makes a new key the archive's current key: it signs every
// checkpoint and statement from then on. The old current key becomes the
// newest of Config.PreviousKeys; unless o.NoOverlap, it keeps cosigning.
// Rotate takes the write lock: no exhibit process may be writing the
// archive. The new key is stored as key-<key ID>.pem (mode 0600); the old
// key file stays. Errors: ErrLocked; ErrKeyKnown for a key the log already
// has; ErrNoEd25519Signer when no Ed25519 key would sign checkpoints
// (rotate to an Ed25519 key, or keep an Ed25519 key overlapping);
// ErrPolicyKey when the witness policy lists no Ed25519 signing key.
func Rotate(ctx context.Context, dir string, o RotateOptions) (*Config, error) {
	lk, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	keys, err := cfg.Keys()
	if err != nil {
		return nil, err
	}
	var s *ledger.Signer
	keyPEM := o.KeyPEM
	switch {
	case o.KMS != "" && len(keyPEM) > 0:
		return nil, fmt.Errorf("%w: give a key file or a KMS reference, not both", ErrInput)
	case o.KMS != "":
		s, err = ledger.NewKMSSigner(ctx, o.KMS, cfg.Origin)
	default:
		if len(keyPEM) == 0 {
			if keyPEM, err = ledger.GenerateKey(); err != nil {
				return nil, err
			}
		}
		s, err = ledger.NewSigner(keyPEM, cfg.Origin)
	}
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.KeyID() == s.PublicKey().KeyID() {
			return nil, fmt.Errorf("%w: %s", ErrKeyKnown, k.VKey)
		}
	}
	now := verify.FormatTime(time.Now())
	prev := PreviousKey{VKey: cfg.VKey, KeyFile: cfg.KeyFile, KMS: cfg.KMS, ReplacedAt: now, Overlap: !o.NoOverlap}
	if o.NoOverlap {
		prev.RetiredAt = now
	}
	next := *cfg
	next.VKey, next.KMS, next.KeyFile = s.PublicKey().VKey, o.KMS, ""
	if o.KMS == "" {
		next.KeyFile = fmt.Sprintf("key-%08x.pem", s.KeyHash())
	}
	next.PreviousKeys = append([]PreviousKey{prev}, cfg.PreviousKeys...)
	policy, err := next.checkSigners(dir, o.WitnessPolicy)
	if err != nil {
		return nil, err
	}
	if next.KeyFile != "" {
		if err := WriteFileAtomic(filepath.Join(dir, next.KeyFile), keyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	if policy != nil {
		if err := WriteFileAtomic(filepath.Join(dir, next.Witness.PolicyFile), policy, 0o644); err != nil {
			return nil, err
		}
	}
	return &next, next.write(dir)
}

// Retire ends the overlap of the previous key vkey: it stops signing. Its
// vkey stays in Config.PreviousKeys, so that the records it signed keep
// verifying, and its key file stays (delete or destroy it when no longer
// needed). policy, if not nil, replaces the witness policy as in
// RotateOptions.WitnessPolicy. Errors: ErrLocked; ErrNotOverlapping;
// ErrNoEd25519Signer; ErrPolicyKey.
func Retire(ctx context.Context, dir, vkey string, policy []byte) (*Config, error) {
	lk, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer lk.release()
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	next := *cfg
	next.PreviousKeys = append([]PreviousKey(nil), cfg.PreviousKeys...)
	found := false
	for i, p := range next.PreviousKeys {
		if p.VKey == vkey && p.Overlap {
			next.PreviousKeys[i].Overlap = false
			next.PreviousKeys[i].RetiredAt = verify.FormatTime(time.Now())
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrNotOverlapping, vkey)
	}
	if policy, err = next.checkSigners(dir, policy); err != nil {
		return nil, err
	}
	if policy != nil {
		if err := WriteFileAtomic(filepath.Join(dir, next.Witness.PolicyFile), policy, 0o644); err != nil {
			return nil, err
		}
	}
	return &next, next.write(dir)
}

// checkSigners checks that an Ed25519 key signs checkpoints and that the
// witness policy (newPolicy if set, else the archive's) lists one. It
// returns newPolicy, checked, for the caller to write, with a "log" line
// added for each key of the log it does not list.
func (c *Config) checkSigners(dir string, newPolicy []byte) ([]byte, error) {
	signing, err := c.SigningKeys()
	if err != nil {
		return nil, err
	}
	ed := false
	for _, k := range signing {
		if _, ok := k.Key.(ed25519.PublicKey); ok {
			ed = true
		}
	}
	if !ed {
		return nil, fmt.Errorf("%w: a public log needs an Ed25519 checkpoint signature; rotate to an Ed25519 key, or keep an Ed25519 key overlapping (a KMS key without Ed25519 signs beside one)", ErrNoEd25519Signer)
	}
	if c.Witness == nil {
		if newPolicy != nil {
			return nil, fmt.Errorf("%w: the archive has no witnesses; a witness policy cannot be given here", ErrInput)
		}
		return nil, nil
	}
	text := newPolicy
	if text == nil {
		if text, err = os.ReadFile(filepath.Join(dir, c.Witness.PolicyFile)); err != nil {
			return nil, fmt.Errorf("reading the witness policy: %w", err)
		}
	}
	p, err := verify.ParsePolicy(text)
	if err != nil {
		return nil, fmt.Errorf("%w: witness policy: %w", ErrInput, err)
	}
	if !ledger.PolicyListsSigner(p, signing) {
		return nil, fmt.Errorf("%w: add the line \"log %s\" to the policy (and the new key to each witness's configuration), then give it with --witness-policy", ErrPolicyKey, c.VKey)
	}
	if newPolicy == nil {
		return nil, nil
	}
	// The stored policy keeps naming every key of the log: the checkpoints
	// of older records are signed by earlier keys, and exports, audits and
	// verifiers check their cosignatures against this policy.
	all, err := c.Keys()
	if err != nil {
		return nil, err
	}
	var add []byte
	for _, k := range all {
		listed := false
		for _, l := range p.Logs {
			listed = listed || l.Key.VKey == k.VKey
		}
		if !listed {
			add = append(add, "log "+k.VKey+"\n"...)
		}
	}
	if len(add) == 0 {
		return newPolicy, nil
	}
	out := append(add, newPolicy...)
	if _, err := verify.ParsePolicy(out); err != nil {
		return nil, fmt.Errorf("%w: witness policy with the log's earlier keys added: %w", ErrInput, err)
	}
	return out, nil
}

func (c *Config) write(dir string) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, configFile), append(b, '\n'), 0o644)
}
