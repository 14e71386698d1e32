package render_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
)

// TestRenderNavCancelsRequest is the page of issue 12's trial: an image
// the server answers only after 4 s, and a script that leaves for
// /end.html after 300 ms. The navigation ends the image's request;
// Chromium reports no end of it to the tab, and it had been counted in
// flight until the settle bound (settled false, waited 15 s). The capture
// settles on /end.html well before the bound, and the WARC holds the
// image's exchange only as far as it got. The browser's favicon request
// does not hold the wait either: in the second case it never gets an
// answer.
func TestRenderNavCancelsRequest(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(map[bool]string{false: "trial", true: "favicon hangs"}[hang], func(t *testing.T) { testNavCancels(t, hang) })
	}
}

func testNavCancels(t *testing.T, faviconHangs bool) {
	bin := rendertest.Chromium(t)
	var pngBody bytes.Buffer
	if err := png.Encode(&pngBody, image.NewRGBA(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	var favicons atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/start.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>start</title><img src="/slow.png"><script>setTimeout(()=>{location.href="/end.html"},300)</script>`))
	})
	mux.HandleFunc("/slow.png", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(4 * time.Second)
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBody.Bytes())
	})
	mux.HandleFunc("/end.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><title>end</title><p>The end page has arrived.</p>`))
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		favicons.Add(1)
		if faviconHangs {
			select {
			case <-r.Context().Done():
			case <-time.After(render.DefaultSettleTimeout + 5*time.Second):
			}
		}
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := render.New(render.Config{ExecPath: bin}).Render(context.Background(), srv.URL+"/start.html", render.Options{})
	if err != nil || res.Failure != nil {
		t.Fatalf("%v %+v", err, res.Failure)
	}
	w := res.Rendering.Wait
	if !w.Settled || w.WaitedMS >= render.DefaultSettleTimeout.Milliseconds()/2 {
		t.Errorf("wait %+v: want settled well before the bound of %v", w, render.DefaultSettleTimeout)
	}
	if res.Observed.FinalURL != srv.URL+"/end.html" || !bytes.Contains(res.DOM, []byte("The end page has arrived.")) {
		t.Errorf("final %s, DOM:\n%s\nwant /end.html's", res.Observed.FinalURL, res.DOM)
	}
	if nav := res.Rendering.Navigations; len(nav) != 1 || nav[0].URL != srv.URL+"/end.html" {
		t.Errorf("navigations %+v, want one to /end.html", nav)
	}
	// The image got no answer before the page was taken (it comes at
	// 4 s): a WARC records only answered exchanges, so it has no response
	// record of it, or, if its response did come, one whose body is
	// either whole or marked as not received.
	var slow []warcRecord
	for _, rec := range readWARC(t, res.WARC) {
		if u := rec.h.Get("WARC-Target-URI"); u == srv.URL+"/slow.png" && rec.typ == "response" {
			slow = append(slow, rec)
		}
	}
	if w.WaitedMS < 4000 && len(slow) != 0 {
		t.Errorf("the WARC has %d responses of /slow.png, answered only at 4 s, taken at %d ms", len(slow), w.WaitedMS)
	}
	for _, rec := range slow {
		if o := rec.h.Get(render.HeaderBodyOmitted); o != "unfinished" && !bytes.Equal(rec.payload, pngBody.Bytes()) {
			t.Errorf("/slow.png's response has body %q, omitted %q: neither whole nor marked unfinished", rec.payload, o)
		}
	}
	t.Logf("wait %+v, requests %d, favicon requests at the server %d, slow.png responses in the WARC %d", w, res.Rendering.Requests, favicons.Load(), len(slow))
}
