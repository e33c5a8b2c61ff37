// Package certtest makes certificate authorities and certificates for
// tests: a CA, intermediates, server certificates with chosen names,
// validity and key types, and the PEM files qmail-tls reads
// (servercert.pem, tlshosts/<host>.pem).
package certtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// KeyType selects the key algorithm of a certificate.
type KeyType int

// Key algorithms. ECDSA (P-256) is the default because it is fast to make.
const (
	ECDSA KeyType = iota
	RSA
	Ed25519
)

// Options describe a certificate to issue.
type Options struct {
	CommonName string
	DNSNames   []string
	IPs        []net.IP
	NotBefore  time.Time // zero: an hour ago
	NotAfter   time.Time // zero: a day from now
	Key        KeyType
	// Email, when set, goes into the subject's emailAddress attribute
	// (where qmail-tls looks) and an rfc822Name subjectAltName.
	Email string
	// SubjectEmail, when set, goes only into the subject's emailAddress,
	// as the IA5String that RFC 5280 Appendix A prescribes and that
	// `openssl req` writes: a client certificate as qmail-tls's
	// README.starttls makes one.
	SubjectEmail string
	// EmailSANs are rfc822Name subjectAltNames, with no subject address.
	EmailSANs []string
	// ExtKeyUsage replaces the default of server and client
	// authentication; ignored for a CA.
	ExtKeyUsage []x509.ExtKeyUsage
}

// oidEmailAddress is PKCS #9 emailAddress.
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// Cert is an issued certificate with its key and the chain above it.
type Cert struct {
	Cert  *x509.Certificate
	Key   crypto.Signer
	Chain []*x509.Certificate // the issuing intermediates, nearest first, without the root
}

// CA is a certificate authority: a root, or an intermediate under one.
type CA struct {
	Cert
}

// NewCA returns a self-signed root CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	return NewCAWith(t, Options{CommonName: name})
}

// NewCAWith returns a self-signed root CA with the name and validity of o.
func NewCAWith(t testing.TB, o Options) *CA {
	t.Helper()
	key := newKey(t, ECDSA)
	tmpl := caTemplate(o)
	return &CA{Cert{Cert: sign(t, tmpl, tmpl, key.Public(), key), Key: key}}
}

// Intermediate returns a CA named name issued by ca.
func (ca *CA) Intermediate(t testing.TB, name string) *CA {
	t.Helper()
	return ca.IntermediateWith(t, Options{CommonName: name})
}

// IntermediateWith returns a CA with the name and validity of o issued by
// ca. It may sign CRLs, as a root may.
func (ca *CA) IntermediateWith(t testing.TB, o Options) *CA {
	t.Helper()
	key := newKey(t, ECDSA)
	c := sign(t, caTemplate(o), ca.Cert.Cert, key.Public(), ca.Key)
	return &CA{Cert{Cert: c, Key: key, Chain: ca.issuers()}}
}

// caTemplate is template for a CA.
func caTemplate(o Options) *x509.Certificate {
	tmpl := template(Options{CommonName: o.CommonName, NotBefore: o.NotBefore, NotAfter: o.NotAfter})
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	return tmpl
}

// issuers is the chain a certificate issued by ca carries: ca itself when
// it is an intermediate, and its own intermediates.
func (ca *CA) issuers() []*x509.Certificate {
	if isSelfSigned(ca.Cert.Cert) {
		return nil
	}
	return append([]*x509.Certificate{ca.Cert.Cert}, ca.Chain...)
}

// Issue returns a server certificate issued by ca.
func (ca *CA) Issue(t testing.TB, o Options) *Cert {
	t.Helper()
	key := newKey(t, o.Key)
	tmpl := template(o)
	c := sign(t, tmpl, ca.Cert.Cert, key.Public(), ca.Key)
	return &Cert{Cert: c, Key: key, Chain: ca.issuers()}
}

// SelfSigned returns a self-signed server certificate (not a CA).
func SelfSigned(t testing.TB, o Options) *Cert {
	t.Helper()
	key := newKey(t, o.Key)
	tmpl := template(o)
	return &Cert{Cert: sign(t, tmpl, tmpl, key.Public(), key), Key: key}
}

// TLS returns the certificate, its chain and key for crypto/tls.
func (c *Cert) TLS() tls.Certificate {
	out := tls.Certificate{Certificate: [][]byte{c.Cert.Raw}, PrivateKey: c.Key, Leaf: c.Cert}
	for _, i := range c.Chain {
		out.Certificate = append(out.Certificate, i.Raw)
	}
	return out
}

