// Command tests runs exhibit's tests and says what they did not run.
//
// Run it from the repository's root:
//
//	go run .ci/tests.go [go test flags] [packages]
//
// It runs "go test -json" with the arguments given (./... when there are
// none), prints what go test prints (a line per package; the output of
// every failed test, in full; build errors), and ends with a summary: how
// many tests passed, failed and were skipped, every reason a test was
// skipped with the tests it skipped, and how to install the servers and
// tools whose absence skipped them (.ci/install-tools). go test alone
// prints "ok" for a package whose tests were skipped; this does not let a
// skip pass unseen.
//
// It exits with go test's status: 0 only when every package built and no
// test failed. The event stream is go test's JSON (go doc cmd/test2json,
// go help buildjson).
//
// The go command leaves .ci out of ./... (a directory whose name begins
// with a dot); .ci/run vets this file and runs its tests
// (.ci/tests_test.go) by name.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

func main() {
	args := os.Args[1:]
	if len(args) == 0 {
		args = []string{"./..."}
	}
	start := time.Now()
	cmd := exec.Command("go", append([]string{"test", "-json"}, args...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "tests:", err)
		os.Exit(2)
	}
	s := newSummary(os.Stdout)
	readErr := s.read(stdout)
	// Drain what could not be read, so that go test does not block.
	io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	s.print(time.Since(start))
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(waitErr, &exit):
		code = exit.ExitCode()
	case waitErr != nil:
		fmt.Fprintln(os.Stderr, "tests:", waitErr)
		code = 2
	}
	if readErr != nil {
		fmt.Fprintln(os.Stderr, "tests: reading go test's output:", readErr)
		code = max(code, 2)
	}
	if code == 0 && s.failed() {
		code = 1
	}
	os.Exit(code)
}

// event is a line of go test -json: a test event (go doc cmd/test2json) or
// a build event (go help buildjson).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string
}

// maxTestOutput bounds the output kept per test, for a failure's report
// and a skip's reason: the end of it is kept.
const maxTestOutput = 1 << 20

// summary follows the event stream.
type summary struct {
	out io.Writer
	// output is each running test's output, by package and test name.
	output map[[2]string]*bytes.Buffer
	// skipped are the tests skipped for each reason, in order of reasons
	// first seen.
	reasons []string
	skipped map[string][]string

	// failedNames are the failed tests, in order of failure.
	failedNames []string

	passed, skips, fails int
	packages, badPkgs    int
	builds               []string
}

func newSummary(out io.Writer) *summary {
	return &summary{out: out, output: map[[2]string]*bytes.Buffer{}, skipped: map[string][]string{}}
}

// read follows the stream r to its end, printing what go test would.
func (s *summary) read(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: the go command's own words.
			fmt.Fprintf(s.out, "%s\n", line)
			continue
		}
		s.event(&e)
	}
	return sc.Err()
}

func (s *summary) event(e *event) {
	switch {
	case e.ImportPath != "" && e.Package == "":
		// A build event.
		switch e.Action {
		case "build-output":
			io.WriteString(s.out, e.Output)
		case "build-fail":
			s.builds = append(s.builds, e.ImportPath)
		}
	case e.Test == "":
		s.packageEvent(e)
	default:
		s.testEvent(e)
	}
}

func (s *summary) packageEvent(e *event) {
	switch e.Action {
	case "output":
		if e.Output != "PASS\n" {
			io.WriteString(s.out, e.Output)
		}
	case "pass", "skip":
		s.packages++
	case "fail":
		s.packages++
		s.badPkgs++
	}
	if e.Action == "pass" || e.Action == "fail" || e.Action == "skip" {
		for k := range s.output {
			if k[0] == e.Package {
				delete(s.output, k)
			}
		}
	}
}

