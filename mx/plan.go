package mx

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// Plan says where to deliver mail for a domain.
type Plan struct {
	Domain string // the ASCII (A-label) form that was looked up
	Hosts  []Host // in the order to try
	Port   int    // from an smtproutes entry; 0 means the caller's default (remote.port)
	Route  string // the smtproutes entry used ("example.com:relay.example.net:2525"), "" for MX
	// Secure says the host names are authentic: the MX RRset, or without
	// MX its secure denial and the domain's own address records, came with
	// a believed AD bit (RFC 7672 §2.2.1), or the relay comes from
	// smtproutes, which is local configuration. False for an address
	// literal, which has no name to look TLSA up for.
	Secure bool
}

// Host is one place to connect to.
type Host struct {
	Name  string       // MX exchange, route relay or the domain itself (A fallback); "" for an IP literal
	Pref  int          // MX preference; 0 for the A fallback, a route or a literal
	Addrs []netip.Addr // IPv6 first, then IPv4
	// Secure says the AAAA and A answers for Name, and any CNAME chain
	// they followed, came with a believed AD bit: DANE applies to the host
	// only then, and only when Plan.Secure too (RFC 7672 §2.2.1).
	Secure bool
	// CNAME is the end of the CNAME chain that Name's address records were
	// found through, "" when Name has them itself. HostTLSA looks TLSA up
	// there first, then at Name (RFC 7672 §2.2.2).
	CNAME string
}

// Plan says where to deliver mail for domain: the recipient domain, in any
// case, possibly internationalised, with or without a trailing dot, or an
// address literal "[1.2.3.4]" / "[IPv6:2001:db8::1]" (a bare dotted quad is a
// literal too, as in qmail). Failures are *Error.
func (r *Resolver) Plan(ctx context.Context, domain string) (Plan, error) {
	domain = strings.TrimSuffix(domain, ".")
	if addr, ok, err := parseLiteral(domain); ok {
		if err != nil {
			return Plan{}, errNoHost(domain, err)
		}
		return r.finish(Plan{Domain: domain}, []candidate{{addrs: hostAddrs{addrs: []netip.Addr{addr}}}}, true)
	}
	ascii, err := toASCII(domain)
	if err != nil {
		return Plan{}, errNoHost(domain, err)
	}
	if key, route, ok := r.routes.lookup(ascii); ok {
		return r.planRoute(ctx, ascii, key, route)
	}
	return r.planMX(ctx, ascii)
}

// candidate is a host with the outcome of its address lookups.
type candidate struct {
	name  string
	pref  int
	addrs hostAddrs
}

// planMX follows RFC 5321 §5.1 and qmail's dns.c dns_mxip().
func (r *Resolver) planMX(ctx context.Context, domain string) (Plan, error) {
	ans, err := r.lookup(ctx, domain, dns.TypeMX)
	if err != nil {
		return Plan{}, errSoftDNS(domain, err)
	}
	var cands []candidate
	implicit := false
	switch ans.kind {
	case nxDomain:
		return Plan{}, errNoHost(domain, nil)
	case noData:
		// No MX: the domain itself is the implicit MX with preference 0
		// (RFC 5321 §5.1).
		cands = []candidate{{name: domain}}
		implicit = true
	case found:
		cands = r.exchangers(ans.rrs)
		if cands == nil {
			// A null MX: the domain accepts no mail, and there is no
			// fallback to its address records (RFC 7505 §3, §4.1).
			return Plan{}, errNullMX(domain)
		}
	}

	var wg sync.WaitGroup
	for i := range cands {
		wg.Go(func() { cands[i].addrs = r.addrs(ctx, cands[i].name) })
	}
	wg.Wait()
	secure := ans.secure
	if implicit {
		// Without MX the domain's address records name the host; both the
		// denial of MX and those records must be secure (RFC 7672 §2.2.1).
		secure = secure && cands[0].addrs.secure
	}
	return r.finish(Plan{Domain: domain, Secure: secure}, cands, true)
}

