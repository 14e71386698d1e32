package alert_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/alert"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/taxonomy"
	"github.com/exhibit-archive/exhibit/archive/track"
	"github.com/exhibit-archive/exhibit/verify"
)

// receiver is a webhook endpoint that checks each message as the Standard
// Webhooks specification says a consumer must (written from the
// specification, not with exhibit's signer), and fails the first n
// attempts.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	fail   int
	got    []alert.Payload
	ids    []string
	bad    []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts, sigs := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(rc.secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	sec, err := strconv.ParseInt(ts, 10, 64)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ok := false
	for _, s := range strings.Fields(sigs) {
		ok = ok || hmac.Equal([]byte(s), []byte(want))
	}
	if !ok || err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute || id == "" {
		rc.bad = append(rc.bad, id)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	var p alert.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.bad = append(rc.bad, id)
		http.Error(w, err.Error(), 400)
		return
	}
	rc.got = append(rc.got, p)
	rc.ids = append(rc.ids, id)
	w.WriteHeader(http.StatusNoContent)
}

// checkBundle verifies a bundle as exhibit verify does, and returns the
// record it proves.
func checkBundle(t *testing.T, a *archive.Archive, b []byte) string {
	t.Helper()
	rep := verify.Check(b, a.Key(), verify.Options{})
	if !rep.Verified {
		f := rep.Failed()
		t.Fatalf("a delivered bundle does not verify: %s: %s", f.Name, f.Detail)
	}
	return rep.RecordID
}

