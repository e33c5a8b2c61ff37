// Package dnstest runs a small authoritative-and-recursive-looking DNS server on
// loopback for tests: records are added in zone-file syntax, and names can be
// made to fail (SERVFAIL), time out or answer truncated over UDP. Zones can be
// marked signed, and the server then plays a validating resolver, setting the
// AD bit on their answers. Other packages' tests use it to exercise real DNS
// traffic without the network.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// negativeTTL is the SOA minimum and TTL given with NXDOMAIN and NODATA answers
// (RFC 2308 §5: the negative TTL is the smaller of the two).
const negativeTTL = 30

// Server is a DNS server listening on UDP and TCP on the same loopback port.
// It answers like a recursive resolver would: CNAME chains inside its data are
// followed and returned in the answer section. Safe for concurrent use.
//
// As a validating resolver it sets the AD bit when the query asked for it with
// the AD or DO bit (RFC 6840 §5.7, RFC 4035 §3.2.3) and every name the answer
// touched, each link of a CNAME chain included, lies in a zone marked with
// Secure. With DO set it adds an RRSIG (with a dummy signature) for each
// signed RRset, as a real validating resolver passes them on (RFC 4035 §3.2.1).
// A bogus answer is a SERVFAIL (RFC 4035 §5.5): use ServFail.
type Server struct {
	// Addr is "ip:port", usable as a resolver address.
	Addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // lower-case owner name with trailing dot
	servfail map[string]bool
	drop     map[string]bool
	truncate map[string]bool
	secure   map[string]bool // signed zone apexes
	queries  int
}

// Start starts a server on a free port of 127.0.0.1, UDP and TCP; t.Cleanup
// stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartOn(t, "127.0.0.1")
}

// StartOn starts a server on a free port of ip, e.g. "127.0.0.2" for a second
// loopback resolver that a test configures as untrusted; t.Cleanup stops it.
func StartOn(t testing.TB, ip string) *Server {
	t.Helper()
	s := &Server{
		records:  map[string][]dns.RR{},
		servfail: map[string]bool{},
		drop:     map[string]bool{},
		truncate: map[string]bool{},
		secure:   map[string]bool{},
	}
	addr := net.JoinHostPort(ip, "0")
	var pc net.PacketConn
	var ln net.Listener
	// The TCP port may be taken by someone else; pick another UDP port then.
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatalf("dnstest: listen udp: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatalf("dnstest: listen tcp: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	handler := dns.HandlerFunc(s.serve)
	for _, srv := range []*dns.Server{
		{PacketConn: pc, Handler: handler},
		{Listener: ln, Handler: handler},
	} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			srv.Shutdown()
			<-done
		})
	}
	return s
}

// Add adds records in zone-file syntax, e.g.
// "example.com. 300 IN MX 10 mx1.example.com.". A malformed record panics:
// it is a mistake in the test.
func (s *Server) Add(rr ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, text := range rr {
		r, err := dns.NewRR(text)
		if err != nil || r == nil {
			panic("dnstest: bad record " + text + ": " + errString(err))
		}
		name := strings.ToLower(r.Header().Name)
		s.records[name] = append(s.records[name], r)
	}
}

// Remove removes every record owned by name, so that a test can change a
// name's data: Remove it, then Add the new records.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, dns.CanonicalName(name))
}

func errString(err error) string {
	if err == nil {
		return "empty"
	}
	return err.Error()
}

// ServFail makes the server answer SERVFAIL for name, whatever the type.
func (s *Server) ServFail(name string) { s.set(s.servfail, name) }

// Drop makes the server never answer queries for name: the client times out.
func (s *Server) Drop(name string) { s.set(s.drop, name) }

// Truncate makes UDP answers for name empty with the TC bit set (RFC 1035
// §4.1.1); the full answer is given over TCP.
func (s *Server) Truncate(name string) { s.set(s.truncate, name) }

