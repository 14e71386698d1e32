package extract

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/verify"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/unicode"
)

// Values of Decoding.From: what decided the character encoding.
const (
	// FromBOM: a byte order mark.
	FromBOM = verify.DecodedFromBOM
	// FromUTF8: the body is valid UTF-8 (and has bytes above 0x7F, or
	// declares nothing), whatever it declares.
	FromUTF8 = verify.DecodedFromUTF8
	// FromHeader: the charset parameter of the Content-Type header.
	FromHeader = verify.DecodedFromHeader
	// FromMeta: a <meta charset> or <meta http-equiv=Content-Type> in the
	// page's head.
	FromMeta = verify.DecodedFromMeta
	// FromDefault: nothing above; the body is read as windows-1252.
	FromDefault = verify.DecodedFromDefault
)

// Decoding says how the bytes of an HTML or plain-text body were decoded
// to text, as a version statement records it (verify.Decoding), so that a
// decoding that lost bytes is never silent: Replaced counts the U+FFFD
// put in place of bytes not valid in Charset.
type Decoding = verify.Decoding

// metaScanLimit bounds how far into the body a <meta> declaring the
// charset is looked for (the head of even the largest pages ends well
// before it).
const metaScanLimit = 512 << 10

// decode returns body as UTF-8 text and how it was decoded. The rules, in
// order: a byte order mark; a body that is valid UTF-8 with bytes above
// 0x7F is UTF-8 (a page declared as, or defaulting to, windows-1252 whose
// bytes are valid UTF-8 is, in practice, always UTF-8 mislabelled, and
// reading it as windows-1252 turns "é" into "Ã©"); the Content-Type
// header's charset (for HTML, a label no encoding has is ignored, as
// browsers do); for HTML, a <meta> in the head (within metaScanLimit, not
// only within its first 1,024 bytes as browsers look); with nothing
// declared, an ASCII body, or a UTF-8 body with a few stray bytes (see
// mostlyUTF8; each becomes U+FFFD, counted in Replaced), is UTF-8;
// anything else is windows-1252.
func decode(body []byte, contentType string, isHTML bool) ([]byte, *Decoding, error) {
	for _, b := range []struct {
		bom  string
		name string
	}{{"\xEF\xBB\xBF", "utf-8"}, {"\xFE\xFF", "utf-16be"}, {"\xFF\xFE", "utf-16le"}} {
		if bytes.HasPrefix(body, []byte(b.bom)) {
			return decodeAs(body[len(b.bom):], b.name, &Decoding{From: FromBOM}, b.name == "utf-8" && utf8.Valid(body[len(b.bom):]))
		}
	}
	declared, from := headerCharset(contentType), FromHeader
	unknown := ""
	if declared != "" && isHTML {
		if _, name := charset.Lookup(declared); name == "" {
			// A browser ignores a label it does not know and goes on.
			unknown, declared = declared, ""
		}
	}
	if declared == "" && isHTML {
		if l := metaCharset(body); l != "" {
			declared, from = l, FromMeta
		}
	}
	valid := utf8.Valid(body)
	if !valid && declared == "" && mostlyUTF8(body) {
		// Nothing declared, and the page is UTF-8 but for a stray byte
		// or two: read as windows-1252 every character of it would be
		// wrong; read as UTF-8 only those bytes are, and Replaced says so.
		return decodeAs(body, "utf-8", &Decoding{From: FromUTF8, Declared: unknown}, false)
	}
	if valid && (hasHighBit(body) || declared == "") {
		d := &Decoding{From: FromUTF8, Declared: unknown}
		if declared != "" {
			if _, name := charset.Lookup(declared); name != "utf-8" {
				d.Declared = canonical(declared)
			}
		}
		return decodeAs(body, "utf-8", d, true)
	}
	if declared != "" {
		if _, name := charset.Lookup(declared); name != "" {
			if from == FromMeta && strings.HasPrefix(name, "utf-16") {
				name = "utf-8" // WHATWG: a <meta> cannot declare UTF-16
			}
			return decodeAs(body, name, &Decoding{From: from}, valid)
		}
		if !isHTML {
			return nil, nil, errorf(ReasonMalformed, nil, "unknown charset %q", declared)
		}
		// A browser ignores an unknown label and goes on sniffing.
		return decodeAs(body, "windows-1252", &Decoding{From: FromDefault, Declared: declared}, valid)
	}
	return decodeAs(body, "windows-1252", &Decoding{From: FromDefault, Declared: unknown}, valid)
}

