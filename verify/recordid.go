package verify

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/rfc6962"
)

// RecordIDPrefix starts every exhibit record ID.
const RecordIDPrefix = "EXR-"

// crockford is Crockford's base32 alphabet: digits and letters without
// I, L, O and U, so that IDs survive being read aloud or retyped.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// recordIDChars is the number of base32 characters (5 bits each) in an ID:
// 100 bits of the leaf hash.
const recordIDChars = 20

// RecordID derives a record's ID from its log entry: "EXR-" followed by the
// first 100 bits of the entry's RFC 6962 leaf hash, SHA-256(0x00 || entry),
// in Crockford base32 (most significant bit first), as four groups of five
// characters separated by "-". For example:
//
//	EXR-4V8QK-9T2MZ-H0C7R-XW3JD
//
// The ID is self-certifying: anyone holding the entry recomputes it, and a
// citation cannot point at any other entry without a SHA-256 second preimage
// on 100 bits.
func RecordID(entry []byte) string {
	return RecordIDFromLeafHash(rfc6962.DefaultHasher.HashLeaf(entry))
}

// RecordIDFromLeafHash is [RecordID] given the leaf hash (32 bytes).
func RecordIDFromLeafHash(leaf []byte) string {
	var b strings.Builder
	b.WriteString(RecordIDPrefix)
	var acc uint64
	bits := 0
	n := 0
	for _, c := range leaf {
		acc = acc<<8 | uint64(c)
		bits += 8
		for bits >= 5 && n < recordIDChars {
			if n > 0 && n%5 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(crockford[(acc>>(bits-5))&31])
			bits -= 5
			n++
		}
		if n == recordIDChars {
			break
		}
	}
	return b.String()
}

// ErrRecordID is wrapped by the errors [ParseRecordID] returns.
var ErrRecordID = errors.New("invalid record ID")

// ParseRecordID normalises a record ID typed by a person and returns its
// canonical form. It accepts: ASCII white space (space, tab, CR, LF)
// around the ID; any case; hyphens and spaces anywhere; the "EXR" prefix
// or none; and I and L for 1, O for 0 (Crockford's reading). It refuses
// any other character, including every non-ASCII one (Unicode white space,
// look-alike letters and dashes), so that what was typed is what is
// looked up. Machine-written IDs (a bundle's record_id, an index) must be
// canonical: compare them with the result.
func ParseRecordID(s string) (string, error) {
	for i, r := range s {
		if r >= utf8.RuneSelf {
			return "", fmt.Errorf("%w %q: %U at byte %d is not ASCII: type the ID in ASCII (letters, digits, hyphens)", ErrRecordID, s, r, i)
		}
	}
	t := strings.ToUpper(strings.Trim(s, " \t\r\n"))
	t = strings.NewReplacer("-", "", " ", "").Replace(t)
	if len(t) == recordIDChars+len("EXR") && strings.HasPrefix(t, "EXR") {
		t = t[len("EXR"):]
	}
	var digits []byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch c {
		case 'I', 'L':
			c = '1'
		case 'O':
			c = '0'
		}
		if strings.IndexByte(crockford, c) < 0 {
			return "", fmt.Errorf("%w %q: character %q is not in the alphabet %s", ErrRecordID, s, t[i], crockford)
		}
		digits = append(digits, c)
	}
	if len(digits) != recordIDChars {
		return "", fmt.Errorf("%w %q: %d characters, want %d", ErrRecordID, s, len(digits), recordIDChars)
	}
	var b strings.Builder
	b.WriteString(RecordIDPrefix)
	for i, c := range digits {
		if i > 0 && i%5 == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}
