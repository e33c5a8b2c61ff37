package certrelay

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testNow is the time the tests verify at.
var testNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// issued is a certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

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

var serial int64 = 100

// issue creates a certificate for spec signed by parent, or self-signed
// when parent is nil.
func issue(t *testing.T, spec certSpec, parent *issued) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial++
	subject := pkix.Name{CommonName: spec.cn}
	if spec.email != "" {
		subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: spec.email}}
	}
	if spec.notBefore.IsZero() {
		spec.notBefore = testNow.Add(-24 * time.Hour)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = testNow.Add(365 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               subject,
		EmailAddresses:        spec.sans,
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  spec.ca,
		ExtKeyUsage:           spec.eku,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if spec.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else if spec.eku == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	signer, parentCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &issued{cert: cert, key: key}
}

// crlOf returns a PEM CRL issued by ca revoking the given certificates.
func crlOf(t *testing.T, ca *issued, thisUpdate, nextUpdate time.Time, revoked ...*issued) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: r.cert.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

func certPEM(certs ...*issued) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})...)
	}
	return out
}

func writeFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
