package remote

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSUnusableTLSANeverLowers delivers to an MX of a DNSSEC-signed zone
// (the DNS server on loopback sets the AD bit) whose TLSA records are all
// unusable for SMTP, PKIX-TA(0) and PKIX-EE(1) (RFC 7672 §3.1.3), under
// each default level. The records require TLS without authentication
// where DANE is the policy in force (RFC 7672 §2.2), but never lower a
// stricter level: verify and secure still check the certificate (here
// from a CA the engine does not trust, so the mail is deferred), and
// dane-only defers before connecting.
func TestTLSUnusableTLSANeverLowers(t *testing.T) {
	const (
		unverified = "TLS unable to verify server mx1.example.test: unable to get local issuer certificate; connected to 127.0.0.2.\n"
		daneOnly   = "No TLS achieved while dane-only requires usable TLSA records for mx1.example.test.\n"
		noTLS      = "No TLS achieved while TLS is required by the TLSA records of mx1.example.test; connecting to 127.0.0.2.\n"
	)
	tests := []struct {
		level     policy.Level
		noTLS     bool   // the server does not offer STARTTLS
		want      string // the deferral; "" for delivered over TLS
		connected bool   // a deferral after connecting
	}{
		{level: policy.May},
		{level: policy.Dane},
		{level: policy.Encrypt},
		{level: policy.May, noTLS: true, want: noTLS, connected: true},
		{level: policy.Verify, want: unverified, connected: true},
		{level: policy.Secure, want: unverified, connected: true},
		{level: policy.DaneOnly, want: daneOnly},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v notls=%v", tt.level, tt.noTLS), func(t *testing.T) {
			w := newTLSWorld(t)
			leaf := w.issue("mx1.example.test")
			spki := sha256.Sum256(leaf.Cert.RawSubjectPublicKeyInfo)
			ca := sha256.Sum256(w.ca.Cert.Cert.Raw)
			w.dns.Add("one.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2",
				fmt.Sprintf("_%d._tcp.mx1.example.test. 60 IN TLSA 1 1 1 %x", w.port, spki[:]),
				fmt.Sprintf("_%d._tcp.mx1.example.test. 60 IN TLSA 0 0 1 %x", w.port, ca[:]))
			w.dns.Secure("one.test.", "example.test.")
			cfg := smtptest.Config{TLS: serverTLS(leaf)}
			if tt.noTLS {
				cfg.TLS = nil
			}
			s := w.server("127.0.0.2", cfg)
			tr := w.transportOn(w.resolver(nil), Options{TLS: TLSOptions{Policy: w.engine(policy.Options{Default: tt.level}), DANE: true}})

			res := deliver(tr, job(1, "a@qsend.test", "b@one.test"))
			switch {
			case tt.want == "":
				want(t, res, 0, store.Delivered, "127.0.0.2 accepted message.")
				noPlaintext(t, s)
			case tt.connected:
				wantTLSDeferral(t, res, 0, tt.want, true)
				nothingReceived(t, s)
			default:
				if res[0].State != store.Deferred || !res[0].TLSPolicy || res[0].Text != tt.want {
					t.Fatalf("result %+v, want a TLS policy deferral %q", res[0], tt.want)
				}
				if s.Connections() != 0 {
					t.Fatalf("%d connections under dane-only without usable records", s.Connections())
				}
			}
		})
	}
}
