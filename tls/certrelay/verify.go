package certrelay

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"time"
)

// OpenSSL's X509_verify_cert_error_string texts (OpenSSL 1.x) that
// qmail-tls puts in its replies.
const (
	reasonUnableToGetCRL    = "unable to get certificate CRL"                // X509_V_ERR_UNABLE_TO_GET_CRL
	reasonCertSignature     = "certificate signature failure"                // X509_V_ERR_CERT_SIGNATURE_FAILURE
	reasonCRLSignature      = "CRL signature failure"                        // X509_V_ERR_CRL_SIGNATURE_FAILURE
	reasonNotYetValid       = "certificate is not yet valid"                 // X509_V_ERR_CERT_NOT_YET_VALID
	reasonExpired           = "certificate has expired"                      // X509_V_ERR_CERT_HAS_EXPIRED
	reasonCRLNotYetValid    = "CRL is not yet valid"                         // X509_V_ERR_CRL_NOT_YET_VALID
	reasonCRLExpired        = "CRL has expired"                              // X509_V_ERR_CRL_HAS_EXPIRED
	reasonSelfSigned        = "self signed certificate"                      // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
	reasonSelfSignedInChain = "self signed certificate in certificate chain" // X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
	reasonLocalIssuer       = "unable to get local issuer certificate"       // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	reasonChainTooLong      = "certificate chain too long"                   // X509_V_ERR_CERT_CHAIN_TOO_LONG
	reasonRevoked           = "certificate revoked"                          // X509_V_ERR_CERT_REVOKED
	reasonInvalidCA         = "invalid CA certificate"                       // X509_V_ERR_INVALID_CA
	reasonPurpose           = "unsupported certificate purpose"              // X509_V_ERR_INVALID_PURPOSE
	reasonSubtree           = "permitted subtree violation"                  // X509_V_ERR_PERMITTED_VIOLATION
	reasonVerifyFailed      = "certificate verify failed"                    // SSL_R_CERTIFICATE_VERIFY_FAILED
)

// oidEmailAddress is PKCS #9 emailAddress (RFC 2985 §5.2.1), the subject
// attribute qmail-tls reads (NID_pkcs9_emailAddress).
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// verify checks the presented chain against pool for client
// authentication at now, as OpenSSL's verification with purpose
// "sslclient" does, and returns the verified chain, leaf first.
func verify(certs []*x509.Certificate, pool *x509.CertPool, now time.Time) ([]*x509.Certificate, error) {
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	if err != nil {
		return nil, &Rejection{Reason: reason(err, certs, now), Err: err}
	}
	return chains[0], nil
}

// reason maps a crypto/x509 verification error to OpenSSL's text.
func reason(err error, certs []*x509.Certificate, now time.Time) string {
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &invalid):
		switch invalid.Reason {
		case x509.Expired:
			for _, c := range certs {
				if now.Before(c.NotBefore) {
					return reasonNotYetValid
				}
			}
			return reasonExpired
		case x509.NotAuthorizedToSign, x509.CANotAuthorizedForExtKeyUsage:
			return reasonInvalidCA
		case x509.TooManyIntermediates:
			return reasonChainTooLong
		case x509.IncompatibleUsage:
			return reasonPurpose
		case x509.CANotAuthorizedForThisName:
			return reasonSubtree
		}
	case errors.As(err, &unknown):
		if selfSigned(certs[0]) {
			return reasonSelfSigned
		}
		if last := certs[len(certs)-1]; len(certs) > 1 && selfSigned(last) {
			return reasonSelfSignedInChain
		}
		return reasonLocalIssuer
	case errors.Is(err, x509.ErrUnsupportedAlgorithm):
		return reasonCertSignature
	}
	var sig x509.InsecureAlgorithmError
	if errors.As(err, &sig) {
		return reasonCertSignature
	}
	return reasonVerifyFailed
}

// selfSigned reports whether c is issued by itself and its signature
// verifies with its own key.
func selfSigned(c *x509.Certificate) bool {
	// CheckSignature, not CheckSignatureFrom: a self-signed end-entity
	// certificate is not a CA, and OpenSSL calls it self-signed all the same.
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// checkRevocation checks every certificate of chain but a self-signed root
// against crls (OpenSSL with X509_V_FLAG_CRL_CHECK_ALL, which qmail-tls
// sets when clientcrl.pem loads): each needs a CRL of its issuer, signed
// by the issuer, current at now, that does not list it.
func checkRevocation(chain []*x509.Certificate, crls []*x509.RevocationList, now time.Time) error {
	for i, c := range chain {
		if i == len(chain)-1 {
			if selfSigned(c) {
				return nil
			}
			// An anchor that is not self-signed: its issuer is not at hand.
			return &Rejection{Reason: reasonUnableToGetCRL}
		}
		issuer := chain[i+1]
		var crl *x509.RevocationList
		matched := false
		for _, l := range crls {
			if !bytes.Equal(l.RawIssuer, issuer.RawSubject) {
				continue
			}
			matched = true
			if l.CheckSignatureFrom(issuer) != nil {
				continue
			}
			if crl == nil || l.ThisUpdate.After(crl.ThisUpdate) {
				crl = l
			}
		}
		switch {
		case crl == nil && matched:
			return &Rejection{Reason: reasonCRLSignature}
		case crl == nil:
			return &Rejection{Reason: reasonUnableToGetCRL}
		case now.Before(crl.ThisUpdate):
			return &Rejection{Reason: reasonCRLNotYetValid}
		case !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate):
			return &Rejection{Reason: reasonCRLExpired}
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				return &Rejection{Reason: reasonRevoked}
			}
		}
	}
	return nil
}

// addresses returns the e-mail addresses of c: the subject's emailAddress
// attributes (where qmail-tls looks), then its rfc822Name alternative
// names.
func addresses(c *x509.Certificate) []string {
	var out []string
	for _, n := range c.Subject.Names {
		if n.Type.Equal(oidEmailAddress) {
			if s, ok := n.Value.(string); ok && s != "" {
				out = append(out, s)
			}
		}
	}
	return append(out, c.EmailAddresses...)
}
