package render

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/google/uuid"
	"github.com/nlnwa/gowarc/v3"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding/charmap"
)

// WARC records exhibit writes beside the usual ones.
const (
	// CertChainURIPrefix begins the WARC-Target-URI of the metadata record
	// that holds the main document's TLS certificate chain: the prefix,
	// then the main document's final URL.
	CertChainURIPrefix = "urn:x-exhibit:tls-certificate-chain:"
	// MediaTypeCertChain is that record's Content-Type (RFC 8555, section
	// 9.1): PEM CERTIFICATE blocks, leaf first.
	MediaTypeCertChain = "application/pem-certificate-chain"
	// HeaderBodyOmitted is the WARC header of a response record whose
	// body the WARC does not hold, with the reason: "redirect" (Chromium
	// keeps no body of a redirect), "limit" (the bodies already recorded
	// reached Options.MaxPageBytes), "unfinished" (still loading when the
	// page was taken) or "unavailable: " and the browser's error. Such a
	// record also has WARC-Truncated ("length" for "limit", "unspecified"
	// otherwise) unless the response declared an empty body.
	HeaderBodyOmitted = "Exhibit-Body-Omitted"
	// OrigHeaderPrefix is put before the name of a response header that
	// described the body as it travelled (Content-Encoding,
	// Transfer-Encoding, and Content-Length when it differs from the
	// stored body's length), as Browsertrix does: the WARC holds the body
	// as the browser decoded it.
	OrigHeaderPrefix = "X-Orig-"
)

// exchange is one HTTP request and its response (a redirect is an
// exchange of its own), as Chromium reported them.
type exchange struct {
	req  *network.Request
	at   time.Time         // the request's wall time
	resp *network.Response // nil if none arrived
	// reqHeaders and resp* are the raw headers of the extra-info events,
	// nil when Chromium sent none for this hop.
	reqHeaders  network.Headers
	respExtra   *network.EventResponseReceivedExtraInfo
	body        []byte
	bodyOmitted string // a reason of HeaderBodyOmitted, or ""
	bodyCharset string // the value of HeaderBodyCharset, or ""
	main        bool   // the main document's final response
	// partial: body is what had arrived when the page was taken, of a
	// response still loading (WARC-Truncated: unspecified).
	partial bool
}

// warcInfo is what the warcinfo record says of the capture.
type warcInfo struct {
	software, browser, userAgent string
	requestedURL, startedAt      string
	// policy describes the address policy the browser's proxy applied,
	// "" when there was none; refused lists, sorted, each host:port the
	// proxy did not connect to, with why ("host:port: error").
	policy  string
	refused []string
}

