package extract

import (
	"strings"
	"testing"
)

// The defect classes of issue 13: text a reader quotes must be the text
// the page shows.

func TestDecoding(t *testing.T) {
	const want = "Données “personnelles” 5 € à 6\n"
	utf8Text := "Données “personnelles” 5 € à 6"
	cp1252Text := "Donn\xe9es \x93personnelles\x94 5 \x80 \xe0 6"
	pad := "<!-- " + strings.Repeat("padding ", 200) + "-->" // pushes a <meta> past 1,024 bytes
	page := func(head, text string) []byte {
		return []byte("<!doctype html><html><head><title>t</title>" + head + "</head><body><p>" + text + "</p></body></html>")
	}
	for _, tc := range []struct {
		desc, contentType string
		body              []byte
		want              string
		dec               Decoding
	}{
		{"UTF-8, nothing declared, ASCII first 1,024 bytes", "text/html",
			page(pad, utf8Text), want, Decoding{Charset: "utf-8", From: FromUTF8}},
		{"UTF-8, declared windows-1252 in the header", "text/html; charset=ISO-8859-1",
			page("", utf8Text), want, Decoding{Charset: "utf-8", From: FromUTF8, Declared: "windows-1252"}},
		{"UTF-8, declared windows-1252 by <meta>", "text/html",
			page(`<meta charset="windows-1252">`, utf8Text), want, Decoding{Charset: "utf-8", From: FromUTF8, Declared: "windows-1252"}},
		{"UTF-8, declared UTF-8 after 1,024 bytes", "text/html",
			page(pad+`<meta charset="utf-8">`, utf8Text), want, Decoding{Charset: "utf-8", From: FromUTF8}},
		{"windows-1252 declared by <meta> after 1,024 bytes", "text/html",
			page(pad+`<meta http-equiv="Content-Type" content="text/html; charset='windows-1252'">`, cp1252Text), want, Decoding{Charset: "windows-1252", From: FromMeta}},
		{"windows-1252, nothing declared", "",
			page(pad, cp1252Text), want, Decoding{Charset: "windows-1252", From: FromDefault}},
		{"windows-1252 bytes declared UTF-8: replaced, and said", "text/html; charset=utf-8",
			page("", cp1252Text), "Donn\uFFFDes \uFFFDpersonnelles\uFFFD 5 \uFFFD \uFFFD 6\n", Decoding{Charset: "utf-8", From: FromHeader, Replaced: 5}},
		{"a U+FFFD in the page is not a replacement", "text/html; charset=utf-8",
			page("", "a \uFFFD b \xff"), "a \uFFFD b \uFFFD\n", Decoding{Charset: "utf-8", From: FromHeader, Replaced: 1}},
		{"BOM wins", "text/html; charset=windows-1252",
			append([]byte("\xEF\xBB\xBF"), page("", utf8Text)...), want, Decoding{Charset: "utf-8", From: FromBOM}},
		{"plain text, valid UTF-8 declared latin1", "text/plain; charset=iso-8859-1",
			[]byte(utf8Text), want, Decoding{Charset: "utf-8", From: FromUTF8, Declared: "windows-1252"}},
		{"plain text, windows-1252 declared", "text/plain; charset=windows-1252",
			[]byte(cp1252Text), want, Decoding{Charset: "windows-1252", From: FromHeader}},
		{"unknown label in HTML is ignored", "text/html; charset=klingon",
			page("", cp1252Text), want, Decoding{Charset: "windows-1252", From: FromDefault, Declared: "klingon"}},
		{"unknown label in the header, a <meta> after it", "text/html; charset=None",
			page(`<meta charset="windows-1252">`, cp1252Text), want, Decoding{Charset: "windows-1252", From: FromMeta}},
		{"a header that does not parse still names its charset", "text/html; charset=windows-1252; foo",
			page("", cp1252Text), want, Decoding{Charset: "windows-1252", From: FromHeader}},
		{"UTF-8 with one stray byte, nothing declared", "text/html",
			page(pad, utf8Text+"<!-- \xff -->"), want, Decoding{Charset: "utf-8", From: FromUTF8, Replaced: 1}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Extract(tc.body, tc.contentType, Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != tc.want {
				t.Errorf("Text = %q, want %q", res.Text, tc.want)
			}
			if res.Decoding == nil || *res.Decoding != tc.dec {
				t.Errorf("Decoding = %+v, want %+v", res.Decoding, tc.dec)
			}
		})
	}
	t.Run("PDF has none", func(t *testing.T) {
		res, err := Extract(testPDF(t, []string{"Hello"}, false), "application/pdf", Rules{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Decoding != nil {
			t.Errorf("Decoding = %+v for a PDF", res.Decoding)
		}
	})
	t.Run("unknown label in plain text is refused", func(t *testing.T) {
		_, err := Extract([]byte("a\xff"), "text/plain; charset=klingon", Rules{})
		if reason(err) != ReasonMalformed || !strings.Contains(err.Error(), "klingon") {
			t.Errorf("err = %v, want malformed naming the label", err)
		}
	})
}

func TestNoMarkupInText(t *testing.T) {
	body := `<html><body>
<ul><li>First list</li></ul><!-- a comment between lists --><ul><li>Second list</li></ul>
<ol><li>one</li></ol><ol><li>two</li></ol>
<table><tr><th>Data</th><th>Use</th></tr><tr><td>Audio<br>recordings<br/> <p>and</p><p>transcripts</p></td><td>x &gt; y &amp; z &lt;b&gt; 5 &lt; 6</td></tr></table>
<p>Amounts &gt; 100 &lt;EUR&gt; &amp; more</p>
<p>&gt; not a quote</p>
<pre>if a &lt; b &amp;&amp; c &gt; d</pre>
<p>Use <code>x &lt; y</code> here</p>
<p>Noncharacters &#xFDD0; stay out</p>
<p><img alt="a &lt; b"></p>
</body></html>`
	res, err := Extract([]byte(body), "text/html", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<!--", "THE END", "<br", "&gt;", "&lt;", "\uFDD0", "\uFDD1"} {
		if strings.Contains(res.Text, bad) {
			t.Errorf("Text has %q:\n%s", bad, res.Text)
		}
	}
	for _, want := range []string{
		"- First list\n\n- Second list",
		"| Audio recordings and transcripts | x > y & z \\<b> 5 \\< 6 |",
		"Amounts > 100 \\<EUR> & more",
		"\n\\> not a quote\n",
		"if a < b && c > d",
		"`x < y`",
		"a \\< b",
	} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("Text lacks %q:\n%s", want, res.Text)
		}
	}
}

