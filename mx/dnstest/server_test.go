package dnstest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestServer(t *testing.T) {
	s := Start(t)
	s.Add("example.test. 300 IN MX 10 mx.example.test.",
		"mx.example.test. 300 IN A 192.0.2.1",
		"www.example.test. 300 IN CNAME mx.example.test.",
		"deep.sub.example.test. 300 IN A 192.0.2.2")
	s.ServFail("fail.test.")
	s.Drop("DROP.test")
	s.Truncate("mx.example.test.")

	tests := []struct {
		name    string
		qname   string
		qtype   uint16
		net     string
		rcode   int
		answers int
		tc      bool
		soa     bool
		timeout bool
	}{
		{name: "records", qname: "example.test.", qtype: dns.TypeMX, net: "udp", answers: 1},
		{name: "case-insensitive", qname: "EXAMPLE.test.", qtype: dns.TypeMX, net: "udp", answers: 1},
		{name: "nodata", qname: "example.test.", qtype: dns.TypeA, net: "udp", soa: true},
		{name: "empty non-terminal", qname: "sub.example.test.", qtype: dns.TypeA, net: "udp", soa: true},
		{name: "nxdomain", qname: "none.test.", qtype: dns.TypeA, net: "udp", rcode: dns.RcodeNameError, soa: true},
		{name: "cname chain", qname: "www.example.test.", qtype: dns.TypeA, net: "tcp", answers: 2},
		{name: "servfail", qname: "fail.test.", qtype: dns.TypeA, net: "udp", rcode: dns.RcodeServerFailure},
		{name: "truncated over udp", qname: "mx.example.test.", qtype: dns.TypeA, net: "udp", tc: true},
		{name: "full over tcp", qname: "mx.example.test.", qtype: dns.TypeA, net: "tcp", answers: 1},
		{name: "dropped", qname: "drop.test.", qtype: dns.TypeA, net: "udp", timeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(tt.qname, tt.qtype)
			c := &dns.Client{Net: tt.net, Timeout: 200 * time.Millisecond}
			m, _, err := c.Exchange(q, s.Addr)
			if tt.timeout {
				if err == nil {
					t.Fatalf("got an answer %v, want a timeout", m)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			hasSOA := len(m.Ns) == 1 && m.Ns[0].Header().Rrtype == dns.TypeSOA
			if m.Rcode != tt.rcode || len(m.Answer) != tt.answers || m.Truncated != tt.tc || hasSOA != tt.soa {
				t.Errorf("answer %v", m)
			}
		})
	}
	s.Remove("EXAMPLE.test")
	q := new(dns.Msg)
	q.SetQuestion("example.test.", dns.TypeMX)
	if m, err := dns.Exchange(q, s.Addr); err != nil || len(m.Answer) != 0 {
		t.Errorf("after Remove: %v, %v", m, err)
	}
	if s.Queries() != len(tests)+1 {
		t.Errorf("Queries() = %d, want %d", s.Queries(), len(tests)+1)
	}
}

func TestSecure(t *testing.T) {
	s := StartOn(t, "127.0.0.2")
	if !strings.HasPrefix(s.Addr, "127.0.0.2:") {
		t.Fatalf("Addr = %s", s.Addr)
	}
	s.Add("mx.signed.test. 300 IN A 192.0.2.1",
		"alias.signed.test. 300 IN CNAME mx.signed.test.",
		"out.signed.test. 300 IN CNAME mx.plain.test.",
		"mx.plain.test. 300 IN A 192.0.2.2")
	s.Secure("signed.test.")
	tests := []struct {
		name      string
		qname     string
		ad, do    bool // query flags
		wantAD    bool
		wantSigs  int
		wantRcode int
	}{
		{name: "signed, AD asked", qname: "mx.signed.test.", ad: true, wantAD: true},
		{name: "signed, DO asked", qname: "mx.signed.test.", do: true, wantAD: true, wantSigs: 1},
		{name: "signed, nothing asked", qname: "mx.signed.test."},
		{name: "signed chain", qname: "alias.signed.test.", ad: true, wantAD: true},
		{name: "chain into unsigned zone", qname: "out.signed.test.", ad: true, do: true},
		{name: "unsigned", qname: "mx.plain.test.", ad: true},
		{name: "secure denial", qname: "none.signed.test.", ad: true, do: true, wantAD: true, wantSigs: 1,
			wantRcode: dns.RcodeNameError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(tt.qname, dns.TypeA)
			q.AuthenticatedData = tt.ad
			q.SetEdns0(1232, tt.do)
			m, err := dns.Exchange(q, s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			sigs := 0
			for _, rr := range append(m.Answer, m.Ns...) {
				if rr.Header().Rrtype == dns.TypeRRSIG {
					sigs++
				}
			}
			if m.AuthenticatedData != tt.wantAD || sigs != tt.wantSigs || m.Rcode != tt.wantRcode {
				t.Errorf("AD %v, %d signatures, rcode %d in %v", m.AuthenticatedData, sigs, m.Rcode, m)
			}
		})
	}
}
