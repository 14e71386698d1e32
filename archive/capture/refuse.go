package capture

// Which addresses a server-side capture (POST /api/v1/captures) may
// connect to: [RefusePrivate], the one table used both as a fetch's
// Options.Control and as render.Options.Control, with which a browser
// capture's proxy dials every connection of the page. The write API
// fetches URLs a client names, from inside the operator's network: without a policy, a client could have it fetch
// http://169.254.169.254/ or an intranet page and publish the answer in
// the log for good (server-side request forgery). The policy refuses
// every block of the IANA special-purpose address registries,
//
//	https://www.iana.org/assignments/iana-ipv4-special-registry/
//	https://www.iana.org/assignments/iana-ipv6-special-registry/
//
// whether or not the registry marks it globally reachable (none holds a
// web server a capture has reason to reach: anycast relays, AS112 sinks,
// AMT gateways), plus IPv4 and IPv6 multicast (RFC 5771, RFC 4291 2.7),
// the deprecated IPv6 site-local block (RFC 3879), and every IPv6 form
// that carries an IPv4 address (RFC 4291 2.5.5, RFC 6052, RFC 3056, RFC
// 4380, RFC 2765): an IPv4-mapped address and a NAT64 address of the
// well-known prefix 64:ff9b::/96 (through which an IPv6-only server
// reaches the IPv4 web) are judged as the IPv4 address they carry; the
// other forms (IPv4-compatible, IPv4-translated, 6to4, Teredo, local-use
// NAT64) are refused whatever they carry.

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrTargetRefused is wrapped by the error with which a server-side
// capture refuses to connect to a loopback, private, link-local,
// multicast, unspecified or otherwise special-purpose address (unless
// api.Options.AllowPrivateTargets). The capture is logged as failed with
// reason "connect" and this error's text in its message.
var ErrTargetRefused = errors.New("address not allowed for server-side capture (loopback, private, link-local, multicast, unspecified or another IANA special-purpose address)")

// specialBlock is a block of addresses a server-side capture refuses, and
// where it is registered.
type specialBlock struct {
	prefix netip.Prefix
	name   string // as the registry names it
	ref    string // the registry entry's RFC
}

