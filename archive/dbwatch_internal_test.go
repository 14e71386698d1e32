package archive

import (
	"errors"
	"strings"
	"testing"
)

// TestMayBeLogged checks that the 503 of a write handed to the log names
// the routes that look a record up by its ID, and says that its sha256
// also finds earlier records of the same bytes.
func TestMayBeLogged(t *testing.T) {
	const id, sum = "rec-0123", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	err := mayBeLogged(&UnavailableError{What: "database", Err: errors.New("down")}, id, sum)
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("%v: not an UnavailableError", err)
	}
	msg := err.Error()
	for _, want := range []string{"GET /api/v1/records/" + id, "exhibit show " + id, "sha256 is " + sum, "every earlier record of the same bytes"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "ID "+id+" or sha256") {
		t.Errorf("%q offers search for the ID", msg)
	}
	if other := errors.New("other"); mayBeLogged(other, id, sum) != other {
		t.Error("another error is wrapped")
	}
}
