// Package tsatest runs a real RFC 3161 time-stamping authority for tests:
// sigstore's timestamp-server (github.com/sigstore/timestamp-authority),
// started as a separate process on loopback with its in-memory signer,
// which makes a fresh root, intermediate and time-stamping certificate each
// time it starts.
//
// The timestamp-server binary is looked up in PATH, then in
// `go env GOPATH`/bin. Install it with
//
//	GOFLAGS= go install github.com/sigstore/timestamp-authority/cmd/timestamp-server@v1.2.9
//
// as exhibit's .ci/install-tools does. When it is missing, [Start] fails the test if
// the environment variable CI is "true", and skips it otherwise.
//
// timestamp-server v1.2.9 always serves Prometheus metrics on :2112 (all
// interfaces; no flag changes it), so only one can run on a machine at a
// time: [Start] takes a machine-wide lock (flock on a file in the temporary
// directory) that it releases when the server stops, so that the test
// binaries of several packages (go test ./...) take turns.
package tsatest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger/internal/proctest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TSA is a running timestamp-server.
type TSA struct {
	// URL is the server's base URL, "http://127.0.0.1:<port>".
	URL string
	// TimestampURL is its RFC 3161 endpoint (POST
	// application/timestamp-query), URL + "/api/v1/timestamp".
	TimestampURL string
	// ChainPEM is the certificate chain the server publishes at
	// /api/v1/timestamp/certchain: its time-stamping certificate, the
	// intermediate, then the root.
	ChainPEM []byte
	// RootPEM is the root alone, and ChainPEM without it is
	// UntrustedPEM: what "openssl ts -verify" takes as -CAfile and
	// -untrusted.
	RootPEM, UntrustedPEM []byte
	// Roots holds the root; Untrusted the other certificates of the chain.
	Roots     *x509.CertPool
	Untrusted []*x509.Certificate

	cmd    *exec.Cmd
	output *proctest.Buffer
	done   chan struct{}
}

// Options returns the verify options that trust this TSA.
func (s *TSA) Options() verify.TimestampOptions {
	return verify.TimestampOptions{Roots: s.Roots, Untrusted: s.Untrusted}
}

// Stop kills the server and waits for it to exit. It is safe to call more
// than once; Start arranges for it at the end of the test.
func (s *TSA) Stop() {
	select {
	case <-s.done:
	default:
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Output returns what the server has written so far.
func (s *TSA) Output() string { return s.output.String() }

// Binary returns the path of the timestamp-server binary, or fails or skips
// t (see the package documentation).
func Binary(t testing.TB) string {
	t.Helper()
	return proctest.FindBinary(t, "timestamp-server", "GOFLAGS= go install github.com/sigstore/timestamp-authority/cmd/timestamp-server@v1.2.9")
}

// Start starts a timestamp-server with the memory signer on a free
// loopback port, without NTP monitoring (it would need the internet), and
// fetches its certificate chain. It is stopped when the test ends.
func Start(t testing.TB) *TSA {
	t.Helper()
	bin := Binary(t)
	machineLock(t)
	home := t.TempDir() // keeps it from reading a $HOME/.timestamp-server.yaml
	for attempt := 0; ; attempt++ {
		port := proctest.FreePort(t)
		s := &TSA{URL: "http://127.0.0.1:" + strconv.Itoa(port), output: &proctest.Buffer{}, done: make(chan struct{})}
		s.TimestampURL = s.URL + "/api/v1/timestamp"
		s.cmd = exec.Command(bin, "serve",
			"--host", "127.0.0.1",
			"--port", strconv.Itoa(port),
			"--scheme", "http",
			"--disable-ntp-monitoring",
			"--timestamp-signer", "memory")
		s.cmd.Env = append(os.Environ(), "HOME="+home)
		s.cmd.Stdout, s.cmd.Stderr = s.output, s.output
		if err := s.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		go func() { _ = s.cmd.Wait(); close(s.done) }()
		t.Cleanup(s.Stop)
		chain, err := waitChain(s.URL+"/api/v1/timestamp/certchain", s.done)
		if err != nil {
			if strings.Contains(s.Output(), ":2112: bind: address already in use") {
				t.Fatalf("timestamp-server could not start: port 2112, where it always serves metrics, is taken (another timestamp-server running?)\n%s", s.Output())
			}
			if attempt < 2 {
				s.Stop()
				continue // most likely the port was taken meanwhile
			}
			t.Fatalf("timestamp-server did not start: %v\n%s", err, s.Output())
		}
		if err := s.setChain(chain); err != nil {
			t.Fatalf("timestamp-server's certificate chain: %v\n%s", err, chain)
		}
		return s
	}
}

// machineLock takes the machine-wide lock on port 2112, waiting up to five
// minutes, and releases it when the test ends (after the server stops:
// cleanups run last first).
func machineLock(t testing.TB) {
	t.Helper()
	p := filepath.Join(os.TempDir(), "exhibit-tsatest-2112.lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		t.Fatalf("tsatest: %v", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			t.Fatalf("tsatest: waiting for the lock on port 2112 (%s): %v", p, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

func (s *TSA) setChain(chain []byte) error {
	certs, err := verify.ParseCertificatesPEM(chain)
	if err != nil {
		return err
	}
	if len(certs) < 2 {
		return fmt.Errorf("%d certificates, want a chain to a root", len(certs))
	}
	root := certs[len(certs)-1]
	s.ChainPEM = chain
	s.Roots = x509.NewCertPool()
	s.Roots.AddCert(root)
	s.Untrusted = certs[:len(certs)-1]
	s.RootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw})
	for _, c := range s.Untrusted {
		s.UntrustedPEM = append(s.UntrustedPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return nil
}

// waitChain fetches the chain once the server answers, or gives up when the
// process exits or after 30 seconds.
func waitChain(url string, exited <-chan struct{}) ([]byte, error) {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return nil, fmt.Errorf("the process exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			cancel()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return b, nil
			}
			last = fmt.Errorf("GET %s: %s", url, resp.Status)
		} else {
			cancel()
			last = err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil, fmt.Errorf("no certificate chain at %s within 30s: %v", url, last)
}

// UntrustedRoot returns a fresh self-signed CA certificate, as PEM and as
// a pool: a TSA root that signed nothing, for the negative cases.
func UntrustedRoot(t testing.TB) ([]byte, *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "untrusted test root"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool
}
