package render

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
)

// TestResponseBlock: the stored headers agree with the stored (decoded)
// body, whatever the wire said, and keep what it said under X-Orig-.
func TestResponseBlock(t *testing.T) {
	for _, tc := range []struct {
		desc        string
		resp        *network.Response
		extra       *network.EventResponseReceivedExtraInfo
		body        []byte
		bodyOmitted string
		wantHeaders map[string]string // "" means absent
		wantOmitted bool
		wantLine    string
	}{
		{
			desc:        "gzip on the wire, decoded body",
			resp:        &network.Response{Status: 200, StatusText: "OK", Headers: network.Headers{"Content-Encoding": "gzip", "Content-Length": "20", "Content-Type": "text/plain"}},
			body:        []byte("hello, decoded world"),
			wantHeaders: map[string]string{"Content-Encoding": "", "X-Orig-Content-Encoding": "gzip", "Content-Length": "20", "X-Orig-Content-Length": "", "Content-Type": "text/plain"},
			wantLine:    "HTTP/1.1 200 OK",
		},
		{
			desc:        "chunked, raw HTTP/1 header text kept in order",
			resp:        &network.Response{Status: 200, StatusText: "OK", Headers: network.Headers{"transfer-encoding": "chunked"}},
			extra:       &network.EventResponseReceivedExtraInfo{StatusCode: 200, HeadersText: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nTransfer-Encoding: chunked\r\nContent-Encoding: br\r\n\r\n"},
			body:        []byte("abc"),
			wantHeaders: map[string]string{"Transfer-Encoding": "", "X-Orig-Transfer-Encoding": "chunked", "X-Orig-Content-Encoding": "br", "Content-Length": "3", "Set-Cookie": "a=1"},
			wantLine:    "HTTP/1.1 200 OK",
		},
		{
			desc:        "extra info of another status is not used",
			resp:        &network.Response{Status: 200, Headers: network.Headers{"X-A": "resp"}},
			extra:       &network.EventResponseReceivedExtraInfo{StatusCode: 304, Headers: network.Headers{"X-A": "extra"}},
			body:        []byte("x"),
			wantHeaders: map[string]string{"X-A": "resp", "Content-Length": "1"},
			wantLine:    "HTTP/1.1 200 OK",
		},
		{
			desc:        "HTTP/2 pseudo-headers dropped",
			resp:        &network.Response{Status: 404, Protocol: "h2", Headers: network.Headers{":status": "404", "content-type": "text/html"}},
			body:        []byte("nope"),
			wantHeaders: map[string]string{"Content-Type": "text/html", "Content-Length": "4"},
			wantLine:    "HTTP/1.1 404 Not Found",
		},
		{
			desc:        "redirect body not kept",
			resp:        &network.Response{Status: 302, StatusText: "Found", Headers: network.Headers{"Location": "/x", "Content-Length": "29"}},
			bodyOmitted: "redirect",
			wantHeaders: map[string]string{"Location": "/x", "Content-Length": "0", "X-Orig-Content-Length": "29"},
			wantOmitted: true,
			wantLine:    "HTTP/1.1 302 Found",
		},
		{
			desc:        "declared empty: nothing omitted",
			resp:        &network.Response{Status: 301, StatusText: "Moved Permanently", Headers: network.Headers{"Location": "/y", "Content-Length": "0"}},
			bodyOmitted: "redirect",
			wantHeaders: map[string]string{"Content-Length": "0", "X-Orig-Content-Length": ""},
			wantLine:    "HTTP/1.1 301 Moved Permanently",
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			ex := &exchange{req: &network.Request{URL: "http://example.test/", Method: "GET"}, resp: tc.resp, respExtra: tc.extra, body: tc.body, bodyOmitted: tc.bodyOmitted}
			block, omitted := responseBlock(ex)
			if omitted != tc.wantOmitted {
				t.Errorf("omitted %v, want %v", omitted, tc.wantOmitted)
			}
			if line, _, _ := strings.Cut(string(block), "\r\n"); line != tc.wantLine {
				t.Errorf("status line %q, want %q", line, tc.wantLine)
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(block)), nil)
			if err != nil {
				t.Fatalf("Go cannot read the block: %v\n%s", err, block)
			}
			for k, want := range tc.wantHeaders {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q\n%s", k, got, want, block)
				}
			}
			body, _ := io.ReadAll(resp.Body)
			if !bytes.Equal(body, tc.body) {
				t.Errorf("body %q, want %q", body, tc.body)
			}
		})
	}
}

// TestRequestBlock: HTTP/1.1 request line, a Host header, pseudo-headers
// dropped, the extra-info headers preferred, the posted body kept.
func TestRequestBlock(t *testing.T) {
	ex := &exchange{
		req: &network.Request{URL: "https://example.test/a/b?q=1", Method: "POST", Headers: network.Headers{"Accept": "*/*"},
			PostDataEntries: []*network.PostDataEntry{{Bytes: []byte("x=1")}, {Bytes: []byte("&y=2")}}},
		reqHeaders: network.Headers{":authority": "example.test", ":method": "POST", "cookie": "s=1", "content-length": "7"},
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(requestBlock(ex))))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if req.Method != "POST" || req.RequestURI != "/a/b?q=1" || req.Proto != "HTTP/1.1" || req.Host != "example.test" ||
		req.Header.Get("Cookie") != "s=1" || req.Header.Get(":authority") != "" || string(body) != "x=1&y=2" {
		t.Errorf("request %+v, body %q", req, body)
	}
}

