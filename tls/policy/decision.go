package policy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/qsend/qsend/tls/certfile"
	"github.com/qsend/qsend/tls/dane"
)

// kind is which checks a Decision's certificate gets.
type kind int

const (
	kindNone  kind = iota // none: none, may, encrypt
	kindQmail             // tlshosts pem: chain from the pem, qmail-tls's name rule
	kindPKIX              // verify, secure: chain, Go's name rule against the match names
	kindSTS               // MTA-STS: like kindPKIX, texts say MTA-STS
	kindDANE              // TLSA records
	kindPins              // fingerprint pins
)

// Classifications of a server certificate, for logs and counters.
const (
	Verified   = "verified"   // chain and name verified (by the policy's checks, or the engine's roots)
	Unverified = "unverified" // TLS without a verified certificate
)

// Decision is the TLS policy of one delivery attempt.
type Decision struct {
	// Level is the level in force: None, May, Encrypt, Verify (also for a
	// tlshosts pem and MTA-STS), Secure, Dane (usable TLSA records) or
	// Fingerprint.
	Level Level
	// Source says where the level came from: "tlshosts/<host>.pem",
	// "notlshosts/<host>", "table:<key>", "exhaustivelist", "dane",
	// "mta-sts" or "default".
	Source string
	// Rule is the rule applied, with the engine's minimum version and
	// client ciphers filled in; Rule.Level is the configured level.
	Rule Rule
	// Host and Domain are the MX host name and the recipient domain.
	Host, Domain string
	// Testing is set under an MTA-STS policy in testing mode: nothing is
	// enforced (Required is false, ClientConfig does not fail the
	// handshake); Check tells what the policy would have rejected.
	Testing bool
	// Warning is, in testing mode, what the policy would have deferred for
	// before connecting (an MX host it does not list).
	Warning string
	// TLSA are the usable records in force under Dane.
	TLSA []dane.TLSA
	// Unusable are the DNSSEC-signed TLSA records ignored as unusable for
	// SMTP (dane.WhyUnusable says why), whatever level they left in force.
	Unusable []dane.TLSA

	kind     kind
	roots    *x509.CertPool // for the checks; nil: the system's
	general  *x509.CertPool // the engine's roots, for Classify; nil: the system's
	names    []string       // names the certificate may be valid for
	suffixes []string       // domains the certificate may be for any subdomain of
	client   *certfile.Reloader
	now      func() time.Time
}

// Key identifies what a TLS session set up under d has proved, so that a
// connection is reused only for attempts whose decision has the same key:
// the level and source, the names checked, and the CA pool in force (a
// tlshosts pem or ca_file that changed is loaded into a new pool, so a
// connection verified under the old file is not reused).
func (d Decision) Key() string {
	k := d.Level.String() + " " + d.Source
	if d.Level == None || d.Level == May {
		return k // nothing was checked
	}
	return fmt.Sprintf("%s %s %s %p", k, d.Domain, d.Host, d.roots)
}

// Required reports whether the attempt must not go on in plaintext: the
// level requires TLS and is enforced (not MTA-STS testing).
func (d Decision) Required() bool {
	return d.Level.RequiresTLS() && !d.Testing
}

// ClientConfig returns the TLS configuration for the attempt, nil under
// None. Certificates are not verified by crypto/tls (InsecureSkipVerify);
// VerifyConnection runs Check instead and fails the handshake with its
// *Failure, except in MTA-STS testing mode. The SNI name is
// Rule.ServerName, else serverName, else the MX host name; qmail-tls sends
// none (qmail-tls qmail-remote.c ehlo()), sending it harms nothing and lets
// servers with several certificates pick the right one. The client
// certificate (control/clientcert.pem) is offered when the server asks;
// a missing or broken file sends none, as in qmail-tls (qmail-remote.c tls_init()). TLS 1.3
// suites are not configurable in Go, so Rule.Ciphers governs TLS 1.2 and
// older only.
func (d Decision) ClientConfig(serverName string) *tls.Config {
	if d.Level == None || d.Level == 0 {
		return nil
	}
	sni := d.Rule.ServerName
	if sni == "" {
		sni = serverName
	}
	if sni == "" {
		sni = d.Host
	}
	cfg := &tls.Config{
		ServerName:         sni,
		InsecureSkipVerify: true, // VerifyConnection checks, per the policy
		MinVersion:         d.Rule.MinVersion,
		CipherSuites:       d.Rule.Ciphers,
	}
	if d.client != nil {
		cfg.GetClientCertificate = d.client.GetClientCertificate
	}
	if d.kind != kindNone && !d.Testing {
		cfg.VerifyConnection = d.Check
	}
	return cfg
}

// Check applies the policy's certificate checks to a finished handshake
// and returns a *Failure with the reason, or nil. Under none, may and
// encrypt there is nothing to check.
func (d Decision) Check(cs tls.ConnectionState) error {
	certs := cs.PeerCertificates
	if d.kind == kindNone {
		return nil
	}
	if len(certs) == 0 {
		return d.fail(reasonNoCert, nil)
	}
	now := time.Now()
	if d.now != nil {
		now = d.now()
	}
	switch d.kind {
	case kindQmail:
		return d.checkQmail(certs, now)
	case kindPKIX, kindSTS:
		return d.checkPKIX(certs, now)
	case kindDANE:
		if err := dane.Verify(certs, d.TLSA, d.names, now); err != nil {
			return d.fail(err.Error(), err)
		}
		return nil
	case kindPins:
		return d.checkPins(certs[0])
	}
	return nil
}

// Classify tells whether the server's certificate was verified: by the
// policy's own checks when it has any, else against the engine's roots
// (the system's by default) for the MX host name. Under may the
// certificate is recorded, never trusted.
func (d Decision) Classify(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return Unverified
	}
	if d.kind != kindNone && d.Check(cs) == nil {
		return Verified
	}
	now := time.Now()
	if d.now != nil {
		now = d.now()
	}
	_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         d.general,
		Intermediates: pool(cs.PeerCertificates[1:]),
		DNSName:       d.Host,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil || d.Host == "" {
		return Unverified
	}
	return Verified
}

// Verification is how a session's server was verified, for the log
// (Postfix's "Verified TLS connection established", "Matched DANE EE
// certificate").
type Verification struct {
	Level  Level  // the level in force
	Source string // where it came from, as Decision.Source
	Class  string // Verified or Unverified
	// DANE is the TLSA record that matched under Dane, as "usage selector
	// matching-type" ("3 1 1"); "" otherwise.
	DANE string
}

// Verification tells how the server of a finished handshake was verified
// under d.
func (d Decision) Verification(cs tls.ConnectionState) Verification {
	v := Verification{Level: d.Level, Source: d.Source, Class: d.Classify(cs)}
	if d.kind == kindDANE && len(cs.PeerCertificates) > 0 {
		if r, err := dane.Match(cs.PeerCertificates, d.TLSA, d.names, d.time()); err == nil {
			v.DANE = fmt.Sprintf("%d %d %d", r.Usage, r.Selector, r.MatchingType)
		}
	}
	return v
}

// String is the verification in one phrase: "verified by dane from dane
// (TLSA 3 1 1)", "unverified under may from default".
func (v Verification) String() string {
	s := v.Class + " under " + v.Level.String() + " from " + v.Source
	if v.DANE != "" {
		s += " (TLSA " + v.DANE + ")"
	}
	return s
}

// time is the decision's clock.
func (d Decision) time() time.Time {
	if d.now != nil {
		return d.now()
	}
	return time.Now()
}

// pool returns a pool of certificates.
func pool(certs []*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}
