package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exhibitProcess runs the real exhibit binary (the test binary under that
// name, see TestMain) in dir, and kills it if it has not exited within
// limit: a command that hangs fails the test instead of hanging it.
func exhibitProcess(t *testing.T, dir string, limit time.Duration, args ...string) (result, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "exhibit", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EXHIBIT_ARCHIVE="+filepath.Join(dir, "exhibit-archive"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("exhibit %s still running after %v (killed)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), limit, out.String(), errb.String())
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}, took
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
}

// TestNamedPipeRefused: a named pipe nobody writes to, given to capture,
// to import as its manifest, or named by a manifest line, is refused at
// once, naming the path and what it is, and the archive is left usable.
// (Opening one for reading used to block for ever, holding the write lock.)
func TestNamedPipeRefused(t *testing.T) {
	dir := inTemp(t)
	mkfifo(t, filepath.Join(dir, "pipe.html"))
	mkfifo(t, filepath.Join(dir, "pipe.jsonl"))
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)

	r, _ := exhibitProcess(t, dir, 20*time.Second, "capture", "pipe.html", "--url", "https://x.example/p")
	r.want(t, 2, "pipe.html is a named pipe (FIFO), not a regular file")

	r, _ = exhibitProcess(t, dir, 20*time.Second, "import", "pipe.jsonl")
	r.want(t, 2, "pipe.jsonl is a named pipe (FIFO), not a regular file")

	os.WriteFile(filepath.Join(dir, "m.jsonl"), []byte(`{"url":"https://x.example/p","fetched_at":"2024-01-01T00:00:00Z","file":"pipe.html"}
{"url":"https://x.example/a","fetched_at":"2024-01-01T00:00:00Z","file":"a.html"}
`), 0o644)
	r, _ = exhibitProcess(t, dir, 20*time.Second, "import", "m.jsonl")
	r.want(t, 1, "imported 1, skipped 0 (already archived), failed 1", "m.jsonl:1: pipe.html:", "pipe.html is a named pipe (FIFO), not a regular file")

	// A device is refused as well.
	exhibit(t, "capture", "/dev/null", "--url", "https://x.example/n").want(t, 2, "/dev/null is a character device, not a regular file")
	exhibit(t, "capture", "a.html", "--url", "https://x.example/a2").want(t, 0, "record   EXR-")
	exhibit(t, "audit").want(t, 0, "audit: ok", "log      2 entries")
}

// TestImportInterrupted: SIGTERM to an import busy reading a large file
// stops it promptly (exit status 130) and releases the write lock; the
// archive is usable at once and audits clean.
func TestImportInterrupted(t *testing.T) {
	dir := inTemp(t)
	// A 1 TiB sparse file: reading (hashing) it takes minutes.
	f, err := os.Create(filepath.Join(dir, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(1 << 40); err != nil {
		f.Close()
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	f.Close()
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)
	os.WriteFile(filepath.Join(dir, "m.jsonl"), []byte(`{"url":"https://x.example/huge","fetched_at":"2024-01-01T00:00:00Z","file":"huge.bin"}`+"\n"), 0o644)
	exhibit(t, "capture", "a.html", "--url", "https://x.example/a").want(t, 0, "record   EXR-")

	cmd := exec.Command("exhibit", "import", "m.jsonl")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EXHIBIT_ARCHIVE="+filepath.Join(dir, "exhibit-archive"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-done
		}
	}()
	// Once the import holds the write lock, it is reading the file.
	lock := filepath.Join(dir, "exhibit-archive", "lock")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, _ := os.ReadFile(lock); bytes.Contains(b, []byte("pid ")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import never took the lock\nstderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the import ignored SIGTERM for 15s\nstderr:\n%s", errb.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("interrupted import exited with %d, want 130\nstderr:\n%s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr does not say the import was interrupted:\n%s", errb.String())
	}
	// The lock is released: another writer gets it at once.
	exhibit(t, "capture", "a.html", "--url", "https://x.example/a2").want(t, 0, "record   EXR-")
	exhibit(t, "audit").want(t, 0, "audit: ok", "log      2 entries")
}

