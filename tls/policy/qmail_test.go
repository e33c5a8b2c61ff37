package policy

import (
	"crypto/tls"
	"os"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// TestTLSHosts runs real handshakes under control/tlshosts/<host>.pem and
// checks qmail-tls's verification and texts (qmail-tls qmail-remote.c
// tls_init(), match_partner()).
func TestTLSHosts(t *testing.T) {
	now := time.Now()
	ca := certtest.NewCA(t, "Test CA")
	other := certtest.NewCA(t, "Other CA")
	inter := ca.Intermediate(t, "Test Intermediate")
	issue := func(o certtest.Options) *certtest.Cert { return ca.Issue(t, o) }
	selfSigned := certtest.SelfSigned(t, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"mx.example.com"}})
	chained := inter.Issue(t, certtest.Options{DNSNames: []string{"mx.example.com"}})
	noIntermediate := chained.TLS()
	noIntermediate.Certificate = noIntermediate.Certificate[:1]

	const pemFail = "TLS unable to verify server with control/tlshosts/mx.example.com.pem: "
	tests := []struct {
		name string
		host string
		pem  []byte
		cert tls.Certificate
		want string // "" for success
	}{
		{name: "right CA", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}}).TLS()},
		{name: "right CA, RSA key", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}, Key: certtest.RSA}).TLS()},
		{name: "intermediate sent", host: "mx.example.com", pem: ca.PEM(), cert: chained.TLS()},
		{name: "intermediate not sent", host: "mx.example.com", pem: ca.PEM(), cert: noIntermediate, want: pemFail + "unable to get local issuer certificate"},
		{name: "intermediate in the pem", host: "mx.example.com", pem: append(ca.PEM(), inter.PEM()...), cert: noIntermediate},
		{name: "wrong CA", host: "mx.example.com", pem: other.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}}).TLS(), want: pemFail + "unable to get local issuer certificate"},
		{name: "self-signed server in the pem", host: "mx.example.com", pem: certtest.CertsPEM(selfSigned.Cert), cert: selfSigned.TLS()},
		{name: "self-signed server, other pem", host: "mx.example.com", pem: ca.PEM(), cert: selfSigned.TLS(), want: pemFail + "self signed certificate"},
		{name: "expired", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)}).TLS(),
			want: pemFail + "certificate has expired"},
		{name: "not yet valid", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)}).TLS(),
			want: pemFail + "certificate is not yet valid"},
		{name: "name mismatch", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "other.example.com", DNSNames: []string{"other.example.com"}}).TLS(),
			want: "TLS unable to verify server mx.example.com: received certificate for other.example.com"},
		{name: "wildcard, one label", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "*.example.com", DNSNames: []string{"*.example.com"}}).TLS()},
		{name: "wildcard, bare domain", host: "example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "*.example.com", DNSNames: []string{"*.example.com"}}).TLS(),
			want: "TLS unable to verify server example.com: received certificate for *.example.com"},
		{name: "wildcard, two labels", host: "a.b.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "*.example.com", DNSNames: []string{"*.example.com"}}).TLS(),
			want: "TLS unable to verify server a.b.example.com: received certificate for *.example.com"},
		{name: "case does not matter", host: "MX.Example.COM", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"mx.example.com"}}).TLS()},
		{name: "SAN no match, then CN", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"www.example.com"}}).TLS()},
		{name: "wildcard CN without SAN", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "*.example.com"}).TLS()},
		{name: "SAN no match, no CN", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{DNSNames: []string{"www.example.com"}}).TLS(),
			want: "TLS unable to verify server mx.example.com: certificate contains no valid commonName"},
		{name: "CN with a space", host: "mx.example.com", pem: ca.PEM(), cert: issue(certtest.Options{CommonName: "mx evil.example.com"}).TLS(),
			want: "TLS unable to verify server mx.example.com: received certificate for mx?evil.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "tlshosts/"+tc.host+".pem", tc.pem)
			e := newEngine(t, Options{ControlDir: dir})
			d, err := e.Decide(Input{Domain: "example.com", Host: tc.host})
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if d.Level != Verify || d.Source != "tlshosts/"+tc.host+".pem" || !d.Required() {
				t.Fatalf("decision %v from %q, required %v", d.Level, d.Source, d.Required())
			}
			r := handshake(t, d.ClientConfig(tc.host), server{cert: tc.cert})
			if got := failureText(t, r.err); got != tc.want {
				t.Errorf("handshake: %q\nwant       %q", got, tc.want)
			}
		})
	}
}

