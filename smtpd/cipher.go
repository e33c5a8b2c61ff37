package smtpd

import (
	"crypto/tls"

	"github.com/qsend/qsend/tls/ciphers"
)

// cipherName is the cipher as qmail-tls names it in the Received line:
// OpenSSL's name (qmail-semantics.md §2.2, §8).
func cipherName(cs tls.ConnectionState) string {
	return ciphers.Name(cs.CipherSuite, cs.Version)
}
