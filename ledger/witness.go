package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

// WitnessClient submits checkpoints to one witness over the C2SP
// tlog-witness protocol (https://c2sp.org/tlog-witness) and checks the
// cosignature it returns (https://c2sp.org/tlog-cosignature). It is safe for
// concurrent use.
type WitnessClient struct {
	// URL is the witness's submission prefix; requests go to
	// URL + "/add-checkpoint".
	URL string
	// Key is the witness's cosigner key.
	Key *verify.CosignerKey
	// HTTPClient makes the requests. If nil, http.DefaultClient.
	HTTPClient *http.Client
}

// WitnessConflictError is a witness's "409 Conflict" with a
// text/x.tlog.size body: the old size sent was not the size of the latest
// checkpoint the witness cosigned for the log, which is Size.
type WitnessConflictError struct {
	URL  string
	Size uint64
}

func (e *WitnessConflictError) Error() string {
	return fmt.Sprintf("witness %s last cosigned tree size %d", e.URL, e.Size)
}

// WitnessHTTPError is any other refusal by a witness. tlog-witness gives the
// status codes meaning: 403, no signature by a key the witness trusts for the
// log; 404, unknown origin; 400, old size over the checkpoint's size; 409
// without a size, the same size with another root hash; 422, a consistency
// proof that does not verify.
type WitnessHTTPError struct {
	URL        string
	StatusCode int
	Body       string
}

func (e *WitnessHTTPError) Error() string {
	return fmt.Sprintf("witness %s answered %d %s: %q", e.URL, e.StatusCode, http.StatusText(e.StatusCode), e.Body)
}

// ErrBadCosignature is returned when a witness answers 200 but its
// cosignature does not verify with its key over the checkpoint sent.
var ErrBadCosignature = errors.New("the witness's cosignature does not verify")

// AddCheckpoint sends signedCP (a signed checkpoint) to the witness, with
// oldSize, the size of the latest checkpoint the witness is believed to have
// cosigned for this log (0 if none), and the RFC 6962 consistency proof
// from oldSize to the checkpoint's size (empty when oldSize is 0). It
// returns the witness's cosignature line ("— <name> <base64>\n"), checked
// against c.Key over the checkpoint's body.
//
// Errors: a *WitnessConflictError when oldSize is not the witness's; a
// *WitnessHTTPError for other refusals; ErrBadCosignature.
func (c *WitnessClient) AddCheckpoint(ctx context.Context, oldSize uint64, proof [][]byte, signedCP []byte) ([]byte, error) {
	var body bytes.Buffer
	fmt.Fprintf(&body, "old %d\n", oldSize)
	for _, h := range proof {
		body.WriteString(base64.StdEncoding.EncodeToString(h) + "\n")
	}
	body.WriteString("\n")
	body.Write(signedCP)

	url := strings.TrimSuffix(c.URL, "/") + "/add-checkpoint"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return nil, err
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("submitting checkpoint to witness %s: %w", c.URL, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("reading witness %s's answer: %w", c.URL, err)
	}
	switch {
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("Content-Type") == "text/x.tlog.size":
		size, err := strconv.ParseUint(strings.TrimSuffix(string(rb), "\n"), 10, 64)
		if err != nil {
			return nil, &WitnessHTTPError{URL: c.URL, StatusCode: resp.StatusCode, Body: string(rb)}
		}
		return nil, &WitnessConflictError{URL: c.URL, Size: size}
	case resp.StatusCode != http.StatusOK:
		return nil, &WitnessHTTPError{URL: c.URL, StatusCode: resp.StatusCode, Body: string(rb)}
	}
	// The body is one or more note signature lines; keep the one by the
	// witness's key, and check it.
	for line := range strings.Lines(string(rb)) {
		n, err := note.Open(append(append([]byte(nil), signedCP...), line...), note.VerifierList(c.Key.NoteVerifier()))
		if err != nil {
			var inv *note.InvalidSignatureError
			if errors.As(err, &inv) {
				return nil, fmt.Errorf("%w: witness %s (%s)", ErrBadCosignature, c.URL, c.Key.Name)
			}
			continue
		}
		if len(n.Sigs) == 1 {
			return []byte(fmt.Sprintf("— %s %s\n", n.Sigs[0].Name, n.Sigs[0].Base64)), nil
		}
	}
	return nil, fmt.Errorf("%w: witness %s answered no signature by %s: %q", ErrBadCosignature, c.URL, c.Key.VKey, rb)
}

