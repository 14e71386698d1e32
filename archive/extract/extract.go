// Package extract turns a snapshot (the raw bytes fetched for a tracked
// document) into the document's text, the "version" that exhibit records,
// signs and logs whenever it changes.
//
// It follows the model of Open Terms Archive
// (https://docs.opentermsarchive.org/terms/explanation/declarations/): a
// document is declared by CSS selectors that keep the policy's text (Select)
// and drop the rest (Remove).
//
// # Inputs
//
//   - HTML (text/html, application/xhtml+xml): decoded to UTF-8 by these
//     rules, in order: a byte order mark; a body that is valid UTF-8 (with
//     bytes above 0x7F) is UTF-8, whatever it declares; the Content-Type
//     header's charset (a label no encoding has is ignored, as browsers
//     do); a <meta charset> or <meta http-equiv> in the head (within its
//     first 512 KiB, not only its first 1,024 bytes); with nothing
//     declared, an ASCII body, or a UTF-8 body with a few stray bytes
//     (each becomes U+FFFD, counted), is UTF-8; anything else is
//     windows-1252. Result.Decoding says which
//     rule decided, the charset declared when another was used, and how
//     many bytes could not be decoded (each becomes U+FFFD): a decoding
//     that loses bytes is never silent. The page is parsed with
//     golang.org/x/net/html, which accepts broken markup as browsers do,
//     and converted to Markdown.
//   - PDF (application/pdf, or a body starting with "%PDF-" whatever its
//     declared type): the characters and their places on each page are read
//     by PDFium (https://pdfium.googlesource.com/pdfium/) compiled to
//     WebAssembly and run by github.com/tetratelabs/wazero through
//     github.com/klippa-app/go-pdfium (no cgo, nothing to install; compiled
//     to machine code once per process, on the first PDF, in seconds), and
//     laid out as a reader reads them: characters on one baseline make a
//     line, with a space where the PDF draws one or where the gap is wider
//     than the line's gap between letters (so letter-spaced headings and
//     text drawn in pieces read whole); lines stacked at the document's line
//     spacing make a block; blocks are read column by column, top to bottom
//     (a gutter that runs down the page splits it into columns); a block
//     splits into paragraphs before a bullet and after a line ended short
//     of the lines about it (not before a mere indent). A paragraph's
//     lines are joined by a space, so a sentence is on one line; a line that
//     ends in a hyphen after a letter, before a lower-case letter, is joined
//     without the space, and without the hyphen when it is a soft hyphen or
//     the word without it occurs elsewhere in the document and the word with
//     it does not. Ligatures (U+FB00 to U+FB06) become their letters.
//     Paragraphs and pages are separated by a blank line, except that a
//     paragraph ending a page without a full stop (in a letter, a comma or
//     a hyphen) goes on with the next page's first if it starts with a
//     lower-case letter. Text is never
//     guessed (no OCR): a PDF of images is ReasonNoText. A PDF of more than
//     MaxPDFPages pages, MaxPDFChars characters or MaxPDFPageChars on a
//     page is ReasonTooLarge; one PDFium cannot open, or encrypted with a
//     password, ReasonMalformed. Each PDF is read in a fresh PDFium
//     instance of at most 512 MiB of memory, two at a time (more calls
//     wait). There is no time limit, which would depend on the machine:
//     these limits bound the work for any PDF.
//   - Plain text (text/plain): decoded by the same rules (without <meta>;
//     an unknown charset label is ReasonMalformed) and normalised.
//
// A missing or application/octet-stream Content-Type is sniffed with
// net/http.DetectContentType.
//
// # Output
//
// For HTML, the selected elements (see Rules) are converted to CommonMark
// with GitHub Flavored Markdown tables (minimal cell padding) and
// ~~strikethrough~~ by github.com/JohannesKaufmann/html-to-markdown/v2, with
// Markdown-significant characters in the text escaped. Before conversion:
//   - a declarative shadow root (a <template shadowrootmode="open"> or
//     "closed" first in its host, as archive/render serializes the shadow
//     roots of web components,
//     https://html.spec.whatwg.org/multipage/scripting.html#attr-template-shadowrootmode)
//     takes its host's children's place, nested roots too, with the
//     host's children put in its <slot> elements (by slot name, else the
//     slot's own content) as a browser shows them and those assigned to
//     no slot dropped;
//   - script, style, noscript, any other template, iframe, svg, comments
//     and hidden inputs are removed;
//   - an image becomes its alt text, or nothing;
//   - a link within the page (href "#..."), to a javascript: URL or
//     without href becomes its text, and a link without text is dropped;
//   - other link targets are resolved against the page's URL (ExtractURL;
//     or its <base href>) and lose the query parameters that are noise
//     (see StripTracking: tracking parameters, cache-busters and values
//     that are the time of the fetch); Cloudflare-obfuscated e-mail
//     addresses and character references in mailto: links are decoded,
//     and mailto: addresses lower-cased;
//   - non-ASCII white space (such as no-break spaces) becomes a space;
//   - every attribute is dropped except a link's href and title, <ol start>,
//     colspan and rowspan, and a table's role.
//
// The Markdown holds no markup that is not the page's text: no HTML
// comment between adjacent lists, no "<br />" in table cells (a line break
// in a cell is a space), and "<" and ">" of the text are written as the
// escapes "\<" and ">" ("\>" at the start of a line), not as "&lt;" and
// "&gt;". [WithoutLinkTargets] gives a text without its link targets, to
// tell a change of the text from a change of where links lead.
//
// Without a page URL (Extract), relative link targets are kept relative.
// PDF and plain-text sources give plain text, not Markdown.
//
// In every case Result.Text is UTF-8 in Unicode normalisation form C with
// "\n" line endings, no trailing spaces or tabs on any line, no leading
// blank lines, at most one blank line in a row, no control characters other
// than "\n" and "\t", and exactly one final "\n" (see Normalize). It is
// never empty: an input with nothing left is an *Error with Reason
// "no_text".
//
// # Determinism
//
// ExtractURL is a pure function of (body, contentType, page URL, Rules), Name and
// Version: it reads no clock, network, environment or global mutable state,
// and its output does not depend on map order or concurrency. Markup noise
// does not reach the text: script and style contents and their nonces,
// attribute order and values other than those kept above (CSRF tokens,
// timestamps, classes), image URLs, tracking parameters, obfuscated e-mail
// encodings and insignificant white space.
//
// # Versioning
//
// Name and Version identify the extractor in version records. Version must
// be bumped whenever the output for some input changes, including through an
// upgrade of a dependency, so that a third party re-running the recorded
// extractor version on the recorded snapshot obtains byte-identical text.
// Version "1" was this package built with github.com/andybalholm/cascadia
// v1.3.4, golang.org/x/net v0.60.0, golang.org/x/text v0.42.0,
// github.com/JohannesKaufmann/html-to-markdown/v2 v2.5.2 and
// github.com/ledongthuc/pdf v0.0.0-20260907135840-6c8c28e0e8a0. Version "2"
// decodes valid UTF-8 as UTF-8 and reports the decoding, writes no markup
// into the text, resolves links against the page's URL, drops per-fetch
// query parameters, reads no <select>, <datalist> or <title> in the body,
// and reads PDF with PDFium laid out in reading order; it is built with
// cascadia v1.3.4, golang.org/x/net v0.61.0, golang.org/x/text v0.44.0,
// html-to-markdown v2.5.2, github.com/klippa-app/go-pdfium v1.21.5 (which
// embeds the PDFium build it runs) and github.com/tetratelabs/wazero
// v1.12.0. Version "3" reads the text of declarative shadow roots (above),
// which version "2" removed with every template; the same dependencies.
package extract

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Name and Version identify the extractor in version records; bump Version
// whenever output for some input changes.
const (
	Name    = "exhibit-extract"
	Version = "3"
)