func (s *summary) testEvent(e *event) {
	k := [2]string{e.Package, e.Test}
	switch e.Action {
	case "output":
		b := s.output[k]
		if b == nil {
			b = &bytes.Buffer{}
			s.output[k] = b
		}
		b.WriteString(e.Output)
		if b.Len() > maxTestOutput {
			rest := b.Bytes()[b.Len()-maxTestOutput/2:]
			b.Reset()
			b.WriteString("[… output cut …]\n")
			b.Write(rest)
		}
	case "pass":
		s.passed++
		delete(s.output, k)
	case "skip":
		s.skips++
		reason := skipReason(s.output[k].String())
		if _, ok := s.skipped[reason]; !ok {
			s.reasons = append(s.reasons, reason)
		}
		s.skipped[reason] = append(s.skipped[reason], shortPackage(e.Package)+" "+e.Test)
		delete(s.output, k)
	case "fail":
		// Its output, as go test prints a failed test's, as it fails.
		s.fails++
		s.failedNames = append(s.failedNames, shortPackage(e.Package)+" "+e.Test)
		if b := s.output[k]; b != nil {
			for _, l := range strings.SplitAfter(b.String(), "\n") {
				if !strings.HasPrefix(l, "=== ") {
					io.WriteString(s.out, l)
				}
			}
		}
		delete(s.output, k)
	}
}

// skipReason returns what a skipped test said last before it skipped,
// without its file:line prefix: t.Skip's message.
func skipReason(output string) string {
	var lines []string
	for _, l := range strings.Split(output, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") {
			continue
		}
		lines = append(lines, l)
	}
	// The message starts at the last line that is a t.Log header,
	// "    file.go:NN: ", and runs to the end.
	for i := len(lines) - 1; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if file, rest, ok := strings.Cut(t, ": "); ok && strings.Contains(file, ".go:") && !strings.ContainsAny(file, " \t") {
			msg := []string{rest}
			for _, l := range lines[i+1:] {
				msg = append(msg, strings.TrimSpace(l))
			}
			return strings.Join(msg, " ")
		}
	}
	return "(no reason given)"
}

// shortPackage drops the module path from a package path.
func shortPackage(p string) string {
	return strings.TrimPrefix(strings.TrimPrefix(p, "github.com/exhibit-archive/exhibit"), "/")
}

// failed reports a failed test, package or build.
func (s *summary) failed() bool { return s.fails > 0 || s.badPkgs > 0 || len(s.builds) > 0 }

// tool reports a skip reason that names something to install.
func tool(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "install") || strings.Contains(r, "not found") || strings.Contains(r, "not in path")
}

// print writes the summary.
func (s *summary) print(took time.Duration) {
	w := s.out
	fmt.Fprintf(w, "\n%d tests passed, %d skipped, %d failed, in %d packages (%s)",
		s.passed, s.skips, s.fails, s.packages, took.Round(time.Second))
	if len(s.builds) > 0 {
		fmt.Fprintf(w, "; %d did not build: %s", len(s.builds), strings.Join(s.builds, ", "))
	}
	fmt.Fprintln(w)
	if len(s.failedNames) > 0 {
		fmt.Fprintf(w, "\nFailed: %s\n", strings.Join(s.failedNames, ", "))
	}
	if s.skips == 0 {
		return
	}
	fmt.Fprintf(w, "\nSkipped, by reason:\n")
	needTools, needCorpus := false, false
	for _, r := range s.reasons {
		tests := s.skipped[r]
		needTools = needTools || tool(r)
		lr := strings.ToLower(r)
		needCorpus = needCorpus || strings.Contains(lr, "corpus") && (strings.Contains(lr, "missing") || strings.Contains(lr, "not found"))
		shown := slices.Clone(tests)
		more := ""
		if len(shown) > 4 {
			more = fmt.Sprintf(", and %d more", len(shown)-4)
			shown = shown[:4]
		}
		fmt.Fprintf(w, "  %d: %s\n     (%s%s)\n", len(tests), r, strings.Join(shown, ", "), more)
	}
	if needTools {
		fmt.Fprintf(w, "\nTo run them, install the servers and tools the tests use (versitygw,\n"+
			"omniwitness, timestamp-server, mailpit with go install; Chromium, unzip,\n"+
			"zip, jq, openssl, python3, MariaDB, Node.js with apt-get on Debian; the\n"+
			"replay tools replaywebpage and warcio with npm ci into /opt/exhibit-npm,\n"+
			"or $EXHIBIT_NPM_PREFIX), then run this again:\n"+
			"  .ci/install-tools\n")
	}
	if needCorpus {
		fmt.Fprintf(w, "\nThe corpus is not in the repository: the tests read it from\n"+
			"../shared/corpus beside the repository, where the project provides it.\n")
	}
}
