package remote

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSDANE delivers to MX hosts with TLSA records (RFC 7672) served by a
// DNS server on loopback that sets the AD bit for a signed zone: DANE-EE
// and DANE-TA records that match let the message through over TLS, records
// that do not match defer it with the DANE text and the next MX is tried,
// a failed TLSA lookup defers before connecting; and the same records from
// a resolver whose AD bit is not trusted, or in an unsigned zone, are
// ignored (opportunistic TLS, delivered).
func TestTLSDANE(t *testing.T) {
	type env struct {
		w     *tlsWorld
		leaf  *certtest.Cert // the server's certificate, from the world's CA
		other *certtest.CA
	}
	// tlsa is a TLSA record for _<port>._tcp.<host>.
	tlsa := func(e env, host string, usage, selector, matching int, data []byte) string {
		return fmt.Sprintf("_%d._tcp.%s. 60 IN TLSA %d %d %d %x", e.w.port, host, usage, selector, matching, data)
	}
	sum := func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
	random := func() []byte { b := make([]byte, 32); rand.Read(b); return b }
	const mismatch = "TLS unable to verify server mx1.example.test: DANE: no TLSA record matched the server certificate chain; connected to 127.0.0.2.\n"
	tests := []struct {
		name      string
		records   func(e env) []string
		unsigned  bool // the zone is not signed: no AD bit
		untrusted bool // the resolver's AD bit is not trusted
		servfail  bool // the TLSA lookup fails
		withCA    bool // the server sends the CA certificate after its own
		noTLS     bool // the server does not offer STARTTLS
		want      string
		verified  bool // counted as a verified DANE session
	}{
		{name: "DANE-EE SPKI SHA-256 matches", verified: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 3, 1, 1, sum(e.leaf.Cert.RawSubjectPublicKeyInfo))}
			}},
		{name: "DANE-EE full certificate matches", verified: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 3, 0, 0, e.leaf.Cert.Raw)}
			}},
		{name: "DANE-EE mismatch", want: mismatch,
			records: func(e env) []string { return []string{tlsa(e, "mx1.example.test", 3, 1, 1, random())} }},
		{name: "DANE-TA matches the CA sent by the server", withCA: true, verified: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 2, 0, 1, sum(e.w.ca.Cert.Cert.Raw))}
			}},
		{name: "DANE-TA full CA certificate not sent", verified: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 2, 0, 0, e.w.ca.Cert.Cert.Raw)}
			}},
		{name: "DANE-TA of another CA", withCA: true, want: mismatch,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 2, 0, 1, sum(e.other.Cert.Cert.Raw))}
			}},
		{name: "mismatch and a match", verified: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 3, 1, 1, random()), tlsa(e, "mx1.example.test", 3, 1, 1, sum(e.leaf.Cert.RawSubjectPublicKeyInfo))}
			}},
		{name: "match, STARTTLS not offered", noTLS: true,
			records: func(e env) []string {
				return []string{tlsa(e, "mx1.example.test", 3, 1, 1, sum(e.leaf.Cert.RawSubjectPublicKeyInfo))}
			},
			want: "No TLS achieved while TLS is required by the TLSA records of mx1.example.test; connecting to 127.0.0.2.\n"},
		{name: "mismatch from an untrusted resolver", untrusted: true,
			records: func(e env) []string { return []string{tlsa(e, "mx1.example.test", 3, 1, 1, random())} }},
		{name: "mismatch in an unsigned zone", unsigned: true,
			records: func(e env) []string { return []string{tlsa(e, "mx1.example.test", 3, 1, 1, random())} }},
		{name: "TLSA lookup fails", servfail: true,
			records: func(e env) []string { return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTLSWorld(t)
			e := env{w: w, leaf: w.issue("mx1.example.test"), other: certtest.NewCA(t, "other CA")}
			w.dns.Add("one.test. 60 IN MX 10 mx1.example.test.",
				"two.test. 60 IN MX 10 mx1.example.test.", "two.test. 60 IN MX 20 mx2.example.test.",
				"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3")
			w.dns.Add(tt.records(e)...)
			// mx2's records always match.
			mx2 := w.issue("mx2.example.test")
			w.dns.Add(tlsa(e, "mx2.example.test", 3, 1, 1, sum(mx2.Cert.RawSubjectPublicKeyInfo)))
			if !tt.unsigned {
				w.dns.Secure("one.test.", "two.test.", "example.test.")
			}
			if tt.servfail {
				w.dns.ServFail(fmt.Sprintf("_%d._tcp.mx1.example.test.", w.port))
			}
			cert := e.leaf.TLS()
			if tt.withCA {
				cert.Certificate = append(cert.Certificate, w.ca.Cert.Cert.Raw)
			}
			cfg1 := smtptest.Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}
			if tt.noTLS {
				cfg1.TLS = nil
			}
			s1 := w.server("127.0.0.2", cfg1)
			s2 := w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(mx2)})
			r := w.resolver(func(o *mx.Options) {
				if tt.untrusted {
					o.TrustOnlyListed = true
					o.TrustedResolvers = []netip.Addr{netip.MustParseAddr("127.0.0.99")}
				}
			})
			tr := w.transportOn(r, Options{TLS: TLSOptions{Policy: w.engine(policy.Options{}), DANE: true}})

			res := deliver(tr, job(1, "a@qsend.test", "b@one.test"))
			switch {
			case tt.servfail:
				const prefix = "TLS unable to look up TLSA records of mx1.example.test: "
				lookup := fmt.Sprintf("TLSA lookup error for mx1.example.test:%d", w.port)
				if res[0].State != store.Deferred || !res[0].TLSPolicy || !strings.HasPrefix(res[0].Text, prefix) ||
					!strings.Contains(res[0].Text, lookup) || !strings.HasSuffix(res[0].Text, ".\n") {
					t.Fatalf("result %+v, want a deferral starting %q naming %q", res[0], prefix, lookup)
				}
				if s1.Connections() != 0 {
					t.Fatalf("%d connections to an MX whose TLSA lookup failed", s1.Connections())
				}
			case tt.want != "":
				wantTLSDeferral(t, res, 0, tt.want, true)
				nothingReceived(t, s1)
			default:
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
				if msgs := s1.Messages(); len(msgs) != 1 || !msgs[0].TLS {
					t.Fatalf("server got %+v, want one message over TLS", msgs)
				}
			}
			counts := map[string]int64{}
			tr.Counters().TLS(func(class, level string, n int64) { counts[class+" "+level] = n })
			if got := counts["verified dane"] == 1; got != tt.verified {
				t.Errorf("TLS counters %v: verified DANE session %v, want %v", counts, got, tt.verified)
			}
			if tt.want == "" && !tt.servfail {
				return
			}
			// The next MX, whose records match, takes the message.
			res = deliver(tr, job(2, "a@qsend.test", "c@two.test"))
			want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
			noPlaintext(t, s2)
			nothingReceived(t, s1)
		})
	}
}