// TestSmallInputsRefused: a named pipe given as a key, a witness policy or
// TSA roots is refused at once, naming it, and nothing is created.
func TestSmallInputsRefused(t *testing.T) {
	dir := inTemp(t)
	mkfifo(t, filepath.Join(dir, "pipe"))
	for _, args := range [][]string{
		{"init", "--key", "pipe"},
		{"init", "--witness-policy", "pipe"},
		{"init", "--tsa", "http://127.0.0.1:1/", "--tsa-roots", "pipe"},
	} {
		r, _ := exhibitProcess(t, dir, 20*time.Second, args...)
		r.want(t, 2, "pipe is a named pipe (FIFO), not a regular file")
		if _, err := os.Stat(filepath.Join(dir, "exhibit-archive", "exhibit.json")); err == nil {
			t.Fatalf("exhibit %s created an archive", strings.Join(args, " "))
		}
	}
	big := filepath.Join(dir, "big.pem")
	os.WriteFile(big, bytes.Repeat([]byte("A"), maxSmallFile+1), 0o644)
	exhibit(t, "init", "--key", big).want(t, 2, "big.pem is over 1048576 bytes")
}

// TestVerifyInputsNotRegular: the files verify reads beside the bundle
// (--snapshot, --text, --policy, --tsa-roots, a --key file) are refused
// at once when they are a named pipe nobody writes to, a device or a
// directory, naming the flag, the path and what it is: exit status 2.
// (They were read with os.Open and os.ReadFile: a pipe blocked for ever,
// a device such as /dev/zero was read without end.)
func TestVerifyInputsNotRegular(t *testing.T) {
	dir := inTemp(t)
	os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a</p>"), 0o644)
	r := exhibit(t, "capture", "a.html", "--url", "https://x.example/a", "-o", "json")
	r.want(t, 0)
	id := r.stdout[strings.Index(r.stdout, "EXR-"):]
	id = id[:strings.IndexByte(id, '"')]
	bundle := proveFile(t, id)
	mkfifo(t, filepath.Join(dir, "pipe"))
	os.Mkdir(filepath.Join(dir, "d"), 0o755)

	for _, flag := range []string{"--snapshot", "--text", "--policy", "--tsa-roots", "--key"} {
		for _, c := range []struct{ path, kind string }{
			{"pipe", "is a named pipe (FIFO), not a regular file"},
			{"/dev/null", "is a character device, not a regular file"},
			{"d", "is a directory, not a regular file"},
		} {
			r, _ := exhibitProcess(t, dir, 20*time.Second, "verify", bundle, flag, c.path)
			r.want(t, 2, flag, c.path+" "+c.kind)
		}
	}
	// The bundle itself may be a pipe (verify <(curl ...)), but one that
	// nobody writes to is empty input, not a hang.
	r, _ = exhibitProcess(t, dir, 20*time.Second, "verify", "pipe")
	r.want(t, 2, "pipe is not an evidence bundle or package")

	// A regular file larger than any policy is refused without reading it
	// whole; a --key that is neither a key nor a file says both.
	os.WriteFile(filepath.Join(dir, "big.txt"), bytes.Repeat([]byte("# comment\n"), 200<<10), 0o644)
	exhibit(t, "verify", bundle, "--policy", "big.txt").want(t, 2, "--policy: big.txt is over 1048576 bytes")
	exhibit(t, "verify", bundle, "--key", "nokey").want(t, 2, `--key "nokey" is neither a verifier key (name+hex8+base64) nor a readable file: open nokey: no such file or directory`)
}

// TestAnalysisTextNamedPipeRefused: a named pipe nobody writes to, given
// to analyze as --why, --impact or --note, is refused at once, naming the
// path and what it is; "-" still reads standard input. (Opening one used
// to block for ever.)
func TestAnalysisTextNamedPipeRefused(t *testing.T) {
	dir := inTemp(t)
	exhibit(t, "init").want(t, 0)
	mkfifo(t, filepath.Join(dir, "why.txt"))
	for _, flag := range []string{"--why", "--impact", "--note"} {
		r, _ := exhibitProcess(t, dir, 20*time.Second, "analyze", "EXR-C70GS-QMR9X-JGFFX-DHVYC", "--type", "arbitration",
			"--severity", "high", "--confidence", "high", "--basis", "explicit", "--author", "a", flag, "why.txt")
		r.want(t, 2, flag+": ", "why.txt is a named pipe (FIFO), not a regular file")
	}
	r, _ := exhibitProcess(t, dir, 20*time.Second, "analyze", "EXR-C70GS-QMR9X-JGFFX-DHVYC", "--type", "arbitration",
		"--severity", "high", "--confidence", "high", "--basis", "explicit", "--author", "a", "--why", "/dev/null")
	r.want(t, 2, "--why: ", "/dev/null is a character device, not a regular file")
}
