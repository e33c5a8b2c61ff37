package policy

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// checkQmail is qmail-tls's verification against control/tlshosts/<host>.pem
// (qmail-tls qmail-remote.c tls_init(), match_partner()): the chain must verify from the pem's
// certificates alone, then the name rule of [TLS06]/[TLS07] applies.
func (d Decision) checkQmail(certs []*x509.Certificate, now time.Time) error {
	if err := verifyChain(certs, d.roots, now); err != nil {
		return &Failure{Text: textVerifyWith(d.Source, opensslReason(err, certs, now)), Err: err}
	}
	leaf := certs[0]
	for _, san := range leaf.DNSNames {
		if qmailMatch(san, d.Host) {
			return nil
		}
	}
	// No DNS subjectAltName matched (or there was none): the first CN
	// decides.
	cn := firstCN(leaf)
	if cn == "" {
		return d.fail(reasonNoCN, nil)
	}
	if !qmailMatch(cn, d.Host) {
		return d.fail(reasonFor+printable(cn), nil)
	}
	return nil
}

// qmailMatch is qmail-tls's name comparison (qmail-tls qmail-remote.c match_partner()):
// equal ignoring case, or a name starting with '*' whose rest equals the
// host from its first dot on, so "*.example.com" covers exactly one
// leftmost label.
func qmailMatch(name, host string) bool {
	if rest, ok := strings.CutPrefix(name, "*"); ok {
		i := strings.IndexByte(host, '.')
		return i >= 0 && strings.EqualFold(rest, host[i:])
	}
	return strings.EqualFold(name, host)
}

// oidCN is the commonName attribute.
var oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}

// firstCN returns the subject's first commonName, as OpenSSL's
// X509_NAME_get_text_by_NID does (Go's Subject.CommonName keeps the last).
func firstCN(c *x509.Certificate) string {
	for _, a := range c.Subject.Names {
		if a.Type.Equal(oidCN) {
			if s, ok := a.Value.(string); ok {
				return s
			}
		}
	}
	return ""
}

// printable replaces bytes outside 33..126 with '?', as qmail-remote does
// before printing a CN (qmail-remote.c outsafe(), as qmail-tls uses it).
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '?'
		}
	}
	return string(b)
}

// checkPKIX is verify, secure and MTA-STS: the chain must verify from the
// roots and the certificate must be valid, by Go's x509 rules (DNS
// subjectAltNames only, one-label wildcards), for one of the match names
// or a subdomain of one of the match domains.
func (d Decision) checkPKIX(certs []*x509.Certificate, now time.Time) error {
	if err := verifyChain(certs, d.roots, now); err != nil {
		return d.fail(opensslReason(err, certs, now), err)
	}
	leaf := certs[0]
	for _, n := range d.names {
		if leaf.VerifyHostname(n) == nil {
			return nil
		}
	}
	for _, s := range d.suffixes {
		for _, dns := range leaf.DNSNames {
			if strings.HasSuffix(normaliseName(dns), "."+s) {
				return nil
			}
		}
	}
	return d.fail(reasonFor+printable(certName(leaf)), nil)
}

// checkPins is fingerprint: the leaf's SHA-256 or its public key's SHA-256
// must be one of the pins (Postfix smtp_tls_fingerprint_cert_match).
func (d Decision) checkPins(leaf *x509.Certificate) error {
	cert := sha256.Sum256(leaf.Raw)
	spki := sha256.Sum256(leaf.RawSubjectPublicKeyInfo)
	certPin := "sha256:" + hex.EncodeToString(cert[:])
	spkiPin := "spki-sha256:" + hex.EncodeToString(spki[:])
	for _, p := range d.Rule.Pins {
		if p == certPin || p == spkiPin {
			return nil
		}
	}
	return d.fail(reasonPins(certPin, spkiPin), nil)
}

// verifyChain verifies the presented chain from roots (nil: the system's)
// at time now, for any purpose (qmail-tls sets none).
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool, now time.Time) error {
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: pool(certs[1:]),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	return err
}

// opensslReason words a chain error as OpenSSL's
// X509_verify_cert_error_string does, which is what qmail-tls prints.
func opensslReason(err error, certs []*x509.Certificate, now time.Time) string {
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) {
		switch inv.Reason {
		case x509.Expired:
			if inv.Cert != nil && now.Before(inv.Cert.NotBefore) {
				return sslNotYetValid
			}
			return sslExpired
		case x509.NotAuthorizedToSign:
			return sslInvalidCA
		case x509.IncompatibleUsage:
			return sslPurpose
		case x509.TooManyIntermediates:
			return sslPathLength
		case x509.CANotAuthorizedForThisName, x509.CANotAuthorizedForExtKeyUsage:
			return sslSubtree
		}
	}
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		switch {
		case selfSigned(certs[0]):
			return sslSelfSigned
		case len(certs) > 1 && selfSigned(certs[len(certs)-1]):
			return sslSelfInChain
		}
		return sslNoLocalIssuer
	}
	return fmt.Sprint(err)
}

// selfSigned reports whether c names and signs itself.
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// certName is the name a certificate is for, in messages: its first DNS
// subjectAltName, else its first CN.
func certName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	if cn := firstCN(c); cn != "" {
		return cn
	}
	return textNoName
}
