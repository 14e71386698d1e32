package record_test

import (
	"testing"

	"github.com/exhibit-archive/exhibit/archive/record"
)

func TestKindWithArticle(t *testing.T) {
	for kind, want := range map[string]string{
		record.Analysis: "an analysis", record.Extraction: "an extraction", record.Version: "a version",
		record.Capture: "a capture", record.ProvisionStatus: "a provision-status", record.Corroboration: "a corroboration",
	} {
		if got := record.KindWithArticle(kind); got != want {
			t.Errorf("%s: %q, want %q", kind, got, want)
		}
	}
}
