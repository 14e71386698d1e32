package capture_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/exhibit-archive/exhibit/archive/capture"
)

// hashSink hashes the body and discards it; a real sink also stores it.
func hashSink(_ context.Context, body io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, body)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func ExampleFetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "hello, exhibit\n")
	}))
	defer srv.Close()

	res := capture.Fetch(context.Background(), srv.URL+"/old", capture.Options{Timeout: 10 * time.Second}, hashSink)
	if res.Failure != nil {
		fmt.Println("failed:", res.Failure.Reason, res.Failure.Message)
		return
	}
	for _, hop := range res.Observed.Redirects {
		fmt.Println("redirect:", hop.Status, hop.Location)
	}
	fmt.Println("status:", res.Observed.Status, res.Observed.Protocol)
	fmt.Println("media type:", res.MediaType)
	fmt.Println("size:", res.Size)
	fmt.Println("sha256:", res.SHA256)
	// Output:
	// redirect: 301 /new
	// status: 200 HTTP/1.1
	// media type: text/plain; charset=utf-8
	// size: 15
	// sha256: 34d60a4bc070c727a2c37a7b02f39c7b49a337f057d44ab9b008158d1bc030ee
}

func ExampleFetch_failure() {
	res := capture.Fetch(context.Background(), "ftp://example.com/report.pdf", capture.Options{}, hashSink)
	fmt.Println(res.Failure.Reason)
	fmt.Println(res.Failure.Message)
	// Output:
	// bad_url
	// "ftp://example.com/report.pdf" is not an http or https URL
}
