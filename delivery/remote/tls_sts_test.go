package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/mtasts"
	"github.com/qsend/qsend/tls/policy"
)

// stsServer is an HTTPS server on loopback that serves MTA-STS policies
// (RFC 8461 §3.2) by Host header, with a certificate from the test CA for
// every mta-sts.<domain> it serves.
type stsServer struct {
	addr     string
	policies map[string]string // "mta-sts.<domain>" → policy text
}

func startSTSServer(t *testing.T, ca *certtest.CA, policies map[string]string) *stsServer {
	t.Helper()
	s := &stsServer{policies: map[string]string{}}
	var names []string
	for d, p := range policies {
		s.policies["mta-sts."+d] = p
		names = append(names, "mta-sts."+d)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.policies[strings.ToLower(r.Host)]
		if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, p)
	}))
	ln, err := net.Listen("tcp", "127.0.0.9:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Issue(t, certtest.Options{CommonName: names[0], DNSNames: names}).TLS()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.addr = ln.Addr().String()
	return s
}

// dial sends every policy fetch to the server, whatever the name; the
// certificate is still checked for mta-sts.<domain>.
func (s *stsServer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, s.addr)
}

// TestTLSMTASTS delivers to domains with MTA-STS policies (RFC 8461)
// fetched from an HTTPS server on loopback: under enforce only the MX hosts
// the policy lists are used, with a certificate that verifies from the
// trusted roots, and anything else defers with the MTA-STS text; under
// testing the message is delivered as without a policy and what would
// have failed is logged (RFC 8461 §5).
func TestTLSMTASTS(t *testing.T) {
	w := newTLSWorld(t)
	other := certtest.NewCA(t, "other CA")
	w.dns.Add(
		"mx0.example.test. 60 IN A 127.0.0.2", // in no policy
		"mx1.example.test. 60 IN A 127.0.0.3", // in the policies, certificate from the trusted CA
		"mx2.example.test. 60 IN A 127.0.0.4", // certificate from another CA
		"mx3.other.test. 60 IN A 127.0.0.5",   // in no policy, certificate from another CA
		"mx5.example.test. 60 IN A 127.0.0.6", // no STARTTLS

		"skip.test. 60 IN MX 10 mx0.example.test.", "skip.test. 60 IN MX 20 mx1.example.test.",
		`_mta-sts.skip.test. 60 IN TXT "v=STSv1; id=1"`,
		"only.test. 60 IN MX 10 mx0.example.test.",
		`_mta-sts.only.test. 60 IN TXT "v=STSv1; id=1"`,
		"badca.test. 60 IN MX 10 mx2.example.test.",
		`_mta-sts.badca.test. 60 IN TXT "v=STSv1; id=1"`,
		"testing.test. 60 IN MX 10 mx3.other.test.",
		`_mta-sts.testing.test. 60 IN TXT "v=STSv1; id=20260101"`,
		"nopolicy.test. 60 IN MX 10 mx2.example.test.",
		"notls.test. 60 IN MX 10 mx5.example.test.",
		`_mta-sts.notls.test. 60 IN TXT "v=STSv1; id=1"`,
	)
	const enforce = "version: STSv1\nmode: enforce\nmx: mx1.example.test\nmax_age: 86400\n"
	sts := startSTSServer(t, w.ca, map[string]string{
		"skip.test":    enforce,
		"only.test":    enforce,
		"badca.test":   "version: STSv1\r\nmode: enforce\r\nmx: *.example.test\r\nmax_age: 86400\r\n",
		"notls.test":   "version: STSv1\nmode: enforce\nmx: *.example.test\nmax_age: 86400\n",
		"testing.test": "version: STSv1\nmode: testing\nmx: mx1.example.test\nmax_age: 3600\n",
	})
	s0 := w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(w.issue("mx0.example.test"))})
	s1 := w.server("127.0.0.3", smtptest.Config{TLS: serverTLS(w.issue("mx1.example.test"))})
	s2 := w.server("127.0.0.4", smtptest.Config{TLS: serverTLS(other.Issue(t, certtest.Options{DNSNames: []string{"mx2.example.test"}}))})
	s3 := w.server("127.0.0.5", smtptest.Config{TLS: serverTLS(other.Issue(t, certtest.Options{DNSNames: []string{"mx3.other.test"}}))})
	s5 := w.server("127.0.0.6", smtptest.Config{})

	logs := &testlib.LogBuffer{}
	logger := logs.Logger()
	r := w.resolver(nil)
	resolver, err := mtasts.New(mtasts.Options{
		TXT:          r.TXT,
		RootCAs:      []*x509.Certificate{w.ca.Cert.Cert},
		DialContext:  sts.dial,
		FetchTimeout: 5 * time.Second,
		Logger:       logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := w.engine(policy.Options{RootCAs: w.ca.Pool(), Logger: logger})
	tr := w.transportOn(r, Options{Logger: logger, TLS: TLSOptions{Policy: engine, STS: resolver, PlaintextAfter: time.Hour}})

	tests := []struct {
		domain string
		server *smtptest.Server // delivered there; nil: deferred
		want   string           // the result's text
		logs   []string         // what the log must say
	}{
		{domain: "skip.test", server: s1, want: "127.0.0.3 accepted message."},
		{domain: "only.test",
			want: "TLS unable to verify server mx0.example.test: MTA-STS: the policy of only.test does not list this MX host.\n"},
		{domain: "badca.test",
			want: "TLS unable to verify server mx2.example.test: MTA-STS: unable to get local issuer certificate; connected to 127.0.0.4.\n"},
		{domain: "testing.test", server: s3, want: "127.0.0.5 accepted message.",
			logs: []string{
				`msg="MTA-STS testing: the policy would have deferred" id=4 domain=testing.test mx=mx3.other.test err="TLS unable to verify server mx3.other.test: MTA-STS: the policy of testing.test does not list this MX host"`,
				`msg="MTA-STS testing: the policy would have deferred" id=4 mx=mx3.other.test domain=testing.test err="TLS unable to verify server mx3.other.test: MTA-STS: unable to get local issuer certificate"`,
			}},
		{domain: "nopolicy.test", server: s2, want: "127.0.0.4 accepted message."},
		{domain: "notls.test",
			want: "No TLS achieved while TLS is required by the MTA-STS policy of notls.test; connecting to 127.0.0.6.\n"},
	}
	for i, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			before := map[*smtptest.Server]int{}
			for _, s := range []*smtptest.Server{s0, s1, s2, s3, s5} {
				before[s] = s.Count()
			}
			res := deliver(tr, job(store.ID(i+1), "a@qsend.test", "b@"+tt.domain))
			if tt.server == nil {
				wantTLSDeferral(t, res, 0, tt.want, true)
			} else {
				want(t, res, 0, store.Delivered, tt.want)
			}
			for _, s := range []*smtptest.Server{s0, s1, s2, s3, s5} {
				n := s.Count() - before[s]
				switch {
				case s == tt.server && n != 1:
					t.Errorf("server %v got %d messages, want 1", s.Addr(), n)
				case s != tt.server && n != 0:
					t.Errorf("server %v got %d messages, want none", s.Addr(), n)
				}
			}
			for _, l := range tt.logs {
				if !strings.Contains(logs.String(), l) {
					t.Errorf("the log lacks\n%s\nlog:\n%s", l, logs.String())
				}
			}
		})
	}
	noPlaintext(t, s0, s1, s2, s3)
	nothingReceived(t, s5)
	if s0.Connections() != 0 {
		t.Errorf("%d connections to an MX host no policy lists", s0.Connections())
	}
	if n := strings.Count(logs.String(), "MTA-STS testing"); n != 2 {
		t.Errorf("%d MTA-STS testing warnings, want 2:\n%s", n, logs.String())
	}
}
