package mx

import (
	"context"
	"errors"
	"fmt"

	"github.com/miekg/dns"
)

// ednsSize is the EDNS0 UDP payload size announced: the DNS Flag Day 2020
// value, small enough to avoid IP fragmentation (RFC 9715 §3).
const ednsSize = 1232

// errRcode is a server that answered with an error rcode other than NXDOMAIN.
var errRcode = errors.New("server failure")

// exchange sends one query (RD set, EDNS0, random ID from dns.Id) to each
// resolver in turn until one gives a usable answer: NOERROR or NXDOMAIN. A
// timeout, a network error, SERVFAIL, REFUSED or any other rcode moves on to
// the next resolver; if none answers the last cause is returned.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype) // RD set by SetQuestion (RFC 1035 §4.1.1)
	q.SetEdns0(ednsSize, false)

	var last error
	for _, server := range r.servers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.Id = dns.Id() // a fresh random ID per server (RFC 5452 §9.2)
		m, err := r.exchangeOne(ctx, q, server)
		if err != nil {
			last = fmt.Errorf("%s %s at %s: %w", name, dns.TypeToString[qtype], server, err)
			continue
		}
		switch m.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return m, nil
		}
		last = fmt.Errorf("%s %s at %s: %w: %s", name, dns.TypeToString[qtype], server,
			errRcode, dns.RcodeToString[m.Rcode])
	}
	return nil, last
}

// exchangeOne asks one server over UDP and again over TCP when the answer is
// truncated (RFC 7766 §5; RFC 1035 §4.2.1).
func (r *Resolver) exchangeOne(ctx context.Context, q *dns.Msg, server string) (*dns.Msg, error) {
	c := &dns.Client{Net: "udp", Timeout: r.timeout, UDPSize: ednsSize}
	m, _, err := c.ExchangeContext(ctx, q, server)
	if err != nil {
		return nil, err
	}
	if !m.Truncated {
		return m, nil
	}
	c.Net = "tcp"
	m, _, err = c.ExchangeContext(ctx, q, server)
	if err != nil {
		return nil, fmt.Errorf("over TCP after truncation: %w", err)
	}
	return m, nil
}
