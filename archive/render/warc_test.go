package render_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/render/replaytest"
	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

// warcRecord is one record of a WARC as gowarc parsed it.
type warcRecord struct {
	typ     string
	h       *gowarc.WarcFields
	block   []byte
	payload []byte      // HTTP records only
	status  int         // response records only
	http    http.Header // HTTP records only
	line    string      // the request or status line
}

// readWARC parses b with gowarc, strictly (digests checked), and checks
// that each record is its own gzip member.
func readWARC(t *testing.T, b []byte) []warcRecord {
	t.Helper()
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(b), 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []warcRecord
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", len(out), err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("record %d: %v", len(out), rec.Validation)
		}
		if !bytes.HasPrefix(b[rec.Offset:], []byte{0x1f, 0x8b}) {
			t.Errorf("record %d at %d is not a gzip member", len(out), rec.Offset)
		}
		wr := rec.WarcRecord
		x := warcRecord{typ: wr.Type().String(), h: wr.WarcHeader()}
		if pb, ok := wr.Block().(gowarc.PayloadBlock); ok {
			p, err := pb.PayloadBytes()
			if err != nil {
				t.Fatal(err)
			}
			x.payload, _ = io.ReadAll(p)
			x.block = append(append([]byte{}, pb.(gowarc.ProtocolHeaderBlock).ProtocolHeaderBytes()...), x.payload...)
		} else {
			rb, err := wr.Block().RawBytes()
			if err != nil {
				t.Fatal(err)
			}
			x.block, _ = io.ReadAll(rb)
		}
		switch blk := wr.Block().(type) {
		case gowarc.HttpResponseBlock:
			x.status, x.http = blk.HttpStatusCode(), *blk.HttpHeader()
		case gowarc.HttpRequestBlock:
			x.http = *blk.HttpHeader()
		}
		if phb, ok := wr.Block().(gowarc.ProtocolHeaderBlock); ok {
			x.line, _, _ = strings.Cut(string(phb.ProtocolHeaderBytes()), "\r\n")
		}
		out = append(out, x)
		rec.Close()
	}
	return out
}