func TestTLSHostsFiles(t *testing.T) {
	ca := certtest.NewCA(t, "Test CA")
	dir := t.TempDir()
	e := newEngine(t, Options{ControlDir: dir})
	decide := func(in Input) (Decision, string) {
		t.Helper()
		d, err := e.Decide(in)
		return d, failureText(t, err)
	}
	in := Input{Domain: "example.com", Host: "mx.example.com"}

	if d, _ := decide(in); d.Level != May || d.Source != "default" {
		t.Fatalf("no files: %v from %s", d.Level, d.Source)
	}
	// A pem created now applies to the next decision, without a reload.
	pem := write(t, dir, "tlshosts/mx.example.com.pem", ca.PEM())
	if d, _ := decide(in); d.Source != "tlshosts/mx.example.com.pem" {
		t.Fatalf("new pem: source %s", d.Source)
	}
	// File names are case-sensitive: another spelling of the host is
	// another file.
	if d, _ := decide(Input{Domain: "example.com", Host: "MX.example.com"}); d.Source != "default" {
		t.Errorf("MX.example.com used %s", d.Source)
	}
	// An IP literal consults no file, even with exhaustivelist.
	write(t, dir, "tlshosts/exhaustivelist", nil)
	write(t, dir, "tlshosts/192.0.2.1.pem", ca.PEM())
	for _, h := range []string{"", "192.0.2.1", "[192.0.2.1]", "2001:db8::1"} {
		if d, _ := decide(Input{Domain: "[192.0.2.1]", Host: h}); d.Source != "default" || d.Level != May {
			t.Errorf("IP literal %q: %v from %s", h, d.Level, d.Source)
		}
	}
	// exhaustivelist: no TLS for hosts without a pem.
	if d, _ := decide(Input{Domain: "example.org", Host: "mx.example.org"}); d.Level != None || d.Source != "exhaustivelist" || d.ClientConfig("mx.example.org") != nil {
		t.Errorf("exhaustivelist: %v from %s", d.Level, d.Source)
	}
	// notlshosts/<host>: no TLS.
	write(t, dir, "notlshosts/mx.example.net", nil)
	if d, _ := decide(Input{Domain: "example.net", Host: "mx.example.net"}); d.Level != None || d.Source != "notlshosts/mx.example.net" {
		t.Errorf("notlshosts: %v from %s", d.Level, d.Source)
	}
	// A path in a host name consults no file.
	if d, _ := decide(Input{Domain: "example.net", Host: "../mx.example.com"}); d.Source != "default" {
		t.Errorf("../mx.example.com used %s", d.Source)
	}
	// A pem that does not load defers before connecting.
	if err := os.WriteFile(pem, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, text := decide(in)
	if want := "TLS unable to load control/tlshosts/mx.example.com.pem: " + pem + ": no certificate"; text != want {
		t.Errorf("broken pem: %q, want %q", text, want)
	}
	if d.Source != "tlshosts/mx.example.com.pem" {
		t.Errorf("broken pem: source %s", d.Source)
	}
	// Texts for a missing or refused STARTTLS.
	if err := os.WriteFile(pem, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	d, _ = decide(in)
	if got, want := d.NoTLSText(), "No TLS achieved while control/tlshosts/mx.example.com.pem exists"; got != want {
		t.Errorf("NoTLSText = %q, want %q", got, want)
	}
	if got, want := d.RejectedText(), "STARTTLS rejected while control/tlshosts/mx.example.com.pem exists"; got != want {
		t.Errorf("RejectedText = %q, want %q", got, want)
	}
}
