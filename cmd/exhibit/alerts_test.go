package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/alert"
)

// TestAlertsWorkflow subscribes a webhook from the command line, changes a
// tracked document, delivers, and verifies every delivered bundle with
// exhibit verify; the delivery log shows each message once.
func TestAlertsWorkflow(t *testing.T) {
	inTemp(t)
	ps := &policyServer{}
	ps.set(`<h1>Privacy</h1><p>We do not sell your data.</p>`)
	hs := httptest.NewServer(ps)
	defer hs.Close()
	var mu sync.Mutex
	var got []alert.Payload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p alert.Payload
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &p); err != nil || r.Header.Get("webhook-signature") == "" {
			http.Error(w, "bad", 400)
			return
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	defer hook.Close()

	exhibit(t, "track", "add", hs.URL+"/privacy", "--entity", "Acme", "--document", "Privacy Policy", "--select", "main#policy").want(t, 0)
	exhibit(t, "track", "run", "--once").want(t, 0, "version 1 (first)")
	exhibit(t, "alerts", "add", "--webhook", hook.URL, "--document", "acme-privacy-policy").want(t, 0, "subscription sub_", "secret  whsec_")
	exhibit(t, "alerts", "add", "--webhook", hook.URL, "--type", "nope").want(t, 2, `unknown provision type "nope"`)
	exhibit(t, "alerts", "add", "--email", "not an address").want(t, 2, "is not an address")
	exhibit(t, "alerts", "add").want(t, 2, "a webhook URL or an e-mail address")
	exhibit(t, "alerts", "add", "--email", "legal@example.org", "--digest", "weekly").want(t, 0, "weekly digest to legal@example.org")
	exhibit(t, "alerts", "list").want(t, 0, hook.URL, "legal@example.org (weekly)")
	exhibit(t, "alerts", "run", "--smtp", "127.0.0.1:1").want(t, 2, "--smtp and --from go together")

	ps.set(`<h1>Privacy</h1><p>We may sell your data.</p>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 2 (change)")
	exhibit(t, "alerts", "run", "--backoff", "1ms").want(t, 0, "1 new records; 1 webhook messages delivered, 0 failed; 0 digests sent")
	exhibit(t, "alerts", "run").want(t, 0, "0 new records")
	if len(got) != 1 || got[0].Type != "exhibit.version" {
		t.Fatalf("delivered: %+v", got)
	}
	for _, p := range got {
		os.WriteFile("b.json", p.Data.Bundle, 0o644)
		exhibit(t, "verify", "b.json", "--record-id", p.Data.Record.ID).want(t, 0, "verified: record "+p.Data.Record.ID, "version 2 (change) of acme-privacy-policy")
	}
	r := exhibit(t, "alerts", "log")
	r.want(t, 0, "delivered", got[0].Data.Record.ID)
	if n := strings.Count(r.stdout, "delivered"); n != 1 {
		t.Errorf("%d deliveries logged:\n%s", n, r.stdout)
	}

	// A failed delivery's line gives its status once.
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 500) }))
	defer down.Close()
	exhibit(t, "alerts", "add", "--webhook", down.URL).want(t, 0, "subscription sub_")
	ps.set(`<h1>Privacy</h1><p>We sell your data.</p>`)
	exhibit(t, "track", "run", "--once", "--all").want(t, 0, "version 3 (change)")
	exhibit(t, "alerts", "run", "--attempts", "1").want(t, 1, "1 webhook messages delivered, 1 failed")
	r = exhibit(t, "alerts", "log")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "failed") && strings.Count(line, "HTTP 500") != 1 {
			t.Errorf("failed delivery line %q: want HTTP 500 once", line)
		}
	}
	if !strings.Contains(r.stdout, "HTTP 500") {
		t.Errorf("no failed delivery logged:\n%s", r.stdout)
	}

	var subs []alert.Subscription
	json.Unmarshal([]byte(exhibit(t, "alerts", "list", "-o", "json").stdout), &subs)
	exhibit(t, "alerts", "remove", subs[0].ID).want(t, 0, "removed")
	exhibit(t, "alerts", "remove", subs[0].ID).want(t, 2, "no such subscription")
}
