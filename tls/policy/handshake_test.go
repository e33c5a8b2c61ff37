package policy

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/dane"
)

// TestLevelsHandshake runs real handshakes under the table's levels, DANE
// and MTA-STS, and checks what passes and the failure texts.
func TestLevelsHandshake(t *testing.T) {
	now := time.Now()
	ca := certtest.NewCA(t, "Public CA")
	private := certtest.NewCA(t, "Private CA")
	inter := ca.Intermediate(t, "Public Intermediate")
	dir := t.TempDir()
	privateFile := private.WritePEM(t, filepath.Join(dir, "private.pem"))

	mx := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	mxChained := inter.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	mxPrivate := private.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	cnOnly := ca.Issue(t, certtest.Options{CommonName: "mx.example.com"})
	wild := ca.Issue(t, certtest.Options{DNSNames: []string{"*.example.com"}})
	otherName := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.net"}})
	expired := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	selfSigned := certtest.SelfSigned(t, certtest.Options{DNSNames: []string{"whatever.invalid"}})

	certPin := func(c *certtest.Cert) string {
		h := sha256.Sum256(c.Cert.Raw)
		return "sha256:" + hex.EncodeToString(h[:])
	}
	spkiPin := func(c *certtest.Cert) string {
		h := sha256.Sum256(c.Cert.RawSubjectPublicKeyInfo)
		return "spki-sha256:" + strings.ToUpper(hex.EncodeToString(h[:]))
	}
	compile := func(spec RuleSpec) Rule {
		r, err := CompileRule("example.com", spec)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ee := func(c *certtest.Cert) []dane.TLSA {
		return []dane.TLSA{dane.Record(c.Cert, dane.DANEEE, dane.SPKI, dane.SHA256)}
	}
	ta := []dane.TLSA{dane.Record(inter.Cert.Cert, dane.DANETA, dane.Cert, dane.SHA256)}
	enforce := &STS{Mode: "enforce", MX: []string{"mx.example.com"}}
	testingSTS := &STS{Mode: "testing", MX: []string{"mx.example.com"}}

	const fail = "TLS unable to verify server mx.example.com: "
	tests := []struct {
		name  string
		rule  *Rule // table entry for example.com
		in    Input // Domain and Host default to example.com, mx.example.com
		cert  *certtest.Cert
		level Level
		want  string
	}{
		{name: "may accepts anything", rule: &Rule{Level: May}, cert: selfSigned, level: May},
		{name: "encrypt accepts anything", rule: &Rule{Level: Encrypt}, cert: expired, level: Encrypt},
		{name: "verify, right roots", rule: &Rule{Level: Verify}, cert: mxChained, level: Verify},
		{name: "verify, cafile", rule: ptr(compile(RuleSpec{Level: "verify", CAFile: privateFile})), cert: mxPrivate, level: Verify},
		{name: "verify, cafile excludes the engine's roots", rule: ptr(compile(RuleSpec{Level: "verify", CAFile: privateFile})), cert: mx, level: Verify,
			want: fail + "unable to get local issuer certificate"},
		{name: "verify, wrong CA", rule: &Rule{Level: Verify}, cert: mxPrivate, level: Verify, want: fail + "unable to get local issuer certificate"},
		{name: "verify, self-signed", rule: &Rule{Level: Verify}, cert: selfSigned, level: Verify, want: fail + "self signed certificate"},
		{name: "verify, expired", rule: &Rule{Level: Verify}, cert: expired, level: Verify, want: fail + "certificate has expired"},
		{name: "verify, name mismatch", rule: &Rule{Level: Verify}, cert: otherName, level: Verify, want: fail + "received certificate for mx.example.net"},
		{name: "verify, CN is not used", rule: &Rule{Level: Verify}, cert: cnOnly, level: Verify, want: fail + "received certificate for mx.example.com"},
		{name: "verify, wildcard", rule: &Rule{Level: Verify}, cert: wild, level: Verify},
		{name: "verify, match names", rule: ptr(compile(RuleSpec{Level: "verify", Match: []string{"mx.example.net"}})), cert: otherName, level: Verify},
		{name: "secure, dot-nexthop", rule: &Rule{Level: Secure}, cert: mx, level: Secure},
		{name: "secure, not the MX name", rule: &Rule{Level: Secure}, in: Input{Host: "mx.example.net"}, cert: otherName, level: Secure,
			want: "TLS unable to verify server mx.example.net: received certificate for mx.example.net"},
		{name: "secure, nexthop only", rule: ptr(compile(RuleSpec{Level: "secure", Match: []string{"nexthop"}})), cert: mx, level: Secure,
			want: fail + "received certificate for mx.example.com"},
		{name: "fingerprint, certificate", rule: ptr(compile(RuleSpec{Level: "fingerprint", Pins: []string{certPin(selfSigned)}})), cert: selfSigned, level: Fingerprint},
		{name: "fingerprint, public key", rule: ptr(compile(RuleSpec{Level: "fingerprint", Pins: []string{certPin(mx), spkiPin(expired)}})), cert: expired, level: Fingerprint},
		{name: "fingerprint mismatch", rule: ptr(compile(RuleSpec{Level: "fingerprint", Pins: []string{certPin(mx)}})), cert: otherName, level: Fingerprint,
			want: fail + "fingerprint mismatch (certificate " + certPin(otherName)},
		{name: "DANE-EE", in: Input{TLSA: ee(selfSigned), TLSASecure: true}, cert: selfSigned, level: Dane},
		{name: "DANE-EE mismatch", in: Input{TLSA: ee(mx), TLSASecure: true}, cert: otherName, level: Dane,
			want: fail + "DANE: no TLSA record matched the server certificate chain"},
		{name: "DANE-TA", in: Input{TLSA: ta, TLSASecure: true}, cert: mxChained, level: Dane},
		{name: "DANE-TA, next-hop name", in: Input{Domain: "example.com", Host: "mx.example.net", TLSA: ta, TLSASecure: true}, cert: mxChained, level: Dane,
			want: "TLS unable to verify server mx.example.net: DANE: the server certificate is for mx.example.com, not mx.example.net or example.com"},
		{name: "DANE over a table dane-only", rule: &Rule{Level: DaneOnly}, in: Input{TLSA: ee(mx), TLSASecure: true}, cert: mx, level: Dane},
		{name: "MTA-STS enforce", in: Input{STS: enforce}, cert: mxChained, level: Verify},
		{name: "MTA-STS enforce, bad certificate", in: Input{STS: enforce}, cert: selfSigned, level: Verify, want: fail + "MTA-STS: self signed certificate"},
		{name: "MTA-STS enforce, wrong name", in: Input{STS: enforce}, cert: otherName, level: Verify, want: fail + "MTA-STS: received certificate for mx.example.net"},
		{name: "MTA-STS testing does not fail", in: Input{STS: testingSTS}, cert: selfSigned, level: Verify},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{RootCAs: ca.Pool()}
			if tc.rule != nil {
				o.Table = map[string]Rule{"example.com": *tc.rule}
			}
			e := newEngine(t, o)
			in := tc.in
			if in.Domain == "" {
				in.Domain = "example.com"
			}
			if in.Host == "" {
				in.Host = "mx.example.com"
			}
			d, err := e.Decide(in)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Level != tc.level {
				t.Fatalf("level %v from %s, want %v", d.Level, d.Source, tc.level)
			}
			r := handshake(t, d.ClientConfig(in.Host), server{cert: tc.cert.TLS()})
			got := failureText(t, r.err)
			if got != tc.want && !(tc.want != "" && strings.HasPrefix(got, tc.want)) {
				t.Errorf("handshake: %q\nwant       %q", got, tc.want)
			}
			if d.Testing && r.err == nil && d.Check(r.state) == nil {
				t.Error("testing mode: Check did not report the bad certificate")
			}
		})
	}
}