// MaxInput is the largest body Extract accepts, in bytes. Larger bodies are
// rejected with an *Error whose Reason is ReasonTooLarge.
const MaxInput = 32 << 20

// Media types of Result.MediaType.
const (
	// MediaTypeMarkdown is the media type of text extracted from HTML.
	MediaTypeMarkdown = "text/markdown; charset=utf-8"
	// MediaTypePlain is the media type of text extracted from PDF and plain
	// text: it is not Markdown-escaped.
	MediaTypePlain = "text/plain; charset=utf-8"
)

// Values of Result.Source.
const (
	SourceHTML = "html"
	SourcePDF  = "pdf"
	SourceText = "text"
)

// Result is the text extracted from a snapshot.
type Result struct {
	// Text is the normalised text described in the package documentation.
	Text string
	// MediaType is MediaTypeMarkdown for HTML sources and MediaTypePlain
	// for PDF and plain-text sources.
	MediaType string
	// Source is the kind of input the text came from: SourceHTML,
	// SourcePDF or SourceText.
	Source string
	// Decoding says how an HTML or plain-text body was decoded (nil for
	// PDF). Decoding.Replaced > 0 means bytes were lost: the text has
	// U+FFFD in their place.
	Decoding *Decoding
}

// Reasons carried by *Error.
const (
	// ReasonNoMatch: the Select selectors matched no element.
	ReasonNoMatch = "no_match"
	// ReasonNoText: nothing but whitespace is left after extraction (for
	// example a PDF made of images, or a selection with no text). Extract
	// never guesses text, for example by OCR.
	ReasonNoText = "no_text"
	// ReasonUnsupportedMediaType: the body is neither HTML, PDF nor plain
	// text.
	ReasonUnsupportedMediaType = "unsupported_media_type"
	// ReasonBadSelector: a selector in Rules does not compile.
	ReasonBadSelector = "bad_selector"
	// ReasonTooLarge: the body is longer than MaxInput.
	ReasonTooLarge = "too_large"
	// ReasonMalformed: the body cannot be decoded: a corrupt PDF, an
	// unknown charset declared for plain text, or HTML nested more than 512
	// elements deep (the limit of golang.org/x/net/html).
	ReasonMalformed = "malformed"
)

