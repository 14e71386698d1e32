package archive

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
	"sync/atomic"
	"time"

	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// This file is the archive's side of witnessing (C2SP tlog-witness, with
// the policy of C2SP tlog-policy) and trusted time (RFC 3161): see
// docs/FORMATS.md, sections 5.5 and 5.6.

const (
	witnessPolicyFile = "witness-policy.txt"
	tsaRootsFile      = "tsa-roots.pem"
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

// prepareWitnessPolicy checks a witness policy for the log key and returns
// the text to store: the policy itself, with a "log" line for key added
// first when it lists no log (so that it can be written before the key is
// known).
func prepareWitnessPolicy(text []byte, key *verify.PublicKey) ([]byte, error) {
	p, err := verify.ParsePolicy(text)
	if err != nil {
		return nil, fmt.Errorf("%w: witness policy: %w", ErrInput, err)
	}
	if len(p.Logs) == 0 {
		text = append([]byte("log "+key.VKey+"\n"), text...)
		if p, err = verify.ParsePolicy(text); err != nil {
			return nil, fmt.Errorf("%w: witness policy: %w", ErrInput, err)
		}
	}
	if l := p.Log(key.Name); l == nil || l.Key.VKey != key.VKey {
		return nil, fmt.Errorf("%w: witness policy: it lists logs, but not this archive's log key %s", ErrInput, key.VKey)
	}
	n := 0
	for _, w := range p.Witnesses {
		if w.URL != "" {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: witness policy: no witness has a URL to submit checkpoints to", ErrInput)
	}
	return text, nil
}

// ErrWitnessKey is wrapped by the error Init returns for a witness policy
// with a log key that is not Ed25519: C2SP tlog-witness witnesses (such as
// omniwitness) verify Ed25519 log signatures only.
var ErrWitnessKey = errors.New("witnesses verify Ed25519 log signatures only")

// checkWitnessKey refuses a log key that witnesses cannot verify.
func checkWitnessKey(key *verify.PublicKey) error {
	if _, ok := key.Key.(ed25519.PublicKey); ok {
		return nil
	}
	return fmt.Errorf("%w: witness policy: the log key %s is not Ed25519, and %w (C2SP tlog-witness, e.g. omniwitness): create the archive with an Ed25519 key (the default without --key), or create it with an Ed25519 key and witnesses and then make this key current with exhibit key rotate --key, the Ed25519 key co-signing every checkpoint during the overlap", ErrInput, key.VKey, ErrWitnessKey)
}

// ErrTSACheck is wrapped by the error [ProbeTSA] (and so Init) returns when
// the trial time-stamp request fails or its answer does not verify.
var ErrTSACheck = errors.New("the time-stamping authority did not give a token that verifies")

// ProbeTSA asks the TSA at rawURL for one time-stamp token, over a trial
// message that names origin, and checks the answer against rootsPEM (see
// verify.ParseTSARoots), within timeout (if zero, five seconds). Init calls
// it before it writes anything. It sends one HTTP request and stores
// nothing.
//
// Errors: ErrInput for a URL that is not http(s) or roots that do not
// parse; ErrCredentials for a URL with credentials; otherwise an error
// wrapping both ErrTSACheck and the cause (a *ledger.TSAError for a TSA that
// cannot be reached or answers an HTTP error, the errors of
// verify.CheckTimestamp for a token that does not verify against the
// roots).
func ProbeTSA(ctx context.Context, rawURL string, rootsPEM []byte, origin string, timeout time.Duration) error {
	if err := checkTSA(rawURL, rootsPEM); err != nil {
		return err
	}
	opts, err := verify.ParseTSARoots(rootsPEM)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	if timeout <= 0 {
		timeout = defaultTSATimeout
	}
	c := &ledger.TSAClient{URL: rawURL, Trust: opts, HTTPClient: &http.Client{Timeout: timeout}}
	if _, _, err := c.Timestamp(ctx, []byte("exhibit trial time-stamp for "+origin+"\n")); err != nil {
		return fmt.Errorf("%w: %w (check --tsa and --tsa-roots; --tsa-unchecked creates the archive anyway)", ErrTSACheck, err)
	}
	return nil
}

// checkTSA checks a TSA's URL and its roots' PEM.
func checkTSA(rawURL string, rootsPEM []byte) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: TSA URL %q is not an http(s) URL", ErrInput, rawURL)
	}
	if u.User != nil {
		return ErrCredentials
	}
	if len(rootsPEM) == 0 {
		return fmt.Errorf("%w: a TSA needs its roots (the PEM of its certificate chain)", ErrInput)
	}
	if _, err := verify.ParseTSARoots(rootsPEM); err != nil {
		return fmt.Errorf("%w: %w", ErrInput, err)
	}
	return nil
}

// trust is an open archive's witnessing and time-stamping setup.
type trust struct {
	policyText  []byte
	policy      *verify.Policy
	failOpen    bool
	witnessWait time.Duration

	tsa      *ledger.TSAClient
	tsaRoots []byte
}

