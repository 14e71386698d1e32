// Package trust is an archive's witnessing and trusted time: its
// witnesses (C2SP tlog-witness, https://c2sp.org/tlog-witness, whose
// cosignatures, C2SP tlog-cosignature, every checkpoint needs under the
// archive's C2SP tlog-policy, https://c2sp.org/tlog-policy, before it is
// published) and its RFC 3161 time-stamping authority
// (https://www.rfc-editor.org/rfc/rfc3161), which time-stamps every
// checkpoint the archive keeps (the Stamper). See docs/FORMATS.md, 5.5 to
// 5.7.
package trust

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// WitnessConfig is the "witness" member of exhibit.json.
type WitnessConfig struct {
	// PolicyFile is the C2SP tlog-policy file, relative to the archive
	// directory, that names the witnesses (with their submission URLs)
	// and the quorum. It lists the archive's log.
	PolicyFile string `json:"policy_file"`
	// FailOpen publishes checkpoints without the quorum when it cannot be
	// gathered in time; bundles then say "witnessing": "fail-open".
	FailOpen bool `json:"fail_open,omitempty"`
}

// TSAConfig is the "tsa" member of exhibit.json.
type TSAConfig struct {
	// URL is the RFC 3161 time-stamping endpoint (POST
	// application/timestamp-query).
	URL string `json:"url"`
	// RootsFile is the PEM file, relative to the archive directory, of the
	// TSA's certificate chain or root (see verify.ParseTSARoots).
	RootsFile string `json:"roots_file"`
}

// PreparePolicy checks a witness policy for the log key and returns the
// text to store: the policy itself, with a "log" line for key added first
// when it lists no log (so that it can be written before the key is
// known). The policy must list the key (if it lists logs) and a witness
// with a URL to submit checkpoints to.
func PreparePolicy(text []byte, key *verify.PublicKey) ([]byte, error) {
	p, err := verify.ParsePolicy(text)
	if err != nil {
		return nil, fmt.Errorf("witness policy: %w", err)
	}
	if len(p.Logs) == 0 {
		text = append([]byte("log "+key.VKey+"\n"), text...)
		if p, err = verify.ParsePolicy(text); err != nil {
			return nil, fmt.Errorf("witness policy: %w", err)
		}
	}
	if l := p.Log(key.Name); l == nil || l.Key.VKey != key.VKey {
		return nil, fmt.Errorf("witness policy: it lists logs, but not this archive's log key %s", key.VKey)
	}
	n := 0
	for _, w := range p.Witnesses {
		if w.URL != "" {
			n++
		}
	}
	if n == 0 {
		return nil, errors.New("witness policy: no witness has a URL to submit checkpoints to")
	}
	return text, nil
}

// ErrWitnessKey is wrapped by the error CheckWitnessKey returns for a log
// key that is not Ed25519: C2SP tlog-witness witnesses (such as
// omniwitness) verify Ed25519 log signatures only.
var ErrWitnessKey = errors.New("witnesses verify Ed25519 log signatures only")

// CheckWitnessKey refuses a log key that witnesses cannot verify.
func CheckWitnessKey(key *verify.PublicKey) error {
	if _, ok := key.Key.(ed25519.PublicKey); ok {
		return nil
	}
	return fmt.Errorf("witness policy: the log key %s is not Ed25519, and %w (C2SP tlog-witness, e.g. omniwitness): create the archive with an Ed25519 key (the default without --key), or create it with an Ed25519 key and witnesses and then make this key current with exhibit key rotate --key, the Ed25519 key co-signing every checkpoint during the overlap", key.VKey, ErrWitnessKey)
}

// ErrTSACheck is wrapped by the error [Probe] returns when the trial
// time-stamp request fails or its answer does not verify.
var ErrTSACheck = errors.New("the time-stamping authority did not give a token that verifies")

// CheckTSA checks a TSA's URL (http or https, without credentials) and its
// roots' PEM.
func CheckTSA(rawURL string, rootsPEM []byte) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("TSA URL %q is not an http(s) URL", rawURL)
	}
	if u.User != nil {
		return fmt.Errorf("TSA URL %q holds credentials", rawURL)
	}
	if len(rootsPEM) == 0 {
		return errors.New("a TSA needs its roots (the PEM of its certificate chain)")
	}
	if _, err := verify.ParseTSARoots(rootsPEM); err != nil {
		return err
	}
	return nil
}

// Probe asks the TSA at rawURL for one time-stamp token, over a trial
// message that names origin, and checks the answer against rootsPEM (see
// verify.ParseTSARoots), within timeout (if zero, DefaultTSATimeout). An
// archive's Init calls it before it writes anything. It sends one HTTP
// request and stores nothing. Errors: those of CheckTSA; otherwise an
// error wrapping both ErrTSACheck and the cause (a *ledger.TSAError for a
// TSA that cannot be reached or answers an HTTP error, the errors of
// verify.CheckTimestamp for a token that does not verify against the
// roots).
func Probe(ctx context.Context, rawURL string, rootsPEM []byte, origin string, timeout time.Duration) error {
	if err := CheckTSA(rawURL, rootsPEM); err != nil {
		return err
	}
	opts, _ := verify.ParseTSARoots(rootsPEM)
	if timeout <= 0 {
		timeout = DefaultTSATimeout
	}
	c := &ledger.TSAClient{URL: rawURL, Trust: opts, HTTPClient: &http.Client{Timeout: timeout}}
	if _, _, err := c.Timestamp(ctx, []byte("exhibit trial time-stamp for "+origin+"\n")); err != nil {
		return fmt.Errorf("%w: %w (check --tsa and --tsa-roots; --tsa-unchecked creates the archive anyway)", ErrTSACheck, err)
	}
	return nil
}

