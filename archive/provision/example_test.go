package provision_test

import (
	"fmt"
	"strings"

	"github.com/exhibit-archive/exhibit/archive/provision"
)

// A provision is followed by its position: the clause deleted from its
// paragraph is removed, though the same sentence stands in another.
func ExampleDiff_Follow() {
	v1 := "We keep logs for 30 days.\n\nBackups are kept apart. We keep logs for 30 days.\n"
	q, at, err := provision.Find(v1, provision.Quote{Exact: "We keep logs for 30 days.", Prefix: "apart. "})
	if err != nil {
		panic(err)
	}
	v2 := strings.Replace(v1, "apart. We keep logs for 30 days.", "apart.", 1)
	d, err := provision.NewDiff(v1, v2)
	if err != nil {
		panic(err)
	}
	r := d.Follow(q, at)
	fmt.Println(r.Status, r.Elsewhere.Position, r.Elsewhere.Similarity)
	// Without the earlier text, the prefix tells the clause from the
	// other sentence just the same.
	fmt.Println(provision.Locate(v2, q).Status)
	// Output:
	// removed {0 25} 1
	// removed
}
