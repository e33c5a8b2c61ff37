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
	kind   answerKind
	rrs    []dns.RR // records of the asked type, for found
	secure bool     // every reply that made the answer had a believed AD bit
	target string   // the end of the CNAME chain, lower case with trailing dot; "" without CNAME
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
	rep, err := r.exchange(ctx, fqdn, qtype)
	if err != nil {
		return answer{}, 0, err
	}
	m := rep.msg
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
			return answer{kind: found, rrs: rrs, secure: rep.secure, target: chainEnd(fqdn, cur)}, ttl, nil
		}
		if next == "" {
			break
		}
		cur = next
	}
	neg, hasSOA := negativeTTL(m)
	if m.Rcode == dns.RcodeNameError {
		return answer{kind: nxDomain, secure: rep.secure, target: chainEnd(fqdn, cur)}, min(ttl, neg), nil
	}
	if cur != fqdn && !hasSOA {
		if depth >= maxCNAMEHops {
			return answer{}, 0, fmt.Errorf("%s %s: %w", fqdn, dns.TypeToString[qtype], errCNAMELoop)
		}
		ans, sub, err := r.query(ctx, cur, qtype, depth+1)
		// The chain is as secure as its weakest reply (RFC 4035 §5).
		ans.secure = ans.secure && rep.secure
		if ans.target == "" {
			ans.target = cur
		}
		return ans, min(ttl, sub), err
	}
	return answer{kind: noData, secure: rep.secure, target: chainEnd(fqdn, cur)}, min(ttl, neg), nil
}

// chainEnd returns cur when a CNAME chain led from fqdn to it, else "".
func chainEnd(fqdn, cur string) string {
	if cur == fqdn {
		return ""
	}
	return cur
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
	addrs  []netip.Addr // IPv6 first, then IPv4, without duplicates
	nx     bool         // NXDOMAIN
	err    error        // a temporary failure of either lookup
	secure bool         // at least one lookup answered, and every answer was secure
	target string       // the end of a CNAME chain from the name, without trailing dot; "" without CNAME
}

// addrs looks up AAAA and A for name in parallel. Addresses found by one
// lookup are kept even if the other failed. The addresses are secure when
// every lookup that answered was validated: the addresses used then all come
// from validated data (RFC 7672 §2.2.1), and a failure of the other lookup
// does not turn DANE off for the host.
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
	answered, secure := 0, true
	for i := range res {
		if errs[i] != nil {
			out.err = errors.Join(out.err, errs[i])
			continue
		}
		answered++
		secure = secure && res[i].secure
		if out.target == "" && res[i].target != "" {
			out.target = normalName(res[i].target)
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
	out.secure = answered > 0 && secure
	out.nx = errs[0] == nil && errs[1] == nil && res[0].kind == nxDomain && res[1].kind == nxDomain
	return out
}