// buildWARC writes info and the exchanges as a WARC/1.1 file, each record
// its own gzip member: warcinfo, then per exchange a request record and a
// response record, and after the main document's response a metadata
// record of its certificate chain (chainPEM, if any).
func buildWARC(info warcInfo, exs []*exchange, chainPEM []byte) ([]byte, error) {
	gz, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
	m := gowarc.NewMarshaler()
	// write appends the records to out, each its own gzip member; on an
	// error, out is left as it was.
	write := func(out *bytes.Buffer, recs ...gowarc.WarcRecord) error {
		n := out.Len()
		for _, rec := range recs {
			defer rec.Close()
		}
		for _, rec := range recs {
			gz.Reset(out)
			_, _, err := m.Marshal(gz, rec, 0)
			if err == nil {
				err = gz.Close()
			}
			if err != nil {
				out.Truncate(n)
				return err
			}
		}
		return nil
	}
	build := func(typ gowarc.RecordType, id string, at time.Time, contentType string, block []byte, fields [][2]string) (gowarc.WarcRecord, error) {
		b := gowarc.NewRecordBuilder(typ,
			gowarc.WithAddMissingDigest(true),
			gowarc.WithDefaultDigestAlgorithm("sha256"),
			gowarc.WithBufferMaxMemBytes(int64(len(block))+1),
			gowarc.WithSpecViolationPolicy(gowarc.ErrFail),
			gowarc.WithSyntaxErrorPolicy(gowarc.ErrFail))
		b.AddWarcHeader(gowarc.WarcRecordID, id)
		b.AddWarcHeaderTime(gowarc.WarcDate, at)
		b.AddWarcHeader(gowarc.ContentType, contentType)
		for _, f := range fields {
			b.AddWarcHeader(f[0], f[1])
		}
		if _, err := b.Write(block); err != nil {
			b.Close()
			return nil, err
		}
		rec, _, err := b.Build()
		if err != nil {
			return nil, fmt.Errorf("building the %s record: %w", typ, err)
		}
		return rec, nil
	}

	// The exchanges first, so that warcinfo can name those left out (an
	// exchange whose records gowarc refuses is left out, not the capture).
	infoID := newRecordID()
	var records bytes.Buffer
	var omitted []string
	for _, ex := range exs {
		if ex.resp == nil {
			continue
		}
		if err := writeExchange(&records, write, build, ex, infoID, chainPEM); err != nil {
			omitted = append(omitted, ex.req.URL+": "+err.Error())
		}
	}

	var fields strings.Builder
	for _, f := range [][2]string{
		{"software", info.software},
		{"browser", info.browser},
		{"http-header-user-agent", info.userAgent},
		{"format", "WARC File Format 1.1"},
		{"conformsTo", "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"},
		{"description", "Every HTTP exchange of a browser capture (capture predicate version 2, method browser) by exhibit"},
		{"exhibit-requested-url", info.requestedURL},
		{"exhibit-started-at", info.startedAt},
		{"exhibit-address-policy", info.policy},
	} {
		if f[1] != "" {
			fmt.Fprintf(&fields, "%s: %s\r\n", f[0], oneLine(f[1]))
		}
	}
	for i, o := range omitted {
		if i == maxOmittedNamed {
			fmt.Fprintf(&fields, "exhibit-exchange-omitted: and %d more\r\n", len(omitted)-i)
			break
		}
		fmt.Fprintf(&fields, "exhibit-exchange-omitted: %s\r\n", oneLine(o))
	}
	for i, r := range info.refused {
		if i == maxOmittedNamed {
			fmt.Fprintf(&fields, "exhibit-connection-refused: and %d more\r\n", len(info.refused)-i)
			break
		}
		fmt.Fprintf(&fields, "exhibit-connection-refused: %s\r\n", oneLine(r))
	}
	startedAt, _ := time.Parse(time.RFC3339Nano, info.startedAt)
	rec, err := build(gowarc.Warcinfo, infoID, startedAt, "application/warc-fields", []byte(fields.String()), nil)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(records.Len() + 1024)
	if err := write(&out, rec); err != nil {
		return nil, err
	}
	out.Write(records.Bytes())
	return out.Bytes(), nil
}

// maxOmittedNamed bounds the exchanges warcinfo names as left out.
const maxOmittedNamed = 20

