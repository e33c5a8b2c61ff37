package certfile

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Errors a certificate file can have; Load wraps them with the file name.
var (
	ErrNoCertificate = errors.New("no certificate")
	ErrNoKey         = errors.New("no private key")
	ErrKeyMismatch   = errors.New("key does not match certificate")
)

// Load reads a certificate chain and its private key from one PEM file, as
// qmail-tls reads servercert.pem and clientcert.pem
// (SSL_CTX_use_certificate_chain_file then the key from the same file;
// qmail-tls qmail-remote.c and qmail-smtpd.c tls_init()). The server's own
// certificate comes first, then its intermediates; the key may be anywhere in
// the file and may be RSA (PKCS#1 or PKCS#8), ECDSA (SEC1 or PKCS#8) or
// Ed25519 (PKCS#8). qmail-tls took RSA keys only; the others are accepted as
// well. Encrypted keys are refused: nobody is there to type a passphrase.
func Load(path string) (tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, err
	}
	return parse(path, data)
}

// parse does Load's work on the file's bytes; name is used in errors.
func parse(name string, data []byte) (tls.Certificate, error) {
	var (
		out   tls.Certificate
		certs []*x509.Certificate
		key   crypto.Signer
	)
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("%s: certificate %d: %w", name, len(certs)+1, err)
			}
			certs = append(certs, c)
			out.Certificate = append(out.Certificate, b.Bytes)
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			if key != nil {
				return tls.Certificate{}, fmt.Errorf("%s: more than one private key", name)
			}
			k, err := parseKey(b)
			if err != nil {
				return tls.Certificate{}, fmt.Errorf("%s: %w", name, err)
			}
			key = k
		}
		// Other blocks (EC PARAMETERS from openssl ecparam, DH
		// PARAMETERS, CRLs) are not ours to read.
	}
	if len(certs) == 0 {
		return tls.Certificate{}, fmt.Errorf("%s: %w", name, ErrNoCertificate)
	}
	if key == nil {
		return tls.Certificate{}, fmt.Errorf("%s: %w", name, ErrNoKey)
	}
	if !samePublic(key, certs[0]) {
		for i, c := range certs[1:] {
			if samePublic(key, c) {
				return tls.Certificate{}, fmt.Errorf("%s: %w: the key belongs to certificate %d (%s); the server's own certificate must come first",
					name, ErrKeyMismatch, i+2, c.Subject)
			}
		}
		return tls.Certificate{}, fmt.Errorf("%s: %w (%s)", name, ErrKeyMismatch, certs[0].Subject)
	}
	out.PrivateKey = key
	out.Leaf = certs[0]
	return out, nil
}

// parseKey reads one private key block.
func parseKey(b *pem.Block) (crypto.Signer, error) {
	if b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errors.New("the private key is encrypted; store it without a passphrase")
	}
	var (
		k   any
		err error
	)
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, fmt.Errorf("private key: type %T cannot sign for TLS", k)
}

// samePublic reports whether key is the private half of c's public key.
func samePublic(key crypto.Signer, c *x509.Certificate) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(c.PublicKey)
}
