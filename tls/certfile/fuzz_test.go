package certfile

import (
	"crypto"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// FuzzLoad feeds arbitrary bytes to the certificate file and CA file
// parsers: they must not panic, and a certificate they accept must come
// with the key of its leaf.
func FuzzLoad(f *testing.F) {
	ca := certtest.NewCA(f, "Fuzz Root")
	leaf := ca.Issue(f, certtest.Options{CommonName: "mx.example.com"})
	f.Add(append(leaf.CertPEM(), leaf.KeyPEM(f)...))
	f.Add(ca.PEM())
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.pem", data)
		if err == nil {
			if c.Leaf == nil || c.PrivateKey == nil || len(c.Certificate) == 0 {
				t.Fatalf("accepted without leaf or key: %+v", c)
			}
			if !samePublic(c.PrivateKey.(crypto.Signer), c.Leaf) {
				t.Fatal("accepted a key that does not match the leaf")
			}
		}
		_, _ = parsePool("fuzz.pem", data)
	})
}
