package extract

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// page renders a small policy page; the arguments are the markup noise that
// must not reach the text.
func page(nonce, imgURL, utm, ws string, reorder bool) string {
	link := `<a class="x" href="https://example.com/terms` + utm + `" title="Terms">terms of use</a>`
	if reorder {
		link = `<a title="Terms" href="https://example.com/terms` + utm + `" class="x">terms of use</a>`
	}
	return `<!doctype html><html><head><title>Policy</title>
<script nonce="` + nonce + `">window.t=` + fmt.Sprint(len(nonce)) + `</script>
<style nonce="` + nonce + `">p{color:red}</style></head>
<body><nav><a href="/">Home</a></nav>
<main data-csrf="` + nonce + `" data-rendered-at="` + nonce + `">
<h1>Privacy   Policy</h1>` + ws + `
<p>We collect` + ws + ` data.` + ws + `See our ` + link + `.</p>
<img src="` + imgURL + `" alt="Company logo">
<form><input type="hidden" name="csrf" value="` + nonce + `"><input type="text" name="q"></form>
<!-- build ` + nonce + ` -->
<ul><li>One</li>` + ws + `<li>Two</li></ul>
</main><footer>© 2026</footer></body></html>`
}

func TestNoise(t *testing.T) {
	r := Rules{Select: []string{"main"}}
	base := page("n0nce-a", "/logo.png?v=1", "", "\n", false)
	want, err := Extract([]byte(base), "text/html", r)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "# Privacy Policy\n\nWe collect data. See our [terms of use](https://example.com/terms \"Terms\").\n\nCompany logo\n\n- One\n- Two\n"
	if want.Text != golden {
		t.Errorf("Text =\n%q\nwant\n%q", want.Text, golden)
	}
	for _, tc := range []struct{ desc, html string }{
		{"script nonce and CSRF attributes", page("other-nonce-zz", "/logo.png?v=1", "", "\n", false)},
		{"attribute order", page("n0nce-a", "/logo.png?v=1", "", "\n", true)},
		{"tracking parameters", page("n0nce-a", "/logo.png?v=1", "?utm_source=news&utm_medium=email&fbclid=abc&gclid=1&mc_cid=2&mc_eid=3&_ga=4", "\n", false)},
		{"image URL", page("n0nce-a", "https://cdn.example.com/logo.png?cache=8812731", "", "\n", false)},
		{"whitespace", page("n0nce-a", "/logo.png?v=1", "", "\r\n   \t\n\n  ", false)},
		{"no-break spaces", strings.Replace(base, "We collect", "We&nbsp;collect", 1)},
		{"CRLF line endings", strings.ReplaceAll(base, "\n", "\r\n")},
		{"comment", strings.Replace(base, "<h1>", "<!-- session 12345 --><h1>", 1)},
		{"heading anchor", strings.Replace(base, "<h1>Privacy   Policy</h1>", `<h1><a href="#privacy-policy-x8f2"></a><a href="javascript:void(0)">Privacy</a> Policy</h1>`, 1)},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Extract([]byte(tc.html), "text/html", r)
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != want.Text {
				t.Errorf("Text =\n%s\nwant\n%s", got.Text, want.Text)
			}
		})
	}
	t.Run("real change", func(t *testing.T) {
		changed := strings.Replace(base, "We collect", "We do not collect", 1)
		got, err := Extract([]byte(changed), "text/html", r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text == want.Text {
			t.Error("a changed sentence gave the same Text")
		}
	})
	t.Run("real link change", func(t *testing.T) {
		changed := strings.Replace(base, "https://example.com/terms", "https://example.com/terms-2026", 1)
		got, err := Extract([]byte(changed), "text/html", r)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text == want.Text {
			t.Error("a changed link target gave the same Text")
		}
	})
}