// writeExchange appends the request and response records of ex to out,
// and the certificate chain's metadata record after the main document's
// response; all of them or none.
func writeExchange(out *bytes.Buffer,
	write func(*bytes.Buffer, ...gowarc.WarcRecord) error,
	build func(gowarc.RecordType, string, time.Time, string, []byte, [][2]string) (gowarc.WarcRecord, error),
	ex *exchange, infoID string, chainPEM []byte) error {
	target := ex.req.URL
	reqID, respID := newRecordID(), newRecordID()
	var recs []gowarc.WarcRecord
	defer func() {
		for _, r := range recs {
			r.Close()
		}
	}()
	rec, err := build(gowarc.Request, reqID, ex.at, "application/http;msgtype=request", requestBlock(ex), [][2]string{
		{gowarc.WarcTargetURI, target},
		{gowarc.WarcConcurrentTo, respID},
		{gowarc.WarcWarcinfoID, infoID},
	})
	if err != nil {
		return err
	}
	recs = append(recs, rec)
	block, omitted := responseBlock(ex)
	f := [][2]string{
		{gowarc.WarcTargetURI, target},
		{gowarc.WarcWarcinfoID, infoID},
	}
	if ip := strings.Trim(ex.resp.RemoteIPAddress, "[]"); ip != "" {
		f = append(f, [2]string{gowarc.WarcIPAddress, ip})
	}
	if ex.bodyCharset != "" && ex.bodyOmitted == "" {
		f = append(f, [2]string{HeaderBodyCharset, oneLine(ex.bodyCharset)})
	}
	if ex.partial && ex.bodyOmitted == "" {
		f = append(f, [2]string{gowarc.WarcTruncated, "unspecified"})
	}
	if ex.bodyOmitted != "" {
		f = append(f, [2]string{HeaderBodyOmitted, oneLine(ex.bodyOmitted)})
		if omitted {
			f = append(f, [2]string{gowarc.WarcTruncated, map[bool]string{true: "length", false: "unspecified"}[ex.bodyOmitted == "limit"]})
		}
	}
	if rec, err = build(gowarc.Response, respID, ex.at, "application/http;msgtype=response", block, f); err != nil {
		return err
	}
	recs = append(recs, rec)
	if ex.main && len(chainPEM) > 0 {
		rec, err := build(gowarc.Metadata, newRecordID(), ex.at, MediaTypeCertChain, chainPEM, [][2]string{
			{gowarc.WarcTargetURI, CertChainURIPrefix + target},
			{gowarc.WarcConcurrentTo, respID},
			{gowarc.WarcWarcinfoID, infoID},
		})
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	err = write(out, recs...)
	recs = nil // write closed them
	return err
}

func newRecordID() string { return "<urn:uuid:" + uuid.NewString() + ">" }

// oneLine keeps a header value on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// requestBlock is the request as HTTP/1.1: the request line, the headers
// as sent (the extra-info event's, else the request's, without HTTP/2
// pseudo-headers, with a Host header), then the body the page posted.
func requestBlock(ex *exchange) []byte {
	var b bytes.Buffer
	target, host := ex.req.URL, ""
	if u, err := url.Parse(ex.req.URL); err == nil {
		target, host = u.RequestURI(), u.Host
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", cmp.Or(ex.req.Method, http.MethodGet), target)
	h := ex.reqHeaders
	if h == nil {
		h = ex.req.Headers
	}
	lines := sortedHeaders(h)
	if host != "" && !hasHeader(lines, "Host") {
		lines = append([][2]string{{"Host", host}}, lines...)
	}
	var body []byte
	for _, e := range ex.req.PostDataEntries {
		body = append(body, e.Bytes...)
	}
	writeHeaders(&b, lines)
	b.Write(body)
	return b.Bytes()
}

// responseBlock is the response as HTTP/1.1: a status line, the headers as
// received (the extra-info event's verbatim text for HTTP/1, else its
// header map, else the response's), fixed to agree with the stored body
// (see OrigHeaderPrefix), then the body as the browser decoded it.
// omitted reports that a body the response declared is not stored.
func responseBlock(ex *exchange) (block []byte, omitted bool) {
	var lines [][2]string
	if x := ex.respExtra; x != nil && x.StatusCode == ex.resp.Status {
		if x.HeadersText != "" {
			lines = parseHeadersText(x.HeadersText)
		} else {
			lines = sortedHeaders(x.Headers)
		}
	}
	if lines == nil {
		lines = sortedHeaders(ex.resp.Headers)
	}
	declared := ""
	var fixed [][2]string
	// A body kept as the browser's UTF-8 text (see HeaderBodyCharset)
	// is said to be UTF-8.
	utf8Text := ex.bodyOmitted == "" && strings.HasPrefix(ex.bodyCharset, "utf-8; ")
	for _, l := range lines {
		switch strings.ToLower(l[0]) {
		case "content-type":
			if utf8Text {
				if mt, params, err := mime.ParseMediaType(l[1]); err == nil {
					params["charset"] = "utf-8"
					fixed = append(fixed, [2]string{OrigHeaderPrefix + l[0], l[1]}, [2]string{l[0], mime.FormatMediaType(mt, params)})
					continue
				}
			}
		case "content-encoding", "transfer-encoding":
			l[0] = OrigHeaderPrefix + l[0]
		case "content-length":
			declared = l[1]
			if strings.TrimSpace(l[1]) == strconv.Itoa(len(ex.body)) {
				break
			}
			l[0] = OrigHeaderPrefix + l[0]
		}
		fixed = append(fixed, l)
	}
	fixed = append(fixed, [2]string{"Content-Length", strconv.Itoa(len(ex.body))})
	if strings.TrimSpace(declared) == strconv.Itoa(len(ex.body)) {
		fixed = fixed[:len(fixed)-1]
	}
	omitted = ex.bodyOmitted != "" && strings.TrimSpace(declared) != "0" && ex.resp.Status != http.StatusNoContent && ex.resp.Status != http.StatusNotModified
	var b bytes.Buffer
	status := int(ex.resp.Status)
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", status, oneLine(cmp.Or(ex.resp.StatusText, http.StatusText(status))))
	writeHeaders(&b, fixed)
	b.Write(ex.body)
	return b.Bytes(), omitted
}

func writeHeaders(b *bytes.Buffer, lines [][2]string) {
	for _, l := range lines {
		fmt.Fprintf(b, "%s: %s\r\n", l[0], oneLine(l[1]))
	}
	b.WriteString("\r\n")
}

// sortedHeaders lists the browser's header map (repeated fields joined by
// newlines) as lines, by name, without HTTP/2 pseudo-headers.
func sortedHeaders(h network.Headers) [][2]string {
	names := make([]string, 0, len(h))
	for k := range h {
		if !strings.HasPrefix(k, ":") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var out [][2]string
	for _, k := range names {
		s, ok := h[k].(string)
		if !ok {
			s = fmt.Sprint(h[k])
		}
		for _, v := range strings.Split(s, "\n") {
			out = append(out, [2]string{k, v})
		}
	}
	return out
}

// parseHeadersText lists the header lines of a raw HTTP/1 response head
// (status line first), in order; a line without a colon is dropped.
func parseHeadersText(s string) [][2]string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	out := [][2]string{}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		out = append(out, [2]string{name, strings.TrimSpace(value)})
	}
	return out
}

func hasHeader(lines [][2]string, name string) bool {
	for _, l := range lines {
		if strings.EqualFold(l[0], name) {
			return true
		}
	}
	return false
}

// snapshot returns a copy of the page's HTTP(S) exchanges that got a
// response, in the order of their requests, each with the raw headers of
// its hop's extra-info events when their status agrees. fetch reports the
// exchanges whose body the browser can give (final hop, finished, not
// failed); an exchange not in fetch has bodyOmitted set. w.mu must be held.
func (w *watch) snapshot(mainID network.RequestID) (exs []*exchange, fetch map[*exchange]network.RequestID) {
	fetch = map[*exchange]network.RequestID{}
	for _, r := range w.order {
		reqX, respX := w.reqExtra[r.id], w.respExtra[r.id]
		for i, e := range r.exchanges {
			if e.resp == nil || e.req == nil || !(strings.HasPrefix(e.req.URL, "http://") || strings.HasPrefix(e.req.URL, "https://")) {
				continue
			}
			c := *e
			if i < len(reqX) {
				c.reqHeaders = reqX[i]
			}
			if i < len(respX) && respX[i].StatusCode == c.resp.Status {
				c.respExtra = respX[i]
			}
			last := i == len(r.exchanges)-1
			switch {
			case !last:
				c.bodyOmitted = "redirect"
			case !r.finished:
				c.bodyOmitted = "unfinished"
			case r.failed:
				c.bodyOmitted = "unavailable: loading failed"
			default:
				fetch[&c] = r.id
			}
			c.main = last && r.id == mainID
			exs = append(exs, &c)
		}
	}
	return exs, fetch
}

// wallTime converts Chromium's wall time (seconds since the epoch) to a
// time, at microsecond precision.
func wallTime(t cdp.TimeSinceEpoch) time.Time {
	if t <= 0 {
		return time.Now().UTC()
	}
	return time.UnixMicro(int64(float64(t) * 1e6)).UTC()
}

// HeaderBodyCharset is the WARC header of a response record whose body
// the browser gave as text rather than as bytes. Network.getResponseBody
// returns a text resource (HTML, CSS, JavaScript, JSON, XML, other text/*)
// decoded, as Chromium's InspectorPageAgent decodes it: with the charset
// of the Content-Type header if it has one, else for HTML the <meta>
// charset of its first 1024 bytes, else UTF-8 (HTML, JavaScript, JSON,
// XML) or windows-1252 (other text). The record holds that text encoded
// back into that charset, the value of this header, which gives the bytes
// received wherever the decoding is reversible: always for a single-byte
// charset (ISO-8859-1 is windows-1252, as in browsers) and for valid
// UTF-8, except that a byte-order mark is gone. Storing the UTF-8 the
// protocol carries instead would make a replay decode it again with the
// page's own charset, garbling every character outside ASCII.
//
// When the text cannot be encoded back (it holds U+FFFD, which the
// decoder puts for bytes it could not decode, or a character the charset
// lacks, or the charset is unknown), the body is the text as UTF-8, the
// value is "utf-8; decoded from " and the charset, and the response's
// Content-Type is given charset=utf-8, the header as received kept with
// [OrigHeaderPrefix]: a replay then shows what the browser showed.
const HeaderBodyCharset = "Exhibit-Body-Charset"

// receivedBody returns the body of a response as the browser received it
// (after any Content-Encoding), from what Network.getResponseBody gave,
// and, for a body given as text, the value of [HeaderBodyCharset] (""
// for bytes given as base64, which are the received bytes).
func receivedBody(resp *network.Response, got network.GetResponseBodyResult) (body []byte, charsetNote string) {
	if got.Base64encoded {
		return got.Body, ""
	}
	text := got.Body
	cs := decodedCharset(resp, text)
	enc, name := charset.Lookup(cs)
	if enc == nil {
		return text, "utf-8; decoded from " + cs
	}
	if name == "utf-8" {
		if bytes.ContainsRune(text, utf8.RuneError) {
			return text, "utf-8; decoded from utf-8"
		}
		return text, name
	}
	if bytes.ContainsRune(text, utf8.RuneError) {
		return text, "utf-8; decoded from " + name
	}
	if name == "windows-1252" {
		if b, ok := encodeWindows1252(text); ok {
			return b, name
		}
		return text, "utf-8; decoded from " + name
	}
	b, err := enc.NewEncoder().Bytes(text)
	if err != nil {
		return text, "utf-8; decoded from " + name
	}
	if back, err := enc.NewDecoder().Bytes(b); err != nil || !bytes.Equal(back, text) {
		return text, "utf-8; decoded from " + name
	}
	return b, name
}

// encodeWindows1252 encodes text in windows-1252 as the Encoding Standard
// defines it (https://encoding.spec.whatwg.org/#windows-1252), which
// browsers decode ISO-8859-1 and US-ASCII with: every byte is a
// character, the five x/text's charmap leaves undefined (0x81, 0x8D,
// 0x8F, 0x90, 0x9D) being U+0081 and so on, so that any text the browser
// decoded from windows-1252 encodes back to the bytes it was.
func encodeWindows1252(text []byte) ([]byte, bool) {
	out := make([]byte, 0, len(text))
	for _, r := range string(text) {
		switch {
		case r < 0x80 || r >= 0xa0 && r <= 0xff || r == 0x81 || r == 0x8d || r == 0x8f || r == 0x90 || r == 0x9d:
			out = append(out, byte(r))
		default:
			b, ok := charmap.Windows1252.EncodeRune(r)
			if !ok {
				return nil, false
			}
			out = append(out, b)
		}
	}
	return out, true
}

// decodedCharset is the charset Chromium decoded a text body with
// (InspectorPageAgent::CreateResourceTextDecoder): the Content-Type's
// charset; else for HTML the <meta> charset of its first 1024 bytes
// (text, the decoded body, has the same ASCII <meta> as the bytes), else
// UTF-8; UTF-8 for XML, JavaScript and JSON; windows-1252 for other text.
func decodedCharset(resp *network.Response, text []byte) string {
	if resp == nil {
		resp = &network.Response{}
	}
	ct := ""
	for k, v := range resp.Headers {
		if strings.EqualFold(k, "Content-Type") {
			s, _ := v.(string)
			ct, _, _ = strings.Cut(s, "\n")
		}
	}
	mt, params, _ := mime.ParseMediaType(ct)
	if cs := cmp.Or(params["charset"], resp.Charset); cs != "" {
		return cs
	}
	mt = strings.ToLower(cmp.Or(mt, resp.MimeType))
	switch {
	case mt == "text/html":
		// DetermineEncoding takes the <meta> of the first 1024 bytes,
		// else UTF-8 for valid UTF-8 with a byte above 0x7f; a probe of
		// that kind after the head makes the latter hold.
		head := text[:min(len(text), 1000)]
		for len(head) > 0 && !utf8.Valid(head) {
			head = head[:len(head)-1]
		}
		_, name, _ := charset.DetermineEncoding(append(bytes.Clone(head), "\u00e9"...), "text/html")
		return name
	case mt == "text/javascript", mt == "application/javascript", mt == "application/json",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "xml"):
		return "utf-8"
	case strings.HasPrefix(mt, "text/"):
		return "windows-1252"
	}
	return "utf-8"
}
