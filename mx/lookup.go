package mx

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Cache lifetime caps: positive answers at most a day, negative ones at most
// an hour (RFC 2308 §5 recommends one to three hours for the latter).
const (
	maxPositiveTTL = 24 * time.Hour
	maxNegativeTTL = time.Hour
	maxCNAMEHops   = 8
)

// errCNAMELoop is a CNAME chain longer than maxCNAMEHops, most likely a loop.
var errCNAMELoop = errors.New("CNAME chain too long")

type answerKind uint8

const (
	found    answerKind = iota // records of the type exist
	noData                     // the name exists, no records of the type
	nxDomain                   // the name does not exist
)

// answer is the outcome of one name and type after following CNAMEs.
type answer struct {
	kind answerKind
	rrs  []dns.RR // records of the asked type, for found
}

// lookup returns the answer for name (lower case, without trailing dot) and
// qtype, cached. The error is always a temporary failure.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (answer, error) {
	key := cacheKey{name: dns.Fqdn(name), qtype: qtype}
	return r.cache.get(ctx, key, r.now, func(ctx context.Context) (answer, time.Duration, error) {
		return r.query(ctx, key.name, qtype, 0)
	})
}

// query asks the resolvers and follows the CNAME chain in the answer; the
// recursive resolver returns the chain (RFC 1034 §3.6.2, §4.3.2). If the chain
// ends without the records and without an SOA saying there are none, the end
// of the chain is asked for directly.
func (r *Resolver) query(ctx context.Context, fqdn string, qtype uint16, depth int) (answer, time.Duration, error) {
	m, err := r.exchange(ctx, fqdn, qtype)
	if err != nil {
		return answer{}, 0, err
	}
	ttl := maxPositiveTTL
	cur := fqdn
	for hops := 0; ; hops++ {
		if hops > maxCNAMEHops {
			return answer{}, 0, fmt.Errorf("%s %s: %w", fqdn, dns.TypeToString[qtype], errCNAMELoop)
		}
		var rrs []dns.RR
		var next string
		for _, rr := range m.Answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) {
				continue
			}
			if h.Rrtype == qtype {
				rrs = append(rrs, rr)
				ttl = min(ttl, time.Duration(h.Ttl)*time.Second)
			} else if c, ok := rr.(*dns.CNAME); ok && next == "" {
				next = dns.CanonicalName(c.Target)
				ttl = min(ttl, time.Duration(h.Ttl)*time.Second)
			}
		}
		if len(rrs) > 0 {
			return answer{kind: found, rrs: rrs}, ttl, nil
		}
		if next == "" {
			break
		}
		cur = next
	}
	neg, hasSOA := negativeTTL(m)
	if m.Rcode == dns.RcodeNameError {
		return answer{kind: nxDomain}, min(ttl, neg), nil
	}
	if cur != fqdn && !hasSOA {
		if depth >= maxCNAMEHops {
			return answer{}, 0, fmt.Errorf("%s %s: %w", fqdn, dns.TypeToString[qtype], errCNAMELoop)
		}
		ans, sub, err := r.query(ctx, cur, qtype, depth+1)
		return ans, min(ttl, sub), err
	}
	return answer{kind: noData}, min(ttl, neg), nil
}

// negativeTTL is the lifetime of a negative answer: the smaller of the SOA's
// TTL and its minimum field (RFC 2308 §5), capped; without an SOA it is not
// cached at all (RFC 2308 §5).
func negativeTTL(m *dns.Msg) (time.Duration, bool) {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			ttl := time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
			return min(ttl, maxNegativeTTL), true
		}
	}
	return 0, false
}

// hostAddrs is the outcome of looking up one host's AAAA and A records.
type hostAddrs struct {
	addrs []netip.Addr // IPv6 first, then IPv4, without duplicates
	nx    bool         // NXDOMAIN
	err   error        // a temporary failure of either lookup
}

// addrs looks up AAAA and A for name in parallel. Addresses found by one
// lookup are kept even if the other failed.
func (r *Resolver) addrs(ctx context.Context, name string) hostAddrs {
	var res [2]answer
	var errs [2]error
	var wg sync.WaitGroup
	for i, qtype := range []uint16{dns.TypeAAAA, dns.TypeA} {
		wg.Go(func() { res[i], errs[i] = r.lookup(ctx, name, qtype) })
	}
	wg.Wait()

	var out hostAddrs
	seen := map[netip.Addr]bool{}
	for i := range res {
		if errs[i] != nil {
			out.err = errors.Join(out.err, errs[i])
			continue
		}
		for _, rr := range res[i].rrs {
			var a netip.Addr
			switch v := rr.(type) {
			case *dns.AAAA:
				a, _ = netip.AddrFromSlice(v.AAAA)
			case *dns.A:
				a, _ = netip.AddrFromSlice(v.A)
			}
			if a = a.Unmap(); a.IsValid() && !seen[a] {
				seen[a] = true
				out.addrs = append(out.addrs, a)
			}
		}
	}
	out.nx = errs[0] == nil && errs[1] == nil && res[0].kind == nxDomain && res[1].kind == nxDomain
	return out
}
