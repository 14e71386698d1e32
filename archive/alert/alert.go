// Package alert tells subscribers what a tracking archive recorded: each
// new version of a tracked document, provision status and analysis that a
// subscription selects (by document, entity or provision type) is
// delivered to a webhook, signed as Standard Webhooks specifies
// (https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md:
// headers webhook-id, webhook-timestamp and webhook-signature, "v1," and
// the base64 HMAC-SHA256 of "id.timestamp.body" under the subscription's
// secret), retried with exponential back-off, or gathered into a daily or
// weekly e-mail digest sent over SMTP (RFC 5321; the message is RFC 5322
// with MIME parts, RFC 2045/2046). Every payload carries the record and its
// evidence bundle, which `exhibit verify` checks offline.
//
// An archive's alerts live under alerts/ in its directory:
// subscriptions.json (the subscriptions, written whole and durably),
// state.json (how far in the log each delivery has come, written durably
// after each record is delivered) and deliveries.jsonl (the delivery log,
// one JSON object a line, appended and fsynced before the state moves on)
// and lock (flock, held by the one run delivering: a second is ErrBusy).
// Delivery is at least once: a run that dies after a delivery and before
// the state moves on delivers that message again (same webhook-id).
// Alerts are derived from the log: the log holds the evidence; a lost
// alerts/ directory loses only who was told what.
package alert

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/exhibit-archive/exhibit/ledger/durable"
	"github.com/exhibit-archive/exhibit/verify"
)

// Dir is the alerts directory, in the archive's.
const Dir = "alerts"

// Digest periods of an e-mail subscription.
const (
	Daily  = "daily"
	Weekly = "weekly"
)

// Filter selects records; empty fields match anything. Type matches
// analyses of that provision type and the statuses of provisions whose
// current analysis has it.
type Filter struct {
	Document string `json:"document,omitempty"`
	Entity   string `json:"entity,omitempty"`
	Type     string `json:"type,omitempty"`
}

// Subscription is one subscriber: a webhook or an e-mail address.
type Subscription struct {
	// ID is "sub_" and 16 hex digits.
	ID string `json:"id"`
	// Webhook is the URL posted to (http or https), with Secret, the
	// Standard Webhooks signing secret: "whsec_" and base64 of 24 to 64
	// random bytes.
	Webhook string `json:"webhook,omitempty"`
	Secret  string `json:"secret,omitempty"`
	// Email is the address a digest goes to, every Digest period.
	Email  string `json:"email,omitempty"`
	Digest string `json:"digest,omitempty"`
	Filter
	Created string `json:"created"`
}

// ErrInput wraps the errors about a subscription that is refused.
var ErrInput = archive.ErrInput

// ErrNoSubscription is returned for an unknown subscription ID.
var ErrNoSubscription = errors.New("no such subscription")

// NewSecret returns a new Standard Webhooks secret: "whsec_" and the
// base64 of 24 random bytes.
func NewSecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes a secret.
func secretKey(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New(`a webhook secret starts with "whsec_"`)
	}
	k, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(k) < 24 || len(k) > 64 {
		return nil, errors.New("a webhook secret is whsec_ and the base64 of 24 to 64 bytes")
	}
	return k, nil
}

// check checks a subscription to add, with the vocabulary of types.
func (s *Subscription) check(tx *taxonomy.Taxonomy) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
	}
	switch {
	case (s.Webhook == "") == (s.Email == ""):
		return bad("a subscription has a webhook URL or an e-mail address (one of them)")
	case s.Webhook != "":
		u, err := url.Parse(s.Webhook)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("webhook %q is not an http(s) URL", s.Webhook)
		}
		if u.User != nil {
			return bad("webhook %q holds credentials: put them in the secret, not the URL", s.Webhook)
		}
		if s.Secret == "" {
			s.Secret = NewSecret()
		}
		if _, err := secretKey(s.Secret); err != nil {
			return bad("%v", err)
		}
		if s.Digest != "" {
			return bad("a digest period is for e-mail subscriptions")
		}
	default:
		a, err := mail.ParseAddress(s.Email)
		if err != nil || a.Name != "" || strings.ContainsAny(s.Email, "\r\n") {
			return bad("e-mail %q is not an address (name@example.org)", s.Email)
		}
		if s.Digest == "" {
			s.Digest = Daily
		}
		if s.Digest != Daily && s.Digest != Weekly {
			return bad("digest %q: want daily or weekly", s.Digest)
		}
		if s.Secret != "" {
			return bad("a secret is for webhooks")
		}
	}
	if s.Document != "" {
		if err := verify.CheckDocumentID(s.Document); err != nil {
			return bad("%v", err)
		}
	}
	if s.Type != "" {
		if _, ok := tx.Lookup(s.Type); !ok {
			return bad("unknown provision type %q (exhibit taxonomy lists the types)", s.Type)
		}
	}
	return archive.CheckText(map[string]string{"entity": s.Entity})
}