// exchangers returns the MX hosts sorted by preference, equal preferences
// shuffled (RFC 5321 §5.1), or nil for a null MX. A "." exchange among
// others is ignored (RFC 7505 §3 forbids the mix; the other hosts are usable).
func (r *Resolver) exchangers(rrs []dns.RR) []candidate {
	var cands []candidate
	for _, rr := range rrs {
		mx, ok := rr.(*dns.MX)
		if !ok || mx.Mx == "." {
			continue
		}
		cands = append(cands, candidate{name: normalName(mx.Mx), pref: int(mx.Preference)})
	}
	slices.SortStableFunc(cands, func(a, b candidate) int { return a.pref - b.pref })
	for i := 0; i < len(cands); {
		j := i + 1
		for j < len(cands) && cands[j].pref == cands[i].pref {
			j++
		}
		if j-i > 1 {
			run := cands[i:j]
			r.shuffle(len(run), func(a, b int) { run[a], run[b] = run[b], run[a] })
		}
		i = j
	}
	return cands
}

// planRoute plans delivery to an smtproutes relay: its addresses only, no
// MX lookup, all addresses accepted even if they are this host's
// (qmail-remote.c main(): prefme is 300000 for a relay).
func (r *Resolver) planRoute(ctx context.Context, domain, key string, route Route) (Plan, error) {
	// The relay name comes from local configuration, not from DNS, so it
	// is as authentic as an MX name with DNSSEC; DANE then depends on the
	// relay's own address records (Host.Secure).
	p := Plan{Domain: domain, Port: route.Port, Route: key + ":" + route.String(), Secure: true}
	if addr, ok, err := parseLiteral(route.Relay); ok {
		if err != nil { // ParseRoutes checked it; kept for safety
			return Plan{}, errNoHost(route.Relay, err)
		}
		return r.finish(p, []candidate{{addrs: hostAddrs{addrs: []netip.Addr{addr}}}}, false)
	}
	relay := normalName(route.Relay)
	c := candidate{name: relay, addrs: r.addrs(ctx, relay)}
	if len(c.addrs.addrs) == 0 && c.addrs.err == nil && c.addrs.nx {
		return Plan{}, errNoHost(relay, nil)
	}
	return r.finish(p, []candidate{c}, false)
}

// finish applies the rule for this host as MX (when selfCheck), drops hosts
// without addresses, caps the addresses and classifies what is left.
func (r *Resolver) finish(p Plan, cands []candidate, selfCheck bool) (Plan, error) {
	if selfCheck {
		// If this host is an MX, only MXes with a strictly lower preference
		// may be used, or mail would loop (qmail-remote.c main(), prefme).
		self := -1
		for _, c := range cands {
			if (r.me != "" && c.name == r.me || slices.ContainsFunc(c.addrs.addrs, r.isLocal)) &&
				(self < 0 || c.pref < self) {
				self = c.pref
			}
		}
		if self >= 0 {
			cands = slices.DeleteFunc(cands, func(c candidate) bool { return c.pref >= self })
			if len(cands) == 0 {
				return Plan{}, errSelfMX(p.Domain)
			}
		}
	}
	var temp error
	left := r.maxAddrs
	for _, c := range cands {
		if c.addrs.err != nil && len(c.addrs.addrs) == 0 {
			temp = errors.Join(temp, c.addrs.err)
		}
		if len(c.addrs.addrs) == 0 || left == 0 {
			continue
		}
		addrs := c.addrs.addrs[:min(left, len(c.addrs.addrs))]
		left -= len(addrs)
		p.Hosts = append(p.Hosts, Host{Name: c.name, Pref: c.pref, Addrs: slices.Clone(addrs),
			Secure: c.name != "" && c.addrs.secure, CNAME: c.addrs.target})
	}
	if len(p.Hosts) > 0 {
		return p, nil
	}
	if temp != nil {
		return Plan{}, errSoftDNS(p.Domain, temp)
	}
	return Plan{}, errNoMX(p.Domain)
}
