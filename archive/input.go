package archive

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/exhibit-archive/exhibit/verify"
)

// ErrInput is wrapped by the errors that refuse what a caller asked to
// archive (text, URLs, times), before anything is stored or logged.
var ErrInput = errors.New("refused")

// ErrCredentials is returned for a URL with a user name or password in it:
// the log is public and append-only, so they would be published for good.
// It wraps ErrInput.
var ErrCredentials = fmt.Errorf("%w: the URL holds credentials (user:password@); exhibit would publish them in its append-only log: remove them", ErrInput)

// CheckNoCredentials returns ErrCredentials for a URL with credentials.
func CheckNoCredentials(u *url.URL) error {
	if u.User != nil {
		return ErrCredentials
	}
	return nil
}

// CheckText rejects text that is not UTF-8, or that holds control
// characters (which would reach terminals and filings), in the named
// fields, with an error wrapping ErrInput.
func CheckText(fields map[string]string) error {
	for name, v := range fields {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrInput, name, v)
		}
		if i := strings.IndexFunc(v, verify.IsControl); i >= 0 {
			r, _ := utf8.DecodeRuneInString(v[i:])
			return fmt.Errorf("%w: %s has a control or text-direction character (%U at byte %d)", ErrInput, name, r, i)
		}
	}
	return nil
}

// Tool is exhibit, at Version, as statements name it.
func Tool() verify.Tool { return verify.Tool{Name: "exhibit", Version: Version} }