func sha256Label(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// TestRenderWARC records every exchange of a page with a script (sent
// gzip-encoded), an image behind a redirect and a fetch(): warcinfo
// first, then a request and a response record per exchange, linked, with
// digests of what they hold, the bodies as decoded and headers that agree.
func TestRenderWARC(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/exchanges", render.Options{Software: "exhibit/test"})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	if !bytes.Contains(res.DOM, []byte(rendertest.Clause)) {
		t.Fatalf("the page did not run its script and fetch: %s", res.DOM)
	}
	recs := readWARC(t, res.WARC)
	if len(recs) == 0 || recs[0].typ != "warcinfo" {
		t.Fatalf("first record is not warcinfo: %d records", len(recs))
	}
	info := string(recs[0].block)
	for _, want := range []string{"software: exhibit/test\r\n", "browser: " + res.Rendering.Browser.Name + "/" + res.Rendering.Browser.Version, "format: WARC File Format 1.1", "exhibit-requested-url: " + srv.URL + "/exchanges"} {
		if !strings.Contains(info, want) {
			t.Errorf("warcinfo lacks %q:\n%s", want, info)
		}
	}
	infoID := recs[0].h.Get(gowarc.WarcRecordID)

	requests := map[string]warcRecord{}    // by WARC-Concurrent-To
	responses := map[string]warcRecord{}   // by target URI
	responseIDs := map[string]warcRecord{} // by record ID
	subSecond := false
	for i, r := range recs[1:] {
		if r.h.Get(gowarc.WarcWarcinfoID) != infoID {
			t.Errorf("record %d: WARC-Warcinfo-ID %q, want %q", i+1, r.h.Get(gowarc.WarcWarcinfoID), infoID)
		}
		if got, want := r.h.Get(gowarc.WarcBlockDigest), sha256Label(r.block); got != want {
			t.Errorf("record %d: block digest %s, the block's is %s", i+1, got, want)
		}
		d, err := time.Parse(time.RFC3339Nano, r.h.Get(gowarc.WarcDate))
		if err != nil {
			t.Errorf("record %d: WARC-Date %q: %v", i+1, r.h.Get(gowarc.WarcDate), err)
		}
		subSecond = subSecond || d.Nanosecond() != 0
		switch r.typ {
		case "request":
			requests[r.h.Get(gowarc.WarcConcurrentTo)] = r
		case "response":
			if got, want := r.h.Get(gowarc.WarcPayloadDigest), sha256Label(r.payload); got != want {
				t.Errorf("%s: payload digest %s, the payload's is %s", r.h.Get(gowarc.WarcTargetURI), got, want)
			}
			if ip := r.h.Get(gowarc.WarcIPAddress); ip != "127.0.0.1" {
				t.Errorf("%s: WARC-IP-Address %q", r.h.Get(gowarc.WarcTargetURI), ip)
			}
			responses[r.h.Get(gowarc.WarcTargetURI)] = r
			responseIDs[r.h.Get(gowarc.WarcRecordID)] = r
		default:
			t.Errorf("record %d of type %s in a plain-http capture", i+1, r.typ)
		}
	}
	if !subSecond {
		t.Error("no WARC-Date has sub-second precision")
	}
	for id, req := range requests {
		if _, ok := responseIDs[id]; !ok {
			t.Errorf("request %s is concurrent to %s, no response", req.h.Get(gowarc.WarcTargetURI), id)
		}
	}
	for _, tc := range []struct {
		path    string
		status  int
		payload []byte
	}{
		{"/exchanges", 200, res.Body},
		{"/app.js", 200, []byte(rendertest.AppJS)},
		{"/pixel", 302, nil},
		{"/pixel.png", 200, nil},
		{"/clause.json", 200, nil},
	} {
		u := srv.URL + tc.path
		resp, ok := responses[u]
		if !ok {
			t.Errorf("no response record for %s", u)
			continue
		}
		req, ok := requests[resp.h.Get(gowarc.WarcRecordID)]
		if !ok {
			t.Errorf("no request record concurrent to the response of %s", u)
		} else if got, want := req.line, "GET "+tc.path+" HTTP/1.1"; got != want || !bytes.Contains(req.block, []byte("\r\nHost: ")) || req.h.Get(gowarc.WarcTargetURI) != u {
			t.Errorf("request of %s: line %q (want %q), target %s", u, got, want, req.h.Get(gowarc.WarcTargetURI))
		}
		if resp.status != tc.status || !strings.HasPrefix(resp.line, "HTTP/1.1 ") {
			t.Errorf("%s: status line %q, want status %d", u, resp.line, tc.status)
		}
		if tc.payload != nil && !bytes.Equal(resp.payload, tc.payload) {
			t.Errorf("%s: payload %q, want %q", u, resp.payload, tc.payload)
		}
		if tc.status == 200 && len(resp.payload) == 0 {
			t.Errorf("%s: empty payload", u)
		}
		if cl := resp.http.Get("Content-Length"); cl != strconv.Itoa(len(resp.payload)) {
			t.Errorf("%s: Content-Length %q, payload %d bytes", u, cl, len(resp.payload))
		}
		if resp.http.Get("Content-Encoding") != "" || resp.http.Get("Transfer-Encoding") != "" {
			t.Errorf("%s: the decoded body is stored under %v", u, resp.http)
		}
	}
	if got := responses[srv.URL+"/app.js"].http.Get(render.OrigHeaderPrefix + "Content-Encoding"); got != "gzip" {
		t.Errorf("app.js: %sContent-Encoding %q, want gzip", render.OrigHeaderPrefix, got)
	}
	if r := responses[srv.URL+"/pixel"]; r.http.Get("Location") != "/pixel.png" || r.h.Get(render.HeaderBodyOmitted) != "redirect" {
		t.Errorf("redirect: Location %q, %s %q", r.http.Get("Location"), render.HeaderBodyOmitted, r.h.Get(render.HeaderBodyOmitted))
	}
	if r := responses[srv.URL+"/exchanges"]; !strings.HasPrefix(r.http.Get("Content-Type"), "text/html") {
		t.Errorf("main response headers %v", r.http)
	}
}

