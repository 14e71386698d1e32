package replaytest_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/archive/render/replaytest"
)

// resource is a response kept in a test WARC.
type resource struct {
	url, surt, contentType, body string
}

const captured = "2026-12-04T10:00:00Z"

// termsPage is the archived page: its clause comes from /clause.json,
// fetched by its script after load, as on rendertest's scripted page, so
// that replay must run the script and answer its fetch from the archive.
func termsPage(clause string) []resource {
	return []resource{
		{"https://example.com/terms", "com,example)/terms", "text/html; charset=utf-8", `<!DOCTYPE html>
<html><head><title>Terms of Service</title></head><body>
<h1>Terms of Service</h1><p>These terms govern your use of the service.</p>
<script>
addEventListener('load', async () => {
  const r = await fetch('/clause.json');
  const p = document.createElement('p');
  p.id = 'clause';
  p.textContent = (await r.json()).clause;
  document.querySelector('h1').after(p);
});
</script></body></html>
`},
		{"https://example.com/clause.json", "com,example)/clause.json", "application/json", fmt.Sprintf(`{"clause": %q}`, clause)},
	}
}

// buildWARC writes a response record for each resource with gowarc, each
// record its own gzip member when gz (as a WACZ's CDXJ needs, to read one
// record by its offset), and returns the WARC and a CDXJ line for each.
func buildWARC(t *testing.T, res []resource, gz bool) ([]byte, []string) {
	t.Helper()
	var warc bytes.Buffer
	var cdxj []string
	m := gowarc.NewMarshaler()
	for _, r := range res {
		b := gowarc.NewRecordBuilder(gowarc.Response, gowarc.WithAddMissingDigest(true), gowarc.WithAddMissingContentLength(true), gowarc.WithAddMissingRecordId(true))
		fmt.Fprintf(b, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", r.contentType, len(r.body), r.body)
		b.AddWarcHeader(gowarc.WarcTargetURI, r.url)
		b.AddWarcHeader(gowarc.WarcDate, captured)
		b.AddWarcHeader(gowarc.ContentType, "application/http;msgtype=response")
		rec, _, err := b.Build()
		if err != nil {
			t.Fatalf("building the record of %s: %v", r.url, err)
		}
		offset := warc.Len()
		if gz {
			z := gzip.NewWriter(&warc)
			if _, _, err := m.Marshal(z, rec, 0); err != nil {
				t.Fatal(err)
			}
			if err := z.Close(); err != nil {
				t.Fatal(err)
			}
		} else if _, _, err := m.Marshal(&warc, rec, 0); err != nil {
			t.Fatal(err)
		}
		line, _ := json.Marshal(map[string]any{
			"url": r.url, "mime": strings.TrimSpace(strings.Split(r.contentType, ";")[0]), "status": "200",
			"digest": rec.WarcHeader().Get(gowarc.WarcPayloadDigest), "length": warc.Len() - offset, "offset": offset, "filename": "data.warc.gz",
		})
		cdxj = append(cdxj, r.surt+" 20261204100000 "+string(line))
		rec.Close()
	}
	return warc.Bytes(), cdxj
}

// buildWACZ lays the resources out as a WACZ 1.1.1: archive/data.warc.gz,
// indexes/index.cdx (CDXJ, sorted), pages/pages.jsonl (the first
// resource is the page) and datapackage.json naming each with its
// SHA-256. Files are stored, not deflated, as the spec advises.
func buildWACZ(t *testing.T, res []resource) []byte {
	t.Helper()
	warc, cdxj := buildWARC(t, res, true)
	slices.Sort(cdxj)
	pages := `{"format":"json-pages-1.0","id":"pages","title":"All Pages"}` + "\n"
	p, _ := json.Marshal(map[string]string{"id": "p1", "url": res[0].url, "ts": captured, "title": "Terms of Service"})
	pages += string(p) + "\n"
	files := []struct {
		name string
		data []byte
	}{
		{"archive/data.warc.gz", warc},
		{"indexes/index.cdx", []byte(strings.Join(cdxj, "\n") + "\n")},
		{"pages/pages.jsonl", []byte(pages)},
	}
	type dpRes struct {
		Name  string `json:"name"`
		Path  string `json:"path"`
		Hash  string `json:"hash"`
		Bytes int    `json:"bytes"`
	}
	dp := struct {
		Profile     string  `json:"profile"`
		WACZVersion string  `json:"wacz_version"`
		Created     string  `json:"created"`
		Software    string  `json:"software"`
		Resources   []dpRes `json:"resources"`
	}{Profile: "data-package", WACZVersion: "1.1.1", Created: captured, Software: "exhibit replaytest"}
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		dp.Resources = append(dp.Resources, dpRes{f.name[strings.LastIndex(f.name, "/")+1:], f.name, "sha256:" + hex.EncodeToString(sum[:]), len(f.data)})
	}
	dpJSON, _ := json.MarshalIndent(dp, "", "  ")
	files = append(files, struct {
		name string
		data []byte
	}{"datapackage.json", dpJSON})

	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// noLeftovers checks, when t ends, that no browser is left; and skips
// the harness's own browser tests under the race detector: they wait on
// a browser, not on this process's concurrency (the capture tests that
// use the harness run there).
func noLeftovers(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under the race detector: the harness's browser tests run once, in the plain run")
	}
	t.Cleanup(func() {
		if left := rendertest.Leftovers(); len(left) > 0 {
			t.Errorf("browsers left running: %v", left)
		}
	})
}

// TestReplay: ReplayWeb.page replays a WACZ built here; the clause its
// page's script fetches from the archive after load is found in the
// replayed page.
func TestReplay(t *testing.T) {
	noLeftovers(t)
	wacz := buildWACZ(t, termsPage(rendertest.Clause))
	text, err := replaytest.Replay(t, wacz, "https://example.com/terms", rendertest.Clause, 180*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "These terms govern your use of the service.") {
		t.Errorf("replayed text %q lacks the page's static text", text)
	}
}

