package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/cite"
	"github.com/exhibit-archive/exhibit/archive/index"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/ledger/durable"
	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/sync/errgroup"
)

// Options configure a Notifier.
type Options struct {
	// Client posts to webhooks; default: a client with a 10 s timeout
	// that follows no redirect.
	Client *http.Client
	// Attempts is how many times a webhook message is tried; default 5.
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one; default 5 s.
	Backoff time.Duration
	// SMTP is the host:port of the mail server digests go through (no
	// authentication; STARTTLS when the server offers it); From the
	// sender's address. Without SMTP, no digest is sent.
	SMTP, From string
	// ForceDigest sends due and not-yet-due digests now.
	ForceDigest bool
	// Logger gets a line per delivery; default: none.
	Logger *slog.Logger
}

// MaxDigestRecords is the most records one digest lists; the rest go in
// the next.
const MaxDigestRecords = 100

// Notifier delivers an archive's alerts.
type Notifier struct {
	a  *archive.Archive
	tr *track.Tracker
	st *Store
	o  Options
}

// New returns the notifier of archive a (opened for reading at least).
func New(a *archive.Archive, o Options) *Notifier {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{a: a, tr: track.New(a), st: Open(a.Dir()), o: o}
}

// Report is what a run delivered.
type Report struct {
	// Records is the number of new records looked at; Messages the
	// webhook messages delivered, Failed those that failed every
	// attempt; Digests the e-mails sent.
	Records  int `json:"records"`
	Messages int `json:"messages"`
	Failed   int `json:"failed"`
	Digests  int `json:"digests"`
}

// Payload is a webhook message's body: Standard Webhooks' type, timestamp
// and data.
type Payload struct {
	// Type is "exhibit.version", "exhibit.provision-status" or
	// "exhibit.analysis".
	Type string `json:"type"`
	// Timestamp is the record's time (record.At).
	Timestamp string      `json:"timestamp"`
	Data      PayloadData `json:"data"`
}

// PayloadData is a record and its evidence bundle.
type PayloadData struct {
	Record   *record.Record `json:"record"`
	Entity   string         `json:"entity"`
	Document string         `json:"document"`
	// Summary says what the record attests, for people.
	Summary string `json:"summary"`
	// Page is the path of the record's page on exhibit serve.
	Page string `json:"page"`
	// Bundle is the record's evidence bundle (docs/FORMATS.md 6.1),
	// against the checkpoint it was first published with: save it and
	// run exhibit verify on it.
	Bundle json.RawMessage `json:"bundle"`
}

// event is a record to tell about, with what subscriptions match on.
type event struct {
	rec    *record.Record
	entity string
	title  string
	typ    string // provision type, for analyses and statuses
}

// kinds are the kinds of record alerts tell about.
var kinds = []string{record.Version, record.ProvisionStatus, record.Analysis}

func (f *Filter) matches(e *event) bool {
	return (f.Document == "" || f.Document == e.rec.DocumentID) &&
		(f.Entity == "" || f.Entity == e.entity) &&
		(f.Type == "" || f.Type == e.typ)
}

// events returns the records from log index from on that alerts tell
// about, in log order.
func (n *Notifier) events(ctx context.Context, from uint64) ([]*event, error) {
	recs, err := n.a.Index().Tracking(ctx, index.TrackingQuery{Kinds: kinds})
	if err != nil {
		return nil, err
	}
	docs := map[string]*track.Document{}
	types := map[string]string{} // provision -> current analysis type
	var out []*event
	for _, r := range recs {
		if r.Index < from {
			continue
		}
		d, ok := docs[r.DocumentID]
		if !ok {
			if d, err = n.tr.Document(ctx, r.DocumentID); err != nil {
				return nil, err
			}
			docs[r.DocumentID] = d
		}
		e := &event{rec: r, entity: d.Entity, title: d.Document}
		switch {
		case r.Statement.Analysis != nil:
			e.typ = r.Statement.Analysis.Predicate.Type.ID
		case r.Statement.ProvisionStatus != nil:
			p := r.Statement.ProvisionStatus.Predicate.Provision
			t, ok := types[p]
			if !ok {
				h, err := n.tr.Analyses(ctx, p)
				if err != nil {
					return nil, err
				}
				if len(h) > 0 {
					t = h[len(h)-1].Type.ID
				}
				types[p] = t
			}
			e.typ = t
		}
		out = append(out, e)
	}
	return out, nil
}

// payload returns the webhook body of an event.
func (n *Notifier) payload(ctx context.Context, e *event) ([]byte, []byte, error) {
	_, b, err := n.a.Prove(ctx, e.rec.ID, archive.ProveOptions{})
	if err != nil {
		return nil, nil, err
	}
	bundle := b.Marshal()
	p := Payload{Type: "exhibit." + e.rec.Kind, Timestamp: e.rec.At, Data: PayloadData{Record: e.rec, Entity: e.entity, Document: e.title,
		Summary: cite.Describe(e.rec.Statement), Page: "/records/" + e.rec.ID, Bundle: bundle}}
	body, err := json.Marshal(p)
	return body, bundle, err
}

