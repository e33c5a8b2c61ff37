package certrelay

import (
	"testing"
)

// FuzzParsePEM reads arbitrary clientca.pem and clientcrl.pem contents:
// no panic, and a pool only when certificates were found.
func FuzzParsePEM(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\ntrailing"))
	f.Add([]byte("no pem here"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pool, n := parseCerts(data)
		if pool == nil || n < 0 {
			t.Fatal("nil pool")
		}
		crls, bad := parseCRLs(data)
		if bad < 0 || len(crls)+bad > len(data) {
			t.Fatalf("%d CRLs and %d bad blocks in %d bytes", len(crls), bad, len(data))
		}
	})
}
