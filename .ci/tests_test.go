package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// stream renders events as go test -json would.
func stream(t *testing.T, events ...event) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func out(pkg, test, text string) event {
	return event{Action: "output", Package: pkg, Test: test, Output: text}
}

func TestSummary(t *testing.T) {
	const s3, api, bad = "github.com/exhibit-archive/exhibit/archive/store/s3", "github.com/exhibit-archive/exhibit/api", "github.com/exhibit-archive/exhibit/verify"
	in := stream(t,
		event{Action: "start", Package: s3},
		event{Action: "run", Package: s3, Test: "TestS3Store"},
		out(s3, "TestS3Store", "=== RUN   TestS3Store\n"),
		out(s3, "TestS3Store", "    s3test.go:101: versitygw is not in PATH or $(go env GOPATH)/bin; install it with\n"),
		out(s3, "TestS3Store", "        \tgo install github.com/versity/versitygw/cmd/versitygw@v1.8.0\n"),
		out(s3, "TestS3Store", "--- SKIP: TestS3Store (0.00s)\n"),
		event{Action: "skip", Package: s3, Test: "TestS3Store"},
		event{Action: "run", Package: s3, Test: "TestS3Retention"},
		out(s3, "TestS3Retention", "    s3test.go:101: versitygw is not in PATH or $(go env GOPATH)/bin; install it with\n"),
		out(s3, "TestS3Retention", "        \tgo install github.com/versity/versitygw/cmd/versitygw@v1.8.0\n"),
		event{Action: "skip", Package: s3, Test: "TestS3Retention"},
		event{Action: "run", Package: s3, Test: "TestKeys"},
		out(s3, "TestKeys", "    keys_test.go:12: a log line of a passing test\n"),
		event{Action: "pass", Package: s3, Test: "TestKeys"},
		out(s3, "", "PASS\n"),
		out(s3, "", "ok  \t"+s3+"\t0.1s\n"),
		event{Action: "pass", Package: s3},
		event{Action: "run", Package: api, Test: "TestPage"},
		out(api, "TestPage", "=== RUN   TestPage\n"),
		out(api, "TestPage", "    pages_test.go:40: page lacks \"x\"\n"),
		out(api, "TestPage", "--- FAIL: TestPage (0.01s)\n"),
		event{Action: "fail", Package: api, Test: "TestPage"},
		event{Action: "run", Package: api, Test: "TestNoReason"},
		event{Action: "skip", Package: api, Test: "TestNoReason"},
		out(api, "", "FAIL\n"),
		out(api, "", "FAIL\t"+api+"\t0.2s\n"),
		event{Action: "fail", Package: api},
		event{ImportPath: bad + " [" + bad + ".test]", Action: "build-output", Output: "verify/x.go:1:1: syntax error\n"},
		event{ImportPath: bad + " [" + bad + ".test]", Action: "build-fail"},
	) + "go: some words of the go command\n"
	var b bytes.Buffer
	s := newSummary(&b)
	if err := s.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	s.print(0)
	got := b.String()
	for _, want := range []string{
		"ok  \t" + s3 + "\t0.1s\n",
		"    pages_test.go:40: page lacks \"x\"\n--- FAIL: TestPage (0.01s)\n",
		"FAIL\t" + api + "\t0.2s\n",
		"verify/x.go:1:1: syntax error\n",
		"go: some words of the go command\n",
		"1 tests passed, 3 skipped, 1 failed, in 2 packages (0s); 1 did not build: " + bad,
		"  2: versitygw is not in PATH or $(go env GOPATH)/bin; install it with go install github.com/versity/versitygw/cmd/versitygw@v1.8.0\n     (archive/store/s3 TestS3Store, archive/store/s3 TestS3Retention)\n",
		"  1: (no reason given)\n     (api TestNoReason)\n",
		"  .ci/install-tools\n",
		"\nFailed: api TestPage\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"PASS\n", "a log line of a passing test", "The corpus"} {
		if strings.Contains(got, bad) {
			t.Errorf("summary shows %q:\n%s", bad, got)
		}
	}
	if !s.failed() {
		t.Error("failed() = false with a failed test and a failed build")
	}

	// All passed: no skip section, not failed.
	b.Reset()
	s = newSummary(&b)
	s.read(strings.NewReader(stream(t, event{Action: "pass", Package: s3, Test: "TestA"}, event{Action: "pass", Package: s3})))
	s.print(0)
	if s.failed() || strings.Contains(b.String(), "Skipped") || !strings.Contains(b.String(), "1 tests passed, 0 skipped, 0 failed, in 1 packages") {
		t.Errorf("all passed: failed()=%v\n%s", s.failed(), b.String())
	}
}
