package mx

import (
	"net"
	"net/netip"
	"slices"
)

// DNSSEC in this package is the resolver's: qsend does not validate
// signatures itself but believes the AD bit of a validating resolver it
// trusts (RFC 4035 §3.2.3, RFC 6840 §5.7). The path to a resolver on
// loopback cannot be tampered with from outside, so loopback resolvers are
// trusted unless Options.TrustOnlyListed says otherwise; any other resolver
// must be listed in Options.TrustedResolvers (RFC 4035 §4.9.3 asks for a
// secure channel to a remote validating resolver). From an untrusted
// resolver every answer counts as insecure, as maddy does.

// trustedServers returns, for each "host:port" in servers, whether its AD bit
// is believed. A host that is not an IP address is never trusted.
func trustedServers(servers []string, listed []netip.Addr, onlyListed bool) []bool {
	out := make([]bool, len(servers))
	for i, s := range servers {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			continue
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			continue
		}
		a = a.Unmap().WithZone("")
		out[i] = slices.ContainsFunc(listed, func(l netip.Addr) bool { return l.Unmap().WithZone("") == a }) ||
			!onlyListed && a.IsLoopback()
	}
	return out
}