func TestLinkNoise(t *testing.T) {
	const pageURL = "https://example.com/legal/privacy?lang=en"
	page := func(links string) string {
		return `<html><head><title>p</title></head><body><main><p>Write to us. ` + links + `</p></main></body></html>`
	}
	base := page(`<a href="https://example.com/legal/terms">terms</a> <a href="mailto:privacy@example.com">privacy@example.com</a> <a href="https://example.com/cookies?lang=en">cookies</a>`)
	want, err := ExtractURL([]byte(base), "text/html", pageURL, Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(want.Text, "(https://example.com/legal/terms)") {
		t.Fatalf("Text = %q", want.Text)
	}
	for _, tc := range []struct{ desc, html, url string }{
		{"relative link", page(`<a href="terms">terms</a> <a href="mailto:privacy@example.com">privacy@example.com</a> <a href="/cookies?lang=en">cookies</a>`), pageURL},
		{"base href", `<html><head><base href="/legal/"></head>` + strings.TrimPrefix(page(`<a href="terms">terms</a> <a href="mailto:privacy@example.com">privacy@example.com</a> <a href="../cookies?lang=en">cookies</a>`), `<html><head><title>p</title></head>`), "https://example.com/elsewhere/x"},
		{"mailto case", page(`<a href="https://example.com/legal/terms">terms</a> <a href="MAILTO:Privacy@Example.COM">privacy@example.com</a> <a href="https://example.com/cookies?lang=en">cookies</a>`), pageURL},
		{"fetch date in query", page(`<a href="https://example.com/legal/terms?date=2026-12-04">terms</a> <a href="mailto:privacy@example.com">privacy@example.com</a> <a href="https://example.com/cookies?lang=en&_=1764806400123&v=20261204">cookies</a>`), pageURL},
		{"fetch time in query", page(`<a href="https://example.com/legal/terms?at=2026-12-04T05%3A30%3A00Z&ts=abc">terms</a> <a href="mailto:privacy@example.com">privacy@example.com</a> <a href="https://example.com/cookies?lang=en&t=1764806400">cookies</a>`), pageURL},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ExtractURL([]byte(tc.html), "text/html", tc.url, Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != want.Text {
				t.Errorf("Text =\n%s\nwant\n%s", got.Text, want.Text)
			}
		})
	}
	t.Run("a link that leads elsewhere", func(t *testing.T) {
		got, err := ExtractURL([]byte(strings.Replace(base, "/legal/terms", "/legal/terms-2027", 1)), "text/html", pageURL, Rules{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Text == want.Text {
			t.Fatal("a changed link target gave the same text")
		}
		if WithoutLinkTargets(got.Text) != WithoutLinkTargets(want.Text) {
			t.Errorf("without link targets the texts differ:\n%s\n%s", WithoutLinkTargets(got.Text), WithoutLinkTargets(want.Text))
		}
	})
	t.Run("meaningful parameters stay", func(t *testing.T) {
		for _, href := range []string{"https://example.com/?id=1234567", "https://example.com/?page=2", "https://example.com/?v=2", "https://example.com/?year=2026",
			"https://example.com/case?id=1234567890", "https://example.com/call?phone=2125551234", "https://example.com/archive?effective=2025-01-01", "https://example.com/doc?rev=20250101"} {
			if got := StripTracking(href); got != href {
				t.Errorf("StripTracking(%q) = %q", href, got)
			}
		}
	})
	t.Run("no page URL: relative stays relative", func(t *testing.T) {
		got, err := Extract([]byte(page(`<a href="terms">terms</a>`)), "text/html", Rules{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got.Text, "[terms](terms)") {
			t.Errorf("Text = %q", got.Text)
		}
	})
}

func TestWithoutLinkTargets(t *testing.T) {
	for in, want := range map[string]string{
		"See [terms](https://x.com/a_(b)?q=1 \"T (1)\") and [x](<a b>).": "See [terms] and [x].",
		"No links \\](here) or [a](\nb)":                                 "No links \\](here) or [a](\nb)",
		"[a](u) [b](v)":                                                  "[a] [b]",
		"plain":                                                          "plain",
		"Clause \\[A](ii) applies":                                       "Clause \\[A](ii) applies",
		"fee: `[standard]($10)` per month":                               "fee: `[standard]($10)` per month",
		"```\n[standard]($10)\n```\n[a](b)":                              "```\n[standard]($10)\n```\n[a]",
		"[**bold** [nested]](u) x":                                       "[**bold** [nested]] x",
	} {
		if got := WithoutLinkTargets(in); got != want {
			t.Errorf("WithoutLinkTargets(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasChild(t *testing.T) {
	body := `<html><body>
<section><h2>Terms</h2><p>Keep this.</p></section>
<section><div><h2>Nested</h2></div><p>Not this.</p></section>
<section><ul><li><a href="https://x.example/">link</a></li></ul><p>And this.</p></section>
<section><ol><li>item</li></ol><p>Nor this.</p></section>
</body></html>`
	for _, tc := range []struct {
		sel        string
		want, lack []string
	}{
		{"section:has(> h2)", []string{"Keep this."}, []string{"Not this.", "And this."}},
		{"section:has(h2)", []string{"Keep this.", "Not this."}, []string{"And this."}},
		{"section:has(> ul > li a)", []string{"And this."}, []string{"Keep this.", "Nor this."}},
		{"section:has(> ul li), section:has(> H2)", []string{"Keep this.", "And this."}, []string{"Not this.", "Nor this."}},
		{"section:has(> h2, > ol)", []string{"Keep this.", "Nor this."}, []string{"Not this.", "And this."}},
		{"section:not(:has(> h2))", []string{"Not this.", "And this."}, []string{"Keep this."}},
	} {
		res, err := Extract([]byte(body), "text/html", Rules{Select: []string{tc.sel}})
		if err != nil {
			t.Errorf("%s: %v", tc.sel, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(res.Text, w) {
				t.Errorf("%s: text lacks %q:\n%s", tc.sel, w, res.Text)
			}
		}
		for _, l := range tc.lack {
			if strings.Contains(res.Text, l) {
				t.Errorf("%s: text has %q:\n%s", tc.sel, l, res.Text)
			}
		}
	}
	for _, bad := range []string{"section:has(+ h2)", "section:has(~ p)", "section:has(> h2, p)", "section:has(> h2", "section:has(>)", "section:has(> a + b)"} {
		err := Rules{Select: []string{bad}}.Check()
		if reason(err) != ReasonBadSelector || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: err = %v, want bad_selector naming it", bad, err)
		}
	}
}

func TestRanges(t *testing.T) {
	body := `<html><body><main>
<h1 id="top">Privacy</h1>
<p>Intro.</p>
<h2 id="data">Data we collect</h2>
<ul><li>Name</li><li id="cut">Audio</li><li>Email</li></ul>
<p>We do not train models on audio.</p>
<h2 id="end">Contact</h2>
<p>Write to us.</p>
<aside id="ad">Advert</aside>
</main><footer id="foot">Footer</footer></body></html>`
	for _, tc := range []struct {
		desc       string
		r          Rules
		want, lack []string
	}{
		{"startBefore/endBefore", Rules{SelectRanges: []Range{{StartBefore: "#data", EndBefore: "#end"}}},
			[]string{"## Data we collect", "- Name", "We do not train models on audio."}, []string{"Intro.", "Contact", "Write to us."}},
		{"startAfter/endAfter", Rules{SelectRanges: []Range{{StartAfter: "#data", EndAfter: "#end"}}},
			[]string{"- Name", "## Contact"}, []string{"Data we collect", "Write to us."}},
		{"a range ending inside a list keeps the list", Rules{SelectRanges: []Range{{StartBefore: "#data", EndBefore: "#cut"}}},
			[]string{"## Data we collect", "- Name"}, []string{"Audio", "Email", "train"}},
		{"ranges and selectors in document order", Rules{Select: []string{"#top"}, SelectRanges: []Range{{StartBefore: "#end", EndAfter: "#end"}, {StartBefore: "#data", EndAfter: "#data"}}},
			[]string{"# Privacy\n\n## Data we collect\n\n## Contact\n"}, []string{"Intro."}},
		{"remove range", Rules{Select: []string{"main"}, RemoveRanges: []Range{{StartBefore: "#end", EndAfter: "#ad"}}},
			[]string{"Intro.", "We do not train models on audio."}, []string{"Contact", "Write to us.", "Advert"}},
		{"remove range whose end is missing removes nothing", Rules{Select: []string{"main"}, RemoveRanges: []Range{{StartBefore: "#end", EndAfter: "#nosuch"}}},
			[]string{"Contact"}, nil},
		{"with :has(> …)", Rules{SelectRanges: []Range{{StartBefore: "h2#data", EndBefore: "ul:has(> li#cut)"}}},
			[]string{"## Data we collect"}, []string{"Name"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Extract([]byte(body), "text/html", tc.r)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, res.Text)
				}
			}
			for _, l := range tc.lack {
				if strings.Contains(res.Text, l) {
					t.Errorf("text has %q:\n%s", l, res.Text)
				}
			}
		})
	}
	for _, tc := range []struct {
		desc   string
		r      Rules
		reason string
	}{
		{"start missing", Rules{SelectRanges: []Range{{StartBefore: "#nosuch", EndBefore: "#end"}}}, ReasonNoMatch},
		{"end before start", Rules{SelectRanges: []Range{{StartBefore: "#end", EndBefore: "#data"}}}, ReasonNoMatch},
		{"two starts", Rules{SelectRanges: []Range{{StartBefore: "#data", StartAfter: "#top", EndBefore: "#end"}}}, ReasonBadSelector},
		{"no end", Rules{SelectRanges: []Range{{StartBefore: "#data"}}}, ReasonBadSelector},
		{"bad selector", Rules{RemoveRanges: []Range{{StartBefore: "p[", EndBefore: "#end"}}}, ReasonBadSelector},
	} {
		_, err := Extract([]byte(body), "text/html", tc.r)
		if reason(err) != tc.reason || !strings.Contains(err.Error(), "range") && !strings.Contains(err.Error(), "_ranges") {
			t.Errorf("%s: err = %v, want %s naming the range", tc.desc, err, tc.reason)
		}
	}
}

func TestNoGluedWords(t *testing.T) {
	body := `<html><body><title>Policy \ Example</title>
<p>Language: <select><option>English</option><option>Français</option></select></p>
<ul><a href="https://x.example/p"><li>Privacy Policy</li></a><a href="https://x.example/t"><li>Terms</li></a></ul>
<p>We use<a href="https://x.example/i"> </a><a href="https://x.example/c">cookies</a>.</p>
</body></html>`
	res, err := Extract([]byte(body), "text/html", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"EnglishFrançais", "English", "Example", "PolicyTerms", "Policy](https://x.example/p)[", "use[cookies"} {
		if strings.Contains(res.Text, bad) {
			t.Errorf("text has %q:\n%s", bad, res.Text)
		}
	}
	for _, want := range []string{"We use [cookies](https://x.example/c).", "Privacy Policy", "Terms"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, res.Text)
		}
	}
}