// loadTrust reads the policy and TSA roots the configuration names.
func loadTrust(dir string, cfg *Config, timeout, witnessWait time.Duration) (*trust, error) {
	if witnessWait <= 0 {
		witnessWait = defaultWitnessWait
	}
	t := &trust{witnessWait: witnessWait}
	if w := cfg.Witness; w != nil {
		b, err := os.ReadFile(filepath.Join(dir, w.PolicyFile))
		if err != nil {
			return nil, fmt.Errorf("reading the witness policy: %w", err)
		}
		if t.policy, err = verify.ParsePolicy(b); err != nil {
			return nil, fmt.Errorf("%s: %w", w.PolicyFile, err)
		}
		t.policyText, t.failOpen = b, w.FailOpen
	}
	if c := cfg.TSA; c != nil {
		b, err := os.ReadFile(filepath.Join(dir, c.RootsFile))
		if err != nil {
			return nil, fmt.Errorf("reading the TSA roots: %w", err)
		}
		opts, err := verify.ParseTSARoots(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.RootsFile, err)
		}
		if timeout == 0 {
			timeout = defaultTSATimeout
		}
		t.tsaRoots = b
		t.tsa = &ledger.TSAClient{URL: c.URL, Trust: opts, HTTPClient: &http.Client{Timeout: timeout}}
	}
	return t, nil
}

var errTSABackoff = errors.New("the TSA failed moments ago; not asked again yet")

const (
	// tsaBackoff is how long after a TSA failure captures do not ask it.
	tsaBackoff              = 10 * time.Second
	defaultTSATimeout       = 5 * time.Second
	defaultWitnessWait      = 30 * time.Second
	defaultTSARetryInterval = 30 * time.Second
)

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