func ptr(r Rule) *Rule { return &r }

// TestClientCertificate checks that clientcert.pem is presented when the
// server asks, and that a missing file sends none.
func TestClientCertificate(t *testing.T) {
	ca := certtest.NewCA(t, "CA")
	srv := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	client := ca.Issue(t, certtest.Options{CommonName: "relay.example.org"})
	dir := t.TempDir()
	e := newEngine(t, Options{ControlDir: dir})
	d, _ := e.Decide(Input{Domain: "example.com", Host: "mx.example.com"})
	r := handshake(t, d.ClientConfig(""), server{cert: srv.TLS(), askClient: true})
	if r.err != nil || len(r.clientSeen) != 0 {
		t.Fatalf("without clientcert.pem: %v, %d certificates", r.err, len(r.clientSeen))
	}
	client.WriteFile(t, filepath.Join(dir, "clientcert.pem"))
	e = newEngine(t, Options{ControlDir: dir})
	d, _ = e.Decide(Input{Domain: "example.com", Host: "mx.example.com"})
	r = handshake(t, d.ClientConfig(""), server{cert: srv.TLS(), askClient: true})
	if r.err != nil || len(r.clientSeen) != 1 || r.clientSeen[0].Subject.CommonName != "relay.example.org" {
		t.Fatalf("with clientcert.pem: %v, %v", r.err, r.clientSeen)
	}
	r = handshake(t, d.ClientConfig(""), server{cert: srv.TLS()})
	if r.err != nil || len(r.clientSeen) != 0 {
		t.Fatalf("server did not ask: %v, %d certificates", r.err, len(r.clientSeen))
	}
}

