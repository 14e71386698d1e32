package archive

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/verify"
)

// This file is the archive's side of witnessing (C2SP tlog-witness, with
// the policy of C2SP tlog-policy) and trusted time (RFC 3161): see
// docs/FORMATS.md, sections 5.5 and 5.6.

const (
	witnessPolicyFile = "witness-policy.txt"
	tsaRootsFile      = "tsa-roots.pem"
	// timestampsDir, under the log directory, holds <tree size>.tsr: the
	// DER TimeStampResp over the body of the checkpoint of that size, and
	// <tree size>.pending for a checkpoint whose token is still to fetch.
	timestampsDir = "timestamps"
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

	stamping keyedMutex // by tree size
	// failedAt is when the TSA last failed (Unix nanoseconds); captures do
	// not ask it again for tsaBackoff, the retry loop does.
	failedAt  atomic.Int64
	pendingMu sync.Mutex
	stop      context.CancelFunc
	done      chan struct{}
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

// finishLater, for a wait that ended with a *NoQuorumError, names the
// entry's record in the error and completes it in the background: f waits
// without the witness bound for the checkpoint that publishes the entry
// (once the witnesses cosign), then writes its bundle and indexes it, so
// that a long-running writer (exhibit serve) serves it. Close stops the
// wait; the next writer to open the archive indexes what was left.
func (a *Archive) finishLater(err error, entry []byte, f func(context.Context) error) {
	var nq *NoQuorumError
	if !errors.As(err, &nq) {
		return
	}
	if nq.RecordID == "" {
		nq.RecordID = verify.RecordID(entry)
	}
	a.late.Add(1)
	go func() {
		defer a.late.Done()
		if err := f(a.lateCtx); err != nil && a.lateCtx.Err() == nil {
			a.log.Error("publishing a record after its witnesses came back", "record", verify.RecordID(entry), "err", err)
		}
	}()
}

// wait is writer.Wait, bounded by the witness wait when witnessing fails
// closed, so that a missing quorum is a clear error rather than a long
// wait.
func (a *Archive) wait(ctx context.Context, p *ledger.Pending) (uint64, []byte, error) {
	if a.trust.policy == nil || a.trust.failOpen {
		return a.waitKept(ctx, p)
	}
	wctx, cancel := context.WithTimeout(ctx, a.trust.witnessWait)
	defer cancel()
	idx, cp, err := a.waitKept(wctx, p)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return 0, nil, &NoQuorumError{Quorum: a.trust.policy.Quorum, Waited: a.trust.witnessWait, Witnesses: probeWitnesses(ctx, a.trust.policy)}
	}
	return idx, cp, err
}

// waitKept is writer.Wait, returning the signed checkpoint the entry was
// first published with.
func (a *Archive) waitKept(ctx context.Context, p *ledger.Pending) (uint64, []byte, error) {
	idx, pub, err := a.writer.Wait(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	if pub.Signed == nil {
		if pub.Signed, err = a.kept.Get(ctx, pub.Size); err != nil {
			return 0, nil, err
		}
	}
	return idx, pub.Signed, nil
}

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

// WitnessFailOpen reports whether the archive publishes checkpoints without
// its witnesses' quorum when they cannot give it (init --witness-fail-open).
func (a *Archive) WitnessFailOpen() bool { return a.trust.failOpen }

// TSARoots returns the PEM of the archive's TSA roots, or nil when it has
// no TSA.
func (a *Archive) TSARoots() []byte { return a.trust.tsaRoots }

// ErrNoTimestamp is returned by Timestamp for a tree size without a token.
var ErrNoTimestamp = errors.New("no time-stamp token for that checkpoint")

// Timestamp returns the stored RFC 3161 token (a DER TimeStampResp) of the
// checkpoint of the given tree size, or an error wrapping ErrNoTimestamp.
// The token is the archive's own file, checked when it was fetched; a
// verifier checks it again against the checkpoint.
func (a *Archive) Timestamp(size uint64) ([]byte, error) {
	b, err := os.ReadFile(a.tsrPath(size))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tree size %d: %w", size, ErrNoTimestamp)
	}
	return b, err
}

func (a *Archive) tsrPath(size uint64) string {
	return filepath.Join(a.dir, logDir, timestampsDir, strconv.FormatUint(size, 10)+".tsr")
}

func (a *Archive) pendingPath(size uint64) string {
	return filepath.Join(a.dir, logDir, timestampsDir, strconv.FormatUint(size, 10)+".pending")
}

// timestamp returns the token of the signed checkpoint signedCP of tree
// size size: the stored one if it verifies over this checkpoint, else a new
// one from the TSA, stored (atomically, fsynced) before it is returned.
func (a *Archive) timestamp(ctx context.Context, size uint64, signedCP []byte) ([]byte, error) {
	defer a.trust.stamping.lock(strconv.FormatUint(size, 10))()
	body, err := verify.CheckpointBody(signedCP)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(a.tsrPath(size)); err == nil {
		if _, err := verify.CheckTimestamp(b, body, a.trust.tsa.Trust); err != nil {
			return nil, fmt.Errorf("stored time-stamp %s: %w", a.tsrPath(size), err)
		}
		return b, nil
	}
	tsr, _, err := a.trust.tsa.Timestamp(ctx, body)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(a.tsrPath(size)), 0o755); err != nil {
		return nil, err
	}
	if err := WriteFileAtomic(a.tsrPath(size), tsr, 0o644); err != nil {
		return nil, fmt.Errorf("storing time-stamp: %w", err)
	}
	return tsr, nil
}

