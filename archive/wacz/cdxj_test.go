package wacz_test

import (
	"bytes"
	"compress/gzip"
	"testing"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/wacz"
)

// TestIndexOmittedBodies: a response whose body the WARC does not hold
// (Exhibit-Body-Omitted) is left out of the index unless it is a
// redirect; a partial body (WARC-Truncated alone) and a whole one are
// indexed.
func TestIndexOmittedBodies(t *testing.T) {
	var out bytes.Buffer
	m := gowarc.NewMarshaler()
	add := func(target, block string, fields ...string) {
		rb := gowarc.NewRecordBuilder(gowarc.Response, gowarc.WithAddMissingDigest(true), gowarc.WithAddMissingContentLength(true),
			gowarc.WithAddMissingRecordId(true), gowarc.WithFixDigest(true))
		if _, err := rb.WriteString(block); err != nil {
			t.Fatal(err)
		}
		rb.AddWarcHeaderTime(gowarc.WarcDate, captured)
		rb.AddWarcHeader(gowarc.ContentType, "application/http;msgtype=response")
		rb.AddWarcHeader(gowarc.WarcTargetURI, target)
		for i := 0; i+1 < len(fields); i += 2 {
			rb.AddWarcHeader(fields[i], fields[i+1])
		}
		rec, _, err := rb.Build()
		if err != nil {
			t.Fatal(err)
		}
		gz := gzip.NewWriter(&out)
		if _, _, err := m.Marshal(gz, rec, 0); err != nil {
			t.Fatal(err)
		}
		gz.Close()
	}
	add("https://example.com/", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok")
	add("https://example.com/old", "HTTP/1.1 302 Found\r\nLocation: /\r\nContent-Length: 0\r\n\r\n", "Exhibit-Body-Omitted", "redirect")
	add("https://example.com/partial", "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 4\r\n\r\npart", gowarc.WarcTruncated, "unspecified")
	add("https://example.com/big.png", "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 0\r\n\r\n", "Exhibit-Body-Omitted", "limit", gowarc.WarcTruncated, "length")
	add("https://example.com/slow.js", "HTTP/1.1 200 OK\r\nContent-Type: text/javascript\r\nContent-Length: 0\r\n\r\n", "Exhibit-Body-Omitted", "unfinished", gowarc.WarcTruncated, "unspecified")
	add("https://example.com/gone.css", "HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Length: 0\r\n\r\n", "Exhibit-Body-Omitted", "unavailable: No data found", gowarc.WarcTruncated, "unspecified")

	entries, err := wacz.Entries(out.Bytes(), "data.warc.gz")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.URL+" "+e.Status)
	}
	want := []string{"https://example.com/ 200", "https://example.com/old 302", "https://example.com/partial 200"}
	if len(got) != len(want) {
		t.Fatalf("indexed %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %q, want %q", i, got[i], want[i])
		}
	}
	idx, err := wacz.Index(out.Bytes(), "data.warc.gz")
	if err != nil {
		t.Fatal(err)
	}
	for _, left := range []string{"big.png", "slow.js", "gone.css"} {
		if bytes.Contains(idx, []byte(left)) {
			t.Errorf("the index lists %s, whose body the WARC does not hold:\n%s", left, idx)
		}
	}
}
