package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeSecondSignal sends SIGTERM to `exhibit serve` while a write
// request is in flight (its body still arriving): it says what it waits
// for and keeps serving it; a second signal, SIGINT, ends it at once with
// status 130, though it was started with SIGINT ignored, as a shell starts
// a background job.
func TestServeSecondSignal(t *testing.T) {
	inTemp(t)
	exhibit(t, "--archive", "a", "init", "--origin", "signal.test/log").want(t, 0)
	r := exhibit(t, "--archive", "a", "token", "create", "--name", "t")
	r.want(t, 0)
	token := strings.TrimSpace(r.stdout)
	port := freePort(t)
	// sh -c with SIGINT ignored, as a non-interactive shell's '&' does.
	cmd := exec.Command("sh", "-c", fmt.Sprintf("trap '' INT; exec exhibit --archive a serve --listen 127.0.0.1:%d", port))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { cmd.Process.Kill(); <-done }()
	var conn net.Conn
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve does not listen: %v\n%s", err, stderr.String())
		}
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/snapshots HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n", token)
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err
		t.Fatalf("serve exited at the first signal with a request in flight: %v\n%s", err, stderr.String())
	case <-time.After(time.Second):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		done <- err
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Errorf("after the second signal: %v, want exit status 130", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("serve still running 5 s after a second signal\n%s", stderr.String())
	}
	if !strings.Contains(stderr.String(), "shutting down: waiting up to 3m0s for the requests in flight") || !strings.Contains(stderr.String(), "a second SIGINT or SIGTERM exits at once") {
		t.Errorf("serve did not say what it waits for:\n%s", stderr.String())
	}
}
