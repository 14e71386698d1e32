package verify

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// TestProofError: a root mismatch reads on one line with both roots in
// hex, and still unwraps to the merkle package's error; other errors pass
// through.
func TestProofError(t *testing.T) {
	h := rfc6962.DefaultHasher
	a, b := h.HashLeaf([]byte("a")), h.HashLeaf([]byte("b"))
	root := h.HashChildren(a, b)
	wrong := append([]byte(nil), root...)
	wrong[0] ^= 1
	err := ProofError(proof.VerifyInclusion(h, 0, 2, a, [][]byte{b}, wrong))
	var rm proof.RootMismatchError
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), hex.EncodeToString(root)) || !errors.As(err, &rm) {
		t.Errorf("ProofError of a root mismatch: %v", err)
	}
	if ProofError(nil) != nil {
		t.Error("ProofError(nil) is not nil")
	}
	other := errors.New("other")
	if ProofError(other) != other {
		t.Error("ProofError changed another error")
	}
}