// Run delivers what was logged since the last run: to each webhook, in
// log order, each new record its filter matches (its position in the log
// moves on after each record, durably, once the record's delivery is
// logged), all webhooks at once, so that a receiver that is down or slow
// (each attempt bounded by the client's timeout, retried with back-off)
// holds back only its own messages; then the digests that are due. A
// webhook message that fails every attempt is logged as failed and not
// tried again.
func (n *Notifier) Run(ctx context.Context) (*Report, error) {
	unlock, err := n.st.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	subs, err := n.st.Subscriptions()
	if err != nil {
		return nil, err
	}
	state, err := n.st.State()
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	if hooks := webhooks(subs); len(hooks) > 0 {
		if err := n.deliverWebhooks(ctx, hooks, state, rep); err != nil {
			return rep, err
		}
	}
	if n.o.SMTP != "" {
		for _, s := range subs {
			if s.Email == "" {
				continue
			}
			sent, err := n.digest(ctx, s, state)
			if err != nil {
				return rep, err
			}
			if sent {
				rep.Digests++
			}
		}
	}
	return rep, nil
}

// deliverWebhooks delivers the new records to every webhook, each
// webhook in its own goroutine, from its own position in the log.
func (n *Notifier) deliverWebhooks(ctx context.Context, hooks []*Subscription, state *State, rep *Report) error {
	from := uint64(math.MaxUint64)
	for _, s := range hooks {
		if _, ok := state.Webhooks[s.ID]; !ok {
			state.Webhooks[s.ID] = state.Next
		}
		from = min(from, state.Webhooks[s.ID])
	}
	evs, err := n.events(ctx, from)
	if err != nil {
		return err
	}
	// A record's body is made once, by the first webhook that needs it.
	bodies := make([]func() ([]byte, error), len(evs))
	for i, e := range evs {
		bodies[i] = sync.OnceValues(func() ([]byte, error) {
			body, _, err := n.payload(ctx, e)
			return body, err
		})
	}
	seen := map[uint64]bool{}
	var mu sync.Mutex // guards rep, seen and state
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range hooks {
		g.Go(func() error {
			for i, e := range evs {
				mu.Lock()
				next := state.Webhooks[s.ID]
				mu.Unlock()
				if e.rec.Index < next {
					continue
				}
				var ok, matched bool
				if matched = s.matches(e); matched {
					body, err := bodies[i]()
					if err != nil {
						return err
					}
					if ok, err = n.post(ctx, s, e.rec.ID, body); err != nil {
						return err
					}
				}
				mu.Lock()
				if !seen[e.rec.Index] {
					seen[e.rec.Index] = true
					rep.Records++
				}
				switch {
				case !matched:
				case ok:
					rep.Messages++
				default:
					rep.Failed++
				}
				state.Webhooks[s.ID] = e.rec.Index + 1
				err := n.st.writeJSON("state.json", state)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// Sign returns the Standard Webhooks signature header value of a message:
// "v1," and the base64 HMAC-SHA256, under the secret's key, of
// "id.timestamp.body".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	k, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, k)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// post delivers one message to a webhook, with retries; it reports
// whether it was delivered. Errors are those of the delivery log.
func (n *Notifier) post(ctx context.Context, s *Subscription, recordID string, body []byte) (bool, error) {
	msgID := "msg_" + strings.ReplaceAll(recordID, "-", "") + "_" + strings.TrimPrefix(s.ID, "sub_")
	wait := n.o.Backoff
	for attempt := 1; ; attempt++ {
		d := Delivery{Subscription: s.ID, MessageID: msgID, Records: []string{recordID}, Attempt: attempt}
		status, err := n.postOnce(ctx, s, msgID, body)
		d.At, d.Status = verify.FormatTime(time.Now()), status
		switch {
		case err == nil:
			d.Outcome = "delivered"
		case attempt < n.o.Attempts:
			d.Outcome, d.Error = "retry", err.Error()
		default:
			d.Outcome, d.Error = "failed", err.Error()
		}
		if lerr := n.st.log(d); lerr != nil {
			return false, lerr
		}
		n.o.Logger.LogAttrs(ctx, slog.LevelInfo, "webhook", slog.String("subscription", s.ID), slog.String("record", recordID),
			slog.Int("attempt", attempt), slog.String("outcome", d.Outcome), slog.Int("status", status))
		if d.Outcome != "retry" {
			return d.Outcome == "delivered", nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false, ctx.Err()
		}
		wait *= 2
	}
}

func (n *Notifier) postOnce(ctx context.Context, s *Subscription, msgID string, body []byte) (int, error) {
	ts := time.Now().Unix()
	sig, err := Sign(s.Secret, msgID, ts, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Webhook, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "exhibit/"+archive.Version)
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := n.o.Client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// ErrBusy is returned by Run while another run delivers the same
// archive's alerts.
var ErrBusy = errors.New("another exhibit alerts run is delivering this archive's alerts")

// lock takes alerts/lock (flock), so that two runs never deliver the same
// record twice.
func (st *Store) lock() (func(), error) {
	if err := durable.MkdirAll(st.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(st.path("lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, ErrBusy
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// digest sends a subscription's digest when it is due and has records.
func (n *Notifier) digest(ctx context.Context, s *Subscription, state *State) (bool, error) {
	ds := state.Digests[s.ID]
	if ds == nil {
		ds = &DigestState{}
		state.Digests[s.ID] = ds
	}
	now := time.Now()
	if last, err := verify.ParseTime(ds.LastSent); err == nil && !n.o.ForceDigest && now.Before(last.Add(s.period())) {
		return false, nil
	}
	evs, err := n.events(ctx, ds.Next)
	if err != nil {
		return false, err
	}
	var sel []*event
	next := ds.Next
	for _, e := range evs {
		if len(sel) == MaxDigestRecords {
			break
		}
		next = e.rec.Index + 1
		if s.matches(e) {
			sel = append(sel, e)
		}
	}
	if len(sel) == 0 {
		if next != ds.Next {
			ds.Next = next
			return false, n.st.writeJSON("state.json", state)
		}
		return false, nil
	}
	msgID := fmt.Sprintf("<digest.%s.%d@exhibit>", strings.TrimPrefix(s.ID, "sub_"), ds.Next)
	msg, err := n.digestMessage(ctx, s, msgID, sel, now)
	if err != nil {
		return false, err
	}
	d := Delivery{At: verify.FormatTime(now), Subscription: s.ID, MessageID: msgID, Attempt: 1, Outcome: "delivered"}
	for _, e := range sel {
		d.Records = append(d.Records, e.rec.ID)
	}
	if err := smtp.SendMail(n.o.SMTP, nil, n.o.From, []string{s.Email}, msg); err != nil {
		d.Outcome, d.Error = "failed", err.Error()
		if lerr := n.st.log(d); lerr != nil {
			return false, lerr
		}
		return false, fmt.Errorf("sending the digest of %s to %s: %w", s.ID, s.Email, err)
	}
	if err := n.st.log(d); err != nil {
		return false, err
	}
	ds.Next, ds.LastSent = next, verify.FormatTime(now)
	return true, n.st.writeJSON("state.json", state)
}

// digestMessage builds a digest: a text part listing the records, and
// each record's bundle attached.
func (n *Notifier) digestMessage(ctx context.Context, s *Subscription, msgID string, evs []*event, now time.Time) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	var text strings.Builder
	fmt.Fprintf(&text, "exhibit recorded %d new record(s) for your %s subscription %s.\n", len(evs), s.Digest, s.ID)
	fmt.Fprintf(&text, "Each record's evidence bundle is attached; check one offline with:\n  exhibit verify --key '%s' EXR-….bundle.json\n\n", n.a.Key().VKey)
	type att struct {
		name string
		b    []byte
	}
	var atts []att
	for _, e := range evs {
		_, b, err := n.a.Prove(ctx, e.rec.ID, archive.ProveOptions{})
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&text, "* %s, %s: %s\n  record %s (%s), page /records/%s\n\n", e.entity, e.title, cite.Describe(e.rec.Statement), e.rec.ID, e.rec.At, e.rec.ID)
		atts = append(atts, att{e.rec.ID + ".bundle.json", b.Marshal()})
	}
	pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Transfer-Encoding": {"base64"}})
	if err != nil {
		return nil, err
	}
	writeBase64(pw, []byte(text.String()))
	for _, a := range atts {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {verify.BundleMediaType + `; name="` + a.name + `"`},
			"Content-Disposition":       {`attachment; filename="` + a.name + `"`},
			"Content-Transfer-Encoding": {"base64"},
		})
		if err != nil {
			return nil, err
		}
		writeBase64(pw, a.b)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	var msg bytes.Buffer
	subject := fmt.Sprintf("exhibit %s digest: %d new record(s)", s.Digest, len(evs))
	for _, h := range [][2]string{
		{"From", n.o.From}, {"To", s.Email}, {"Subject", mime.QEncoding.Encode("utf-8", subject)},
		{"Date", now.Format(time.RFC1123Z)}, {"Message-ID", msgID}, {"MIME-Version", "1.0"},
		{"Content-Type", `multipart/mixed; boundary="` + mw.Boundary() + `"`},
	} {
		fmt.Fprintf(&msg, "%s: %s\r\n", h[0], h[1])
	}
	msg.WriteString("\r\n")
	msg.Write(body.Bytes())
	return msg.Bytes(), nil
}

// writeBase64 writes b in base64, in lines of 76 characters (RFC 2045).
func writeBase64(w io.Writer, b []byte) {
	s := base64.StdEncoding.EncodeToString(b)
	for len(s) > 76 {
		io.WriteString(w, s[:76]+"\r\n")
		s = s[76:]
	}
	io.WriteString(w, s+"\r\n")
}
