package dane

import (
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

func TestUsable(t *testing.T) {
	h256, h512 := make([]byte, 32), make([]byte, 64)
	tests := []struct {
		rec TLSA
		why string // "" for usable
	}{
		{TLSA{3, 1, 1, h256}, ""},
		{TLSA{3, 0, 2, h512}, ""},
		{TLSA{2, 0, 0, []byte{0x30}}, ""},
		{TLSA{2, 1, 1, h256}, ""},
		{TLSA{0, 0, 1, h256}, "unsupported TLSA certificate usage 0"}, // PKIX-TA
		{TLSA{1, 1, 1, h256}, "unsupported TLSA certificate usage 1"}, // PKIX-EE
		{TLSA{4, 1, 1, h256}, "unsupported TLSA certificate usage 4"},
		{TLSA{3, 2, 1, h256}, "unsupported TLSA selector 2"},
		{TLSA{3, 1, 3, h256}, "unsupported TLSA matching type 3"},
		{TLSA{3, 1, 1, h512}, "malformed SHA2-256 digest, length 64"},
		{TLSA{3, 1, 2, h256}, "malformed SHA2-512 digest, length 32"},
		{TLSA{3, 0, 0, nil}, "empty TLSA certificate association data"},
		{TLSA{255, 255, 255, h256}, "unsupported TLSA certificate usage 255"},
	}
	for _, tc := range tests {
		usable, unusable := Usable([]TLSA{tc.rec}), Unusable([]TLSA{tc.rec})
		if got := WhyUnusable(tc.rec); got != tc.why {
			t.Errorf("WhyUnusable(%v) = %q, want %q", tc.rec, got, tc.why)
		}
		if (len(usable) == 1) != (tc.why == "") || len(usable)+len(unusable) != 1 {
			t.Errorf("%v: usable %v, unusable %v", tc.rec, usable, unusable)
		}
	}
}

func TestVerify(t *testing.T) {
	now := time.Now()
	root := certtest.NewCA(t, "DANE Root")
	inter := root.Intermediate(t, "DANE Intermediate")
	leaf := inter.Issue(t, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"mx.example.com"}})
	wild := inter.Issue(t, certtest.Options{CommonName: "x", DNSNames: []string{"*.example.com"}})
	cnOnly := inter.Issue(t, certtest.Options{CommonName: "MX.Example.COM"})
	sanAndCN := inter.Issue(t, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"other.example.net"}})
	expired := inter.Issue(t, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"mx.example.com"},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	selfSigned := certtest.SelfSigned(t, certtest.Options{CommonName: "whatever", Key: certtest.RSA})
	stranger := certtest.NewCA(t, "Other Root")

	chain := func(c *certtest.Cert, withRoot bool) []*x509.Certificate {
		out := append([]*x509.Certificate{c.Cert}, c.Chain...)
		if withRoot {
			out = append(out, root.Cert.Cert)
		}
		return out
	}
	names := []string{"mx.example.com", "example.com"}
	tests := []struct {
		name  string
		chain []*x509.Certificate
		recs  []TLSA
		names []string
		fail  string // substring of the error, "" for success
	}{
		{name: "EE SPKI SHA-256", chain: chain(leaf, false), recs: []TLSA{Record(leaf.Cert, DANEEE, SPKI, SHA256)}},
		{name: "EE full certificate SHA-512", chain: chain(leaf, false), recs: []TLSA{Record(leaf.Cert, DANEEE, Cert, SHA512)}},
		{name: "EE full certificate", chain: chain(leaf, false), recs: []TLSA{Record(leaf.Cert, DANEEE, Cert, Full)}},
		{name: "EE self-signed, any name", chain: chain(selfSigned, false), recs: []TLSA{Record(selfSigned.Cert, DANEEE, SPKI, SHA256)}},
		{name: "EE ignores expiry", chain: chain(expired, false), recs: []TLSA{Record(expired.Cert, DANEEE, SPKI, SHA256)}},
		{name: "EE among unusable and wrong records", chain: chain(leaf, false), recs: []TLSA{
			Record(leaf.Cert, PKIXEE, SPKI, SHA256), Record(wild.Cert, DANEEE, SPKI, SHA256), Record(leaf.Cert, DANEEE, SPKI, SHA512)}},
		{name: "EE does not match an intermediate", chain: chain(leaf, false), recs: []TLSA{Record(inter.Cert.Cert, DANEEE, SPKI, SHA256)},
			fail: "DANE: no TLSA record matched the server certificate chain"},
		{name: "TA intermediate in chain", chain: chain(leaf, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: names},
		{name: "TA root in chain", chain: chain(leaf, true), recs: []TLSA{Record(root.Cert.Cert, DANETA, SPKI, SHA256)}, names: names},
		{name: "TA root not in chain, hashed", chain: chain(leaf, false), recs: []TLSA{Record(root.Cert.Cert, DANETA, SPKI, SHA256)}, names: names,
			fail: "no TLSA record matched"},
		{name: "TA root not in chain, full certificate", chain: chain(leaf, false), recs: []TLSA{Record(root.Cert.Cert, DANETA, Cert, Full)}, names: names},
		{name: "TA root not in chain, full public key", chain: chain(leaf, false), recs: []TLSA{Record(root.Cert.Cert, DANETA, SPKI, Full)}, names: names},
		{name: "TA of another CA", chain: chain(leaf, false), recs: []TLSA{Record(stranger.Cert.Cert, DANETA, Cert, Full)}, names: names,
			fail: "does not verify from the TLSA trust anchor"},
		{name: "wrong digest", chain: chain(leaf, true), recs: []TLSA{{DANETA, SPKI, SHA256, make([]byte, sha256.Size)}, {DANEEE, SPKI, SHA256, make([]byte, sha256.Size)}}, names: names,
			fail: "no TLSA record matched"},
		{name: "expired leaf under TA", chain: chain(expired, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: names,
			fail: "expired"},
		{name: "name mismatch under TA", chain: chain(leaf, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: []string{"mx.example.org"},
			fail: "the server certificate is for mx.example.com, not mx.example.org"},
		{name: "next-hop domain name under TA", chain: chain(leaf, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: []string{"mx.other.net", "MX.EXAMPLE.COM."}},
		{name: "no names under TA", chain: chain(leaf, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)},
			fail: "no name"},
		{name: "wildcard one label", chain: chain(wild, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: names},
		{name: "wildcard not the bare domain", chain: chain(wild, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: []string{"example.com"},
			fail: "is for *.example.com"},
		{name: "wildcard not two labels", chain: chain(wild, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: []string{"a.b.example.com"},
			fail: "is for *.example.com"},
		{name: "CN when no SAN", chain: chain(cnOnly, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: names},
		{name: "CN ignored when SANs exist", chain: chain(sanAndCN, false), recs: []TLSA{Record(inter.Cert.Cert, DANETA, Cert, SHA256)}, names: names,
			fail: "is for other.example.net"},
		{name: "only PKIX records", chain: chain(leaf, true), recs: []TLSA{Record(leaf.Cert, PKIXEE, SPKI, SHA256), Record(root.Cert.Cert, PKIXTA, Cert, SHA256)},
			fail: "DANE: no usable TLSA records"},
		{name: "no certificate", recs: []TLSA{Record(leaf.Cert, DANEEE, SPKI, SHA256)}, fail: "no certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.chain, tc.recs, tc.names, now)
			if tc.fail == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				// Match names the record that matched: a usable one of recs.
				m, err := Match(tc.chain, tc.recs, tc.names, now)
				if err != nil || WhyUnusable(m) != "" || !slices.ContainsFunc(tc.recs, func(r TLSA) bool { return r.String() == m.String() }) {
					t.Fatalf("Match = %v, %v", m, err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Verify = %v, want *Error containing %q", err, tc.fail)
			}
			if !strings.Contains(err.Error(), tc.fail) || !strings.HasPrefix(err.Error(), "DANE: ") {
				t.Errorf("Verify = %q, want it to contain %q", err, tc.fail)
			}
		})
	}
}

func TestRecordString(t *testing.T) {
	r := TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{0xab, 0x01}}
	if got := r.String(); got != "3 1 1 ab01" {
		t.Errorf("String() = %q", got)
	}
}
