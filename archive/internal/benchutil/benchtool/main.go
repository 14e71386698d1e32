// Command benchtool is bench.sh's helper: it generates workloads, serves a
// page on loopback, and runs a command measuring its wall time and peak RSS.
//
//	benchtool small -n N -size BYTES DIR    write N distinct documents and DIR/manifest.jsonl
//	benchtool serve -page FILE -addr-file F serve FILE (a fresh comment appended per request)
//	                                        at http://ADDR/page.html; write ADDR to F
//	benchtool run -result F -- CMD [ARG...] run CMD; write "wall_s=S maxrss_kib=K exit=C"
//	                                        to F, and exit with CMD's status
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exhibit-archive/exhibit/archive/internal/benchutil"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "small":
		err = small(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "benchtool:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool small -n N -size BYTES DIR | serve -page FILE -addr-file F | run -result F -- CMD [ARG...]")
	os.Exit(2)
}

func small(args []string) error {
	fs := flag.NewFlagSet("small", flag.ExitOnError)
	n := fs.Int("n", 100_000, "number of documents")
	size := fs.Int("size", 200, "bytes per document")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	w, err := benchutil.SmallDocs(fs.Arg(0), *n, *size)
	if err != nil {
		return err
	}
	fmt.Println(w.Manifest)
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	page := fs.String("page", "", "file to serve (default: 64 KiB of generated HTML)")
	addrFile := fs.String("addr-file", "", "write the listening host:port to this file")
	fs.Parse(args)
	body := []byte("<!doctype html><title>bench</title>\n" + strings.Repeat("<p>lorem ipsum dolor sit amet</p>\n", 64<<10/34))
	if *page != "" {
		var err error
		if body, err = os.ReadFile(*page); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
			return err
		}
	}
	var n atomic.Int64
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/page.html" {
			http.NotFound(w, r)
			return
		}
		// Each capture gets distinct bytes, so none is deduplicated.
		b := fmt.Appendf(append([]byte(nil), body...), "\n<!-- request %d -->\n", n.Add(1))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	}))
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	result := fs.String("result", "", "write the measurements to this file (default stderr)")
	fs.Parse(args)
	args = fs.Args()
	if len(args) == 0 {
		usage()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		return err
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // KiB on Linux
	}
	line := fmt.Sprintf("wall_s=%.4f maxrss_kib=%d exit=%d\n", wall.Seconds(), rss, cmd.ProcessState.ExitCode())
	if *result == "" {
		fmt.Fprint(os.Stderr, line)
	} else if werr := os.WriteFile(*result, []byte(line), 0o644); werr != nil {
		return werr
	}
	return err
}
