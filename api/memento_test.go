package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/api"
	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/record"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// TestMemento captures one URL three times, a second apart, and checks
// exhibit serve's RFC 7089 TimeMap, TimeGate (with and without
// Accept-Datetime) and mementos.
func TestMemento(t *testing.T) {
	ctx := context.Background()
	page := 0
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page++
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p>version "+string(rune('0'+page))+"</p>")
	}))
	defer origin.Close()
	a := archivetest.New(t, archive.InitOptions{})
	uri := origin.URL + "/terms?lang=en&v=2"
	in := ingest.New(a)
	var recs []*record.Record
	for i := range 3 {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond)
		}
		r, err := in.Capture(ctx, uri, ingest.CaptureOptions{})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	at := func(r *record.Record) time.Time {
		tm, _ := verify.ParseTime(r.CapturedAt)
		return tm
	}
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, h map[string]string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	resp, body := get("/timemap/link/"+uri, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/link-format" {
		t.Fatalf("TimeMap: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	for _, want := range []string{
		"<" + uri + `>; rel="original"`,
		"</timegate/" + uri + `>; rel="timegate"`,
		`from="` + at(recs[0]).UTC().Format(http.TimeFormat) + `"`,
		"</mementos/" + recs[0].ID + `>; rel="first memento"; datetime="` + at(recs[0]).UTC().Format(http.TimeFormat) + `"`,
		"</mementos/" + recs[1].ID + `>; rel="memento"`,
		"</mementos/" + recs[2].ID + `>; rel="last memento"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("TimeMap lacks %s:\n%s", want, body)
		}
	}
	// The TimeGate: the newest without Accept-Datetime, else the nearest.
	for _, tc := range []struct {
		accept string
		want   *record.Record
	}{
		{"", recs[2]},
		{at(recs[0]).UTC().Format(http.TimeFormat), recs[0]},
		{at(recs[1]).UTC().Format(http.TimeFormat), recs[1]},
		{at(recs[2]).UTC().Format(http.TimeFormat), recs[2]},
		{"Sat, 01 Jan 2000 00:00:00 GMT", recs[0]},
		{"Fri, 01 Jan 2100 00:00:00 GMT", recs[2]},
	} {
		h := map[string]string{}
		if tc.accept != "" {
			h["Accept-Datetime"] = tc.accept
		}
		resp, _ := get("/timegate/"+uri, h)
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/mementos/"+tc.want.ID || resp.Header.Get("Vary") != "accept-datetime" ||
			!strings.Contains(resp.Header.Get("Link"), "<"+uri+`>; rel="original"`) {
			t.Errorf("TimeGate, Accept-Datetime %q: %d Location %s, want %s; Vary %q Link %q", tc.accept, resp.StatusCode, resp.Header.Get("Location"), tc.want.ID, resp.Header.Get("Vary"), resp.Header.Get("Link"))
		}
	}
	// A collapsed scheme slash is the same URL.
	if resp, _ := get("/timegate/"+strings.Replace(uri, "http://", "http:/", 1), nil); resp.Header.Get("Location") != "/mementos/"+recs[2].ID {
		t.Errorf("collapsed scheme: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get("/mementos/"+recs[1].ID, nil)
	if resp.StatusCode != 200 || body != "<p>version 2</p>" || resp.Header.Get("Memento-Datetime") != at(recs[1]).UTC().Format(http.TimeFormat) ||
		!strings.Contains(resp.Header.Get("Link"), `rel="timegate"`) || resp.Header.Get("Content-Security-Policy") != "default-src 'none'; sandbox" {
		t.Errorf("memento: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	for path, want := range map[string]int{
		"/timegate/https://nowhere.example/":     404,
		"/timemap/link/https://nowhere.example/": 404,
		"/mementos/EXR-nope":                     400,
		// No URL at all is no URL: not every capture.
		"/timegate/":     400,
		"/timemap/link/": 400,
	} {
		if resp, body := get(path, nil); resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d: %s", path, resp.StatusCode, want, body)
		}
	}
	if resp, _ := get("/timegate/"+uri, map[string]string{"Accept-Datetime": "yesterday"}); resp.StatusCode != 400 {
		t.Errorf("bad Accept-Datetime: %d", resp.StatusCode)
	}
}

// TestMementoFragment: a URL captured with a fragment ("#section-2") was
// fetched without it, and Memento clients never send one, so its capture
// is a memento of the URL without the fragment: the TimeGate and TimeMap
// of that URL find it, and its rel="original" carries no fragment.
func TestMementoFragment(t *testing.T) {
	ctx := context.Background()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<p id=section-2>terms</p>")
	}))
	defer origin.Close()
	a := archivetest.New(t, archive.InitOptions{})
	uri := origin.URL + "/terms?lang=en"
	rec, err := ingest.New(a).Capture(ctx, uri+"#section-2", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Another URL that only shares a prefix is no memento of uri.
	other, err := ingest.New(a).Capture(ctx, uri+"x", ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := get("/timegate/" + uri); resp.StatusCode != 302 || resp.Header.Get("Location") != "/mementos/"+rec.ID ||
		!strings.Contains(resp.Header.Get("Link"), "<"+uri+`>; rel="original"`) {
		t.Errorf("TimeGate of %s: %d Location %q Link %q, want the capture of %s#section-2, %s: %s", uri, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Link"), uri, rec.ID, body)
	}
	resp, body := get("/timemap/link/" + uri)
	if resp.StatusCode != 200 || !strings.Contains(body, "</mementos/"+rec.ID+">") || strings.Contains(body, other.ID) {
		t.Errorf("TimeMap of %s: %d, want %s and not %s:\n%s", uri, resp.StatusCode, rec.ID, other.ID, body)
	}
	resp, _ = get("/mementos/" + rec.ID)
	if l := resp.Header.Get("Link"); resp.StatusCode != 200 || !strings.Contains(l, "<"+uri+`>; rel="original"`) || strings.Contains(l, "#") {
		t.Errorf("memento %s: %d Link %q, want rel=\"original\" %s without its fragment", rec.ID, resp.StatusCode, l, uri)
	}
}

// TestMementoBrowser: a capture in a browser is a memento of its URL (the
// main document as the server sent it), beside a fetch of the same URL;
// a failed browser capture is none.
func TestMementoBrowser(t *testing.T) {
	bin := rendertest.Chromium(t)
	ctx := context.Background()
	site := httptest.NewServer(rendertest.ScriptedPage())
	defer site.Close()
	a := archivetest.New(t, archive.InitOptions{})
	in := ingest.New(a)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	uri := site.URL + "/terms"
	fetched, err := in.Capture(ctx, uri, ingest.CaptureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	browsed, err := in.Capture(ctx, uri, ingest.CaptureOptions{Browser: true})
	if err != nil || browsed.Method != verify.MethodBrowser || browsed.Outcome != "captured" {
		t.Fatalf("browser capture %+v: %v", browsed, err)
	}
	in.SetRenderer(render.New(render.Config{ExecPath: "/nonexistent/chromium"}))
	failed, err := in.Capture(ctx, uri, ingest.CaptureOptions{Browser: true})
	if err != nil || failed.Outcome != "failed" {
		t.Fatalf("failed browser capture %+v: %v", failed, err)
	}
	srv := httptest.NewServer(api.New(a, api.Options{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/timemap/link/" + uri)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != 200 || !strings.Contains(body, "</mementos/"+fetched.ID+">") || !strings.Contains(body, "</mementos/"+browsed.ID+">") || strings.Contains(body, failed.ID) {
		t.Errorf("TimeMap of %s: %d, want %s and %s, not %s:\n%s", uri, resp.StatusCode, fetched.ID, browsed.ID, failed.ID, body)
	}
	if left := rendertest.Leftovers(); len(left) > 0 {
		t.Errorf("browser processes left: %v", left)
	}
}