// Witnesses gathers cosignatures for a log's checkpoints from the witnesses
// of a trust policy that have URLs. It remembers the size each witness last
// cosigned, learning it from the witness on a conflict, and builds the
// consistency proofs from the log. It is safe for concurrent use, but the
// checkpoints given to Cosign must not shrink.
type Witnesses struct {
	policy  *verify.Policy
	log     *Reader
	clients []*WitnessClient
	names   []string

	mu    sync.Mutex
	sizes map[string]uint64
}

// NewWitnesses returns a Witnesses for the log r under policy, which must
// list r's key among its logs. Requests use hc, or http.DefaultClient if
// nil; give it a timeout.
func NewWitnesses(policy *verify.Policy, r *Reader, hc *http.Client) (*Witnesses, error) {
	if !PolicyListsSigner(policy, r.Keys()) {
		return nil, fmt.Errorf("the witness policy does not list this log (%s)", r.Key().VKey)
	}
	w := &Witnesses{policy: policy, log: r, sizes: map[string]uint64{}}
	for _, pw := range policy.Witnesses {
		if pw.URL == "" {
			continue
		}
		w.clients = append(w.clients, &WitnessClient{URL: pw.URL, Key: pw.Key, HTTPClient: hc})
		w.names = append(w.names, pw.Name)
	}
	return w, nil
}

// Cosign submits signedCP, a checkpoint of the log signed by it, to every
// witness at once and returns it with the cosignature lines gathered
// appended (in the policy's witness order) and the result of checking them
// against the policy. Witnesses that fail are reported in the error, joined
// with a *verify.QuorumError if the quorum is not met; the checkpoint
// returned then carries the cosignatures that were obtained.
func (w *Witnesses) Cosign(ctx context.Context, signedCP []byte) ([]byte, *verify.Witnessed, error) {
	cp, _, err := w.log.Keys().OpenCheckpoint(signedCP)
	if err != nil {
		return nil, nil, err
	}
	sigs := make([][]byte, len(w.clients))
	errs := make([]error, len(w.clients))
	var wg sync.WaitGroup
	for i, c := range w.clients {
		wg.Go(func() {
			sigs[i], errs[i] = w.submit(ctx, c, w.names[i], cp.Size, signedCP)
			if errs[i] != nil {
				errs[i] = fmt.Errorf("witness %s: %w", w.names[i], errs[i])
			}
		})
	}
	wg.Wait()
	out := append([]byte(nil), signedCP...)
	for _, s := range sigs {
		out = append(out, s...)
	}
	witnessed, qerr := verify.OpenWitnessed(out, w.policy)
	if witnessed == nil {
		return nil, nil, qerr
	}
	return out, witnessed, errors.Join(append(errs, qerr)...)
}

func (w *Witnesses) submit(ctx context.Context, c *WitnessClient, name string, size uint64, signedCP []byte) ([]byte, error) {
	w.mu.Lock()
	old := w.sizes[name]
	w.mu.Unlock()
	for range 3 {
		var proof [][]byte
		if old > 0 && old < size {
			var err error
			if proof, err = w.log.ConsistencyProof(ctx, old, size); err != nil {
				return nil, err
			}
		}
		sig, err := c.AddCheckpoint(ctx, old, proof, signedCP)
		var conflict *WitnessConflictError
		if errors.As(err, &conflict) && conflict.Size != old && conflict.Size <= size {
			old = conflict.Size
			continue
		}
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.sizes[name] = size
		w.mu.Unlock()
		return sig, nil
	}
	return nil, fmt.Errorf("witness %s keeps changing its size", c.URL)
}
