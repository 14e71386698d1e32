package ledger

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"

	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// ErrNoKMSProvider is wrapped by the error [NewKMSSigner] returns when no
// sigstore KMS provider serves the key reference's scheme.
var ErrNoKMSProvider = errors.New("no KMS provider for this key reference")

// IsKMSRef reports whether key names a key held in a KMS, a URI such as
// awskms://..., gcpkms://..., azurekms://..., hashivault://... or any
// other "scheme://" reference sigstore/sigstore's KMS registry or a
// sigstore-kms-<scheme> plugin on PATH may serve; anything else is a file.
func IsKMSRef(key string) bool {
	scheme, rest, ok := strings.Cut(key, "://")
	return ok && scheme != "" && rest != "" && !strings.ContainsAny(scheme, "/\\.")
}

// NewKMSSigner loads the key named by ref (see [IsKMSRef]) through
// sigstore/sigstore's KMS registry, kms.Get, and names it origin. The
// key's public half must be Ed25519 or ECDSA P-256: ECDSA keys sign
// SHA-256 digests, ASN.1 DER encoded, as [NewSigner]'s do.
//
// exhibit compiles in no cloud provider (their SDKs are large). kms.Get then
// looks for a sigstore KMS plugin, an executable named
// sigstore-kms-<scheme> on PATH (sigstore's cliplugin protocol); a program
// that links a provider (for example by importing
// github.com/sigstore/sigstore/pkg/signature/kms/aws) has it registered.
// Errors: one wrapping ErrNoKMSProvider when neither exists, or the
// provider's error (an unreachable KMS, a missing key, missing
// credentials); ErrKeyType for other key types.
func NewKMSSigner(ctx context.Context, ref, origin string) (*Signer, error) {
	if !IsKMSRef(ref) {
		return nil, fmt.Errorf("%q is not a KMS key reference (want scheme://...)", ref)
	}
	sv, err := kms.Get(ctx, ref, crypto.SHA256)
	if err != nil {
		var nf *kms.ProviderNotFoundError
		if errors.As(err, &nf) {
			scheme, _, _ := strings.Cut(ref, "://")
			return nil, fmt.Errorf("%w %s: exhibit has no %s provider compiled in and no sigstore-kms-%s plugin is on PATH: %w", ErrNoKMSProvider, ref, scheme, scheme, err)
		}
		return nil, fmt.Errorf("KMS key %s: %w", ref, err)
	}
	pk, err := sv.PublicKey(options.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("KMS key %s: reading its public key: %w", ref, err)
	}
	var pub any
	switch k := pk.(type) {
	case ed25519.PublicKey:
		pub = k
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("KMS key %s: %w (ECDSA on %s)", ref, ErrKeyType, k.Curve.Params().Name)
		}
		pub = k
	default:
		return nil, fmt.Errorf("KMS key %s: %w (%T)", ref, ErrKeyType, pk)
	}
	vk, err := verify.NewPublicKey(origin, pub)
	if err != nil {
		return nil, err
	}
	return &Signer{sv: sv, pub: vk}, nil
}
