package remote

import (
	"crypto/x509"
	"fmt"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSPolicyFailureNoBackoff checks that a TLS policy failure does not
// back the destination off as unreachable: after an MTA-STS policy that
// lists no MX, a certificate that does not verify, or dane-only without
// usable records, the next message to the domain a moment later is tried
// again (and its MX connected to where the policy allows),
// not deferred with "could not be reached recently".
func TestTLSPolicyFailureNoBackoff(t *testing.T) {
	w := newTLSWorld(t)
	other := certtest.NewCA(t, "other CA")
	w.dns.Add(
		"mx0.example.test. 60 IN A 127.0.0.2", // in no MTA-STS policy
		"mx1.example.test. 60 IN A 127.0.0.3", // certificate from a CA nobody trusts
		"sts.test. 60 IN MX 10 mx0.example.test.",
		`_mta-sts.sts.test. 60 IN TXT "v=STSv1; id=1"`,
		"verify.test. 60 IN MX 10 mx1.example.test.",
		"daneonly.test. 60 IN MX 10 mx1.example.test.",
	)
	w.dns.Add(fmt.Sprintf("_%d._tcp.mx1.example.test. 60 IN TLSA 1 1 1 %064x", w.port, 0))
	w.dns.Secure("daneonly.test.", "example.test.")
	sts := startSTSServer(t, w.ca, map[string]string{
		"sts.test": "version: STSv1\nmode: enforce\nmx: mx9.example.test\nmax_age: 86400\n",
	})
	s0 := w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(w.issue("mx0.example.test"))})
	s1 := w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(other.Issue(t, certtest.Options{DNSNames: []string{"mx1.example.test"}}))})
	r := w.resolver(nil)
	resolver, err := mtasts.New(mtasts.Options{
		TXT: r.TXT, RootCAs: []*x509.Certificate{w.ca.Cert.Cert}, DialContext: sts.dial, FetchTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := w.engine(policy.Options{RootCAs: w.ca.Pool(), Table: map[string]policy.Rule{
		"verify.test":   {Level: policy.Verify},
		"daneonly.test": {Level: policy.DaneOnly},
	}})
	tr := w.transportOn(r, Options{TLS: TLSOptions{Policy: engine, STS: resolver, DANE: true}})

	tests := []struct {
		domain  string
		server  *smtptest.Server // the server connected to; nil: none
		deferal string
	}{
		{domain: "sts.test", deferal: "TLS unable to verify server mx0.example.test: MTA-STS: the policy of sts.test does not list this MX host.\n"},
		{domain: "verify.test", server: s1, deferal: "TLS unable to verify server mx1.example.test: unable to get local issuer certificate; connected to 127.0.0.3.\n"},
		{domain: "daneonly.test", deferal: "No TLS achieved while dane-only requires usable TLSA records for mx1.example.test.\n"},
	}
	id := store.ID(0)
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			for i := range 2 {
				conns := s1.Connections()
				id++
				res := deliver(tr, job(id, "a@qsend.test", "b@"+tt.domain))
				if res[0].NotAttempted || res[0].State != store.Deferred || res[0].Text != tt.deferal || !res[0].TLSPolicy {
					t.Fatalf("message %d: %+v\nwant an attempt deferred with %q", i+1, res[0], tt.deferal)
				}
				if tt.server != nil && tt.server.Connections() == conns {
					t.Errorf("message %d: no connection to %v", i+1, tt.server.Addr())
				}
			}
		})
	}
	if s0.Connections() != 0 {
		t.Errorf("%d connections to an MX host the MTA-STS policy does not list", s0.Connections())
	}
	nothingReceived(t, s0, s1)
}
