package certtest

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"slices"
	"testing"
	"time"
)

func TestClientCertificate(t *testing.T) {
	at := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	root := NewCAWith(t, Options{CommonName: "root", NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour)})
	inter := root.IntermediateWith(t, Options{CommonName: "inter", NotBefore: at.Add(-time.Hour), NotAfter: at.Add(time.Hour)})
	c := inter.Issue(t, Options{
		CommonName:   "client",
		SubjectEmail: "a@example.com",
		EmailSANs:    []string{"b@example.com"},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		NotBefore:    at.Add(-time.Minute),
		NotAfter:     at.Add(time.Minute),
	})
	opts := x509.VerifyOptions{Roots: root.Pool(), Intermediates: x509.NewCertPool(), CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, i := range c.Chain {
		opts.Intermediates.AddCert(i)
	}
	if _, err := c.Cert.Verify(opts); err != nil {
		t.Fatal(err)
	}
	opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if _, err := c.Cert.Verify(opts); err == nil {
		t.Error("a client-only certificate verified for a server")
	}
	if !slices.Equal(c.Cert.EmailAddresses, []string{"b@example.com"}) {
		t.Errorf("rfc822Names %q", c.Cert.EmailAddresses)
	}
	// The subject's emailAddress is an IA5String (tag 22).
	var found bool
	var rdns []rdnSET
	if _, err := asn1.Unmarshal(c.Cert.RawSubject, &rdns); err != nil {
		t.Fatal(err)
	}
	for _, set := range rdns {
		for _, atv := range set {
			if atv.Type.Equal(oidEmailAddress) {
				found = atv.Value.Tag == asn1.TagIA5String && string(atv.Value.Bytes) == "a@example.com"
			}
		}
	}
	if !found {
		t.Error("no IA5String emailAddress in the subject")
	}

	b, _ := pem.Decode(inter.CRLAt(t, at.Add(-time.Hour), at.Add(time.Hour), c))
	crl, err := x509.ParseRevocationList(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(inter.Cert.Cert); err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(c.Cert.SerialNumber) != 0 ||
		!crl.ThisUpdate.Equal(at.Add(-time.Hour)) {
		t.Errorf("CRL %+v", crl)
	}
}

// rdnSET is one relative distinguished name, undecoded (encoding/asn1
// reads a type whose name ends in SET as a SET OF).
type rdnSET []struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}
