package certrelay

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// testNow is the time the tests verify at.
var testNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// issued is a certificate with its key.
type issued = certtest.Cert

// certSpec describes a certificate to issue.
type certSpec struct {
	cn        string
	email     string   // subject emailAddress
	sans      []string // rfc822Name
	ca        bool
	eku       []x509.ExtKeyUsage
	notBefore time.Time
	notAfter  time.Time
}

// issue creates a certificate for spec signed by parent, or self-signed
// when parent is nil, valid from a day before testNow for a year unless
// spec says otherwise.
func issue(t *testing.T, spec certSpec, parent *issued) *issued {
	t.Helper()
	o := certtest.Options{
		CommonName:   spec.cn,
		SubjectEmail: spec.email,
		EmailSANs:    spec.sans,
		ExtKeyUsage:  spec.eku,
		NotBefore:    spec.notBefore,
		NotAfter:     spec.notAfter,
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = testNow.Add(-24 * time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = testNow.Add(365 * 24 * time.Hour)
	}
	if o.ExtKeyUsage == nil {
		o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	switch {
	case spec.ca && parent == nil:
		return &certtest.NewCAWith(t, o).Cert
	case spec.ca:
		return &(&certtest.CA{Cert: *parent}).IntermediateWith(t, o).Cert
	case parent == nil:
		return certtest.SelfSigned(t, o)
	}
	return (&certtest.CA{Cert: *parent}).Issue(t, o)
}

// crlOf returns a PEM CRL issued by ca revoking the given certificates.
func crlOf(t *testing.T, ca *issued, thisUpdate, nextUpdate time.Time, revoked ...*issued) []byte {
	t.Helper()
	return (&certtest.CA{Cert: *ca}).CRLAt(t, thisUpdate, nextUpdate, revoked...)
}

func certPEM(certs ...*issued) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, certtest.CertsPEM(c.Cert)...)
	}
	return out
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
