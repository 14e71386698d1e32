package ingest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/archive/archivetest"
	"github.com/exhibit-archive/exhibit/archive/capture"
	"github.com/exhibit-archive/exhibit/archive/ingest"
	"github.com/exhibit-archive/exhibit/archive/render"
	"github.com/exhibit-archive/exhibit/archive/render/rendertest"
	"github.com/exhibit-archive/exhibit/verify"
)

// browserBenchPage is the loopback page of BenchmarkBrowserCapture: a
// short policy with a style sheet and an image, no script.
const browserBenchPage = `<!DOCTYPE html>
<html><head><title>Terms</title><link rel="stylesheet" href="/s.css"></head>
<body><h1>Terms of Service</h1><p>These terms govern your use of the service.</p>
<p>Arbitration is mandatory for every dispute.</p><img src="/i.svg" alt="logo"></body></html>
`

// BenchmarkBrowserCapture measures one --browser capture of a loopback
// page to a verifiable bundle (render, store, sign, log, prove, verify),
// beside the same capture without --browser and Chromium's own time for
// the page (a bare chromedp navigate and full screenshot, each in a fresh
// browser, as a browser capture runs one), and the browser capture under
// an address policy (render.Options.Control: every connection through
// render's proxy, as the write API's are; the policy lets through only
// the test site's loopback port) and with the fixed delay of 2 s after
// load that was the default before the wait rule page_quiet
// (render.Options.Delay, to show what that rule saves), interleaved in
// the same run,
// EXHIBIT_BENCH_BROWSER_N (default 20) of each. It reports the median and
// p99 of each in ms and the ratios of the browser captures' to the bare
// navigate's. Run:
//
//	go test ./archive/ingest -run '^$' -bench BrowserCapture -benchtime=1x
func BenchmarkBrowserCapture(b *testing.B) {
	bin := rendertest.Chromium(b)
	n := envInt(b, "EXHIBIT_BENCH_BROWSER_N", 20)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/s.css":
			w.Header().Set("Content-Type", "text/css")
			fmt.Fprint(w, "body{font:16px serif;margin:2em}")
		case "/i.svg":
			w.Header().Set("Content-Type", "image/svg+xml")
			fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect width="40" height="40"/></svg>`)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, browserBenchPage)
		}
	}))
	defer site.Close()
	siteAddr := site.Listener.Addr().String()
	policy := func(network, address string, c syscall.RawConn) error {
		if address == siteAddr {
			return nil
		}
		return capture.RefusePrivate(network, address, c)
	}
	a := archivetest.New(b, archive.InitOptions{})
	in := ingest.New(a)
	in.SetRenderer(render.New(render.Config{ExecPath: bin}))
	ctx := context.Background()

	toBundle := func(o ingest.CaptureOptions) {
		rec, err := in.Capture(ctx, site.URL+"/terms", o)
		if err != nil {
			b.Fatal(err)
		}
		if rec.Outcome != verify.OutcomeCaptured {
			b.Fatalf("capture %+v", rec.Failure)
		}
		_, bun, err := a.Prove(ctx, rec.ID, archive.ProveOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if rep := verify.Check(bun.Marshal(), a.Key(), verify.Options{}); !rep.Verified {
			b.Fatalf("bundle: %+v", rep.Failed())
		}
	}
	bare := func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.UserDataDir(b.TempDir()),
			chromedp.WindowSize(render.DefaultWidth, render.DefaultHeight), chromedp.DisableGPU,
			chromedp.Flag("disable-component-update", true))
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox)
		}
		actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
		defer cancelA()
		bctx, cancelB := chromedp.NewContext(actx)
		defer cancelB()
		if err := chromedp.Do(bctx, chromedp.Navigate(site.URL+"/terms")); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(bctx, chromedp.FullScreenshot(100)); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		var browser, delayed, proxied, plain, chrome []time.Duration
		timed := func(d *[]time.Duration, f func()) {
			start := time.Now()
			f()
			*d = append(*d, time.Since(start))
		}
		for range n {
			timed(&chrome, bare)
			timed(&browser, func() { toBundle(ingest.CaptureOptions{Browser: true}) })
			timed(&delayed, func() { toBundle(ingest.CaptureOptions{Browser: true, Render: render.Options{Delay: 2 * time.Second}}) })
			timed(&proxied, func() { toBundle(ingest.CaptureOptions{Browser: true, Render: render.Options{Control: policy}}) })
			timed(&plain, func() { toBundle(ingest.CaptureOptions{}) })
		}

		bm, bp := stats(browser)
		pm, pp := stats(plain)
		cm, cp := stats(chrome)
		b.ReportMetric(ms(bm), "browser-median-ms")
		b.ReportMetric(ms(bp), "browser-p99-ms")
		b.ReportMetric(ms(pm), "plain-median-ms")
		b.ReportMetric(ms(pp), "plain-p99-ms")
		b.ReportMetric(ms(cm), "bare-chromedp-median-ms")
		b.ReportMetric(ms(cp), "bare-chromedp-p99-ms")
		b.ReportMetric(float64(bm)/float64(cm), "browser/bare-median")
		b.ReportMetric(float64(bp)/float64(cp), "browser/bare-p99")
		dm, dp := stats(delayed)
		b.ReportMetric(ms(dm), "delay2s-median-ms")
		b.ReportMetric(ms(dp), "delay2s-p99-ms")
		b.ReportMetric(float64(dm)/float64(cm), "delay2s/bare-median")
		xm, xp := stats(proxied)
		b.ReportMetric(ms(xm), "proxied-median-ms")
		b.ReportMetric(ms(xp), "proxied-p99-ms")
		b.ReportMetric(float64(xm)/float64(cm), "proxied/bare-median")
		b.ReportMetric(float64(xp)/float64(cp), "proxied/bare-p99")
	}
}

// stats returns the median and the 99th percentile (nearest rank) of ds.
func stats(ds []time.Duration) (median, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return rank(0.5), rank(0.99)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