// Error is the error returned by Extract and Rules.Check. Callers branch on
// Reason with errors.As; Message is for humans and may change.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	// Message describes the failure and names the evidence (the selector,
	// the size, the media type), ending with the cause's text if there is
	// a cause.
	Message string
	// Err is the underlying cause, if any; Unwrap returns it.
	Err error
}

// Error returns "extract: " + Reason + ": " + Message.
func (e *Error) Error() string {
	return "extract: " + e.Reason + ": " + e.Message
}

// Unwrap returns the underlying cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// errorf returns an *Error whose Message ends with the cause's text, so
// that Message alone, as recorded in a failed extraction, carries the
// evidence.
func errorf(reason string, cause error, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if cause != nil {
		msg += ": " + cause.Error()
	}
	return &Error{Reason: reason, Message: msg, Err: cause}
}

// Extract returns the text of the document in body, a snapshot served with
// the given Content-Type header value (which may be empty). Rules apply to
// HTML only and are ignored for PDF and plain text, but they are always
// checked. A body longer than MaxInput is rejected before anything else, so
// a caller reading a snapshot need read at most MaxInput+1 bytes. Errors are
// always of type *Error; see the Reason constants. Extract is safe for
// concurrent use. Relative link targets stay relative: ExtractURL resolves
// them.
func Extract(body []byte, contentType string, r Rules) (*Result, error) {
	return ExtractURL(body, contentType, "", r)
}

// ExtractURL is Extract for a body fetched from pageURL, the URL it was
// finally served from (after redirects): relative link targets are
// resolved against it, or against the page's <base href>, as a browser
// resolves them, so that the same page served from the same place gives
// the same text however its links are written. An empty or unparsable
// pageURL leaves relative targets as they are (an uploaded file).
func ExtractURL(body []byte, contentType, pageURL string, r Rules) (*Result, error) {
	if len(body) > MaxInput {
		return nil, errorf(ReasonTooLarge, nil, "body is over MaxInput (%d bytes)", MaxInput)
	}
	sel, err := r.compile()
	if err != nil {
		return nil, err
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	mediaType = strings.ToLower(mediaType)
	if bytes.HasPrefix(body, []byte("%PDF-")) {
		mediaType = "application/pdf"
	}
	if mediaType == "" || mediaType == "application/octet-stream" {
		mediaType, _, _ = mime.ParseMediaType(http.DetectContentType(body))
		if mediaType == "application/pdf" || mediaType == "" {
			// DetectContentType finds "%PDF-" only at offset 0, already
			// handled; anything else it calls a PDF is not one we read.
			mediaType = "application/octet-stream"
		}
		// The sniffer's charset is a guess, not a declaration.
		contentType = ""
	}
	var (
		text   string
		source string
		dec    *Decoding
		mt     = MediaTypePlain
	)
	switch mediaType {
	case "text/html", "application/xhtml+xml":
		text, dec, err = extractHTML(body, contentType, pageURL, sel)
		source, mt = SourceHTML, MediaTypeMarkdown
	case "application/pdf":
		text, err = extractPDF(body)
		source = SourcePDF
	case "text/plain":
		text, dec, err = decodeText(body, contentType)
		source = SourceText
	default:
		return nil, errorf(ReasonUnsupportedMediaType, nil, "media type %q is not HTML, PDF or plain text", mediaType)
	}
	if err != nil {
		return nil, err
	}
	text = Normalize(text)
	if text == "" {
		return nil, errorf(ReasonNoText, nil, "no text left after extracting the %s body", source)
	}
	return &Result{Text: text, MediaType: mt, Source: source, Decoding: dec}, nil
}

// Normalize applies the output normalisation described in the package
// documentation, except that it returns "" rather than "\n" for a text with
// no visible content. Invalid UTF-8 sequences become U+FFFD.
func Normalize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	if hasControl(s) {
		s = strings.Map(func(r rune) rune {
			if r == '\n' || r == '\t' || !unicode.IsControl(r) {
				return r
			}
			return -1
		}, s)
	}
	s = norm.NFC.String(s)
	var b strings.Builder
	b.Grow(len(s) + 1)
	blank := false
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t")
		if line == "" {
			blank = b.Len() > 0
			continue
		}
		if blank {
			b.WriteByte('\n')
			blank = false
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			return true
		}
		if c >= utf8.RuneSelf {
			// C1 controls U+0080..U+009F are encoded as 0xC2 0x80..0x9F.
			if c == 0xC2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9F {
				return true
			}
		}
	}
	return false
}

var errNoPDFText = errors.New("no text objects")
