package archive

import "github.com/exhibit-archive/exhibit/verify"

// NamedDigests calls name for every run of exactly 64 lowercase hex digits
// in a log entry's statement: every SHA-256 digest the statement names, in
// whatever field (a snapshot, a TLS chain, headers moved to the store, a
// version's text, and any a later statement kind adds), and maybe strings
// that only look like one. An object of the store whose digest a logged
// statement names this way is never an orphan: exhibit prune does not
// remove it, and audit does not report it. It returns an error for an
// entry that is not a DSSE envelope.
func NamedDigests(entry []byte, name func(digest string)) error {
	env, err := verify.ParseEnvelope(entry)
	if err != nil {
		return err
	}
	p := env.Payload
	for i := 0; i < len(p); {
		if !isLowerHex(p[i]) {
			i++
			continue
		}
		j := i
		for j < len(p) && isLowerHex(p[j]) {
			j++
		}
		if j-i == 64 {
			name(string(p[i:j]))
		}
		i = j
	}
	return nil
}

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
