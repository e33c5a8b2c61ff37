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

// reply is a usable answer and whether its AD bit is believed.
type reply struct {
	msg    *dns.Msg
	secure bool // AD set by a trusted resolver (RFC 4035 §3.2.3, RFC 6840 §5.7)
}

// exchange sends one query (RD set, EDNS0, random ID from dns.Id) to each
// resolver in turn until one gives a usable answer: NOERROR or NXDOMAIN. A
// timeout, a network error, SERVFAIL, REFUSED or any other rcode moves on to
// the next resolver; if none answers the last cause is returned.
//
// Once a trusted resolver has answered SERVFAIL, which is what a validating
// resolver answers for bogus data (RFC 4035 §5.5), untrusted resolvers are not
// asked: their insecure answer would turn a bogus name into one without DNSSEC
// and switch DANE off for it (RFC 7672 §2.1.1 wants such a lookup to defer).
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (reply, error) {
	var last error
	bogus := false
	for i, server := range r.servers {
		if err := ctx.Err(); err != nil {
			return reply{}, err
		}
		trusted := r.trusted[i]
		if bogus && !trusted {
			continue
		}
		m, err := r.exchangeOne(ctx, newQuery(name, qtype, trusted), server)
		if err != nil {
			last = fmt.Errorf("%s %s at %s: %w", name, dns.TypeToString[qtype], server, err)
			continue
		}
		switch m.Rcode {
		case dns.RcodeSuccess, dns.RcodeNameError:
			return reply{msg: m, secure: trusted && m.AuthenticatedData}, nil
		case dns.RcodeServerFailure:
			bogus = bogus || trusted
		}
		last = fmt.Errorf("%s %s at %s: %w: %s", name, dns.TypeToString[qtype], server,
			errRcode, dns.RcodeToString[m.Rcode])
	}
	return reply{}, last
}

// newQuery builds a query with a fresh random ID (RFC 5452 §9.2) and RD set
// (RFC 1035 §4.1.1). The AD bit asks a validating resolver to say whether it
// validated the answer (RFC 6840 §5.7); a trusted resolver also gets the DO
// bit, which older validating resolvers need before they set AD (RFC 3225 §3).
func newQuery(name string, qtype uint16, trusted bool) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.AuthenticatedData = true
	q.SetEdns0(ednsSize, trusted)
	return q
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
