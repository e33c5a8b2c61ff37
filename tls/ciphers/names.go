package ciphers

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// Name returns the OpenSSL name of a cipher suite as qmail-tls writes it
// in Received lines and logs (qmail-tls qmail-smtpd.c tls_init(): SSL_get_cipher, e.g.
// "ECDHE-RSA-AES128-GCM-SHA256"); TLS 1.3 suites keep their IANA names
// ("TLS_AES_128_GCM_SHA256"), which OpenSSL uses too. Unknown suites are
// written as Go writes them ("0x1234").
func Name(id uint16, version uint16) string {
	for n, i := range tls13Names {
		if i == id {
			return n
		}
	}
	if version == tls.VersionTLS13 {
		return tls.CipherSuiteName(id)
	}
	for _, s := range suites {
		if s.id == id {
			return s.name
		}
	}
	return tls.CipherSuiteName(id)
}

// VersionName returns a protocol version as OpenSSL's SSL_get_version
// writes it: "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "SSLv3", or
// "unknown".
func VersionName(v uint16) string {
	switch v {
	case 0x0300: // SSLv3, which crypto/tls does not implement
		return "SSLv3"
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// ParseVersion reads a protocol version for a minimum-version setting:
// "TLSv1.2" as OpenSSL and Postfix write it, or "TLS1.2" or "1.2"; case
// does not matter. TLSv1 and TLSv1.1 are accepted, SSLv3 is not (Go does
// not implement it). An empty string is 0: crypto/tls's default minimum,
// TLS 1.2.
func ParseVersion(s string) (uint16, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimPrefix(v, "tls")
	v = strings.TrimPrefix(v, "v")
	switch v {
	case "":
		return 0, nil
	case "1", "1.0":
		return tls.VersionTLS10, nil
	case "1.1":
		return tls.VersionTLS11, nil
	case "1.2":
		return tls.VersionTLS12, nil
	case "1.3":
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("TLS version %q: want TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3", s)
}
