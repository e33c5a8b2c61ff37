package mx

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/miekg/dns"
)

// TLSA is one TLSA record (RFC 6698 §2.1). The tls/dane package has the same
// fields; mx keeps its own type so that it does not depend on tls.
type TLSA struct {
	Usage        uint8  // certificate usage: 2 DANE-TA, 3 DANE-EE for SMTP (RFC 7672 §3.1)
	Selector     uint8  // 0 full certificate, 1 SubjectPublicKeyInfo
	MatchingType uint8  // 0 exact, 1 SHA-256, 2 SHA-512
	Data         []byte // certificate association data
}

// TLSAResult is the outcome of a TLSA lookup.
type TLSAResult struct {
	// Name is the TLSA base domain the answer is for: the host name, or the
	// end of its CNAME chain when HostTLSA found records there (RFC 7672
	// §2.2.2). The client sends it as SNI (RFC 7672 §8.1).
	Name string
	// Records are the TLSA records, nil unless Secure: records from an
	// answer that was not validated must not be used (RFC 7672 §2.2).
	Records []TLSA
	// Secure says the answer, records or their denial, was validated. A
	// secure answer without records, or an insecure answer, means DANE does
	// not apply to the host (RFC 7672 §2.2).
	Secure bool
}

// TLSA looks up the TLSA records of _port._tcp.host (RFC 6698 §3). A
// SERVFAIL, which a validating resolver answers for bogus data, or a timeout
// is an *Error with Temporary set: a failed TLSA lookup for a host with
// secure addresses defers delivery (RFC 7672 §2.1.1). NXDOMAIN and NODATA are
// a result without records. Answers are cached for their TTL.
func (r *Resolver) TLSA(ctx context.Context, host string, port int) (TLSAResult, error) {
	host = normalName(host)
	if host == "" || port <= 0 || port > 65535 {
		return TLSAResult{}, fmt.Errorf("mx: TLSA lookup for %q port %d: want a host name and a port", host, port)
	}
	ans, err := r.lookup(ctx, "_"+strconv.Itoa(port)+"._tcp."+host, dns.TypeTLSA)
	if err != nil {
		return TLSAResult{}, errTLSA(host, port, err)
	}
	res := TLSAResult{Name: host, Secure: ans.secure}
	if !ans.secure {
		return res, nil
	}
	for _, rr := range ans.rrs {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil { // miekg/dns unpacks the data as hex; kept for safety
			return TLSAResult{}, errTLSA(host, port, fmt.Errorf("record %q: %w", t.String(), err))
		}
		res.Records = append(res.Records, TLSA{Usage: t.Usage, Selector: t.Selector,
			MatchingType: t.MatchingType, Data: data})
	}
	return res, nil
}

// HostTLSA looks up the TLSA records for a planned host, following RFC 7672
// §2.2.2: when the host's address records came through a secure CNAME chain,
// the end of the chain is tried first and the host name second. A host whose
// addresses are not secure, or an address literal, gives an insecure result
// without asking DNS (RFC 7672 §2.2.1). Call it only for a Plan with Secure
// set; port is the port delivery connects to.
//
// Not done: a secure CNAME into an unsigned zone makes the addresses
// insecure here, so DANE does not apply, although RFC 7672 §2.2.2 would still
// look TLSA up at the host name. Telling that case apart needs the CNAME's
// own validation status, which one AD bit per answer does not give.
func (r *Resolver) HostTLSA(ctx context.Context, h Host, port int) (TLSAResult, error) {
	if h.Name == "" || !h.Secure {
		return TLSAResult{Name: h.Name}, nil
	}
	if h.CNAME != "" && h.CNAME != h.Name {
		res, err := r.TLSA(ctx, h.CNAME, port)
		if err != nil || len(res.Records) > 0 {
			return res, err
		}
	}
	return r.TLSA(ctx, h.Name, port)
}

// errTLSA is a failed TLSA lookup.
func errTLSA(host string, port int, cause error) *Error {
	return &Error{Domain: host, Temporary: true, Enhanced: "4.7.5",
		Text: textTLSA(host, port), Err: cause}
}
