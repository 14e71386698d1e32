package capture

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestRefusedIP checks the server-side capture's address policy against
// the IANA IPv4 and IPv6 Special-Purpose Address Registries, entry by
// entry (https://www.iana.org/assignments/iana-ipv4-special-registry/,
// https://www.iana.org/assignments/iana-ipv6-special-registry/), plus
// multicast and the IPv6 forms that carry an IPv4 address.
func TestRefusedIP(t *testing.T) {
	for _, tc := range []struct {
		addr  string
		entry string // the registry entry, or why it is allowed
		want  bool   // refused
	}{
		// IPv4 Special-Purpose Address Registry.
		{"0.0.0.0", "0.0.0.0/32 This host on this network, RFC 1122", true},
		{"0.255.255.255", "0.0.0.0/8 This network, RFC 791", true},
		{"10.0.0.1", "10.0.0.0/8 Private-Use, RFC 1918", true},
		{"10.255.255.255", "10.0.0.0/8 Private-Use, RFC 1918", true},
		{"100.64.0.1", "100.64.0.0/10 Shared Address Space, RFC 6598", true},
		{"100.127.255.254", "100.64.0.0/10 Shared Address Space, RFC 6598", true},
		{"127.0.0.1", "127.0.0.0/8 Loopback, RFC 1122", true},
		{"127.8.9.1", "127.0.0.0/8 Loopback, RFC 1122", true},
		{"169.254.169.254", "169.254.0.0/16 Link Local, RFC 3927", true},
		{"172.16.0.1", "172.16.0.0/12 Private-Use, RFC 1918", true},
		{"172.31.255.255", "172.16.0.0/12 Private-Use, RFC 1918", true},
		{"192.0.0.1", "192.0.0.0/29 IPv4 Service Continuity Prefix, RFC 7335", true},
		{"192.0.0.8", "192.0.0.8/32 IPv4 dummy address, RFC 7600", true},
		{"192.0.0.9", "192.0.0.9/32 Port Control Protocol Anycast, RFC 7723", true},
		{"192.0.0.10", "192.0.0.10/32 TURN Anycast, RFC 8155", true},
		{"192.0.0.170", "192.0.0.170/32 NAT64/DNS64 Discovery, RFC 8880", true},
		{"192.0.0.171", "192.0.0.171/32 NAT64/DNS64 Discovery, RFC 8880", true},
		{"192.0.0.255", "192.0.0.0/24 IETF Protocol Assignments, RFC 6890", true},
		{"192.0.2.1", "192.0.2.0/24 Documentation (TEST-NET-1), RFC 5737", true},
		{"192.31.196.1", "192.31.196.0/24 AS112-v4, RFC 7535", true},
		{"192.52.193.1", "192.52.193.0/24 AMT, RFC 7450", true},
		{"192.88.99.1", "192.88.99.0/24 Deprecated (6to4 Relay Anycast), RFC 7526", true},
		{"192.88.99.2", "192.88.99.2/32 6a44-relay anycast address, RFC 6751", true},
		{"192.168.1.1", "192.168.0.0/16 Private-Use, RFC 1918", true},
		{"192.175.48.6", "192.175.48.0/24 Direct Delegation AS112 Service, RFC 7534", true},
		{"198.18.0.1", "198.18.0.0/15 Benchmarking, RFC 2544", true},
		{"198.19.255.255", "198.18.0.0/15 Benchmarking, RFC 2544", true},
		{"198.51.100.7", "198.51.100.0/24 Documentation (TEST-NET-2), RFC 5737", true},
		{"203.0.113.7", "203.0.113.0/24 Documentation (TEST-NET-3), RFC 5737", true},
		{"240.0.0.1", "240.0.0.0/4 Reserved, RFC 1112", true},
		{"255.255.255.254", "240.0.0.0/4 Reserved, RFC 1112", true},
		{"255.255.255.255", "255.255.255.255/32 Limited Broadcast, RFC 8190", true},
		// IPv4 multicast.
		{"224.0.0.1", "224.0.0.0/4 Multicast, RFC 5771", true},
		{"239.255.255.250", "224.0.0.0/4 Multicast, RFC 5771", true},

		// IPv6 Special-Purpose Address Registry.
		{"::1", "::1/128 Loopback Address, RFC 4291", true},
		{"::", "::/128 Unspecified Address, RFC 4291", true},
		{"::ffff:127.0.0.1", "::ffff:0:0/96 IPv4-mapped Address (of loopback), RFC 4291", true},
		{"::ffff:10.0.0.1", "::ffff:0:0/96 IPv4-mapped Address (of Private-Use), RFC 4291", true},
		{"::ffff:169.254.169.254", "::ffff:0:0/96 IPv4-mapped Address (of Link Local), RFC 4291", true},
		{"64:ff9b::7f00:1", "64:ff9b::/96 IPv4-IPv6 Translat. (of loopback), RFC 6052", true},
		{"64:ff9b::a9fe:a9fe", "64:ff9b::/96 IPv4-IPv6 Translat. (of Link Local), RFC 6052", true},
		{"64:ff9b::c0a8:101", "64:ff9b::/96 IPv4-IPv6 Translat. (of Private-Use), RFC 6052", true},
		{"64:ff9b:1::808:808", "64:ff9b:1::/48 IPv4-IPv6 Translat. (local use), RFC 8215", true},
		{"100::1", "100::/64 Discard-Only Address Block, RFC 6666", true},
		{"100:0:0:1::1", "100:0:0:1::/64 Dummy IPv6 Prefix, RFC 9780", true},
		{"2001::1", "2001::/32 TEREDO, RFC 4380", true},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32 TEREDO (a server's and client's IPv4 inside), RFC 4380", true},
		{"2001:1::1", "2001:1::1/128 Port Control Protocol Anycast, RFC 7723", true},
		{"2001:1::2", "2001:1::2/128 TURN Anycast, RFC 8155", true},
		{"2001:1::3", "2001:1::3/128 DNS-SD SRP Anycast, RFC 9665", true},
		{"2001:2::1", "2001:2::/48 Benchmarking, RFC 5180", true},
		{"2001:3::1", "2001:3::/32 AMT, RFC 7450", true},
		{"2001:4:112::1", "2001:4:112::/48 AS112-v6, RFC 7535", true},
		{"2001:10::1", "2001:10::/28 Deprecated (previously ORCHID), RFC 4843", true},
		{"2001:20::1", "2001:20::/28 ORCHIDv2, RFC 7343", true},
		{"2001:30::1", "2001:30::/28 DETs Prefix, RFC 9374", true},
		{"2001:1ff:ffff::1", "2001::/23 IETF Protocol Assignments, RFC 2928", true},
		{"2001:db8::1", "2001:db8::/32 Documentation, RFC 3849", true},
		{"2002:7f00:1::1", "2002::/16 6to4 (of loopback), RFC 3056", true},
		{"2002:c0a8:101::1", "2002::/16 6to4 (of Private-Use), RFC 3056", true},
		{"2620:4f:8000::1", "2620:4f:8000::/48 Direct Delegation AS112 Service, RFC 7534", true},
		{"3fff::1", "3fff::/20 Documentation, RFC 9637", true},
		{"3fff:fff::1", "3fff::/20 Documentation, RFC 9637", true},
		{"5f00::1", "5f00::/16 Segment Routing (SRv6) SIDs, RFC 9602", true},
		{"fc00::1", "fc00::/7 Unique-Local, RFC 4193", true},
		{"fdff:ffff::1", "fc00::/7 Unique-Local, RFC 4193", true},
		{"fe80::1", "fe80::/10 Link-Local Unicast, RFC 4291", true},
		{"febf::1", "fe80::/10 Link-Local Unicast, RFC 4291", true},
		// IPv6 forms carrying an IPv4 address, outside the registry.
		{"::7f00:1", "::/96 IPv4-compatible (of loopback), RFC 4291 2.5.5.1", true},
		{"::808:808", "::/96 IPv4-compatible (deprecated), RFC 4291 2.5.5.1", true},
		{"::ffff:0:7f00:1", "::ffff:0:0:0/96 IPv4-translated (of loopback), RFC 2765", true},
		{"::ffff:0:a9fe:a9fe", "::ffff:0:0:0/96 IPv4-translated (of Link Local), RFC 2765", true},
		{"::ffff:0:808:808", "::ffff:0:0:0/96 IPv4-translated, RFC 2765", true},
		{"fec0::1", "fec0::/10 site-local (deprecated), RFC 3879", true},
		{"ff02::1", "ff00::/8 Multicast, RFC 4291", true},
		{"ff05::1:3", "ff00::/8 Multicast, RFC 4291", true},

		// Allowed: global unicast, and the forms judged as the public
		// IPv4 address they carry.
		{"8.8.8.8", "global unicast", false},
		{"93.184.216.34", "global unicast", false},
		{"1.1.1.1", "global unicast", false},
		{"192.0.1.1", "just past 192.0.0.0/24", false},
		{"198.20.0.1", "just past 198.18.0.0/15", false},
		{"100.128.0.1", "just past 100.64.0.0/10", false},
		{"223.255.255.254", "just below 224.0.0.0/4", false},
		{"::ffff:8.8.8.8", "IPv4-mapped of a global address, judged as it", false},
		{"64:ff9b::808:808", "NAT64 well-known prefix of a global address, judged as it", false},
		{"2606:2800:220:1:248:1893:25c8:1946", "global unicast", false},
		{"2001:200::1", "global unicast, just past 2001::/23", false},
		{"2001:4860:4860::8888", "global unicast", false},
	} {
		ip := net.ParseIP(tc.addr)
		if ip == nil {
			t.Fatalf("bad test address %q", tc.addr)
		}
		if got := refusedIP(ip); got != tc.want {
			t.Errorf("refusedIP(%s) = %v, want %v (%s)", tc.addr, got, tc.want, tc.entry)
		}
		port := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443).String()
		if err := RefusePrivate("tcp", port, nil); (err != nil) != tc.want {
			t.Errorf("RefusePrivate(%s) = %v, want refused %v (%s)", port, err, tc.want, tc.entry)
		} else if err != nil && !errors.Is(err, ErrTargetRefused) {
			t.Errorf("RefusePrivate(%s) = %v, want ErrTargetRefused", port, err)
		}
	}
	// Every block is refused from its first address to its last.
	for _, b := range refusedBlocks {
		first, last := b.prefix.Masked().Addr(), lastAddr(b.prefix)
		for _, a := range []netip.Addr{first, last} {
			if !refusedIP(net.IP(a.AsSlice())) {
				t.Errorf("%s (%s, %s): %s allowed", b.prefix, b.name, b.ref, a)
			}
		}
	}
	for _, a := range []string{"[fe80::1%eth0]:80", "[::ffff:8.8.8.8%eth0]:80", "nonsense", "8.8.8.8"} {
		if err := RefusePrivate("tcp", a, nil); !errors.Is(err, ErrTargetRefused) {
			t.Errorf("RefusePrivate(%s) = %v, want ErrTargetRefused", a, err)
		}
	}
	if err := RefusePrivate("tcp", "[::1]:80", nil); err == nil || !strings.Contains(err.Error(), "::1/128 Loopback Address (RFC 4291)") {
		t.Errorf("RefusePrivate(::1) = %v, want it to name the registry entry", err)
	}
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}