// refusedBlocks are the special-purpose blocks refused outright. A block
// of a registry that lies inside a larger one listed here (192.0.0.0/29
// inside 192.0.0.0/24, 2001::/32 Teredo inside 2001::/23) is listed all
// the same, so that the table is the registry's, entry by entry.
var refusedBlocks = func() []specialBlock {
	var out []specialBlock
	for _, b := range []struct{ prefix, name, ref string }{
		// IANA IPv4 Special-Purpose Address Registry.
		{"0.0.0.0/8", "This network", "RFC 791 3.2"},
		{"0.0.0.0/32", "This host on this network", "RFC 1122 3.2.1.3"},
		{"10.0.0.0/8", "Private-Use", "RFC 1918"},
		{"100.64.0.0/10", "Shared Address Space", "RFC 6598"},
		{"127.0.0.0/8", "Loopback", "RFC 1122 3.2.1.3"},
		{"169.254.0.0/16", "Link Local", "RFC 3927"},
		{"172.16.0.0/12", "Private-Use", "RFC 1918"},
		{"192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890 2.1"},
		{"192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335"},
		{"192.0.0.8/32", "IPv4 dummy address", "RFC 7600"},
		{"192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723"},
		{"192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155"},
		{"192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 2.2"},
		{"192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 2.2"},
		{"192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737"},
		{"192.31.196.0/24", "AS112-v4", "RFC 7535"},
		{"192.52.193.0/24", "AMT", "RFC 7450"},
		{"192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526"},
		{"192.88.99.2/32", "6a44-relay anycast address", "RFC 6751"},
		{"192.168.0.0/16", "Private-Use", "RFC 1918"},
		{"192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534"},
		{"198.18.0.0/15", "Benchmarking", "RFC 2544"},
		{"198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737"},
		{"203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737"},
		{"240.0.0.0/4", "Reserved", "RFC 1112 4"},
		{"255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 7"},
		// IPv4 multicast (IANA IPv4 Multicast Address Space Registry).
		{"224.0.0.0/4", "Multicast", "RFC 5771"},

		// IANA IPv6 Special-Purpose Address Registry.
		{"::1/128", "Loopback Address", "RFC 4291"},
		{"::/128", "Unspecified Address", "RFC 4291"},
		{"64:ff9b:1::/48", "IPv4-IPv6 Translat. (local use)", "RFC 8215"},
		{"100::/64", "Discard-Only Address Block", "RFC 6666"},
		{"100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780"},
		{"2001::/23", "IETF Protocol Assignments", "RFC 2928"},
		{"2001::/32", "TEREDO", "RFC 4380, RFC 8190"},
		{"2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723"},
		{"2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155"},
		{"2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665"},
		{"2001:2::/48", "Benchmarking", "RFC 5180, RFC Errata 1752"},
		{"2001:3::/32", "AMT", "RFC 7450"},
		{"2001:4:112::/48", "AS112-v6", "RFC 7535"},
		{"2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843"},
		{"2001:20::/28", "ORCHIDv2", "RFC 7343"},
		{"2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374"},
		{"2001:db8::/32", "Documentation", "RFC 3849"},
		{"2002::/16", "6to4", "RFC 3056"},
		{"2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534"},
		{"3fff::/20", "Documentation", "RFC 9637"},
		{"5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602"},
		{"fc00::/7", "Unique-Local", "RFC 4193, RFC 8190"},
		{"fe80::/10", "Link-Local Unicast", "RFC 4291"},
		// Outside the registry: deprecated or embedding forms.
		{"::/96", "IPv4-compatible (deprecated)", "RFC 4291 2.5.5.1"},
		{"::ffff:0:0:0/96", "IPv4-translated (SIIT)", "RFC 2765 2.1"},
		{"fec0::/10", "Site-local (deprecated)", "RFC 3879"},
		{"ff00::/8", "Multicast", "RFC 4291 2.7"},
	} {
		out = append(out, specialBlock{netip.MustParsePrefix(b.prefix), b.name, b.ref})
	}
	return out
}()

// nat64WellKnown is the NAT64 well-known prefix (RFC 6052 2.1; the IPv6
// registry's "IPv4-IPv6 Translat."): its addresses carry an IPv4 address
// in their last 32 bits, and are judged as that address.
var nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")

// refusedBlock returns the block of refusedBlocks that holds addr, judging
// an IPv4-mapped (::ffff:0:0/96, RFC 4291 2.5.5.2) or well-known NAT64
// address as the IPv4 address it carries; ok is false for an address a
// server-side capture may connect to. A zoned address is refused (as a
// link-local or unspecified one would be, but whatever its prefix).
func refusedBlock(addr netip.Addr) (b specialBlock, ok bool) {
	if !addr.IsValid() || addr.Zone() != "" {
		return specialBlock{name: "invalid or zoned address"}, true
	}
	if addr.Is6() && nat64WellKnown.Contains(addr) {
		a16 := addr.As16()
		addr = netip.AddrFrom4([4]byte(a16[12:]))
	}
	addr = addr.Unmap()
	for _, b := range refusedBlocks {
		if b.prefix.Contains(addr) {
			return b, true
		}
	}
	return specialBlock{}, false
}

// refusedIP reports whether a server-side capture must not connect to ip.
func refusedIP(ip net.IP) bool {
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return true
	}
	_, refused := refusedBlock(addr)
	return refused
}

// RefusePrivate is a net.Dialer.Control that refuses the addresses
// refusedBlock names, with an error wrapping [ErrTargetRefused] that names
// the address and its registry entry. As a fetch's Options.Control it
// sees every connection the fetch makes, so it covers every DNS answer and
// every redirect; as render.Options.Control, every connection of the
// browser's proxy (every request of the page).
func RefusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrTargetRefused, address)
	}
	if b, refused := refusedBlock(ap.Addr()); refused {
		if b.prefix.IsValid() {
			return fmt.Errorf("%w: %s is in %s %s (%s)", ErrTargetRefused, ap.Addr(), b.prefix, b.name, b.ref)
		}
		return fmt.Errorf("%w: %s", ErrTargetRefused, ap.Addr())
	}
	return nil
}
