package policy

import (
	"errors"
	"strings"
)

// Every text of a TLS policy failure, the Text of a Failure and the texts
// of NoTLSText and RejectedText. The remote transport adds "; connecting to
// IP." or "; connected to IP." and puts them into a recipient's last
// result. Where the qmail-tls patch has a text (its qmail-remote.c
// tls_init()), it is that text byte for byte; the others are qsend's, for
// the levels and sources qmail-tls does not have, worded the same way.

// NoTLSText is the deferral text when TLS is required and the server did
// not offer STARTTLS (qmail-remote.c tls_init(), qmail-tls patch): "No TLS
// achieved while control/tlshosts/<host>.pem exists", or for other sources
// "No TLS achieved while TLS is required by <source>".
func (d Decision) NoTLSText() string {
	return "No TLS achieved while " + d.requirement()
}

// RejectedText is the deferral text when TLS is required and the server
// refused STARTTLS (qmail-remote.c tls_init(), qmail-tls patch): "STARTTLS
// rejected while control/tlshosts/<host>.pem exists", or "STARTTLS rejected
// while TLS is required by <source>". The caller adds the server's reply.
func (d Decision) RejectedText() string {
	return "STARTTLS rejected while " + d.requirement()
}

// requirement says what requires TLS, for NoTLSText and RejectedText:
// qmail-tls's "control/tlshosts/<host>.pem exists", or qsend's source.
func (d Decision) requirement() string {
	if key, ok := strings.CutPrefix(d.Source, "table:"); ok {
		return "TLS is required by tls.policy." + key + " (" + d.Rule.Level.String() + ")"
	}
	switch {
	case d.kind == kindQmail:
		return "control/" + d.Source + " exists"
	case d.Source == "dane":
		return "TLS is required by the TLSA records of " + d.Host
	case d.Source == "mta-sts":
		return "TLS is required by the MTA-STS policy of " + d.Domain
	case d.Source == "default":
		return "TLS is required by tls.default_level (" + d.Rule.Level.String() + ")"
	}
	return "TLS is required by " + d.Source
}

// fail returns a Failure "TLS unable to verify server <host>: <reason>"
// (qmail-remote.c tls_init(), qmail-tls patch), with "MTA-STS: " before the
// reason under MTA-STS.
func (d Decision) fail(reason string, err error) error {
	if d.kind == kindSTS {
		reason = "MTA-STS: " + reason
	}
	return &Failure{Text: "TLS unable to verify server " + d.Host + ": " + reason, Err: err}
}

// The reasons after "TLS unable to verify server <host>: ". The first
// three are qmail-tls's (qmail-remote.c tls_init()); the pin mismatch is
// qsend's, for the fingerprint level.
const (
	reasonNoCert = "no certificate provided"
	reasonNoCN   = "certificate contains no valid commonName"
	reasonFor    = "received certificate for " // + the certificate's name
	// certName's name for a certificate that has none.
	textNoName = "no name"
)

// reasonPins is a certificate matching none of the fingerprint pins.
func reasonPins(certPin, spkiPin string) string {
	return "fingerprint mismatch (certificate " + certPin + ", " + spkiPin + ")"
}

// The chain errors, as OpenSSL's X509_verify_cert_error_string words them
// (crypto/x509/x509_txt.c), which is what qmail-tls prints.
const (
	sslNotYetValid   = "certificate is not yet valid"
	sslExpired       = "certificate has expired"
	sslInvalidCA     = "invalid CA certificate"
	sslPurpose       = "unsupported certificate purpose"
	sslPathLength    = "path length constraint exceeded"
	sslSubtree       = "permitted subtree violation"
	sslSelfSigned    = "self signed certificate"
	sslSelfInChain   = "self signed certificate in certificate chain"
	sslNoLocalIssuer = "unable to get local issuer certificate"
)

// textVerifyWith is a chain that does not verify from a control/tlshosts
// pem (qmail-remote.c tls_init(), qmail-tls patch).
func textVerifyWith(source, reason string) string {
	return "TLS unable to verify server with control/" + source + ": " + reason
}

// textLoad is a CA file that cannot be loaded (qmail-remote.c tls_init(),
// qmail-tls patch: "TLS unable to load control/tlshosts/<host>.pem: ").
func textLoad(file string, err error) string {
	return "TLS unable to load " + file + ": " + err.Error()
}

// textSTSMismatch is an MX host the MTA-STS policy does not list (RFC 8461
// §4.1), worded as fail's texts.
func textSTSMismatch(host, domain string) string {
	return "TLS unable to verify server " + host + ": MTA-STS: the policy of " + domain + " does not list this MX host"
}

// textDaneOnlyNone is dane-only without DNSSEC-signed TLSA records (RFC
// 7672 §2.2), worded as NoTLSText.
func textDaneOnlyNone(base string) string {
	return "No TLS achieved while dane-only requires TLSA records for " + base + " and there are none signed with DNSSEC"
}

// textDaneOnlyUnusable is dane-only with no usable TLSA record (RFC 7672
// §2.2), worded as NoTLSText.
func textDaneOnlyUnusable(base string) string {
	return "No TLS achieved while dane-only requires usable TLSA records for " + base
}

// textTLSALookup is a failed TLSA lookup (RFC 7672 §2.1.1).
func textTLSALookup(base string, err error) string {
	return "TLS unable to look up TLSA records of " + base + ": " + err.Error()
}

// Texts returns every text of this package in a fixed order, rendered for
// the MX host mx.example.net of the domain example.net, for a golden list
// of what qsend can store.
func Texts() []string {
	const host, domain = "mx.example.net", "example.net"
	pem := "tlshosts/" + host + ".pem"
	cause := errors.New("open /etc/qsend/ca.pem: no such file or directory")
	decisions := []Decision{
		{Source: pem, kind: kindQmail, Host: host, Domain: domain},
		{Source: "table:" + domain, Rule: Rule{Level: Verify}, Host: host, Domain: domain},
		{Source: "dane", Host: host, Domain: domain},
		{Source: "mta-sts", Host: host, Domain: domain},
		{Source: "default", Rule: Rule{Level: Encrypt}, Host: host, Domain: domain},
	}
	var out []string
	for _, d := range decisions {
		out = append(out, d.NoTLSText(), d.RejectedText())
	}
	pkix := Decision{Host: host, kind: kindPKIX}
	sts := Decision{Host: host, kind: kindSTS}
	for _, reason := range []string{reasonNoCert, reasonNoCN, reasonFor + host, reasonFor + textNoName,
		reasonPins("sha256:"+strings.Repeat("0", 64), "spki-sha256:"+strings.Repeat("1", 64)),
		sslNotYetValid, sslExpired, sslInvalidCA, sslPurpose, sslPathLength, sslSubtree,
		sslSelfSigned, sslSelfInChain, sslNoLocalIssuer} {
		out = append(out, pkix.fail(reason, nil).Error())
	}
	out = append(out,
		sts.fail(sslExpired, nil).Error(),
		textVerifyWith(pem, sslNoLocalIssuer),
		textLoad("control/"+pem, cause),
		textSTSMismatch(host, domain),
		textDaneOnlyNone(host),
		textDaneOnlyUnusable(host),
		textTLSALookup(host, errors.New("TLSA lookup error for "+host+":25 (#4.7.5)")),
	)
	return out
}
