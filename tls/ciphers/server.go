package ciphers

import "strings"

// ServerDefault is the SMTP server's TLS 1.2 cipher string when
// tlsserverciphers is empty: ECDHE key exchange with an AEAD cipher
// (AES-GCM or ChaCha20-Poly1305) only. Go's defaults, and OpenSSL's
// DEFAULT that qmail-tls uses (qmail-tls qmail-smtpd.c tls_init()), also
// offer CBC suites, whose MAC-then-encrypt construction is open to padding
// oracles such as Lucky Thirteen (RFC 7457 §2.2); RFC 9325 §4.2 recommends
// only AEAD suites for TLS 1.2. TLS 1.3 suites, all AEAD, are not chosen
// by the list (see Parse).
const ServerDefault = "ECDHE+AESGCM:ECDHE+CHACHA20"

// ParseServer returns the SMTP server's TLS 1.2 suites for the cipher
// string s (tlsserverciphers, the lines joined with ':'): ServerDefault's
// when s is empty, else Parse(s), so that an administrator can widen the
// list for old clients ("DEFAULT" gives Go's defaults, CBC suites
// included).
func ParseServer(s string) ([]uint16, error) {
	if strings.TrimSpace(s) == "" {
		s = ServerDefault
	}
	return Parse(s)
}