// Secure marks zones as signed: names at or below each zone apex get answers
// with the AD bit, e.g. Secure("example.test.") or Secure(".") for all.
func (s *Server) Secure(zone ...string) {
	for _, z := range zone {
		s.set(s.secure, z)
	}
}

func (s *Server) set(m map[string]bool, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m[dns.CanonicalName(name)] = true
}

// Queries returns how many queries the server has received, over UDP and TCP.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	s.mu.Lock()
	s.queries++
	if len(req.Question) != 1 {
		s.mu.Unlock()
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := dns.CanonicalName(q.Name)
	if s.drop[name] {
		s.mu.Unlock()
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	do := false
	if opt := req.IsEdns0(); opt != nil {
		do = opt.Do()
		m.SetEdns0(opt.UDPSize(), do) // DO is copied into the reply (RFC 3225 §3)
	}
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	switch {
	case s.servfail[name]:
		m.Rcode = dns.RcodeServerFailure
	case udp && s.truncate[name]:
		m.Truncated = true
	default:
		if signed := s.answer(m, name, q.Qtype); signed {
			m.AuthenticatedData = req.AuthenticatedData || do
			if do {
				addSignatures(m)
			}
		}
	}
	s.mu.Unlock()
	w.WriteMsg(m)
}

// answer fills m for name and qtype, following CNAMEs held by the server as a
// recursive resolver does (RFC 1034 §3.6.2), and reports whether every name it
// touched is in a signed zone. Called with s.mu held.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) (signed bool) {
	signed = true
	for hops := 0; hops < 16; hops++ {
		signed = signed && s.isSecure(name)
		rrs, exists := s.records[name]
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found {
			return signed
		}
		if cname != nil {
			m.Answer = append(m.Answer, dns.Copy(cname))
			name = dns.CanonicalName(cname.Target)
			if s.servfail[name] {
				m.Rcode = dns.RcodeServerFailure
				return false
			}
			continue
		}
		if !exists && !s.hasDescendant(name) {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = append(m.Ns, soa(name))
		return signed
	}
	m.Rcode = dns.RcodeServerFailure
	return false
}

// isSecure reports whether name is at or below a signed zone apex. Called with
// s.mu held.
func (s *Server) isSecure(name string) bool {
	for {
		if s.secure[name] {
			return true
		}
		if name == "." {
			return false
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok || rest == "" {
			rest = "."
		}
		name = rest
	}
}

// addSignatures adds one RRSIG per RRset of the answer and authority sections,
// with a dummy signature: the client believes the AD bit, it does not
// validate (RFC 4035 §3.2.1 has a resolver pass signatures on with DO set).
func addSignatures(m *dns.Msg) {
	sign := func(rrs []dns.RR) []dns.RR {
		type set struct {
			name  string
			rtype uint16
		}
		seen := map[set]bool{}
		out := rrs
		for _, rr := range rrs {
			h := rr.Header()
			k := set{strings.ToLower(h.Name), h.Rrtype}
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, &dns.RRSIG{
				Hdr:         dns.RR_Header{Name: h.Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: h.Ttl},
				TypeCovered: h.Rrtype, Algorithm: dns.ECDSAP256SHA256, Labels: uint8(dns.CountLabel(h.Name)),
				OrigTtl: h.Ttl, Expiration: 4102444800, Inception: 1700000000, KeyTag: 1,
				SignerName: "dnstest.", Signature: "AAAA",
			})
		}
		return out
	}
	m.Answer = sign(m.Answer)
	m.Ns = sign(m.Ns)
}

// hasDescendant reports whether name is an empty non-terminal, which exists
// and answers NODATA rather than NXDOMAIN (RFC 8020 §2).
func (s *Server) hasDescendant(name string) bool {
	for owner := range s.records {
		if strings.HasSuffix(owner, "."+name) || name == "." {
			return true
		}
	}
	return false
}

func soa(name string) dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: negativeTTL},
		Ns:      "ns.dnstest.",
		Mbox:    "hostmaster.dnstest.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  negativeTTL,
	}
}
