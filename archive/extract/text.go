package extract

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// decodeText decodes a text/plain body: a byte order mark wins, then the
// charset parameter (a WHATWG encoding label), then UTF-8 if the body is
// valid UTF-8, else windows-1252.
func decodeText(body []byte, label string) (string, error) {
	name := ""
	switch {
	case bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")):
		return string(body[3:]), nil
	case bytes.HasPrefix(body, []byte("\xFE\xFF")):
		name = "utf-16be"
	case bytes.HasPrefix(body, []byte("\xFF\xFE")):
		name = "utf-16le"
	case label != "":
		name = label
	case utf8.Valid(body):
		return string(body), nil
	default:
		name = "windows-1252"
	}
	enc, canon := charset.Lookup(name)
	if enc == nil {
		return "", errorf(ReasonMalformed, nil, "unknown charset %q", label)
	}
	if canon == "utf-8" {
		return string(body), nil
	}
	b, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return "", errorf(ReasonMalformed, err, "body does not decode as %s", canon)
	}
	return string(bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))), nil
}
