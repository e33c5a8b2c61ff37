package dane

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
)

// TLSA is one TLSA record (RFC 6698 §2.1).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte // certificate association data
}

// Field values (RFC 6698 §2.1.1–2.1.3, acronyms from RFC 7218).
const (
	PKIXTA = 0 // usage: CA constraint, unusable for SMTP (RFC 7672 §3.1.3)
	PKIXEE = 1 // usage: service certificate constraint, unusable for SMTP
	DANETA = 2 // usage: trust anchor assertion
	DANEEE = 3 // usage: domain-issued certificate

	Cert = 0 // selector: the full certificate
	SPKI = 1 // selector: the SubjectPublicKeyInfo

	Full   = 0 // matching type: the data itself
	SHA256 = 1 // matching type: SHA2-256 of the data
	SHA512 = 2 // matching type: SHA2-512 of the data
)

// String writes the record in presentation form: "3 1 1 0a1b...".
func (r TLSA) String() string {
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, hex.EncodeToString(r.Data))
}

// Usable returns the records an SMTP client may use (RFC 7672 §3.1.3):
// usages DANE-TA(2) and DANE-EE(3), selectors Cert(0) and SPKI(1), matching
// types Full(0), SHA2-256(1) and SHA2-512(2), with data of the right length.
// PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP. An empty result means
// the records give no authentication; whether TLS is still required is the
// caller's decision (RFC 7672 §2.2: it is).
func Usable(recs []TLSA) []TLSA {
	var out []TLSA
	for _, r := range recs {
		if WhyUnusable(r) == "" {
			out = append(out, r)
		}
	}
	return out
}

// Unusable returns the records Usable drops.
func Unusable(recs []TLSA) []TLSA {
	var out []TLSA
	for _, r := range recs {
		if WhyUnusable(r) != "" {
			out = append(out, r)
		}
	}
	return out
}

// WhyUnusable says why an SMTP client may not use r, in Postfix's words
// (posttls-finger, tls_dane.c): "unsupported TLSA certificate usage" for
// PKIX-TA(0), PKIX-EE(1) and unknown usages (RFC 7672 §3.1.3),
// "unsupported TLSA selector", "unsupported TLSA matching type", or a
// digest of the wrong length; "" when r is usable.
func WhyUnusable(r TLSA) string {
	switch {
	case r.Usage != DANETA && r.Usage != DANEEE:
		return fmt.Sprintf("unsupported TLSA certificate usage %d", r.Usage)
	case r.Selector > SPKI:
		return fmt.Sprintf("unsupported TLSA selector %d", r.Selector)
	case r.MatchingType > SHA512:
		return fmt.Sprintf("unsupported TLSA matching type %d", r.MatchingType)
	case r.MatchingType == Full && len(r.Data) == 0:
		return "empty TLSA certificate association data"
	case r.MatchingType == SHA256 && len(r.Data) != sha256.Size:
		return fmt.Sprintf("malformed SHA2-256 digest, length %d", len(r.Data))
	case r.MatchingType == SHA512 && len(r.Data) != sha512.Size:
		return fmt.Sprintf("malformed SHA2-512 digest, length %d", len(r.Data))
	}
	return ""
}

// Record returns the TLSA record with the given usage, selector and
// matching type that matches c, e.g. for showing what a server would need
// to publish.
func Record(c *x509.Certificate, usage, selector, matchingType uint8) TLSA {
	return TLSA{Usage: usage, Selector: selector, MatchingType: matchingType,
		Data: association(c, selector, matchingType)}
}

// association computes a certificate's association data, nil for an
// unknown selector or matching type.
func association(c *x509.Certificate, selector, matchingType uint8) []byte {
	var d []byte
	switch selector {
	case Cert:
		d = c.Raw
	case SPKI:
		d = c.RawSubjectPublicKeyInfo
	default:
		return nil
	}
	switch matchingType {
	case Full:
		return d
	case SHA256:
		h := sha256.Sum256(d)
		return h[:]
	case SHA512:
		h := sha512.Sum512(d)
		return h[:]
	}
	return nil
}

// matches reports whether r matches c.
func matches(r TLSA, c *x509.Certificate) bool {
	d := association(c, r.Selector, r.MatchingType)
	return d != nil && bytes.Equal(d, r.Data)
}
