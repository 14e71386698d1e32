package extract_test

import (
	"errors"
	"fmt"

	"github.com/exhibit-archive/exhibit/archive/extract"
)

func Example() {
	page := []byte(`<html><body>
<nav>Home | Blog</nav>
<main><h1>Terms</h1><p>Be <b>nice</b>. See <a href="/faq?utm_source=mail">the FAQ</a>.</p>
<div class="cookie-banner">We use cookies</div></main>
</body></html>`)
	rules := extract.Rules{Select: []string{"main"}, Remove: []string{".cookie-banner"}}
	if err := rules.Check(); err != nil {
		fmt.Println(err)
		return
	}
	res, err := extract.Extract(page, "text/html; charset=utf-8", rules)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s %s/%s\n%s", res.Source, res.MediaType, extract.Name, extract.Version, res.Text)

	_, err = extract.Extract(page, "text/html", extract.Rules{Select: []string{"article"}})
	var e *extract.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	// Output:
	// html text/markdown; charset=utf-8 exhibit-extract/3
	// # Terms
	//
	// Be **nice**. See [the FAQ](/faq).
	// no_match
}
