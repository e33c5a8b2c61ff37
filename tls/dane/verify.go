package dane

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error is a DANE verification failure. Its text suits the log:
// "DANE: no TLSA record matched the server certificate chain".
type Error struct {
	Reason string
}

// Error returns "DANE: " and the reason.
func (e *Error) Error() string { return "DANE: " + e.Reason }

// Verify checks the chain a server presented (leaf first) against TLSA
// records (RFC 7672 §3.1):
//
//   - DANE-EE(3) records match the leaf alone; names and validity dates
//     are not checked (RFC 7672 §3.1.1).
//   - DANE-TA(2) records match a certificate of the presented chain, or
//     carry the trust anchor itself (a full certificate, or a full public
//     key with selector SPKI) when the server does not send it (RFC 7671
//     §5.2.2); the chain from that anchor to the leaf must then verify,
//     validity dates included, and the leaf must be valid for one of names
//     (RFC 7672 §3.1.2, §3.2.2: the TLSA base domain, normally the MX host
//     name, and the next-hop domain), matched per RFC 7672 §3.2.3: DNS
//     subjectAltNames, a wildcard standing for one whole leftmost label,
//     and the subject CN only when there is no DNS subjectAltName.
//
// Records that Usable drops are ignored. The error, when not nil, is an
// *Error.
func Verify(chain []*x509.Certificate, recs []TLSA, names []string, now time.Time) error {
	_, err := Match(chain, recs, names, now)
	return err
}

// Match is Verify, and returns the record that matched: the first DANE-EE
// record matching the leaf, else the first DANE-TA record whose anchor
// the chain verifies from.
func Match(chain []*x509.Certificate, recs []TLSA, names []string, now time.Time) (TLSA, error) {
	if len(chain) == 0 {
		return TLSA{}, &Error{Reason: "the server sent no certificate"}
	}
	usable := Usable(recs)
	if len(usable) == 0 {
		return TLSA{}, &Error{Reason: "no usable TLSA records"}
	}
	for _, r := range usable {
		if r.Usage == DANEEE && matches(r, chain[0]) {
			return r, nil
		}
	}
	var taErr error
	for _, r := range usable {
		if r.Usage != DANETA {
			continue
		}
		for _, anchor := range anchors(r, chain) {
			err := verifyFrom(anchor, chain, names, now)
			if err == nil {
				return r, nil
			}
			taErr = err
		}
	}
	if taErr != nil {
		return TLSA{}, &Error{Reason: taErr.Error()}
	}
	return TLSA{}, &Error{Reason: "no TLSA record matched the server certificate chain"}
}

// anchors returns the trust anchors a DANE-TA record designates: the
// certificates of the chain it matches, or the anchor it carries in full.
func anchors(r TLSA, chain []*x509.Certificate) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range chain {
		if matches(r, c) {
			out = append(out, c)
		}
	}
	if len(out) > 0 || r.MatchingType != Full {
		return out
	}
	switch r.Selector {
	case Cert:
		if c, err := x509.ParseCertificate(r.Data); err == nil {
			out = append(out, c)
		}
	case SPKI:
		// A bare key: the highest certificate of the chain it signed
		// stands in for the anchor.
		key, err := x509.ParsePKIXPublicKey(r.Data)
		if err != nil {
			return nil
		}
		ta := &x509.Certificate{PublicKey: key}
		for i := len(chain) - 1; i >= 0; i-- {
			c := chain[i]
			if ta.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// verifyFrom checks that the leaf chains up to anchor, with the presented
// intermediates, at time now, and that it is valid for one of names.
func verifyFrom(anchor *x509.Certificate, chain []*x509.Certificate, names []string, now time.Time) error {
	roots := x509.NewCertPool()
	roots.AddCert(anchor)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("the certificate chain does not verify from the TLSA trust anchor %s: %w", anchor.Subject, err)
	}
	if len(names) == 0 {
		return errors.New("no name to check the server certificate against")
	}
	for _, n := range names {
		if matchName(chain[0], n) {
			return nil
		}
	}
	return fmt.Errorf("the server certificate is for %s, not %s", certName(chain[0]), strings.Join(names, " or "))
}

// matchName reports whether c is valid for host under RFC 7672 §3.2.3: a
// DNS subjectAltName equal to host, or a wildcard "*.rest" where host is
// one label followed by ".rest"; the subject CN only when the certificate
// has no DNS subjectAltName. Case and a trailing dot do not matter.
func matchName(c *x509.Certificate, host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return false
	}
	ids := c.DNSNames
	if len(ids) == 0 && c.Subject.CommonName != "" {
		ids = []string{c.Subject.CommonName}
	}
	for _, id := range ids {
		id = strings.TrimSuffix(strings.ToLower(id), ".")
		if id == host {
			return true
		}
		if rest, ok := strings.CutPrefix(id, "*."); ok && rest != "" {
			if _, tail, ok := strings.Cut(host, "."); ok && tail == rest {
				return true
			}
		}
	}
	return false
}

// certName is the name a certificate is for, for messages: its first DNS
// subjectAltName, else its CN.
func certName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return "no name"
}
