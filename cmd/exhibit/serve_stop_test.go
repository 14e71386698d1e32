package main

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeStopTimeoutDocumented checks that every systemd unit of
// docs/DEPLOYMENT.md that runs `exhibit serve` lets it drain and close
// before it is killed: its TimeoutStopSec (systemd's default, 90 s, when
// absent) is at least serve's drainTimeout plus closeTimeout with a
// margin, and is stopTimeout, which --help states.
func TestServeStopTimeoutDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/DEPLOYMENT.md")
	if err != nil {
		t.Fatal(err)
	}
	if need := drainTimeout + closeTimeout + 10*time.Second; stopTimeout < need {
		t.Fatalf("stopTimeout %v is under drainTimeout %v + closeTimeout %v + 10s", stopTimeout, drainTimeout, closeTimeout)
	}
	units := 0
	for _, u := range iniBlocks(string(b)) {
		if !strings.Contains(u, " serve") || !strings.Contains(u, "[Service]") {
			continue
		}
		units++
		got := 90 * time.Second // systemd's DefaultTimeoutStopSec
		if m := regexp.MustCompile(`(?m)^TimeoutStopSec=(\S+)`).FindStringSubmatch(u); m != nil {
			if got, err = systemdDuration(m[1]); err != nil {
				t.Fatal(err)
			}
		}
		if got != stopTimeout {
			t.Errorf("a unit of docs/DEPLOYMENT.md that runs exhibit serve stops it after %v, want %v (serve drains for %v, then closes for %v):\n%s", got, stopTimeout, drainTimeout, closeTimeout, u)
		}
	}
	if units == 0 {
		t.Fatal("docs/DEPLOYMENT.md has no systemd unit running exhibit serve")
	}
	// --help says how long to allow.
	r := exhibit(t, "serve", "--help")
	if want := fmt.Sprintf("allow it %d minutes", int(stopTimeout/time.Minute)); !strings.Contains(strings.Join(strings.Fields(r.stdout+r.stderr), " "), want) {
		t.Errorf("serve --help does not say %q", want)
	}
}

// iniBlocks returns the ```ini code blocks of a Markdown text.
func iniBlocks(md string) []string {
	var out []string
	for _, part := range strings.Split(md, "```ini\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		out = append(out, block)
	}
	return out
}

// systemdDuration parses a systemd time span ("240", "4min", "3min 30s",
// "90s"): units s, sec, m, min, h; a bare number is seconds.
func systemdDuration(s string) (time.Duration, error) {
	var d time.Duration
	for _, m := range regexp.MustCompile(`(\d+)\s*([a-z]*)`).FindAllStringSubmatch(s, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			return 0, err
		}
		switch m[2] {
		case "", "s", "sec":
			d += time.Duration(n) * time.Second
		case "m", "min":
			d += time.Duration(n) * time.Minute
		case "h":
			d += time.Duration(n) * time.Hour
		default:
			return 0, fmt.Errorf("time span %q: unit %q", s, m[2])
		}
	}
	return d, nil
}

func TestSystemdDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"240", 240 * time.Second}, {"4min", 4 * time.Minute}, {"3min 30s", 210 * time.Second}, {"90s", 90 * time.Second}} {
		if got, err := systemdDuration(c.in); err != nil || got != c.want {
			t.Errorf("systemdDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