// TestCiphersAndVersions checks that the rule's or the engine's ciphers,
// minimum version and SNI name reach the handshake.
func TestCiphersAndVersions(t *testing.T) {
	ca := certtest.NewCA(t, "CA")
	ecdsa := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	rsaCert := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}, Key: certtest.RSA})
	engineCiphers := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}
	rule, err := CompileRule("example.com", RuleSpec{Level: "encrypt", Ciphers: "ECDHE-RSA-CHACHA20-POLY1305", ServerName: "sni.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, Options{ClientCiphers: engineCiphers, Table: map[string]Rule{"example.com": rule}})

	d, _ := e.Decide(Input{Domain: "example.org", Host: "mx.example.org"})
	r := handshake(t, d.ClientConfig("mx.example.org"), server{cert: ecdsa.TLS(), maxVersion: tls.VersionTLS12})
	if r.err != nil || r.state.CipherSuite != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 || r.state.ServerName != "mx.example.org" {
		t.Errorf("engine ciphers: %v, suite %#04x, SNI %q", r.err, r.state.CipherSuite, r.state.ServerName)
	}
	d, _ = e.Decide(Input{Domain: "example.com", Host: "mx.example.com"})
	cfg := d.ClientConfig("mx.example.com")
	if cfg.ServerName != "sni.example.com" {
		t.Errorf("SNI %q, want the rule's servername", cfg.ServerName)
	}
	r = handshake(t, cfg, server{cert: rsaCert.TLS(), maxVersion: tls.VersionTLS12})
	if r.err != nil || r.state.CipherSuite != tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Errorf("rule ciphers: %v, suite %#04x", r.err, r.state.CipherSuite)
	}
	// The rule's suite needs an RSA certificate: an ECDSA server has no
	// common suite, and the handshake fails rather than using another.
	if r = handshake(t, cfg, server{cert: ecdsa.TLS(), maxVersion: tls.VersionTLS12}); r.err == nil {
		t.Error("a cipher outside the rule was used")
	}
	// The minimum version holds: TLS 1.2 by default, so a TLS 1.1 server fails.
	if r = handshake(t, cfg, server{cert: rsaCert.TLS(), maxVersion: tls.VersionTLS11}); r.err == nil {
		t.Error("TLS 1.1 accepted under the default minimum")
	}
}

func TestClassify(t *testing.T) {
	ca := certtest.NewCA(t, "CA")
	good := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	selfSigned := certtest.SelfSigned(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	e := newEngine(t, Options{RootCAs: ca.Pool()})
	d, _ := e.Decide(Input{Domain: "example.com", Host: "mx.example.com"})
	for _, tc := range []struct {
		cert *certtest.Cert
		want string
	}{{good, Verified}, {selfSigned, Unverified}} {
		r := handshake(t, d.ClientConfig(""), server{cert: tc.cert.TLS()})
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := d.Classify(r.state); got != tc.want {
			t.Errorf("Classify = %q, want %q", got, tc.want)
		}
	}
	if got := d.Classify(tls.ConnectionState{}); got != Unverified {
		t.Errorf("no certificate: %q", got)
	}
}

// TestVerification checks what a session's log says of its verification:
// the level, its source, verified or not, and the TLSA record that matched.
func TestVerification(t *testing.T) {
	ca := certtest.NewCA(t, "CA")
	good := ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	selfSigned := certtest.SelfSigned(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	e := newEngine(t, Options{RootCAs: ca.Pool(), Table: map[string]Rule{"verify.example": {Level: Verify}}})
	ta := dane.Record(ca.Cert.Cert, dane.DANETA, dane.Cert, dane.Full)
	ee := dane.Record(selfSigned.Cert, dane.DANEEE, dane.SPKI, dane.SHA256)
	tests := []struct {
		in   Input
		cert *certtest.Cert
		want string
	}{
		{Input{Domain: "example.com"}, good, "verified under may from default"},
		{Input{Domain: "example.com"}, selfSigned, "unverified under may from default"},
		{Input{Domain: "verify.example"}, good, "verified under verify from table:verify.example"},
		{Input{Domain: "example.com", TLSASecure: true, TLSA: []dane.TLSA{ta, ee}}, selfSigned, "verified under dane from dane (TLSA 3 1 1)"},
		{Input{Domain: "example.com", TLSASecure: true, TLSA: []dane.TLSA{ee, ta}, STS: &STS{Mode: "enforce", MX: []string{"mx.example.com"}}}, good, "verified under dane from dane (TLSA 2 0 0)"},
		{Input{Domain: "example.com", TLSASecure: true, TLSA: []dane.TLSA{{Usage: dane.PKIXEE, Selector: 1, MatchingType: 1, Data: make([]byte, 32)}}}, selfSigned, "unverified under encrypt from dane"},
	}
	for _, tc := range tests {
		in := tc.in
		in.Host = "mx.example.com"
		d, err := e.Decide(in)
		if err != nil {
			t.Fatal(err)
		}
		r := handshake(t, d.ClientConfig(""), server{cert: tc.cert.TLS()})
		if r.err != nil {
			t.Fatalf("%s: %v", tc.want, r.err)
		}
		if got := d.Verification(r.state).String(); got != tc.want {
			t.Errorf("Verification = %q, want %q", got, tc.want)
		}
	}
}