// CertPEM returns the certificate followed by its chain, PEM-encoded.
func (c *Cert) CertPEM() []byte {
	out := CertsPEM(c.Cert)
	return append(out, CertsPEM(c.Chain...)...)
}

// KeyPEM returns the private key as a PKCS#8 "PRIVATE KEY" block.
func (c *Cert) KeyPEM(t testing.TB) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(c.Key)
	if err != nil {
		t.Fatalf("certtest: marshal key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// WriteFiles writes the certificate and its chain to certFile and the key
// to keyFile, readable by its owner only, as most servers and clients
// other than qmail-tls want them.
func (c *Cert) WriteFiles(t testing.TB, certFile, keyFile string) {
	t.Helper()
	if err := os.WriteFile(certFile, c.CertPEM(), 0o644); err != nil {
		t.Fatalf("certtest: %v", err)
	}
	if err := os.WriteFile(keyFile, c.KeyPEM(t), 0o600); err != nil {
		t.Fatalf("certtest: %v", err)
	}
}

// WriteFile writes the chain and the key to one file, as servercert.pem
// and clientcert.pem hold them, and returns path.
func (c *Cert) WriteFile(t testing.TB, path string) string {
	t.Helper()
	data := append(c.CertPEM(), c.KeyPEM(t)...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("certtest: %v", err)
	}
	return path
}

// PEM returns the CA certificate, PEM-encoded, for a CA file.
func (ca *CA) PEM() []byte {
	return CertsPEM(ca.Cert.Cert)
}

// Pool returns a pool holding only the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert.Cert)
	return p
}

// WritePEM writes the CA certificate to path and returns path.
func (ca *CA) WritePEM(t testing.TB, path string) string {
	t.Helper()
	if err := os.WriteFile(path, ca.PEM(), 0o644); err != nil {
		t.Fatalf("certtest: %v", err)
	}
	return path
}

// CRL returns a PEM CRL issued by ca, valid from an hour ago for a day,
// revoking the given certificates (clientcrl.pem).
func (ca *CA) CRL(t testing.TB, revoked ...*Cert) []byte {
	t.Helper()
	now := time.Now()
	return ca.crl(t, now.Add(-time.Hour), now.Add(24*time.Hour), now.Add(-time.Minute), revoked)
}

// CRLAt returns a PEM CRL issued by ca with the given thisUpdate and
// nextUpdate, revoking the given certificates as of thisUpdate.
func (ca *CA) CRLAt(t testing.TB, thisUpdate, nextUpdate time.Time, revoked ...*Cert) []byte {
	t.Helper()
	return ca.crl(t, thisUpdate, nextUpdate, thisUpdate, revoked)
}

// crl makes a CRL revoking the given certificates at revokedAt.
func (ca *CA) crl(t testing.TB, thisUpdate, nextUpdate, revokedAt time.Time, revoked []*Cert) []byte {
	t.Helper()
	tmpl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: thisUpdate, NextUpdate: nextUpdate}
	for _, r := range revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries,
			x509.RevocationListEntry{SerialNumber: r.Cert.SerialNumber, RevocationTime: revokedAt})
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert.Cert, ca.Key)
	if err != nil {
		t.Fatalf("certtest: create CRL: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

// CertsPEM PEM-encodes certificates one after the other.
func CertsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// template returns a certificate template for o.
func template(o Options) *x509.Certificate {
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Hour)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.CommonName, Organization: []string{"qsend tests"}},
		DNSNames:     o.DNSNames,
		IPAddresses:  o.IPs,
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if o.Email != "" {
		tmpl.Subject.ExtraNames = []pkix.AttributeTypeAndValue{{Type: oidEmailAddress, Value: o.Email}}
		tmpl.EmailAddresses = []string{o.Email}
	}
	if o.SubjectEmail != "" {
		tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames, pkix.AttributeTypeAndValue{
			Type: oidEmailAddress, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(o.SubjectEmail)}})
	}
	tmpl.EmailAddresses = append(tmpl.EmailAddresses, o.EmailSANs...)
	if o.ExtKeyUsage != nil {
		tmpl.ExtKeyUsage = o.ExtKeyUsage
	}
	return tmpl
}

// sign creates a certificate and parses it back.
func sign(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		t.Fatalf("certtest: create certificate: %v", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certtest: parse certificate: %v", err)
	}
	return c
}

// newKey makes a private key of the given type.
func newKey(t testing.TB, k KeyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch k {
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case Ed25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	default:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("certtest: generate key: %v", err)
	}
	return key
}

// isSelfSigned reports whether c issued itself.
func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}