// headerCharset returns the charset parameter of a Content-Type header
// value, read leniently when the value does not parse as a media type
// ("text/html; charset=Shift_JIS; foo", "text/html, text/html;
// charset=x"), or "".
func headerCharset(contentType string) string {
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		return strings.TrimSpace(params["charset"])
	}
	return strings.TrimSpace(contentCharset(contentType))
}

// mostlyUTF8 reports whether b, not valid UTF-8, is UTF-8 with a few
// bad bytes: it has valid multi-byte sequences, and at least four times as
// many of them as invalid bytes.
func mostlyUTF8(b []byte) bool {
	multi, bad := 0, 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			bad++
		} else {
			multi++
		}
		i += n
	}
	return multi > 0 && multi >= 4*bad
}

// canonical returns the WHATWG name of an encoding label, or the label
// itself if it names none.
func canonical(label string) string {
	if _, name := charset.Lookup(label); name != "" {
		return name
	}
	return strings.TrimSpace(label)
}

// decodeAs decodes body from the encoding name; valid says whether body is
// valid UTF-8 (then, for UTF-8, it is returned as it is, not copied).
func decodeAs(body []byte, name string, d *Decoding, valid bool) ([]byte, *Decoding, error) {
	d.Charset = name
	if name == "utf-8" && valid {
		return body, d, nil
	}
	var enc encoding.Encoding
	if name == "utf-8" {
		enc = unicode.UTF8 // the WHATWG decoder: one U+FFFD per bad sequence
	} else {
		enc, _ = charset.Lookup(name)
	}
	b, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, nil, errorf(ReasonMalformed, err, "body does not decode as %s", name)
	}
	const fffd = "\uFFFD"
	d.Replaced = bytes.Count(b, []byte(fffd))
	if name == "utf-8" {
		d.Replaced -= bytes.Count(body, []byte(fffd)) // encoded in the page
	}
	return bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF")), d, nil
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// metaCharset returns the charset label declared by the first <meta
// charset> or <meta http-equiv="Content-Type" content="...; charset=...">
// before the page's body, within metaScanLimit bytes, or "".
func metaCharset(body []byte) string {
	if len(body) > metaScanLimit {
		body = body[:metaScanLimit]
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				return ""
			case "meta":
				var cs, equiv, content string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "charset":
						cs = string(v)
					case "http-equiv":
						equiv = string(v)
					case "content":
						content = string(v)
					}
				}
				if strings.TrimSpace(cs) != "" {
					return strings.TrimSpace(cs)
				}
				if strings.EqualFold(strings.TrimSpace(equiv), "content-type") {
					if l := contentCharset(content); l != "" {
						return l
					}
				}
			}
		}
	}
}

// contentCharset extracts the charset from a <meta content> value, as the
// WHATWG "algorithm for extracting a character encoding from a meta
// element".
func contentCharset(s string) string {
	i := strings.Index(strings.ToLower(s), "charset")
	if i < 0 {
		return ""
	}
	s = strings.TrimLeft(s[i+len("charset"):], " \t\n\f\r")
	if !strings.HasPrefix(s, "=") {
		return ""
	}
	s = strings.TrimLeft(s[1:], " \t\n\f\r")
	if s == "" {
		return ""
	}
	if q := s[0]; q == '"' || q == '\'' {
		if j := strings.IndexByte(s[1:], q); j >= 0 {
			return s[1 : 1+j]
		}
		return ""
	}
	if j := strings.IndexAny(s, " \t\n\f\r;"); j >= 0 {
		s = s[:j]
	}
	return s
}
