package policy

import (
	"fmt"
	"strings"
)

// Level is a TLS security level, named as Postfix names them
// (Postfix smtp_tls_security_level, postconf(5)). The zero Level is unset.
type Level int

// The levels. Decide resolves Dane and DaneOnly from the TLSA records: a
// Decision's Level is Dane only when usable records are in force.
const (
	None        Level = iota + 1 // no TLS, even when offered
	May                          // TLS when offered, certificate not checked
	Encrypt                      // TLS required, certificate not checked
	Verify                       // TLS required, chain and name checked (name: the MX host by default)
	Secure                       // like Verify, name from the next-hop domain by default
	Dane                         // DANE when the MX has DNSSEC-signed TLSA records, else may
	DaneOnly                     // DANE required
	Fingerprint                  // TLS required, certificate or public key pinned
)

var levelNames = [...]string{
	None: "none", May: "may", Encrypt: "encrypt", Verify: "verify", Secure: "secure",
	Dane: "dane", DaneOnly: "dane-only", Fingerprint: "fingerprint",
}

// ParseLevel reads a level name: none, may, encrypt, verify, secure, dane,
// dane-only or fingerprint.
func ParseLevel(s string) (Level, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	for l, n := range levelNames {
		if n != "" && n == v {
			return Level(l), nil
		}
	}
	return 0, fmt.Errorf("unknown level %q (want none, may, encrypt, verify, secure, dane, dane-only or fingerprint)", s)
}

// String returns the level's name, "" when unset.
func (l Level) String() string {
	if l < 0 || int(l) >= len(levelNames) {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// RequiresTLS reports whether the level forbids plaintext delivery:
// encrypt and everything above it. A configured dane counts, but Decide
// turns it into may when the MX has no secure TLSA records.
func (l Level) RequiresTLS() bool {
	return l >= Encrypt
}
