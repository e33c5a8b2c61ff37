package smtpd

import (
	"crypto/tls"

	"github.com/qsend/qsend/tls/ciphers"
)

// cipherName is the cipher as qmail-tls names it in the Received line:
// OpenSSL's name (qmail-tls qmail-smtpd.c tls_init(), SSL_get_cipher).
func cipherName(cs tls.ConnectionState) string {
	return ciphers.Name(cs.CipherSuite, cs.Version)
}