// period returns a digest's period.
func (s *Subscription) period() time.Duration {
	if s.Digest == Weekly {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// State is how far each delivery has come.
type State struct {
	// Webhooks are, by subscription ID, the log index of the first record
	// not yet delivered to that webhook: each webhook has its own place
	// in the log, so that one whose receiver is down or slow holds back
	// no other.
	Webhooks map[string]uint64 `json:"webhooks,omitempty"`
	// Next is where webhook subscriptions without an entry in Webhooks
	// stand: every webhook shared this one position in archives written
	// by exhibit before per-webhook positions.
	Next uint64 `json:"next"`
	// Digests are, by subscription ID, the log index of the first record
	// not yet in a digest, and when the last digest was sent.
	Digests map[string]*DigestState `json:"digests,omitempty"`
}

// DigestState is an e-mail subscription's progress.
type DigestState struct {
	Next     uint64 `json:"next"`
	LastSent string `json:"last_sent,omitempty"`
}

// Delivery is one attempt to deliver, in the delivery log.
type Delivery struct {
	At           string `json:"at"`
	Subscription string `json:"subscription"`
	// MessageID is the webhook-id (the same for every attempt of one
	// message) or the e-mail's Message-ID.
	MessageID string   `json:"message_id"`
	Records   []string `json:"records"`
	Attempt   int      `json:"attempt"`
	// Outcome is "delivered", "retry" (another attempt follows) or
	// "failed" (the last attempt failed).
	Outcome string `json:"outcome"`
	Status  int    `json:"status,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Store is an archive's alerts directory.
type Store struct {
	dir string
	mu  sync.Mutex // serializes writes of the delivery log and state
}

// Open returns the alerts store of the archive in archiveDir.
func Open(archiveDir string) *Store { return &Store{dir: filepath.Join(archiveDir, Dir)} }

func (st *Store) path(name string) string { return filepath.Join(st.dir, name) }

func (st *Store) readJSON(name string, v any) error {
	b, err := os.ReadFile(st.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", st.path(name), err)
	}
	return nil
}

func (st *Store) writeJSON(name string, v any) error {
	if err := durable.MkdirAll(st.dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(st.path(name), append(b, '\n'), 0o600)
}

// Subscriptions returns the subscriptions, in the order they were added.
func (st *Store) Subscriptions() ([]*Subscription, error) {
	var subs []*Subscription
	return subs, st.readJSON("subscriptions.json", &subs)
}

// Add checks and adds a subscription (its ID, its creation time and, for
// a webhook without one, a secret are set), durably. next is the log size
// now: the subscription is told of records from there on.
func (st *Store) Add(s *Subscription, tx *taxonomy.Taxonomy, next uint64) error {
	if err := s.check(tx); err != nil {
		return err
	}
	subs, err := st.Subscriptions()
	if err != nil {
		return err
	}
	id := make([]byte, 8)
	rand.Read(id)
	s.ID, s.Created = "sub_"+hex.EncodeToString(id), verify.FormatTime(time.Now())
	state, err := st.State()
	if err != nil {
		return err
	}
	if s.Email != "" {
		state.Digests[s.ID] = &DigestState{Next: next}
	} else {
		state.Webhooks[s.ID] = next
	}
	if err := st.writeJSON("subscriptions.json", append(subs, s)); err != nil {
		return err
	}
	return st.writeJSON("state.json", state)
}

// Remove removes a subscription, durably.
func (st *Store) Remove(id string) error {
	subs, err := st.Subscriptions()
	if err != nil {
		return err
	}
	for i, s := range subs {
		if s.ID == id {
			return st.writeJSON("subscriptions.json", append(subs[:i:i], subs[i+1:]...))
		}
	}
	return fmt.Errorf("%w: %s", ErrNoSubscription, id)
}

func webhooks(subs []*Subscription) []*Subscription {
	var out []*Subscription
	for _, s := range subs {
		if s.Webhook != "" {
			out = append(out, s)
		}
	}
	return out
}

// State returns the delivery state.
func (st *Store) State() (*State, error) {
	s := &State{}
	if err := st.readJSON("state.json", s); err != nil {
		return nil, err
	}
	if s.Digests == nil {
		s.Digests = map[string]*DigestState{}
	}
	if s.Webhooks == nil {
		s.Webhooks = map[string]uint64{}
	}
	return s, nil
}

// log appends deliveries to the delivery log, durably.
func (st *Store) log(ds ...Delivery) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if err := durable.MkdirAll(st.dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(st.path("deliveries.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	var b []byte
	for _, d := range ds {
		line, _ := json.Marshal(d)
		b = append(append(b, line...), '\n')
	}
	_, err = f.Write(b)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Deliveries returns the delivery log, oldest first (at most the last n
// when n > 0).
func (st *Store) Deliveries(n int) ([]Delivery, error) {
	f, err := os.Open(st.path("deliveries.jsonl"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Delivery
	sc := bufio.NewScanner(io.LimitReader(f, 256<<20))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d Delivery
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			return nil, fmt.Errorf("%s: %w", st.path("deliveries.jsonl"), err)
		}
		out = append(out, d)
		if n > 0 && len(out) > n {
			out = out[1:]
		}
	}
	return out, sc.Err()
}
