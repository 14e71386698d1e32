package wacz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/nlnwa/gowarc/v3"
)

// Entry is one line of a CDXJ index (https://specs.webrecorder.net/cdxj/0.1.0/),
// with the fields pywb and py-wacz write and ReplayWeb.page reads: the
// record's offset and length in the (gzip-member-per-record) WARC file
// let a replayer read it alone.
type Entry struct {
	// Key is the SURT form of URL; Timestamp the record's WARC-Date as 14
	// digits (YYYYMMDDhhmmss, UTC).
	Key       string `json:"-"`
	Timestamp string `json:"-"`
	URL       string `json:"url"`
	// Mime is the response's media type without parameters; Status its
	// HTTP status code (both empty for a resource record without them).
	Mime   string `json:"mime,omitempty"`
	Status string `json:"status,omitempty"`
	// Digest is the record's WARC-Payload-Digest, as written.
	Digest string `json:"digest,omitempty"`
	// Length and Offset are the record's bytes in the WARC file, as
	// decimal strings (pywb's form); Filename is the WARC's name under
	// archive/.
	Length   string `json:"length"`
	Offset   string `json:"offset"`
	Filename string `json:"filename"`
}

// Line formats e as a CDXJ line: key, timestamp and JSON, space-separated,
// with a newline.
func (e Entry) Line() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(e.Key + " " + e.Timestamp + " ")
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Index returns the CDXJ index of warc, a file named filename under
// archive/: a line per response, resource and revisit record with an
// http(s) target, sorted bytewise as pywb sorts them. Request, warcinfo
// and metadata records are not indexed (ReplayWeb.page reads responses).
// Nor is a response record whose body the WARC does not hold: one with
// an Exhibit-Body-Omitted header (render.HeaderBodyOmitted: "limit",
// "unfinished", "unavailable: ...") and a status other than 3xx. A
// replayer would serve it as the site's answer with an empty body (a
// blank image, an empty script or page) where the site sent one; left
// out of the index, it is a miss in replay (ReplayWeb.page and pywb then
// answer "not in the archive"), as in a Browsertrix crawl, which writes
// no response record for a body it could not read. The record stays in
// the WARC, the evidence that the exchange happened. A redirect's
// response (3xx, its body omitted as "redirect") is indexed: its status
// and Location are what replay needs. A record holding part of a body
// (WARC-Truncated without Exhibit-Body-Omitted, a main document still
// loading when the page was taken) is indexed: it is what the browser
// rendered.
// It returns an error wrapping ErrInput for a WARC gowarc cannot read.
func Index(warc []byte, filename string) ([]byte, error) {
	entries, err := Entries(warc, filename)
	if err != nil {
		return nil, err
	}
	var lines [][]byte
	for _, e := range entries {
		l, err := e.Line()
		if err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	slices.SortFunc(lines, bytes.Compare)
	return bytes.Join(lines, nil), nil
}

// Entries reads warc and returns the index entries of its records, in
// file order.
func Entries(warc []byte, filename string) ([]Entry, error) {
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(warc), 0,
		gowarc.WithSyntaxErrorPolicy(gowarc.ErrWarn), gowarc.WithSpecViolationPolicy(gowarc.ErrWarn))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the WARC: %w", ErrInput, err)
	}
	defer r.Close()
	var out []Entry
	for rec, err := range r.Records() {
		if err != nil {
			return nil, fmt.Errorf("%w: the WARC record at offset %d: %w", ErrInput, rec.Offset, err)
		}
		e, ok, err := entry(rec, filename)
		rec.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: the WARC record at offset %d: %w", ErrInput, rec.Offset, err)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out, nil
}

// headerBodyOmitted is the WARC header of a response record whose body
// the WARC does not hold, with the reason (render.HeaderBodyOmitted;
// this package does not import render, a test checks they agree).
const headerBodyOmitted = "Exhibit-Body-Omitted"

func entry(rec gowarc.Record, filename string) (Entry, bool, error) {
	wr := rec.WarcRecord
	switch wr.Type() {
	case gowarc.Response, gowarc.Resource, gowarc.Revisit:
	default:
		return Entry{}, false, nil
	}
	h := wr.WarcHeader()
	target := h.Get(gowarc.WarcTargetURI)
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return Entry{}, false, nil
	}
	date, err := wr.Date()
	if err != nil {
		return Entry{}, false, err
	}
	e := Entry{
		Key:       SURT(u),
		Timestamp: date.UTC().Format("20060102150405"),
		URL:       target,
		Digest:    h.Get(gowarc.WarcPayloadDigest),
		Length:    strconv.FormatInt(rec.Size, 10),
		Offset:    strconv.FormatInt(rec.Offset, 10),
		Filename:  filename,
	}
	var ct string
	if hb, ok := wr.Block().(gowarc.HttpResponseBlock); ok {
		if code := hb.HttpStatusCode(); h.Has(headerBodyOmitted) && (code < 300 || code > 399) {
			return Entry{}, false, nil
		}
		e.Status = strconv.Itoa(hb.HttpStatusCode())
		if hh := hb.HttpHeader(); hh != nil {
			ct = hh.Get("Content-Type")
		}
	} else if wr.Type() == gowarc.Resource {
		ct = h.Get(gowarc.ContentType)
	}
	if wr.Type() == gowarc.Revisit {
		e.Mime = "warc/revisit"
	} else if mt, _, err := mime.ParseMediaType(ct); err == nil {
		e.Mime = mt
	}
	return e, true, nil
}

// SURT returns the Sort-friendly URI Reordering Transform of u as pywb
// writes CDXJ keys: lowercase; the host's labels reversed and joined by
// commas, without a leading "www" label (an IP address as it is), with the port if not the
// scheme's default; ")"; the path (or "/"); and the query with its
// parameters sorted. The scheme and fragment are dropped.
func SURT(u *url.URL) string {
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	key := host
	if ip := net.ParseIP(host); ip != nil {
		if strings.Contains(host, ":") {
			key = "[" + host + "]"
		}
	} else {
		labels := strings.Split(host, ".")
		if len(labels) > 2 && strings.HasPrefix(labels[0], "www") && strings.TrimLeft(labels[0][3:], "0123456789") == "" {
			labels = labels[1:]
		}
		slices.Reverse(labels)
		key = strings.Join(labels, ",")
	}
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		key += ":" + p
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	key += ")" + path
	if u.RawQuery != "" {
		q := strings.Split(u.RawQuery, "&")
		slices.Sort(q)
		key += "?" + strings.Join(q, "&")
	}
	return strings.ToLower(key)
}