// Defaults.
const (
	// DefaultTSATimeout bounds each request to the TSA.
	DefaultTSATimeout = 5 * time.Second
	// DefaultWitnessWait bounds how long, failing closed, a record waits
	// for a checkpoint with the witness quorum.
	DefaultWitnessWait = 30 * time.Second
	// DefaultRetryInterval is how often a Stamper asks again for the
	// tokens it could not get.
	DefaultRetryInterval = 30 * time.Second
	// tsaBackoff is how long after a TSA failure new checkpoints are not
	// asked for (the retry loop asks again).
	tsaBackoff = 10 * time.Second
)

// Setup is an archive's witnessing and time-stamping, as its
// configuration names them.
type Setup struct {
	// PolicyText and Policy are the witness policy, nil without witnesses;
	// FailOpen publishes checkpoints without the quorum when it cannot be
	// gathered; WitnessWait bounds how long, failing closed, a record
	// waits for it.
	PolicyText  []byte
	Policy      *verify.Policy
	FailOpen    bool
	WitnessWait time.Duration
	// TSA is the client of the time-stamping authority, nil without one;
	// TSARoots the PEM of its roots.
	TSA      *ledger.TSAClient
	TSARoots []byte
}

// Load reads the policy and TSA roots that w and t (either may be nil)
// name, relative to dir. tsaTimeout and witnessWait default to
// DefaultTSATimeout and DefaultWitnessWait.
func Load(dir string, w *WitnessConfig, t *TSAConfig, tsaTimeout, witnessWait time.Duration) (*Setup, error) {
	if witnessWait <= 0 {
		witnessWait = DefaultWitnessWait
	}
	s := &Setup{WitnessWait: witnessWait}
	if w != nil {
		b, err := os.ReadFile(filepath.Join(dir, w.PolicyFile))
		if err != nil {
			return nil, fmt.Errorf("reading the witness policy: %w", err)
		}
		if s.Policy, err = verify.ParsePolicy(b); err != nil {
			return nil, fmt.Errorf("%s: %w", w.PolicyFile, err)
		}
		s.PolicyText, s.FailOpen = b, w.FailOpen
	}
	if t != nil {
		b, err := os.ReadFile(filepath.Join(dir, t.RootsFile))
		if err != nil {
			return nil, fmt.Errorf("reading the TSA roots: %w", err)
		}
		opts, err := verify.ParseTSARoots(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.RootsFile, err)
		}
		if tsaTimeout <= 0 {
			tsaTimeout = DefaultTSATimeout
		}
		s.TSARoots = b
		s.TSA = &ledger.TSAClient{URL: t.URL, Trust: opts, HTTPClient: &http.Client{Timeout: tsaTimeout}}
	}
	return s, nil
}

// ErrNoQuorum is wrapped by the error a capture returns when, failing
// closed, no checkpoint could be published for it because its witnesses
// did not cosign in time.
var ErrNoQuorum = errors.New("no checkpoint published: the witness quorum could not be gathered")

// NoQuorumError reports a capture that was not acknowledged because its
// checkpoint lacked the witness quorum for Waited. Its entry is sequenced
// in the log and will be published, with a later checkpoint, once the
// witnesses cosign; until then it is not acknowledged and has no bundle.
type NoQuorumError struct {
	// RecordID is the record the entry will be once published: a client
	// that retries must not log the document again.
	RecordID string
	Quorum   string
	Waited   time.Duration
	// Witnesses are the policy's witnesses with URLs, each probed when the
	// wait ended.
	Witnesses []WitnessProbe
}

// WitnessProbe is whether a witness answered HTTP at all when a quorum was
// missing. One that answers either cosigned while too few others did, or
// refused the checkpoint (a fork or a bad consistency proof, for
// instance): the log appender logs each refusal, once per publication
// attempt, and asks again only with the next checkpoint.
type WitnessProbe struct {
	Name, URL string
	// Err is why the witness could not be reached, or nil if it answered.
	Err error
}

func (e *NoQuorumError) Error() string {
	var ws []string
	for _, w := range e.Witnesses {
		if w.Err != nil {
			ws = append(ws, fmt.Sprintf("%s unreachable (%v)", w.Name, w.Err))
		} else {
			ws = append(ws, w.Name+" answers")
		}
	}
	rec := "the entry"
	if e.RecordID != "" {
		rec = "record " + e.RecordID
	}
	return fmt.Sprintf("%v within %s (quorum %s; fail-closed): %s; %s is sequenced and will be published, with its bundle, when the witnesses cosign again",
		ErrNoQuorum, e.Waited, e.Quorum, strings.Join(ws, ", "), rec)
}

func (e *NoQuorumError) Unwrap() error { return ErrNoQuorum }

// ProbeWitnesses asks each witness of p with a URL for anything (GET of
// its add-checkpoint endpoint, which it refuses with 405), to tell the
// unreachable ones from those that answer.
func ProbeWitnesses(ctx context.Context, p *verify.Policy) []WitnessProbe {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var out []WitnessProbe
	for _, w := range p.Witnesses {
		if w.URL != "" {
			out = append(out, WitnessProbe{Name: w.Name, URL: w.URL})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(out[i].URL, "/")+"/add-checkpoint", nil)
			if err == nil {
				var resp *http.Response
				if resp, err = http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}
			out[i].Err = err
		})
	}
	wg.Wait()
	return out
}
