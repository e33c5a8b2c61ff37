package mx

import (
	"context"
	"net/netip"
)

// Addrs returns the addresses of host, IPv6 first, from the configured
// resolvers: the MTA-STS policy host (RFC 8461 §3.3) is found the same way
// as the mail exchangers, so one resolver setting covers both. An *Error
// reports a name that does not exist (permanent) or a failed lookup
// (temporary).
func (r *Resolver) Addrs(ctx context.Context, host string) ([]netip.Addr, error) {
	a := r.addrs(ctx, host)
	switch {
	case len(a.addrs) > 0:
		return a.addrs, nil
	case a.err != nil:
		return nil, &Error{Domain: host, Temporary: true, Enhanced: "4.4.3", Text: textAddrSoft(host), Err: a.err}
	}
	return nil, &Error{Domain: host, Enhanced: "5.1.2", Text: textAddrNone(host)}
}
