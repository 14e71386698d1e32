package verify_test

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/verify"
)

// testdata/tsa holds a real response from sigstore's timestamp-server
// v1.2.9 (memory signer); see testdata/tsa/README.md.
func tsaOptions(t testing.TB) verify.TimestampOptions {
	t.Helper()
	certs, err := verify.ParseCertificatesPEM(testdata(t, "tsa/chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1])
	return verify.TimestampOptions{Roots: roots, Untrusted: certs[:len(certs)-1]}
}

func TestCheckTimestamp(t *testing.T) {
	der, msg, opts := testdata(t, "tsa/hello.tsr"), testdata(t, "tsa/hello.txt"), tsaOptions(t)
	ts, err := verify.CheckTimestamp(der, msg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ts.GenTime, time.Date(2026, 11, 29, 20, 26, 13, 0, time.UTC); !got.Equal(want) {
		t.Errorf("GenTime %v, want %v", got, want)
	}
	if got, want := ts.TSA, "CN=Test TSA Timestamping,O=local"; got != want {
		t.Errorf("TSA %q, want %q", got, want)
	}
	if got, want := ts.Policy.String(), "1.3.6.1.4.1.57264.2"; got != want {
		t.Errorf("policy %s, want %s", got, want)
	}
	if got, want := fmt.Sprintf("%X", ts.Serial), "4D4134905F3ED913932951ECBEB328F9737847DD"; got != want {
		t.Errorf("serial %s, want %s", got, want)
	}
	if ts.Hash != crypto.SHA256 || ts.Accuracy != time.Second || ts.Nonce == nil || len(ts.Chain) != 3 {
		t.Errorf("hash %v, accuracy %v, nonce %v, chain of %d", ts.Hash, ts.Accuracy, ts.Nonce, len(ts.Chain))
	}
}

func TestCheckTimestampFailures(t *testing.T) {
	der, msg, opts := testdata(t, "tsa/hello.tsr"), testdata(t, "tsa/hello.txt"), tsaOptions(t)
	flip := func(i int) []byte {
		b := append([]byte(nil), der...)
		b[i] ^= 0x01
		return b
	}
	var (
		msgErr   *verify.TimestampMessageError
		trustErr *verify.TimestampTrustError
		sigErr   *verify.TimestampSignatureError
	)
	for _, tc := range []struct {
		desc string
		der  []byte
		msg  []byte
		opts verify.TimestampOptions
		want func(error) bool
	}{
		{"another message", der, []byte("hello!\n"), opts,
			func(err error) bool { return errors.As(err, &msgErr) }},
		{"no intermediates", der, msg, verify.TimestampOptions{Roots: opts.Roots}, // the TSA embeds only its leaf
			func(err error) bool { return errors.As(err, &trustErr) }},
		{"untrusted root", der, msg, verify.TimestampOptions{Roots: x509.NewCertPool(), Untrusted: opts.Untrusted},
			func(err error) bool { return errors.As(err, &trustErr) }},
		{"intermediate as root", der, msg, verify.TimestampOptions{Roots: pool(opts.Untrusted[1]), Untrusted: opts.Untrusted[:1]},
			func(err error) bool { return err == nil }}, // a pool is what the caller says it trusts
		{"tampered TSTInfo serial", flip(150), msg, opts,
			func(err error) bool { return errors.As(err, &sigErr) }},
		{"tampered imprint", flip(110), msg, opts,
			func(err error) bool { return errors.As(err, &sigErr) }},
		{"tampered message digest attribute", flip(900), msg, opts,
			func(err error) bool { return errors.As(err, &sigErr) }},
		{"tampered signature", flip(len(der) - 5), msg, opts,
			func(err error) bool { return errors.As(err, &sigErr) }},
		{"truncated", der[:len(der)-1], msg, opts,
			func(err error) bool { return errors.Is(err, verify.ErrTimestamp) }},
		{"trailing data", append(append([]byte(nil), der...), 0), msg, opts,
			func(err error) bool { return errors.Is(err, verify.ErrTimestamp) }},
		{"empty", nil, msg, opts,
			func(err error) bool { return errors.Is(err, verify.ErrTimestamp) }},
		{"the request, not a response", testdata(t, "tsa/hello.tsq"), msg, opts,
			func(err error) bool { return errors.Is(err, verify.ErrTimestamp) }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := verify.CheckTimestamp(tc.der, tc.msg, tc.opts)
			if !tc.want(err) {
				t.Errorf("CheckTimestamp = %v (%T)", err, err)
			}
		})
	}
}

func TestCheckTimestampRejectedStatus(t *testing.T) {
	// TimeStampResp { status { rejection(2), "no", failInfo badAlg } }
	der := []byte{0x30, 0x0f, 0x30, 0x0d, 0x02, 0x01, 0x02, 0x30, 0x04, 0x0c, 0x02, 'n', 'o', 0x03, 0x02, 0x07, 0x80}
	var se *verify.TimestampStatusError
	if _, err := verify.CheckTimestamp(der, nil, tsaOptions(t)); !errors.As(err, &se) || se.Status != 2 || se.Text != "no" {
		t.Fatalf("CheckTimestamp = %v, want a *TimestampStatusError with status 2", err)
	}
}

func pool(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func ExampleCheckTimestamp() {
	// A response from sigstore's timestamp-server, its certificate chain
	// (time-stamping certificate, intermediate, root) and the message.
	tsr, _ := os.ReadFile("testdata/tsa/hello.tsr")
	chain, _ := os.ReadFile("testdata/tsa/chain.pem")
	message, _ := os.ReadFile("testdata/tsa/hello.txt")

	certs, err := verify.ParseCertificatesPEM(chain)
	if err != nil {
		fmt.Println(err)
		return
	}
	roots := x509.NewCertPool()
	roots.AddCert(certs[len(certs)-1]) // trust the root alone
	ts, err := verify.CheckTimestamp(tsr, message, verify.TimestampOptions{Roots: roots, Untrusted: certs[:len(certs)-1]})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("existed no later than %s (TSA %s)\n", ts.GenTime.Format(time.RFC3339), ts.TSA)

	_, err = verify.CheckTimestamp(tsr, []byte("another message"), verify.TimestampOptions{Roots: roots, Untrusted: certs[:len(certs)-1]})
	var me *verify.TimestampMessageError
	fmt.Println("another message:", errors.As(err, &me))
	// Output:
	// existed no later than 2026-11-29T20:26:13Z (TSA CN=Test TSA Timestamping,O=local)
	// another message: true
}

// TestParseTSARoots: the whole chain served by timestamp-server, or its
// root alone with the token's embedded certificate, verifies the stored
// token; a PEM without certificates is refused.
func TestParseTSARoots(t *testing.T) {
	tsr, _ := os.ReadFile("testdata/tsa/hello.tsr")
	chain, _ := os.ReadFile("testdata/tsa/chain.pem")
	message, _ := os.ReadFile("testdata/tsa/hello.txt")
	certs, err := verify.ParseCertificatesPEM(chain)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := verify.ParseTSARoots(chain)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(opts.Untrusted), len(certs)-1; got != want {
		t.Errorf("%d untrusted certificates, want %d (all but the self-signed root)", got, want)
	}
	if _, err := verify.CheckTimestamp(tsr, message, opts); err != nil {
		t.Errorf("with the chain: %v", err)
	}
	if _, err := verify.ParseTSARoots([]byte("no PEM here")); err == nil {
		t.Error("ParseTSARoots accepted text without a certificate")
	}
}