// TestAlerts subscribes a webhook (all records), a webhook filtered by
// provision type and an e-mail digest to a tracked document, changes the
// document, and checks what each receives: signed Standard Webhooks
// messages, retried after a failure, each carrying a bundle that
// verifies; a digest in mailpit with every bundle attached; the delivery
// log; and nothing sent twice.
func TestAlerts(t *testing.T) {
	ctx := archivetest.Context(t, 3*time.Minute)
	mp := startMailpit(t)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	var mu sync.Mutex
	page := "<p>We do not sell your personal data.</p><p>Disputes go to arbitration.</p>"
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><main>"+page+"</main></body></html>")
	}))
	defer web.Close()
	d, err := tr.Declare(ctx, track.Declaration{Entity: "Acme", Document: "Privacy", URL: web.URL})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prov, _, err := tr.Quote(ctx, res.Version.ID, track.QuoteOptions{Exact: "We do not sell your personal data."})
	if err != nil {
		t.Fatal(err)
	}

	st := alert.Open(a.Dir())
	tx := taxonomy.Default()
	size, _ := a.Index().Count(ctx)
	all := &receiver{t: t, fail: 1}
	typed := &receiver{t: t}
	hookAll, hookTyped := httptest.NewServer(all), httptest.NewServer(typed)
	defer hookAll.Close()
	defer hookTyped.Close()
	sAll := &alert.Subscription{Webhook: hookAll.URL, Filter: alert.Filter{Document: d.DocumentID}}
	sTyped := &alert.Subscription{Webhook: hookTyped.URL, Filter: alert.Filter{Type: "data-sale"}}
	sMail := &alert.Subscription{Email: "legal@example.org", Filter: alert.Filter{Entity: "Acme"}}
	for _, s := range []*alert.Subscription{sAll, sTyped, sMail} {
		if err := st.Add(s, tx, size); err != nil {
			t.Fatal(err)
		}
	}
	all.secret, typed.secret = sAll.Secret, sTyped.Secret
	for name, bad := range map[string]*alert.Subscription{
		"both":         {Webhook: hookAll.URL, Email: "a@example.org"},
		"neither":      {},
		"bad URL":      {Webhook: "ftp://example.org/"},
		"credentials":  {Webhook: "https://u:p@example.org/"},
		"bad secret":   {Webhook: hookAll.URL, Secret: "whsec_c2hvcnQ="},
		"bad address":  {Email: "Legal <legal@example.org>"},
		"bad digest":   {Email: "legal@example.org", Digest: "hourly"},
		"unknown type": {Webhook: hookAll.URL, Filter: alert.Filter{Type: "sale-of-data"}},
		"bad document": {Webhook: hookAll.URL, Filter: alert.Filter{Document: "Acme Privacy"}},
	} {
		if err := st.Add(bad, tx, size); !errors.Is(err, archive.ErrInput) {
			t.Errorf("%s: %v, want ErrInput", name, err)
		}
	}
	if subs, _ := st.Subscriptions(); len(subs) != 3 {
		t.Fatalf("%d subscriptions", len(subs))
	}

	// What happens after the subscriptions: an analysis, then a change.
	an, err := tr.Analyze(ctx, prov.ID, track.AnalysisOptions{Type: "data-sale", Severity: "low", Confidence: "high", Basis: "explicit", Author: "A"})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	page = "<p>We may sell your personal data.</p><p>Disputes go to arbitration.</p>"
	mu.Unlock()
	res, err = tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{})
	if err != nil || res.Result != "change" || len(res.Statuses) != 1 {
		t.Fatalf("change: %v %+v", err, res)
	}

	n := alert.New(a, alert.Options{Backoff: 10 * time.Millisecond, SMTP: mp.smtp, From: "exhibit@example.org"})
	rep, err := n.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// all: the analysis, the version, the status; typed: the analysis and
	// the status of the provision analysed as data-sale.
	if rep.Records != 3 || rep.Messages != 5 || rep.Failed != 0 || rep.Digests != 1 {
		t.Errorf("report %+v", rep)
	}
	want := map[string]string{an.ID: "exhibit.analysis", res.Version.ID: "exhibit.version", res.Statuses[0].ID: "exhibit.provision-status"}
	for name, rc := range map[string]*receiver{"all": all, "typed": typed} {
		if len(rc.bad) > 0 {
			t.Errorf("%s: badly signed messages %v", name, rc.bad)
		}
		for _, p := range rc.got {
			id := checkBundle(t, a, p.Data.Bundle)
			if id != p.Data.Record.ID || want[id] != p.Type || p.Data.Entity != "Acme" || p.Data.Summary == "" {
				t.Errorf("%s: payload %s %s for %s", name, p.Type, p.Data.Record.ID, id)
			}
		}
	}
	if len(all.got) != 3 || len(typed.got) != 2 || typed.got[0].Type != "exhibit.analysis" || typed.got[1].Type != "exhibit.provision-status" {
		t.Errorf("all got %d, typed got %d messages", len(all.got), len(typed.got))
	}
	log, err := st.Deliveries(0)
	if err != nil {
		t.Fatal(err)
	}
	// The failed first attempt and its retry keep the message's ID.
	// (Webhooks are delivered at once, so their lines interleave.)
	var logAll []alert.Delivery
	for _, d := range log {
		if d.Subscription == sAll.ID {
			logAll = append(logAll, d)
		}
	}
	if len(log) != 7 || len(logAll) != 4 || logAll[0].Outcome != "retry" || logAll[0].Status != 503 || logAll[1].Outcome != "delivered" || logAll[1].Attempt != 2 || logAll[0].MessageID != logAll[1].MessageID || logAll[0].MessageID != all.ids[0] {
		t.Errorf("delivery log: %+v", log)
	}

	// The digest, in mailpit, with every bundle attached.
	msgs := mp.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages in mailpit", len(msgs))
	}
	m := msgs[0]
	if m.To[0].Address != "legal@example.org" || !strings.Contains(m.Subject, "daily digest: 3 new record(s)") || !strings.Contains(m.Text, res.Version.ID) || len(m.Attachments) != 3 {
		t.Fatalf("digest: %+v", m)
	}
	for _, att := range m.Attachments {
		if id := checkBundle(t, a, mp.part(t, m.ID, att.PartID)); att.FileName != id+".bundle.json" || want[id] == "" {
			t.Errorf("attachment %s proves %s", att.FileName, id)
		}
	}

	// Nothing is sent twice; a digest waits for its period.
	rep, err = n.Run(ctx)
	if err != nil || rep.Messages != 0 || rep.Digests != 0 || rep.Records != 0 {
		t.Errorf("second run: %+v %v", rep, err)
	}
	// A webhook that never answers well: tried Attempts times, then failed.
	all.mu.Lock()
	all.fail = 100
	all.mu.Unlock()
	if _, err := tr.Reextract(ctx, d.DocumentID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	page = "<p>We may sell your data.</p>"
	mu.Unlock()
	if _, err := tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{}); err != nil {
		t.Fatal(err)
	}
	n = alert.New(a, alert.Options{Backoff: time.Millisecond, Attempts: 3, SMTP: mp.smtp, From: "exhibit@example.org", ForceDigest: true})
	rep, err = n.Run(ctx)
	if err != nil || rep.Failed == 0 || rep.Digests != 1 {
		t.Errorf("run with a failing webhook: %+v %v", rep, err)
	}
	log, _ = st.Deliveries(0)
	failed := 0
	for _, d := range log {
		if d.Subscription == sAll.ID && d.Outcome == "failed" {
			failed++
			if d.Attempt != 3 || d.Status != 503 {
				t.Errorf("failed delivery %+v, want 3 attempts ending in HTTP 503", d)
			}
		}
	}
	if failed != rep.Failed {
		t.Errorf("%d failed deliveries logged, the run reports %d", failed, rep.Failed)
	}
	if last := log[len(log)-1]; last.Subscription != sMail.ID || last.Outcome != "delivered" {
		t.Errorf("last delivery %+v, want the forced digest", last)
	}

	// One run at a time.
	f, err := os.OpenFile(filepath.Join(a.Dir(), alert.Dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Run(ctx); !errors.Is(err, alert.ErrBusy) {
		t.Errorf("a second run: %v, want ErrBusy", err)
	}
}

// TestWebhookStalled: a webhook whose receiver does not answer holds back
// no other webhook. The stalled receiver answers only once the other has
// had every message, or after a minute; a notifier that delivered one
// webhook after the other would see it fail then.
func TestWebhookStalled(t *testing.T) {
	ctx := archivetest.Context(t, 3*time.Minute)
	a := archivetest.New(t, archive.InitOptions{})
	tr := track.New(a)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body><main><p>We do not sell your personal data.</p></main></body></html>")
	}))
	defer web.Close()
	st := alert.Open(a.Dir())
	size, _ := a.Index().Count(ctx)
	good := &receiver{t: t}
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	released := make(chan struct{})
	var once sync.Once
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-released:
			w.WriteHeader(http.StatusNoContent)
		case <-time.After(time.Minute):
			http.Error(w, "stalled", http.StatusServiceUnavailable)
		}
	}))
	defer stalled.Close()
	// The stalled webhook first, as a notifier taking them in turn would.
	sStalled := &alert.Subscription{Webhook: stalled.URL}
	sGood := &alert.Subscription{Webhook: goodSrv.URL}
	for _, s := range []*alert.Subscription{sStalled, sGood} {
		if err := st.Add(s, taxonomy.Default(), size); err != nil {
			t.Fatal(err)
		}
	}
	good.secret = sGood.Secret
	d, err := tr.Declare(ctx, track.Declaration{Entity: "Acme", Document: "Privacy", URL: web.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Capture(ctx, d.DocumentID, ingest.CaptureOptions{}); err != nil {
		t.Fatal(err)
	}
	const records = 1 // the first version
	go func() {
		for {
			good.mu.Lock()
			n := len(good.got)
			good.mu.Unlock()
			if n == records {
				once.Do(func() { close(released) })
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	client := &http.Client{Timeout: 2 * time.Minute}
	rep, err := alert.New(a, alert.Options{Client: client, Attempts: 1}).Run(ctx)
	if err != nil || rep.Messages != 2*records || rep.Failed != 0 || rep.Records != records {
		t.Fatalf("report %+v, %v: want %d records, each delivered to both webhooks", rep, err, records)
	}
	state, err := st.State()
	if err != nil || state.Webhooks[sGood.ID] != state.Webhooks[sStalled.ID] || state.Webhooks[sGood.ID] <= size {
		t.Errorf("state %+v %v: both webhooks past the log size %d they started at", state, err, size)
	}
	if len(good.bad) > 0 {
		t.Errorf("badly signed messages %v", good.bad)
	}
}
