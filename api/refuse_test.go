package api

import (
	"net"
	"testing"
)

func TestRefusedIP(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.1": true, "::1": true, "0.0.0.0": true, "::": true,
		"10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true, "169.254.169.254": true,
		"fe80::1": true, "fc00::1": true, "224.0.0.1": true, "ff02::1": true,
		"100.64.0.1": true, "::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true,
		"93.184.216.34": false, "2606:2800:220:1:248:1893:25c8:1946": false, "8.8.8.8": false,
	} {
		if got := refusedIP(net.ParseIP(addr)); got != want {
			t.Errorf("refusedIP(%s) = %v, want %v", addr, got, want)
		}
	}
	for _, a := range []string{"127.0.0.1:80", "[::1]:443", "[fe80::1%eth0]:80", "nonsense"} {
		if refusePrivate("tcp", a, nil) == nil {
			t.Errorf("refusePrivate(%s) allowed", a)
		}
	}
	if err := refusePrivate("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("refusePrivate(public) = %v", err)
	}
}
