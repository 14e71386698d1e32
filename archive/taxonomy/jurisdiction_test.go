package taxonomy_test

import (
	"strings"
	"testing"

	"github.com/exhibit-archive/exhibit/archive/taxonomy"
)

// TestCheckJurisdiction: a jurisdiction is an assigned ISO 3166-1 alpha-2
// code, EU or UK, or an ISO 3166-2 subdivision of an assigned code;
// well-formed codes that name no country (XX, ZZ, XX-CA) are refused,
// saying so.
func TestCheckJurisdiction(t *testing.T) {
	for _, ok := range []string{"DE", "GB", "US", "EU", "UK", "US-CA", "GB-SCT", "FR-75C", "US-ZZ", "DE-BY", "CN-BJ"} {
		if err := taxonomy.CheckJurisdiction(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"XX", "ZZ", "AA", "QM", "XX-CA", "EU-DE", "UK-ENG", "US-", "US-CALIF", "GB-sct", "us", "", "USA"} {
		err := taxonomy.CheckJurisdiction(bad)
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("%q: %v, want it refused, named", bad, err)
		}
	}
}
