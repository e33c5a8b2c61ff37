package dane

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// FuzzVerify feeds arbitrary TLSA records, which come from the network,
// to Verify against a fixed chain: it must not panic, and a record that is
// neither derived from the chain nor a trust anchor for it must not pass.
func FuzzVerify(f *testing.F) {
	root := certtest.NewCA(f, "Fuzz Root")
	leaf := root.Issue(f, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"mx.example.com"}})
	chain := []*x509.Certificate{leaf.Cert}
	for _, r := range []TLSA{
		Record(leaf.Cert, DANEEE, SPKI, SHA256),
		Record(root.Cert.Cert, DANETA, Cert, Full),
		Record(root.Cert.Cert, DANETA, SPKI, Full),
		{DANEEE, Cert, SHA512, make([]byte, 64)},
	} {
		f.Add(r.Usage, r.Selector, r.MatchingType, r.Data)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, usage, selector, matching uint8, data []byte) {
		r := TLSA{usage, selector, matching, data}
		err := Verify(chain, []TLSA{r}, []string{"mx.example.com"}, now)
		if err == nil && len(Usable([]TLSA{r})) == 0 {
			t.Fatalf("unusable record %v passed", r)
		}
	})
}