// TestReplayRefuses: a clause the archive does not hold is not found (the
// page is replayed, with its own text); a WACZ that is not a zip, and one
// whose WARC is cut short, are not replayed, and the error says so.
func TestReplayRefuses(t *testing.T) {
	noLeftovers(t)
	good := buildWACZ(t, termsPage(rendertest.Clause))
	cutWARC := func() []byte {
		// The same WACZ with its WARC's second record cut: the index
		// points past the data.
		res := termsPage(rendertest.Clause)
		wacz := buildWACZ(t, res)
		zr, err := zip.NewReader(bytes.NewReader(wacz), int64(len(wacz)))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, f := range zr.File {
			rc, _ := f.Open()
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			data := b.Bytes()
			if f.Name == "archive/data.warc.gz" {
				data = data[:len(data)-len(data)/3]
			}
			w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
			w.Write(data)
		}
		zw.Close()
		return out.Bytes()
	}()
	for _, tc := range []struct {
		name        string
		wacz        []byte
		notArchived bool // ReplayWeb.page says it has no such page
		wantText    string
	}{
		{"clause not archived", buildWACZ(t, termsPage("Disputes go to the courts of the customer's residence.")), false, "courts of the customer"},
		{"not a zip", bytes.Repeat([]byte("not a wacz "), 100), true, "not found in this archive"},
		{"zip cut in half", good[:len(good)/2], true, "not found in this archive"},
		// The page is replayed, but its script's fetch finds nothing.
		{"WARC cut short", cutWARC, false, "These terms govern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, err := replaytest.Replay(t, tc.wacz, "https://example.com/terms", rendertest.Clause, 180*time.Second)
			var rerr *replaytest.ReplayError
			if !errors.As(err, &rerr) {
				t.Fatalf("Replay = %q, %v; want a ReplayError", text, err)
			}
			t.Logf("%v", err)
			if rerr.NotArchived != tc.notArchived || rerr.Settled == tc.notArchived {
				t.Errorf("NotArchived = %v, Settled = %v; want %v, %v", rerr.NotArchived, rerr.Settled, tc.notArchived, !tc.notArchived)
			}
			if len(rerr.Frames) == 0 || !strings.Contains(rerr.Frames[0].Text, tc.wantText) {
				t.Errorf("replayed text %v lacks %q", rerr.Frames, tc.wantText)
			}
			if !strings.Contains(err.Error(), rendertest.Clause) || !strings.Contains(err.Error(), "https://example.com/terms") {
				t.Errorf("error %q does not name the clause and the page", err)
			}
		})
	}
}

// TestWARCRecords: warcio reads the records gowarc wrote, with their
// digests; a byte changed in a payload fails that record's block and
// payload digests and no other; what is not a WARC is refused.
func TestWARCRecords(t *testing.T) {
	res := termsPage(rendertest.Clause)
	for _, gz := range []bool{true, false} {
		t.Run(fmt.Sprintf("gzip=%v", gz), func(t *testing.T) {
			warc, _ := buildWARC(t, res, gz)
			recs, err := replaytest.WARCRecords(t, warc)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != len(res) {
				t.Fatalf("warcio read %d records, want %d: %+v", len(recs), len(res), recs)
			}
			for i, r := range recs {
				if r.Type != "response" || r.TargetURI != res[i].url || r.HTTPStatus != 200 || !strings.HasPrefix(r.ContentType, "application/http") {
					t.Errorf("record %d = %+v, want a response of %s, status 200", i, r, res[i].url)
				}
				if !r.BlockOK || !r.PayloadOK {
					t.Errorf("record %d (%s): digests block %s (computed %s) payload %s (computed %s) do not check", i, r.TargetURI, r.BlockDigest, r.ComputedBlock, r.Payload, r.ComputedPayload)
				}
			}
		})
	}

	t.Run("tampered payload", func(t *testing.T) {
		warc, _ := buildWARC(t, res, false)
		i := bytes.Index(warc, []byte("govern"))
		warc = bytes.Clone(warc)
		warc[i] = 'G'
		recs, err := replaytest.WARCRecords(t, warc)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 {
			t.Fatalf("warcio read %d records, want 2", len(recs))
		}
		if recs[0].BlockOK || recs[0].PayloadOK {
			t.Errorf("tampered record: block OK %v, payload OK %v; want both false", recs[0].BlockOK, recs[0].PayloadOK)
		}
		if !recs[1].BlockOK || !recs[1].PayloadOK {
			t.Errorf("untouched record: block OK %v, payload OK %v; want both true", recs[1].BlockOK, recs[1].PayloadOK)
		}
	})
	t.Run("tampered HTTP header", func(t *testing.T) {
		warc, _ := buildWARC(t, res, false)
		i := bytes.Index(warc, []byte("HTTP/1.1 200 OK"))
		warc = bytes.Clone(warc)
		warc[i+9] = '3' // 300: the block changes, its payload does not
		recs, err := replaytest.WARCRecords(t, warc)
		if err != nil {
			t.Fatal(err)
		}
		if recs[0].BlockOK || !recs[0].PayloadOK {
			t.Errorf("tampered header: block OK %v, payload OK %v; want false, true", recs[0].BlockOK, recs[0].PayloadOK)
		}
	})
	t.Run("not a WARC", func(t *testing.T) {
		recs, err := replaytest.WARCRecords(t, []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"))
		if err == nil {
			t.Fatalf("warcio read %+v from a non-WARC, want an error", recs)
		}
		t.Log(err)
	})
}
