package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/exhibit-archive/exhibit/archive/store/s3"
)

// An archive in a bucket with Object Lock: every object is kept for ten
// years in compliance mode. Credentials come from the environment.
func Example() {
	ctx := context.Background()
	s, err := s3.New(ctx, s3.Config{
		Bucket:        "evidence",
		Prefix:        "archive1/",
		Endpoint:      "https://s3.eu-central-1.amazonaws.com",
		Region:        "eu-central-1",
		Retention:     10 * 365 * 24 * time.Hour,
		RetentionMode: "compliance",
	})
	if err != nil {
		log.Fatal(err)
	}
	page := []byte("<html><body>The policy, as it was.</body></html>\n")
	obj, err := s.Put(ctx, bytes.NewReader(page), int64(len(page)), "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored", obj.SHA256, "in", s.Location())

	rc, err := s.Get(ctx, obj.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		log.Fatal(err) // a *store.DigestMismatchError if the bytes changed
	}
}