// probeWitnesses asks each witness of p with a URL for anything (GET of
// its add-checkpoint endpoint, which it refuses with 405), to tell the
// unreachable ones from those that answer.
func probeWitnesses(ctx context.Context, p *verify.Policy) []WitnessProbe {
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

// WitnessPolicy returns the archive's witness policy file, or nil when it
// has none.
func (a *Archive) WitnessPolicy() []byte { return a.trust.policyText }

// Policy returns the archive's witness policy, parsed, or nil when it has
// none.
func (a *Archive) Policy() *verify.Policy { return a.trust.policy }

// TSATrust returns the trust anchors of the archive's time-stamping
// authority, or nil when it has none.
func (a *Archive) TSATrust() *verify.TimestampOptions {
	if a.trust.tsa == nil {
		return nil
	}
	return &a.trust.tsa.Trust
}

// WitnessFailOpen reports whether the archive publishes checkpoints without
// its witnesses' quorum when they cannot give it (init --witness-fail-open).
func (a *Archive) WitnessFailOpen() bool { return a.trust.failOpen }

// TSARoots returns the PEM of the archive's TSA roots, or nil when it has
// no TSA.
func (a *Archive) TSARoots() []byte { return a.trust.tsaRoots }

// ErrNoTimestamp is returned by Timestamp for a tree size without a token.
var ErrNoTimestamp = errors.New("no time-stamp token for that checkpoint")

// Timestamp returns the stored RFC 3161 token (a DER TimeStampResp) of the
// kept checkpoint of the given tree size, or an error wrapping
// ErrNoTimestamp. The token was checked when it was stored; a verifier
// checks it again against the checkpoint.
func (a *Archive) Timestamp(ctx context.Context, size uint64) ([]byte, error) {
	b, err := a.kept.Timestamp(ctx, size)
	if errors.Is(err, ledger.ErrNotKept) {
		return nil, fmt.Errorf("tree size %d: %w", size, ErrNoTimestamp)
	}
	return b, err
}

// stamper time-stamps every checkpoint the archive keeps (but the empty
// tree's) with the archive's RFC 3161 authority, and stores each token
// beside its checkpoint (ledger.Checkpoints.PutTimestamp), once. A
// checkpoint is asked for as soon as it is kept; while the authority
// fails, the checkpoints kept meanwhile are asked for again every retry
// interval. Nothing else is ever rewritten: bundles made afterwards carry
// the token.
type stamper struct {
	a        *Archive
	interval time.Duration

	mu       sync.Mutex
	queue    []stampJob
	attempts map[uint64]chan struct{} // closed when the attempt ends
	signal   chan struct{}
	// failedAt is when the TSA last failed (Unix nanoseconds); new
	// checkpoints are not asked for during tsaBackoff, the retry loop
	// asks again.
	failedAt atomic.Int64
	done     chan struct{}
}

type stampJob struct {
	size   uint64
	signed []byte
}

func newStamper(a *Archive, interval time.Duration) *stamper {
	if interval <= 0 {
		interval = defaultTSARetryInterval
	}
	return &stamper{a: a, interval: interval, attempts: map[uint64]chan struct{}{}, signal: make(chan struct{}, 1)}
}

// enqueue asks for the token of a newly kept checkpoint.
func (s *stamper) enqueue(size uint64, signed []byte) {
	if s.a.trust.tsa == nil || size == 0 {
		return
	}
	s.mu.Lock()
	if _, ok := s.attempts[size]; !ok {
		s.attempts[size] = make(chan struct{})
		s.queue = append(s.queue, stampJob{size, signed})
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// waitAttempt waits until the first attempt to time-stamp the checkpoint
// of tree size size has ended (with a token or not), within the TSA's
// timeout and ctx.
func (s *stamper) waitAttempt(ctx context.Context, size uint64) {
	s.mu.Lock()
	ch := s.attempts[size]
	s.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(s.a.trust.tsa.HTTPClient.Timeout + time.Second)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	case <-ctx.Done():
	}
}

// start runs the queue and the retry loop until ctx ends.
func (s *stamper) start(ctx context.Context) {
	if s.a.trust.tsa == nil {
		return
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		retry := time.NewTicker(s.interval)
		defer retry.Stop()
		s.retry(ctx)
		for {
			s.run(ctx)
			select {
			case <-ctx.Done():
				return
			case <-s.signal:
			case <-retry.C:
				s.retry(ctx)
			}
		}
	}()
}

func (s *stamper) wait() {
	if s.done != nil {
		<-s.done
	}
}

// drain runs what is queued, at Close.
func (s *stamper) drain(ctx context.Context) {
	if s.a.trust.tsa != nil {
		s.run(ctx)
	}
}

// run asks for every queued checkpoint's token, in order.
func (s *stamper) run(ctx context.Context) {
	for ctx.Err() == nil {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue = s.queue[1:]
		ch := s.attempts[j.size]
		s.mu.Unlock()
		err := errTSABackoff
		if time.Since(time.Unix(0, s.failedAt.Load())) > tsaBackoff {
			err = s.stamp(ctx, j.size, j.signed)
		}
		if err != nil {
			s.a.log.Warn("time-stamp pending", "tree_size", j.size, "tsa", s.a.trust.tsa.URL, "err", err)
		}
		s.mu.Lock()
		delete(s.attempts, j.size)
		s.mu.Unlock()
		close(ch)
	}
}

// retry asks again for the token of every kept checkpoint that has none,
// oldest first, until the authority fails.
func (s *stamper) retry(ctx context.Context) {
	cps, err := s.a.index.Checkpoints(ctx, true)
	if err != nil {
		s.a.log.Error("listing the checkpoints to time-stamp", "err", err)
		return
	}
	left := 0
	for i, c := range cps {
		if c.Size == 0 {
			continue
		}
		s.mu.Lock()
		_, queued := s.attempts[c.Size]
		s.mu.Unlock()
		if queued {
			continue
		}
		signed, err := s.a.kept.Get(ctx, c.Size)
		if err == nil {
			err = s.stamp(ctx, c.Size, signed)
		}
		if err != nil {
			left = len(cps) - i
			s.a.log.Warn("time-stamps still pending", "checkpoints", left, "err", err)
			break
		}
	}
	if left == 0 && len(cps) > 0 {
		s.a.log.Info("time-stamps obtained", "checkpoints", len(cps))
	}
}

// stamp gets, checks and stores the token of a kept checkpoint, unless it
// is stored already, and has the index note it.
func (s *stamper) stamp(ctx context.Context, size uint64, signed []byte) error {
	if _, err := s.a.kept.Timestamp(ctx, size); err != nil {
		body, err := verify.CheckpointBody(signed)
		if err != nil {
			return err
		}
		tsr, _, err := s.a.trust.tsa.Timestamp(ctx, body)
		if err != nil {
			var te *ledger.TSAError
			if errors.As(err, &te) {
				s.failedAt.Store(time.Now().UnixNano())
			}
			return err
		}
		if err := s.a.kept.PutTimestamp(ctx, size, tsr); err != nil {
			return err
		}
	}
	s.a.follow.addCheckpoint(index.Checkpoint{Size: size, Timestamped: true})
	return nil
}

// RetryTimestamps asks, now, for the token of every kept checkpoint that
// has none. It returns how many are still pending. The archive must be
// opened for writing.
func (a *Archive) RetryTimestamps(ctx context.Context) (int, error) {
	if a.writer == nil {
		return 0, ErrReadOnly
	}
	if a.trust.tsa == nil {
		return 0, nil
	}
	a.stamper.retry(ctx)
	// The follower notes the tokens in the index; count what is left
	// from the store itself.
	cps, err := a.index.Checkpoints(ctx, true)
	if err != nil {
		return 0, err
	}
	left := 0
	for _, c := range cps {
		if c.Size == 0 {
			continue
		}
		if _, err := a.kept.Timestamp(ctx, c.Size); err != nil {
			left++
		}
	}
	if left > 0 {
		return left, fmt.Errorf("%d checkpoints still lack a time-stamp", left)
	}
	return 0, nil
}
