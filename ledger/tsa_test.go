package ledger_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/exhibit-archive/exhibit/ledger/tsatest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestTSA gets real RFC 3161 time-stamps from sigstore's timestamp-server
// over exhibit checkpoints, verifies them with package verify and with
// "openssl ts -verify", and checks the failure outcomes.
func TestTSA(t *testing.T) {
	ctx := context.Background()
	tsa := tsatest.Start(t)
	s := newSigner(t, false)
	w, err := ledger.OpenWriter(ctx, t.TempDir(), s, ledger.Config{Keeper: ledger.NewCheckpoints(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	c := &ledger.TSAClient{URL: tsa.TimestampURL, Trust: tsa.Options()}

	cp1 := appendN(t, w, 2)
	body1, err := verify.CheckpointBody(cp1)
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	tsr, ts, err := c.TimestampCheckpoint(ctx, cp1)
	if err != nil {
		t.Fatalf("TimestampCheckpoint: %v\n%s", err, tsa.Output())
	}
	if d := ts.GenTime.Sub(before); d < -2*time.Second || d > time.Minute {
		t.Errorf("genTime %v, not about now (%v)", ts.GenTime, before)
	}
	if got, want := ts.TSA, "CN=Test TSA Timestamping,O=local"; got != want {
		t.Errorf("TSA %q, want %q", got, want)
	}
	t.Logf("existed no later than %s (TSA %s, serial %x, policy %v)", ts.GenTime.Format(time.RFC3339), ts.TSA, ts.Serial, ts.Policy)

	// The stored .tsr verifies offline against the body.
	if _, err := verify.CheckTimestamp(tsr, body1, tsa.Options()); err != nil {
		t.Fatalf("CheckTimestamp of the stored response: %v", err)
	}

	t.Run("openssl ts -verify", func(t *testing.T) {
		openssl, err := exec.LookPath("openssl")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("openssl is not installed (CI=true: .ci/install-tools installs it)")
			}
			t.Skip("openssl is not installed: install it (Debian: apt-get install openssl, or .ci/install-tools)")
		}
		dir := t.TempDir()
		files := map[string][]byte{"body": body1, "token.tsr": tsr, "root.pem": tsa.RootPEM, "chain.pem": tsa.UntrustedPEM, "other": []byte("another checkpoint\n")}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		run := func(data string) (string, error) {
			out, err := exec.Command(openssl, "ts", "-verify", "-data", filepath.Join(dir, data), "-in", filepath.Join(dir, "token.tsr"),
				"-CAfile", filepath.Join(dir, "root.pem"), "-untrusted", filepath.Join(dir, "chain.pem")).CombinedOutput()
			return string(out), err
		}
		if out, err := run("body"); err != nil {
			t.Errorf("openssl ts -verify rejects the token: %v\n%s", err, out)
		}
		if out, err := run("other"); err == nil {
			t.Errorf("openssl ts -verify accepts the token for other data:\n%s", out)
		}
	})

	t.Run("token for another checkpoint", func(t *testing.T) {
		cp2 := appendN(t, w, 1)
		body2, _ := verify.CheckpointBody(cp2)
		var me *verify.TimestampMessageError
		if _, err := verify.CheckTimestamp(tsr, body2, tsa.Options()); !errors.As(err, &me) {
			t.Fatalf("err = %v, want a *TimestampMessageError", err)
		}
	})
	t.Run("tampered token", func(t *testing.T) {
		bad := append([]byte(nil), tsr...)
		bad[len(bad)-3] ^= 1 // in the signature
		var se *verify.TimestampSignatureError
		if _, err := verify.CheckTimestamp(bad, body1, tsa.Options()); !errors.As(err, &se) {
			t.Fatalf("err = %v, want a *TimestampSignatureError", err)
		}
	})
	t.Run("wrong endpoint", func(t *testing.T) {
		bc := &ledger.TSAClient{URL: tsa.URL + "/api/v1/nothing", Trust: tsa.Options()}
		var te *ledger.TSAError
		if _, _, err := bc.TimestampCheckpoint(ctx, cp1); !errors.As(err, &te) || te.StatusCode == 0 {
			t.Fatalf("err = %v, want a *TSAError with an HTTP status", err)
		}
	})
	t.Run("untrusted TSA", func(t *testing.T) {
		// Another real timestamp-server's chain (verify's testdata): a
		// TSA this one's token does not chain to.
		certs, err := verify.ParseCertificatesPEM(mustRead(t, "../verify/testdata/tsa/chain.pem"))
		if err != nil {
			t.Fatal(err)
		}
		other := verify.TimestampOptions{Roots: x509.NewCertPool(), Untrusted: certs[:len(certs)-1]}
		other.Roots.AddCert(certs[len(certs)-1])
		var te *verify.TimestampTrustError
		if _, err := verify.CheckTimestamp(tsr, body1, other); !errors.As(err, &te) {
			t.Fatalf("err = %v, want a *TimestampTrustError", err)
		}
		// And the client refuses answers from a TSA it does not trust.
		oc := &ledger.TSAClient{URL: tsa.TimestampURL, Trust: other}
		if _, _, err := oc.TimestampCheckpoint(ctx, cp1); !errors.As(err, &te) {
			t.Fatalf("client err = %v, want a *TimestampTrustError", err)
		}
	})
	// Last: it stops the TSA.
	t.Run("TSA down", func(t *testing.T) {
		tsa.Stop()
		var te *ledger.TSAError
		_, _, err := c.TimestampCheckpoint(ctx, cp1)
		if !errors.As(err, &te) || te.StatusCode != 0 {
			t.Fatalf("err = %v, want a *TSAError for an unreachable TSA", err)
		}
		t.Logf("as reported: %v", err)
	})
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
