package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/extract"
	"github.com/exhibit-archive/exhibit/archive/wacz"
	"github.com/exhibit-archive/exhibit/verify"
)

// maxPageText bounds the text a WACZ's pages.jsonl carries for full-text
// search in a replayer; the full text is the capture's own business.
const maxPageText = 1 << 20

// buildWACZ packages a browser capture's WARC as a signed WACZ (see
// archive/wacz and docs/FORMATS.md 2.10): its main page is the final URL,
// captured at the render's start, with the DOM's title and text. The
// signing key is made for this one package and forgotten once it has
// signed: what binds the package to the archive is the capture statement,
// signed by the archive's key and logged, which names the WACZ by SHA-256.
// Where the archive has a TSA, the signature is time-stamped; when the TSA
// fails, the package is made without a time-stamp (the checkpoint that
// logs the statement is time-stamped as every checkpoint is) and the
// failure logged.
func (in *Ingester) buildWACZ(ctx context.Context, warc []byte, obs *verify.Observation, dom []byte) ([]byte, error) {
	started, err := time.Parse(time.RFC3339Nano, obs.StartedAt)
	if err != nil {
		return nil, fmt.Errorf("the capture's start %q: %w", obs.StartedAt, err)
	}
	page := wacz.Page{URL: obs.FinalURL, TS: started}
	if page.URL == "" {
		page.URL = obs.RequestedURL
	}
	page.Title = htmlTitle(dom)
	if x, err := extract.ExtractURL(dom, verify.MediaTypeHTML, page.URL, extract.Rules{}); err == nil {
		page.Text = truncateUTF8(x.Text, maxPageText)
	}
	key, err := wacz.NewKey()
	if err != nil {
		return nil, err
	}
	w := wacz.Input{
		WARC:     warc,
		Pages:    []wacz.Page{page},
		Created:  started,
		Software: "exhibit " + archive.Version,
		Title:    page.Title,
		Key:      key,
	}
	if tsa := in.a.TSAClient(); tsa != nil {
		w.TSA = tsa
	}
	var out bytes.Buffer
	err = wacz.Build(ctx, &out, w)
	if errors.Is(err, wacz.ErrTimestamp) {
		in.a.Logger().Warn("WACZ made without a time-stamp of its signature", "url", page.URL, "err", err)
		w.TSA = nil
		out.Reset()
		err = wacz.Build(ctx, &out, w)
	}
	if err != nil {
		return nil, fmt.Errorf("packaging the WACZ: %w", err)
	}
	return out.Bytes(), nil
}

// htmlTitle returns the text of the first title element of doc, spaces
// collapsed; "" if it has none.
func htmlTitle(doc []byte) string {
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken:
			name, _ := z.TagName()
			if atom.Lookup(name) != atom.Title {
				continue
			}
			var b strings.Builder
			for z.Next() == html.TextToken {
				b.Write(z.Text())
			}
			return strings.Join(strings.Fields(b.String()), " ")
		}
	}
}

// truncateUTF8 cuts s to at most n bytes, dropping a rune cut in two.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
