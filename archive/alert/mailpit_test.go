package alert_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mailpit is a real SMTP server with an HTTP API (github.com/axllent/mailpit
// v1.33.1), run on loopback for a test. .ci/run installs it with
//
//	GOFLAGS= go install github.com/axllent/mailpit@v1.33.1
type mailpit struct {
	smtp, api string
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startMailpit starts mailpit, or skips the test (fails it under CI=true)
// when it is not installed.
func startMailpit(t *testing.T) *mailpit {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		out, _ := exec.Command("go", "env", "GOPATH").Output()
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "mailpit")
		if _, serr := os.Stat(p); serr == nil {
			bin, err = p, nil
		}
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mailpit not found; CI must install it: GOFLAGS= go install github.com/axllent/mailpit@v1.33.1")
		}
		t.Skip("mailpit not found: install it (GOFLAGS= go install github.com/axllent/mailpit@v1.33.1) to run the e-mail digest test")
	}
	m := &mailpit{smtp: freePort(t), api: freePort(t)}
	cmd := exec.Command(bin, "--smtp", m.smtp, "--listen", m.api, "--database", filepath.Join(t.TempDir(), "mailpit.db"), "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + m.api + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", m.smtp); err == nil {
				c.Close()
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start on %s and %s", m.smtp, m.api)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *mailpit) get(t *testing.T, path string, v any) []byte {
	t.Helper()
	resp, err := http.Get("http://" + m.api + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("mailpit GET %s: %d %s", path, resp.StatusCode, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("mailpit GET %s: %v", path, err)
		}
	}
	return b
}

// mailpitMessage is what the test reads of a message.
type mailpitMessage struct {
	ID          string
	Subject     string
	To          []struct{ Address string }
	Text        string
	Attachments []struct {
		PartID      string
		FileName    string
		ContentType string
	}
}

// messages returns the messages mailpit received, newest first, whole.
func (m *mailpit) messages(t *testing.T) []mailpitMessage {
	t.Helper()
	var list struct {
		Messages []struct{ ID string }
	}
	m.get(t, "/api/v1/messages", &list)
	var out []mailpitMessage
	for _, s := range list.Messages {
		var msg mailpitMessage
		m.get(t, "/api/v1/message/"+s.ID, &msg)
		out = append(out, msg)
	}
	return out
}

func (m *mailpit) part(t *testing.T, id, part string) []byte {
	t.Helper()
	return m.get(t, fmt.Sprintf("/api/v1/message/%s/part/%s", id, part), nil)
}
