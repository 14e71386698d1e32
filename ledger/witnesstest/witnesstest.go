// Package witnesstest runs real C2SP tlog-witness witnesses for tests:
// transparency-dev's omniwitness (github.com/transparency-dev/witness),
// started as separate processes on loopback, in memory, configured to
// witness the given logs.
//
// The omniwitness binary is looked up in PATH, then in `go env GOPATH`/bin.
// Install it with
//
//	GOFLAGS= go install github.com/transparency-dev/witness/cmd/omniwitness@v0.0.0-20260720115447-2e1c6971d19e
//
// as exhibit's .ci/install-tools does. When it is missing, [Start] fails the test if
// the environment variable CI is "true", and skips it otherwise.
package witnesstest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger/internal/proctest"
	"github.com/exhibit-archive/exhibit/verify"
	"golang.org/x/mod/sumdb/note"
)

// Witness is a running omniwitness.
type Witness struct {
	// Name is the witness's name for policies: "W1", "W2", ...
	Name string
	// Key is its cosigner key (tlog-cosignature v1, type 0x04), named
	// "witness<i>.exhibit.test".
	Key *verify.CosignerKey
	// URL is its tlog-witness submission prefix, "http://127.0.0.1:<port>".
	URL string

	cmd    *exec.Cmd
	output *proctest.Buffer
	done   chan struct{}
}

// PolicyLine returns the witness's tlog-policy line,
// "witness <Name> <vkey> <URL>\n".
func (w *Witness) PolicyLine() string {
	return fmt.Sprintf("witness %s %s %s\n", w.Name, w.Key.VKey, w.URL)
}

// Stop kills the witness and waits for it to exit. It is safe to call more
// than once; Start arranges for it at the end of the test.
func (w *Witness) Stop() {
	select {
	case <-w.done:
	default:
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

// Binary returns the path of the omniwitness binary, or fails or skips t
// (see the package documentation).
func Binary(t testing.TB) string {
	t.Helper()
	return proctest.FindBinary(t, "omniwitness", "GOFLAGS= go install github.com/transparency-dev/witness/cmd/omniwitness@v0.0.0-20260720115447-2e1c6971d19e")
}

// Start starts n omniwitness processes that witness the given logs, whose
// keys must be Ed25519 (omniwitness verifies checkpoints with
// golang.org/x/mod/sumdb/note, which knows no other log key type). Each
// witness has its own fresh key and keeps its state in memory, so it has
// cosigned nothing yet. The processes are stopped when the test ends.
func Start(t testing.TB, n int, logs ...*verify.PublicKey) []*Witness {
	t.Helper()
	bin := Binary(t)
	dir := t.TempDir()
	var yaml strings.Builder
	yaml.WriteString("Logs:\n")
	for _, l := range logs {
		if _, ok := l.Key.(ed25519.PublicKey); !ok {
			t.Fatalf("witnesstest: log %s has a %T key; omniwitness only verifies Ed25519 logs", l.Name, l.Key)
		}
		fmt.Fprintf(&yaml, "  - Origin: %q\n    PublicKey: %q\n", l.Name, l.VKey)
	}
	logsFile := filepath.Join(dir, "logs.yaml")
	if err := os.WriteFile(logsFile, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ws := make([]*Witness, n)
	for i := range ws {
		ws[i] = start(t, bin, dir, i+1, logsFile)
	}
	return ws
}

func start(t testing.TB, bin, dir string, i int, logsFile string) *Witness {
	t.Helper()
	name := fmt.Sprintf("witness%d.exhibit.test", i)
	// The key files omniwitness reads are x/mod note signer keys,
	// "PRIVATE+KEY+<name>+<hex8>+<base64>", as the witness repository's
	// cmd/generate_keys writes them; it signs with them as
	// tlog-cosignature v1, whose verifier key is the same Ed25519 key with
	// type 0x04.
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := verify.ParseVKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	key, err := verify.NewCosignerKey(name, pk.Key.(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, fmt.Sprintf("witness%d.key", i))
	if err := os.WriteFile(keyFile, []byte(skey), 0o600); err != nil {
		t.Fatal(err)
	}

	for attempt := 0; ; attempt++ {
		addr := "127.0.0.1:" + strconv.Itoa(proctest.FreePort(t))
		w := &Witness{Name: fmt.Sprintf("W%d", i), Key: key, URL: "http://" + addr, output: &proctest.Buffer{}, done: make(chan struct{})}
		w.cmd = exec.Command(bin,
			"-listen", addr,
			"-metrics_listen", "",
			"-private_key_path", keyFile,
			"-additional_logs", logsFile,
			"-logtostderr")
		w.cmd.Stdout, w.cmd.Stderr = w.output, w.output
		if err := w.cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		go func() { _ = w.cmd.Wait(); close(w.done) }()
		t.Cleanup(w.Stop)
		err := waitHTTP(w.URL+"/add-checkpoint", w.done)
		if err == nil {
			return w
		}
		if attempt < 2 {
			continue // most likely the port was taken meanwhile
		}
		t.Fatalf("omniwitness %s did not start: %v\n%s", w.Name, err, w.output.String())
	}
}

// waitHTTP waits until something answers HTTP at url (any status), or the
// process exits, or 20 seconds pass.
func waitHTTP(url string, exited <-chan struct{}) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("the process exited")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no HTTP answer at %s within 20s", url)
}

// Output returns what the witness process has written so far.
func (w *Witness) Output() string { return w.output.String() }
