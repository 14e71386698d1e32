package trust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/trust"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/verify"
)

func key(t *testing.T) *verify.PublicKey {
	t.Helper()
	pem, err := ledger.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(pem, "trust.example/log")
	if err != nil {
		t.Fatal(err)
	}
	return s.PublicKey()
}

const witnessLine = "witness W1 w1.example+95c522aa+BGuflT1k1at8zcdC8hIwQVISYnIdbkr307mrBnUmxG/G https://w1.example/\n"

func TestPreparePolicy(t *testing.T) {
	k := key(t)
	got, err := trust.PreparePolicy([]byte(witnessLine+"quorum W1\n"), k)
	if err != nil || !strings.HasPrefix(string(got), "log "+k.VKey+"\n") {
		t.Fatalf("a policy without a log line: %q, %v; want the log's line added first", got, err)
	}
	if again, err := trust.PreparePolicy(got, k); err != nil || string(again) != string(got) {
		t.Errorf("a policy listing the log: %q, %v; want it as it is", again, err)
	}
	for name, bad := range map[string]string{
		"another log":      "log " + key(t).VKey + "\n" + witnessLine + "quorum W1\n",
		"no witness URL":   "witness W1 w1.example+95c522aa+BGuflT1k1at8zcdC8hIwQVISYnIdbkr307mrBnUmxG/G\nquorum W1\n",
		"not a policy":     "hello\n",
		"unknown quorum":   witnessLine + "quorum W2\n",
		"a comment inline": witnessLine + "quorum W1 # one\n",
	} {
		if _, err := trust.PreparePolicy([]byte(bad), k); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestCheckWitnessKey(t *testing.T) {
	if err := trust.CheckWitnessKey(key(t)); err != nil {
		t.Errorf("Ed25519: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, err := verify.NewPublicKey("trust.example/log", &ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := trust.CheckWitnessKey(k); !errors.Is(err, trust.ErrWitnessKey) {
		t.Errorf("ECDSA: %v, want ErrWitnessKey", err)
	}
}

func TestCheckTSA(t *testing.T) {
	tsa := tsatest.Start(t)
	if err := trust.CheckTSA(tsa.URL, tsa.ChainPEM); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		url   string
		roots []byte
	}{
		"no scheme":   {"tsa.example/ts", tsa.ChainPEM},
		"ftp":         {"ftp://tsa.example/ts", tsa.ChainPEM},
		"credentials": {"https://u:p@tsa.example/ts", tsa.ChainPEM},
		"no roots":    {"https://tsa.example/ts", nil},
		"bad roots":   {"https://tsa.example/ts", []byte("not PEM")},
	} {
		if err := trust.CheckTSA(c.url, c.roots); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ctx := context.Background()
	if err := trust.Probe(ctx, tsa.URL+"/api/v1/timestamp", tsa.ChainPEM, "trust.example/log", 0); err != nil {
		t.Errorf("Probe of a working TSA: %v", err)
	}
	untrustedPEM, _ := tsatest.UntrustedRoot(t)
	if err := trust.Probe(ctx, tsa.URL+"/api/v1/timestamp", untrustedPEM, "trust.example/log", 0); !errors.Is(err, trust.ErrTSACheck) {
		t.Errorf("Probe against another TSA's roots: %v, want ErrTSACheck", err)
	}
}

// TestStamper: a real TSA time-stamps the checkpoints enqueued; while it
// is down they stay without a token, and Retry gets them once it is back.
func TestStamper(t *testing.T) {
	ctx := context.Background()
	tsa := tsatest.Start(t)
	var off atomic.Bool
	target, _ := url.Parse(tsa.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if off.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	setup, err := trust.Load(t.TempDir(), nil, nil, 0, 0)
	if err != nil || setup.TSA != nil || setup.WitnessWait != trust.DefaultWitnessWait {
		t.Fatalf("Load of nothing: %+v, %v", setup, err)
	}
	store := ledger.NewCheckpoints(filepath.Join(t.TempDir(), "checkpoints"))
	signed := map[uint64][]byte{}
	for _, n := range []uint64{1, 2, 3} {
		signed[n] = []byte("trust.example/log\n" + string(rune('0'+n)) + "\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— trust.example/log AAAAAA==\n")
		if err := store.Keep(ctx, signed[n], &verify.Checkpoint{Size: n}); err != nil {
			t.Fatal(err)
		}
	}
	var stamped atomic.Int64
	s := trust.NewStamper(trust.StamperConfig{
		TSA:    &ledger.TSAClient{URL: srv.URL + "/api/v1/timestamp", Trust: tsa.Options(), HTTPClient: &http.Client{Timeout: 2 * time.Second}},
		Tokens: store,
		Unstamped: func(ctx context.Context) ([]uint64, error) {
			var out []uint64
			for _, n := range []uint64{1, 2, 3} {
				if _, err := store.Timestamp(ctx, n); err != nil {
					out = append(out, n)
				}
			}
			return out, nil
		},
		Stamped:       func(uint64) { stamped.Add(1) },
		RetryInterval: time.Hour,
	})
	s.Enqueue(1, signed[1])
	s.Drain(ctx)
	tok, err := store.Timestamp(ctx, 1)
	if err != nil {
		t.Fatalf("token of checkpoint 1: %v", err)
	}
	body, _ := verify.CheckpointBody(signed[1])
	if _, err := verify.CheckTimestamp(tok, body, tsa.Options()); err != nil {
		t.Errorf("token of checkpoint 1: %v", err)
	}
	off.Store(true)
	s.Enqueue(2, signed[2])
	s.Drain(ctx)
	if _, err := store.Timestamp(ctx, 2); !errors.Is(err, ledger.ErrNotKept) {
		t.Errorf("token of checkpoint 2 with the TSA down: %v", err)
	}
	if n, err := s.Retry(ctx); n != 2 || err == nil {
		t.Errorf("Retry with the TSA down: %d left, %v; want 2", n, err)
	}
	off.Store(false)
	if n, err := s.Retry(ctx); n != 0 || err != nil {
		t.Errorf("Retry with the TSA back: %d left, %v", n, err)
	}
	for _, n := range []uint64{2, 3} {
		if _, err := store.Timestamp(ctx, n); err != nil {
			t.Errorf("token of checkpoint %d after the retry: %v", n, err)
		}
	}
	if got := stamped.Load(); got != 3 {
		t.Errorf("Stamped told of %d tokens, want 3", got)
	}
	// The empty tree's checkpoint is not time-stamped; a size not
	// enqueued is not waited for.
	s.Enqueue(0, nil)
	s.WaitAttempt(ctx, 0)
}