// stamp completes a bundle with what the archive adds beside the proof:
// the witnessing mode and the checkpoint's time-stamp token. When the TSA
// cannot be reached the bundle says the token is pending; if recordID is
// set, the record's bundle file is then rewritten once the token arrives.
// stamp never fails: a TSA outage must not lose a record.
func (a *Archive) stamp(ctx context.Context, b *verify.Bundle, size uint64, recordID string) {
	if a.trust.policy != nil && a.trust.failOpen {
		b.Witnessing = verify.WitnessingFailOpen
	}
	if a.trust.tsa == nil {
		return
	}
	var tsr []byte
	err := errTSABackoff
	if time.Since(time.Unix(0, a.trust.failedAt.Load())) > tsaBackoff {
		tsr, err = a.timestamp(ctx, size, []byte(b.Checkpoint))
	} else if b, ferr := os.ReadFile(a.tsrPath(size)); ferr == nil {
		tsr, err = b, nil // fetched meanwhile by the retry loop
	}
	if err == nil {
		b.Timestamp, b.TimestampStatus = tsr, ""
		return
	}
	var te *ledger.TSAError
	if errors.As(err, &te) {
		a.trust.failedAt.Store(time.Now().UnixNano())
	}
	a.log.Warn("time-stamp pending", "tree_size", size, "tsa", a.trust.tsa.URL, "err", err)
	b.Timestamp, b.TimestampStatus = nil, verify.TimestampPending
	if recordID != "" && a.writer != nil {
		if err := a.addPending(size, b.Checkpoint, recordID); err != nil {
			a.log.Error("recording a pending time-stamp", "tree_size", size, "err", err)
		}
	}
}

// pendingStamp is a <tree size>.pending file: a checkpoint still to
// time-stamp and the records whose bundle files carry it.
type pendingStamp struct {
	Checkpoint string   `json:"checkpoint"`
	Records    []string `json:"records"`
}

func (a *Archive) addPending(size uint64, signedCP, recordID string) error {
	a.trust.pendingMu.Lock()
	defer a.trust.pendingMu.Unlock()
	p := a.pendingPath(size)
	var ps pendingStamp
	if b, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(b, &ps); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	if ps.Checkpoint != "" && ps.Checkpoint != signedCP {
		// Another signed form of the same body (other cosignatures): the
		// token covers both; keep the first.
		signedCP = ps.Checkpoint
	}
	ps.Checkpoint = signedCP
	for _, r := range ps.Records {
		if r == recordID {
			return nil
		}
	}
	ps.Records = append(ps.Records, recordID)
	b, _ := json.Marshal(ps)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return WriteFileAtomic(p, b, 0o644)
}

// RetryTimestamps fetches the tokens still pending and rewrites the bundle
// files that wait for them. It returns how many checkpoints are still
// pending. The archive must be opened for writing.
func (a *Archive) RetryTimestamps(ctx context.Context) (int, error) {
	if a.trust.tsa == nil {
		return 0, nil
	}
	ents, err := os.ReadDir(filepath.Join(a.dir, logDir, timestampsDir))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	left := 0
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".pending")
		if !ok {
			continue
		}
		size, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		if err := a.retryTimestamp(ctx, size); err != nil {
			left++
			errs = append(errs, err)
		}
	}
	return left, errors.Join(errs...)
}

func (a *Archive) retryTimestamp(ctx context.Context, size uint64) error {
	ps, err := a.readPending(size)
	if err != nil {
		return err
	}
	// Fetch without holding pendingMu, so that captures are not held up.
	tsr, err := a.timestamp(ctx, size, []byte(ps.Checkpoint))
	if err != nil {
		return err
	}
	a.trust.pendingMu.Lock()
	defer a.trust.pendingMu.Unlock()
	if ps, err = a.readPending(size); err != nil { // records may have been added
		return err
	}
	for _, id := range ps.Records {
		bp := a.bundlePath(id)
		raw, err := os.ReadFile(bp)
		if err != nil {
			continue // rewritten by reindex when missing
		}
		bun, err := verify.ParseBundle(raw)
		if err != nil || bun.Timestamp != nil || bun.TimestampStatus != verify.TimestampPending {
			continue
		}
		if cp, err := a.openCheckpoint([]byte(bun.Checkpoint)); err != nil || cp.Size != size {
			continue
		}
		bun.Timestamp, bun.TimestampStatus = tsr, ""
		if err := writeBundle(bp, bun); err != nil {
			return fmt.Errorf("rewriting bundle %s: %w", id, err)
		}
	}
	a.log.Info("time-stamp obtained", "tree_size", size, "records", len(ps.Records))
	return os.Remove(a.pendingPath(size))
}

func (a *Archive) readPending(size uint64) (*pendingStamp, error) {
	p := a.pendingPath(size)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var ps pendingStamp
	if err := json.Unmarshal(b, &ps); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &ps, nil
}

// startRetry runs RetryTimestamps now and then every interval until
// stopRetry.
func (a *Archive) startRetry(interval time.Duration) {
	if a.trust.tsa == nil {
		return
	}
	if interval <= 0 {
		interval = defaultTSARetryInterval
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.trust.stop, a.trust.done = cancel, make(chan struct{})
	go func() {
		defer close(a.trust.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if n, err := a.RetryTimestamps(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("time-stamps still pending", "checkpoints", n, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (a *Archive) stopRetry() {
	if a.trust != nil && a.trust.stop != nil {
		a.trust.stop()
		<-a.trust.done
		a.trust.stop = nil
	}
}
