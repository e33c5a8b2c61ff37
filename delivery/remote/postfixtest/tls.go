package postfixtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// writeCertificate writes a self-signed server certificate for host and
// its key as PEM files, the key readable by root only (smtpd reads it
// before it drops privileges), and returns the certificate.
func writeCertificate(t testing.TB, certFile, keyFile, host string) (*x509.Certificate, error) {
	c := certtest.SelfSigned(t, certtest.Options{
		CommonName:  host,
		DNSNames:    []string{host},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return writeGivenCertificate(certFile, keyFile, c.CertPEM(), c.KeyPEM(t))
}

// writeGivenCertificate writes a certificate chain and its key given as
// PEM, the key readable by root only, after checking that they belong
// together (Postfix would only say so in its log, at the first STARTTLS),
// and returns the first certificate.
func writeGivenCertificate(certFile, keyFile string, certPEM, keyPEM []byte) (*x509.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("postfixtest: Options.CertPEM and KeyPEM: %w", err)
	}
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("postfixtest: %w", err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("postfixtest: %w", err)
	}
	return x509.ParseCertificate(pair.Certificate[0])
}