func TestStripTracking(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://a.example/x", "https://a.example/x"},
		{"https://a.example/x?utm_source=a", "https://a.example/x"},
		{"https://a.example/x?id=3&UTM_Campaign=b&fbclid=c#top", "https://a.example/x?id=3#top"},
		{"https://a.example/x?b=2&a=1&gclid=z", "https://a.example/x?b=2&a=1"},
		{"/p?utm%5Fsource=a&q=%20x", "/p?q=%20x"},
		{"#frag?utm_source=a", "#frag?utm_source=a"},
		{"mailto:a@example.com?subject=hi", "mailto:a@example.com?subject=hi"},
	} {
		if got := StripTracking(tc.in); got != tc.want {
			t.Errorf("StripTracking(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCloudflareEmail(t *testing.T) {
	// Cloudflare's obfuscation of "dpo@brevo.com" under two keys.
	enc := func(key byte, s string) string {
		h := fmt.Sprintf("%02x", key)
		for i := 0; i < len(s); i++ {
			h += fmt.Sprintf("%02x", s[i]^key)
		}
		return h
	}
	doc := func(key byte) string {
		return `<p>Write to <a href="/cdn-cgi/l/email-protection#` + enc(key, "dpo@brevo.com") +
			`"><span class="__cf_email__" data-cfemail="` + enc(key+1, "dpo@brevo.com") + `">[email&#160;protected]</span></a>.</p>`
	}
	a, err := Extract([]byte(doc(0x6d)), "text/html", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Extract([]byte(doc(0x20)), "text/html", Rules{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Write to [dpo@brevo.com](mailto:dpo@brevo.com).\n"; a.Text != want || b.Text != want {
		t.Errorf("Text = %q and %q, want %q", a.Text, b.Text, want)
	}
}

func TestWindows1252(t *testing.T) {
	const text = "Caf\xe9 \x93quoted\x94 \x80 5"
	const want = "Café “quoted” € 5\n"
	withMeta := []byte(`<html><head><meta charset="windows-1252"></head><body><p>` + text + `</p></body></html>`)
	withoutMeta := []byte(`<html><head></head><body><p>` + text + `</p></body></html>`)
	for _, tc := range []struct {
		desc, contentType string
		body              []byte
		want              string
	}{
		{"header", "text/html; charset=windows-1252", withoutMeta, want},
		{"header latin1 alias", "text/html; charset=ISO-8859-1", withoutMeta, want},
		{"meta", "text/html", withMeta, want},
		{"meta and no content type", "", withMeta, want},
		{"nothing declared: not UTF-8, so windows-1252", "text/html", withoutMeta, want},
		// The header wins over the bytes, as in browsers: the result is
		// replacement characters, not a guess.
		{"wrong header", "text/html; charset=utf-8", withMeta, "Caf\uFFFD \uFFFDquoted\uFFFD \uFFFD 5\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Extract(tc.body, tc.contentType, Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != tc.want {
				t.Errorf("Text = %q, want %q", res.Text, tc.want)
			}
		})
	}
}

func TestBrokenHTML(t *testing.T) {
	body := []byte(`<html><body><div id=doc><h2>Terms<p>First <b>bold <i>both</b> italic?</p><p>Second <table><tr><td>cell</div><li>stray item</body>`)
	res, err := Extract(body, "text/html", Rules{Select: []string{"#doc"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Terms", "First **bold", "both", "Second", "cell"} {
		if !strings.Contains(res.Text, want) {
			t.Errorf("Text %q lacks %q", res.Text, want)
		}
	}
}

func TestPlainText(t *testing.T) {
	for _, tc := range []struct {
		desc, contentType string
		body              string
		want              string
	}{
		{"utf-8", "text/plain; charset=utf-8", "Terms  \r\n\r\n\r\n\r\nof use\x00\x07\t ok\r\n", "Terms\n\nof use\t ok\n"},
		{"latin1", "text/plain; charset=iso-8859-1", "caf\xe9", "café\n"},
		{"undeclared windows-1252", "text/plain", "caf\xe9", "café\n"},
		{"BOM", "text/plain", "\xef\xbb\xbfhello", "hello\n"},
		{"utf-16 BOM", "text/plain", "\xff\xfeh\x00i\x00", "hi\n"},
		{"NFC", "text/plain", "cafe\u0301", "café\n"},
		{"sniffed", "", "just text", "just text\n"},
		{"sniffed windows-1252", "", "caf\xe9", "café\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Extract([]byte(tc.body), tc.contentType, Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Text != tc.want || res.Source != SourceText || res.MediaType != MediaTypePlain {
				t.Errorf("got %+v, want Text %q from text", res, tc.want)
			}
		})
	}
}

var fixedTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testPDF(t *testing.T, lines []string, withImage bool) []byte {
	t.Helper()
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreationDate(fixedTime)
	p.SetModificationDate(fixedTime)
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	for _, l := range lines {
		p.Cell(0, 10, l)
		p.Ln(10)
	}
	if withImage {
		img := image.NewGray(image.Rect(0, 0, 8, 8))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 4)
		}
		img.Set(0, 0, color.Gray{Y: 255})
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		p.RegisterImageOptionsReader("scan", fpdf.ImageOptions{ImageType: "PNG"}, &buf)
		p.ImageOptions("scan", 10, 10, 80, 80, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestPDF(t *testing.T) {
	body := testPDF(t, []string{"Terms of Service", "1. You may use the service.", "2. We may change these terms."}, false)
	for _, ct := range []string{"application/pdf", "application/octet-stream", "", "text/html"} {
		res, err := Extract(body, ct, Rules{})
		if err != nil {
			t.Fatalf("%q: %v", ct, err)
		}
		// Lines that end well short of the others are paragraphs.
		if want := "Terms of Service\n\n1. You may use the service.\n\n2. We may change these terms.\n"; res.Text != want || res.Source != SourcePDF {
			t.Errorf("%q: got %+v, want Text %q from pdf", ct, res, want)
		}
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreationDate(fixedTime)
	p.SetFont("Helvetica", "", 12)
	for _, l := range []string{"Page one.", "Page two."} {
		p.AddPage()
		p.Cell(0, 10, l)
	}
	var buf bytes.Buffer
	if err := p.Output(&buf); err != nil {
		t.Fatal(err)
	}
	if res, err := Extract(buf.Bytes(), "application/pdf", Rules{}); err != nil || res.Text != "Page one.\n\nPage two.\n" {
		t.Errorf("two pages: got %+v, %v; want pages separated by a blank line", res, err)
	}
	for _, tc := range []struct {
		desc string
		body []byte
	}{
		{"empty page", testPDF(t, nil, false)},
		{"image only", testPDF(t, nil, true)},
	} {
		_, err := Extract(tc.body, "application/pdf", Rules{})
		if reason(err) != ReasonNoText {
			t.Errorf("%s: err = %v, want no_text", tc.desc, err)
		}
	}
}

func reason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return fmt.Sprintf("not an *Error: %v", err)
}

func TestErrors(t *testing.T) {
	html := []byte(`<html><body><main><p>Hello</p></main></body></html>`)
	huge := make([]byte, MaxInput+1)
	for _, tc := range []struct {
		desc, contentType string
		body              []byte
		rules             Rules
		want              string
	}{
		{"no match", "text/html", html, Rules{Select: []string{"article", "#terms"}}, ReasonNoMatch},
		{"empty selection", "text/html", html, Rules{Select: []string{"main"}, Remove: []string{"p"}}, ReasonNoText},
		{"only scripts", "text/html", []byte(`<body><script>var x</script><style>p{}</style><img src=a.png></body>`), Rules{}, ReasonNoText},
		{"empty body", "text/html", nil, Rules{}, ReasonNoText},
		{"image", "image/png", []byte("\x89PNG\r\n\x1a\n"), Rules{}, ReasonUnsupportedMediaType},
		{"sniffed binary", "", []byte("\x89PNG\r\n\x1a\n\x00\x00"), Rules{}, ReasonUnsupportedMediaType},
		{"json", "application/json", []byte(`{"a":1}`), Rules{}, ReasonUnsupportedMediaType},
		{"bad select", "text/html", html, Rules{Select: []string{"main", "div["}}, ReasonBadSelector},
		{"bad remove", "text/html", html, Rules{Remove: []string{":nope(x)"}}, ReasonBadSelector},
		{"empty selector", "text/html", html, Rules{Select: []string{""}}, ReasonBadSelector},
		{"too large", "text/html", huge, Rules{}, ReasonTooLarge},
		{"corrupt PDF", "application/pdf", []byte("%PDF-1.4\n1 0 obj garbage"), Rules{}, ReasonMalformed},
		{"nested too deep", "text/html", []byte(strings.Repeat("<div>", 600) + "x"), Rules{}, ReasonMalformed},
		{"unknown charset", "text/plain; charset=x-nonsense", []byte("hi"), Rules{}, ReasonMalformed},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Extract(tc.body, tc.contentType, tc.rules)
			if got := reason(err); got != tc.want {
				t.Errorf("reason = %s (err %v, result %+v), want %s", got, err, res, tc.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "extract: "+tc.want+": ") {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if err := (Rules{Select: []string{"main article", "#a > .b"}, Remove: []string{"nav, footer", `a[href^="#skip"]`}}).Check(); err != nil {
		t.Errorf("valid rules: %v", err)
	}
	err := Rules{Select: []string{"main"}, Remove: []string{"nav", "div[x"}}.Check()
	var e *Error
	if !errors.As(err, &e) || e.Reason != ReasonBadSelector || !strings.Contains(e.Message, `remove[1] "div[x"`) || e.Unwrap() == nil {
		t.Errorf("Check = %#v, want bad_selector naming remove[1] \"div[x\" and wrapping the parse error", err)
	}
}

func TestTooLargeIsCheap(t *testing.T) {
	huge := bytes.Repeat([]byte("<p>x</p>"), MaxInput/8+1)
	if _, err := Extract(huge, "text/html", Rules{}); reason(err) != ReasonTooLarge {
		t.Fatalf("err = %v, want too_large", err)
	}
}

// checkNormalized reports how s breaks the output format, or "".
func checkNormalized(s string) string {
	switch {
	case s == "":
		return "empty"
	case !utf8.ValidString(s):
		return "invalid UTF-8"
	case !strings.HasSuffix(s, "\n") || strings.HasSuffix(s, "\n\n"):
		return "does not end in exactly one newline"
	case strings.HasPrefix(s, "\n"):
		return "leading blank line"
	case strings.Contains(s, "\n\n\n"):
		return "two blank lines in a row"
	case strings.Contains(s, "\r"):
		return "carriage return"
	case strings.Contains(s, " \n") || strings.Contains(s, "\t\n"):
		return "trailing white space"
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return fmt.Sprintf("control character %U", r)
		}
	}
	return ""
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(page("n", "/i.png", "?utm_source=x", "\n", false)), "text/html", "main", "nav")
	f.Add([]byte("<p>caf\xe9</p>"), "", "", "")
	f.Add([]byte("plain\r\ntext\x00"), "text/plain", "", "")
	f.Add([]byte("%PDF-1.4\n"), "application/pdf", "", "")
	f.Fuzz(func(t *testing.T, body []byte, contentType, sel, rem string) {
		r := Rules{}
		if sel != "" {
			r.Select = []string{sel}
		}
		if rem != "" {
			r.Remove = []string{rem}
		}
		res, err := Extract(body, contentType, r)
		if err != nil {
			if reason(err) == "" || strings.HasPrefix(reason(err), "not an") {
				t.Fatalf("error is not an *Error with a Reason: %v", err)
			}
			return
		}
		if msg := checkNormalized(res.Text); msg != "" {
			t.Fatalf("Text %q: %s", res.Text, msg)
		}
		again, err := Extract(body, contentType, r)
		if err != nil || again.Text != res.Text {
			t.Fatalf("second run differs: %v", err)
		}
	})
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{" \n\t\n", ""},
		{"\n\na  \n\n\n\nb\t\r\nc\rd\n\n", "a\n\nb\nc\nd\n"},
		{"x\x00y\x1bz\u0085w\u009f", "xyzw\n"},
		{"e\u0301", "é\n"},
		{"bad \xff byte", "bad \uFFFD byte\n"},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestShadowRoots: a declarative shadow root's content is text at its
// host's place, with the host's children put in its slots as a browser
// shows them; an ordinary template, a template with another mode, and a
// host child assigned to no slot stay out of the text.
func TestShadowRoots(t *testing.T) {
	for _, tc := range []struct{ desc, body, want string }{
		{"open", `<p>Before.</p><x-c><template shadowrootmode="open"><p>Open clause.</p></template></x-c><p>After.</p>`,
			"Before.\n\nOpen clause.\n\nAfter.\n"},
		{"closed, nested", `<x-c><template shadowrootmode="closed"><p>Outer.</p><y-c><template shadowrootmode="OPEN"><p>Inner.</p></template></y-c></template></x-c>`,
			"Outer.\n\nInner.\n"},
		{"slots", `<x-c><template shadowrootmode="open"><h2><slot name="title">No title</slot></h2><p>Body: <slot></slot></p><p><slot name="note">Fallback note.</slot></p></template>` +
			`<span slot="title">Title</span>default text<span slot="missing">Unassigned.</span></x-c>`,
			"## Title\n\nBody: default text\n\nFallback note.\n"},
		{"nested host's light children fill the outer slot", `<x-c><template shadowrootmode="open"><y-c><template shadowrootmode="open"><p>Inner <slot></slot></p></template><slot></slot></y-c></template>light</x-c>`,
			"Inner light\n"},
		{"ordinary template", `<p>Shown.</p><template><p>Hidden.</p></template><x-c><template shadowrootmode="none"><p>Hidden too.</p></template></x-c>`,
			"Shown.\n"},
		{"not the first child", `<x-c><p>Light.</p><template shadowrootmode="open"><p>Hidden.</p></template></x-c>`,
			"Light.\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := Extract([]byte(`<!DOCTYPE html><html><body>`+tc.body+`</body></html>`), "text/html", Rules{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Text != tc.want {
				t.Errorf("Text =\n%q\nwant\n%q", got.Text, tc.want)
			}
		})
	}
}
