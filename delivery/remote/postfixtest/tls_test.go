package postfixtest

import (
	"crypto/tls"
	"net/textproto"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// TestGivenCertificate: with Options.CertPEM and KeyPEM, Postfix presents
// that certificate and its chain, which verifies from the test's CA alone.
func TestGivenCertificate(t *testing.T) {
	ca := certtest.NewCA(t, "postfixtest CA")
	inter := ca.Intermediate(t, "postfixtest intermediate")
	cert := inter.Issue(t, certtest.Options{CommonName: "mx.pf.test", DNSNames: []string{"mx.pf.test"}})
	p := Start(t, Options{TLS: true, CertPEM: cert.CertPEM(), KeyPEM: cert.KeyPEM(t)})
	if !p.Certificate().Equal(cert.Cert) {
		t.Fatalf("Certificate() is for %q, not the given one", p.Certificate().Subject)
	}
	s := dial(t, p)
	s.expect(250, "EHLO client.example")
	s.expect(220, "STARTTLS")
	tc := tls.Client(s.conn, &tls.Config{RootCAs: ca.Pool(), ServerName: "mx.pf.test"})
	if err := tc.Handshake(); err != nil {
		t.Fatalf("TLS handshake verifying from the given CA: %v\n%s", err, p.Log())
	}
	st := tc.ConnectionState()
	if len(st.PeerCertificates) != 2 || !st.PeerCertificates[0].Equal(cert.Cert) || !st.PeerCertificates[1].Equal(inter.Cert.Cert) {
		t.Fatalf("Postfix presented %d certificates, want the given one and its intermediate", len(st.PeerCertificates))
	}
	s.conn, s.text = tc, textproto.NewConn(tc)
	s.expect(250, "EHLO client.example")
	s.expect(221, "QUIT")
}

// TestGivenCertificateMismatch: a key that is not the certificate's is
// refused before Postfix starts.
func TestGivenCertificateMismatch(t *testing.T) {
	ca := certtest.NewCA(t, "postfixtest CA")
	a := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.pf.test"}})
	b := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.pf.test"}})
	dir := t.TempDir()
	_, err := writeGivenCertificate(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), a.CertPEM(), b.KeyPEM(t))
	if err == nil || !strings.Contains(err.Error(), "Options.CertPEM and KeyPEM") {
		t.Fatalf("err %v, want a refusal naming the options", err)
	}
}
