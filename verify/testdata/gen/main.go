// Command gen rebuilds verify/testdata: a small real archive log made by
// exhibit's own pipeline, with a fixed signing key, from which it writes
//
//	log.vkey           the log's verifier key
//	bundle.json        the evidence bundle of entry 2 of 5 (exhibit JSON)
//	bundle.tlog-proof  the same bundle in C2SP tlog-proof form
//	snapshot.html      the snapshot that bundle's statement signs
//	statement.json     that statement (the DSSE payload)
//	failed.json        the bundle of a failed capture (a redirect loop)
//
// Run from the repository root: go run ./verify/testdata/gen
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

func main() {
	ctx := context.Background()
	out := filepath.Join("verify", "testdata")
	tmp, err := os.MkdirTemp("", "exhibit-testdata")
	check(err)
	defer os.RemoveAll(tmp)

	seed := sha256.Sum256([]byte("exhibit verify testdata"))
	keyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(ed25519.NewKeyFromSeed(seed[:]))
	check(err)
	dir := filepath.Join(tmp, "archive")
	_, err = archive.Init(ctx, dir, archive.InitOptions{Origin: "testdata.example/exhibit", KeyPEM: keyPEM})
	check(err)
	a, err := archive.Open(ctx, dir, archive.OpenOptions{Write: true})
	check(err)

	var recs []*archive.Record
	for i := range 5 {
		p := filepath.Join(tmp, fmt.Sprintf("v%d.html", i))
		check(os.WriteFile(p, []byte(fmt.Sprintf("<html><body><h1>Privacy Policy</h1><p>Version %d.</p></body></html>\n", i)), 0o644))
		r, err := a.CaptureFile(ctx, p, archive.FileOptions{
			Entity: "Example", Document: "Privacy Policy", URL: "https://example.org/privacy",
			FetchedAt: time.Date(2026, 5, 8, 11, 13, 55+i, 0, time.UTC),
		})
		check(err)
		recs = append(recs, r)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}))
	failed, err := a.Capture(ctx, srv.URL+"/loop", archive.CaptureOptions{Entity: "Example", Document: "Loop"})
	srv.Close()
	check(err)

	_, b, err := a.Prove(ctx, recs[2].RecordID)
	check(err)
	_, fb, err := a.Prove(ctx, failed.RecordID)
	check(err)
	snap, err := os.ReadFile(filepath.Join(tmp, "v2.html"))
	check(err)
	var env verify.Envelope
	check(json.Unmarshal(b.Entry, &env))

	write := func(name string, data []byte) { check(os.WriteFile(filepath.Join(out, name), data, 0o644)) }
	write("log.vkey", []byte(a.Key().VKey+"\n"))
	write("bundle.json", b.Marshal())
	write("bundle.tlog-proof", b.MarshalProof())
	write("snapshot.html", snap)
	write("statement.json", env.Payload)
	write("failed.json", fb.Marshal())
	check(a.Close(ctx))
	log.Printf("wrote %s: record %s at index %d of %d", out, b.RecordID, b.Index, 6)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
