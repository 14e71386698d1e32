package taxonomy

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// iso3166 lists the ISO 3166-1 alpha-2 codes, one a line ("#" lines are
// comments), from Debian's iso-codes.
//
//go:embed iso3166.txt
var iso3166 string

// subdivisionRE is the form of an ISO 3166-2 code's part after the hyphen.
var subdivisionRE = regexp.MustCompile(`^[A-Z0-9]{1,3}$`)

var countries = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for line := range strings.Lines(iso3166) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			m[line] = true
		}
	}
	return m
})

// CheckJurisdiction checks that a regulation's jurisdiction names one: an
// assigned ISO 3166-1 alpha-2 code ("DE", "GB"), "EU" or "UK" (which ISO
// 3166-1 reserves exceptionally), or an ISO 3166-2 subdivision of an
// assigned code ("US-CA": the country part is checked, the subdivision
// part only for its form, as subdivisions change often). Codes are those
// of the iso-codes release embedded. A new analysis is checked so; verify
// checks only the form, so that a code later withdrawn does not make a
// signed analysis unverifiable.
func CheckJurisdiction(code string) error {
	if code == "EU" || code == "UK" {
		return nil
	}
	country, sub, isSub := strings.Cut(code, "-")
	if countries()[country] && (!isSub || subdivisionRE.MatchString(sub)) {
		return nil
	}
	return fmt.Errorf("jurisdiction %q is not an ISO 3166-1 alpha-2 code (DE, GB), EU, UK, nor an ISO 3166-2 subdivision of one (US-CA)", code)
}