// TestRenderWARCBodyLimit: the page-weight bound counts bodies as
// decoded, so a body of a few KiB on the wire that decodes beyond
// MaxPageBytes fails the render (no WARC); within the bound, the WARC
// holds it whole.
func TestRenderWARCBodyLimit(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	r := render.New(render.Config{ExecPath: bin})
	res, err := r.Render(context.Background(), srv.URL+"/compressed", render.Options{MaxPageBytes: rendertest.ZerosSize / 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure == nil || res.Failure.Reason != render.ReasonTooLarge || res.WARC != nil {
		t.Fatalf("failure %+v, WARC of %d bytes: want %s and no WARC", res.Failure, len(res.WARC), render.ReasonTooLarge)
	}
	res, err = r.Render(context.Background(), srv.URL+"/compressed", render.Options{MaxPageBytes: 2 * rendertest.ZerosSize})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	found := false
	for _, r := range readWARC(t, res.WARC) {
		if r.typ == "response" && r.h.Get(gowarc.WarcTargetURI) == srv.URL+"/zeros.txt" {
			found = true
			if len(r.payload) != rendertest.ZerosSize || r.h.Get(gowarc.WarcTruncated) != "" {
				t.Errorf("zeros.txt: payload %d bytes, WARC-Truncated %q", len(r.payload), r.h.Get(gowarc.WarcTruncated))
			}
		}
	}
	if !found {
		t.Error("no response record for /zeros.txt")
	}
}

// checkCertChainRecord finds the metadata record of the main document's
// certificate chain and compares it with want.
func checkCertChainRecord(t *testing.T, warc []byte, finalURL string, want []byte) {
	t.Helper()
	recs := readWARC(t, warc)
	var mainID string
	for _, r := range recs {
		if r.typ == "response" && r.h.Get(gowarc.WarcTargetURI) == finalURL {
			mainID = r.h.Get(gowarc.WarcRecordID)
		}
	}
	for _, r := range recs {
		if r.typ != "metadata" || r.h.Get(gowarc.WarcTargetURI) != render.CertChainURIPrefix+finalURL {
			continue
		}
		if r.h.Get(gowarc.ContentType) != render.MediaTypeCertChain || r.h.Get(gowarc.WarcConcurrentTo) != mainID || mainID == "" {
			t.Errorf("chain record: Content-Type %q, concurrent to %q (main response %q)", r.h.Get(gowarc.ContentType), r.h.Get(gowarc.WarcConcurrentTo), mainID)
		}
		if !bytes.Equal(r.block, want) {
			t.Errorf("chain record holds %q, want %q", r.block, want)
		}
		certs, err := verify.ParseCertificatesPEM(r.block)
		if err != nil || len(certs) == 0 {
			t.Errorf("chain record: %d certificates, %v", len(certs), err)
		}
		return
	}
	t.Errorf("no metadata record %s%s", render.CertChainURIPrefix, finalURL)
}

// TestRenderWARCMainRequest: read by warcio, an independent reader, the
// WARC holds a request record of the main document (and of each of its
// redirect hops) whose WARC-Concurrent-To names that hop's response, with
// and without the address policy's proxy.
func TestRenderWARCMainRequest(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	for _, tc := range []struct {
		name string
		o    render.Options
	}{{"direct", render.Options{}}, {"proxy", render.Options{Control: allowAll}}} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/old", tc.o)
			if err != nil || res.Failure != nil {
				t.Fatalf("%v %+v", err, res.Failure)
			}
			recs, err := replaytest.WARCRecords(t, res.WARC)
			if err != nil {
				t.Fatal(err)
			}
			responses := map[string]string{} // record ID -> target
			for _, r := range recs {
				if r.Type == "response" {
					responses[r.RecordID] = r.TargetURI
				}
			}
			for _, u := range []string{srv.URL + "/old", srv.URL + "/terms"} {
				ok := false
				for _, r := range recs {
					ok = ok || r.Type == "request" && r.TargetURI == u && responses[r.ConcurrentTo] == u
				}
				if !ok {
					t.Errorf("no request record of %s concurrent to its response, among %+v", u, recs)
				}
			}
		})
	}
}

// TestRenderWARCIndexOmitted: a frame whose document never finishes is
// in the WARC with its body omitted ("unfinished"), and the WACZ's CDXJ
// index leaves it out (replay would serve it empty), while it lists the
// page.
func TestRenderWARCIndexOmitted(t *testing.T) {
	bin := rendertest.Chromium(t)
	srv := httptest.NewServer(rendertest.ScriptedPage())
	defer srv.Close()
	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/stalled", render.Options{SettleTimeout: 3 * time.Second})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	omitted := false
	for _, r := range readWARC(t, res.WARC) {
		if r.typ == "response" && r.h.Get(gowarc.WarcTargetURI) == srv.URL+"/forever" {
			omitted = r.h.Get(render.HeaderBodyOmitted) == "unfinished"
		}
	}
	if !omitted {
		t.Fatalf("no response record of /forever with %s: unfinished: the test proves nothing", render.HeaderBodyOmitted)
	}
	idx, err := wacz.Index(res.WARC, "data.warc.gz")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(idx, []byte(`"url":"`+srv.URL+`/stalled"`)) || bytes.Contains(idx, []byte("/forever")) {
		t.Errorf("index:\n%s\nwant /stalled and not /forever", idx)
	}
}