// TestReceivedBody: a body the browser gave as decoded text is encoded
// back into the charset it was decoded with (issue 12: a page whose
// header says ISO-8859-1 while its bytes are UTF-8 replayed more garbled
// than the browser showed it, as the WARC held the browser's UTF-8 text
// under the header's ISO-8859-1); where that cannot be done, the text is
// kept as UTF-8 and the record says so.
func TestReceivedBody(t *testing.T) {
	html := func(ct string) *network.Response {
		h := network.Headers{}
		if ct != "" {
			h["Content-Type"] = ct
		}
		return &network.Response{Status: 200, MimeType: "text/html", Headers: h}
	}
	for _, tc := range []struct {
		desc        string
		resp        *network.Response
		got         network.GetResponseBodyResult
		want        []byte
		wantCharset string
	}{
		{
			desc: "bytes given as base64 are kept",
			resp: html("image/png"), got: network.GetResponseBodyResult{Body: []byte{0x89, 'P', 0xff}, Base64encoded: true},
			want: []byte{0x89, 'P', 0xff},
		},
		{
			// The browser decoded C3 A9 as windows-1252: "Ã©".
			desc: "UTF-8 bytes under a header saying ISO-8859-1",
			resp: html("text/html; charset=iso-8859-1"), got: network.GetResponseBodyResult{Body: []byte("Caf\u00c3\u00a9")},
			want: []byte("Caf\xc3\xa9"), wantCharset: "windows-1252",
		},
		{
			desc: "windows-1252 bytes the encoding leaves undefined (0x81) come back",
			resp: html("text/plain; charset=windows-1252"), got: network.GetResponseBodyResult{Body: []byte("a\u0081b\u20ac")},
			want: []byte("a\x81b\x80"), wantCharset: "windows-1252",
		},
		{
			desc: "UTF-8 as declared",
			resp: html("text/html; charset=UTF-8"), got: network.GetResponseBodyResult{Body: []byte("日本")},
			want: []byte("日本"), wantCharset: "utf-8",
		},
		{
			desc: "HTML without a header charset: its meta",
			resp: html("text/html"), got: network.GetResponseBodyResult{Body: []byte("<meta charset=\"iso-8859-1\"><p>na\u00efve")},
			want: []byte(`<meta charset="iso-8859-1"><p>na` + "\xefve"), wantCharset: "windows-1252",
		},
		{
			desc: "HTML without a charset anywhere: UTF-8",
			resp: html("text/html"), got: network.GetResponseBodyResult{Body: []byte("<p>na\u00efve")},
			want: []byte("<p>na\u00efve"), wantCharset: "utf-8",
		},
		{
			desc: "other text without a charset: windows-1252",
			resp: html("text/plain"), got: network.GetResponseBodyResult{Body: []byte("na\u00efve")},
			want: []byte("na\xefve"), wantCharset: "windows-1252",
		},
		{
			desc: "Shift_JIS",
			resp: html("text/html; charset=Shift_JIS"), got: network.GetResponseBodyResult{Body: []byte("日本")},
			want: []byte("\x93\xfa\x96\x7b"), wantCharset: "shift_jis",
		},
		{
			desc: "Shift_JIS the browser could not decode: kept as UTF-8",
			resp: html("text/html; charset=Shift_JIS"), got: network.GetResponseBodyResult{Body: []byte("日\ufffd")},
			want: []byte("日\ufffd"), wantCharset: "utf-8; decoded from shift_jis",
		},
		{
			desc: "invalid UTF-8 the browser replaced: kept, said",
			resp: html("text/html; charset=utf-8"), got: network.GetResponseBodyResult{Body: []byte("a\ufffd")},
			want: []byte("a\ufffd"), wantCharset: "utf-8; decoded from utf-8",
		},
		{
			desc: "no response known: UTF-8",
			resp: nil, got: network.GetResponseBodyResult{Body: []byte("na\u00efve")},
			want: []byte("na\u00efve"), wantCharset: "utf-8",
		},
		{
			desc: "a charset no encoding has",
			resp: html("text/html; charset=x-bogus"), got: network.GetResponseBodyResult{Body: []byte("a")},
			want: []byte("a"), wantCharset: "utf-8; decoded from x-bogus",
		},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, cs := receivedBody(tc.resp, tc.got)
			if !bytes.Equal(got, tc.want) || cs != tc.wantCharset {
				t.Errorf("receivedBody = %q, %q; want %q, %q", got, cs, tc.want, tc.wantCharset)
			}
		})
	}
}

// TestResponseBlockUTF8Text: a body kept as the browser's UTF-8 text is
// said to be UTF-8, the Content-Type as received kept under X-Orig-.
func TestResponseBlockUTF8Text(t *testing.T) {
	ex := &exchange{
		resp:        &network.Response{Status: 200, StatusText: "OK", Headers: network.Headers{"Content-Type": "text/html; charset=Shift_JIS"}},
		body:        []byte("日\ufffd"),
		bodyCharset: "utf-8; decoded from shift_jis",
	}
	block, _ := responseBlock(ex)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(block)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	if got, want := resp.Header.Get("X-Orig-Content-Type"), "text/html; charset=Shift_JIS"; got != want {
		t.Errorf("X-Orig-Content-Type %q, want %q", got, want)
	}
	ex.bodyCharset = "shift_jis"
	block, _ = responseBlock(ex)
	if !bytes.Contains(block, []byte("Content-Type: text/html; charset=Shift_JIS\r\n")) || bytes.Contains(block, []byte("X-Orig-Content-Type")) {
		t.Errorf("a body encoded back changed its Content-Type:\n%s", block)
	}
}
