package certrelay

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// handshake runs a real TLS handshake over TCP between a server that
// requests a certificate from relay's CAs and a client presenting chain,
// and returns the server's connection state and the CA names the client
// was offered.
func handshake(t *testing.T, relay *Relay, server *issued, chain ...*issued) (tls.ConnectionState, [][]byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvCert := tls.Certificate{Certificate: [][]byte{server.Cert.Raw}, PrivateKey: server.Key}
	type result struct {
		cs  tls.ConnectionState
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		// smtpd's configuration: request, do not require or verify.
		s := tls.Server(c, &tls.Config{
			Certificates: []tls.Certificate{srvCert},
			ClientAuth:   tls.RequestClientCert,
			ClientCAs:    relay.ClientCAs(),
		})
		err = s.Handshake()
		done <- result{s.ConnectionState(), err}
	}()
	var offered [][]byte
	var clientCert tls.Certificate
	for _, c := range chain {
		clientCert.Certificate = append(clientCert.Certificate, c.Cert.Raw)
	}
	if len(chain) > 0 {
		clientCert.PrivateKey = chain[0].Key
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl := tls.Client(conn, &tls.Config{
		InsecureSkipVerify: true, // the server's certificate is not under test
		GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			offered = cri.AcceptableCAs
			return &clientCert, nil
		},
	})
	if err := cl.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("server handshake: %v", r.err)
	}
	return r.cs, offered
}

// fixture is a control directory with a CA, certificates and a relay.
type fixture struct {
	dir    string
	clock  *clock
	relay  *Relay
	logs   *bytes.Buffer
	ca     *issued
	server *issued
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{dir: t.TempDir(), clock: &clock{t: testNow}, logs: &bytes.Buffer{}}
	f.ca = issue(t, certSpec{cn: "Test Client CA", ca: true}, nil)
	f.server = issue(t, certSpec{cn: "mx.example.com", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, f.ca)
	writeFile(t, f.dir, "clientca.pem", certPEM(f.ca))
	writeFile(t, f.dir, "tlsclients", []byte("# relay clients\ngood@example.com\nSan@Example.COM\nsub@example.com\n"))
	var err error
	f.relay, err = New(Options{ControlDir: f.dir, Now: f.clock.now, Logger: slog.New(slog.NewTextHandler(f.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCheck(t *testing.T) {
	f := newFixture(t)
	other := issue(t, certSpec{cn: "Other CA", ca: true}, nil)
	inter := issue(t, certSpec{cn: "Test Intermediate", ca: true}, f.ca)
	good := issue(t, certSpec{cn: "good", email: "good@example.com"}, f.ca)
	revoked := issue(t, certSpec{cn: "revoked", email: "good@example.com"}, f.ca)
	sub := issue(t, certSpec{cn: "sub", email: "sub@example.com"}, inter)
	writeFile(t, f.dir, "clientcrl.pem", append(
		crlOf(t, f.ca, testNow.Add(-time.Hour), testNow.Add(24*time.Hour), revoked),
		crlOf(t, inter, testNow.Add(-time.Hour), testNow.Add(24*time.Hour))...))

	tests := []struct {
		name  string
		chain []*issued
		email string // accepted with this address, or
		want  string // refused with this reason
	}{
		{"good", []*issued{good}, "good@example.com", ""},
		{"through an intermediate", []*issued{sub, inter}, "sub@example.com", ""},
		{"rfc822Name, any case", []*issued{issue(t, certSpec{cn: "san", sans: []string{"san@example.com"}}, f.ca)}, "san@example.com", ""},
		{"upper case subject address", []*issued{issue(t, certSpec{cn: "uc", email: "GOOD@EXAMPLE.COM"}, f.ca)}, "GOOD@EXAMPLE.COM", ""},
		{"unknown CA", []*issued{issue(t, certSpec{cn: "stranger", email: "good@example.com"}, other)}, "", "unable to get local issuer certificate"},
		{"unknown CA with its root", []*issued{issue(t, certSpec{cn: "stranger", email: "good@example.com"}, other), other}, "", "self signed certificate in certificate chain"},
		{"self-signed", []*issued{issue(t, certSpec{cn: "me", email: "good@example.com"}, nil)}, "", "self signed certificate"},
		{"revoked", []*issued{revoked}, "", "certificate revoked"},
		{"unlisted", []*issued{issue(t, certSpec{cn: "unlisted", email: "other@example.com"}, f.ca)}, "", "email address not in my list of tlsclients"},
		{"no address", []*issued{issue(t, certSpec{cn: "anonymous"}, f.ca)}, "", "contains no email address"},
		{"expired", []*issued{issue(t, certSpec{cn: "old", email: "good@example.com", notBefore: testNow.Add(-48 * time.Hour), notAfter: testNow.Add(-time.Hour)}, f.ca)}, "", "certificate has expired"},
		{"not yet valid", []*issued{issue(t, certSpec{cn: "new", email: "good@example.com", notBefore: testNow.Add(time.Hour)}, f.ca)}, "", "certificate is not yet valid"},
		{"server certificate", []*issued{issue(t, certSpec{cn: "srv", email: "good@example.com", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, f.ca)}, "", "unsupported certificate purpose"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !f.relay.Active() {
				t.Fatal("not active with tlsclients present")
			}
			cs, offered := handshake(t, f.relay, f.server, tt.chain...)
			if len(offered) != 1 || !bytes.Equal(offered[0], f.ca.Cert.RawSubject) {
				t.Errorf("client was offered CAs %q, want the client CA", offered)
			}
			email, err := f.relay.Check(cs)
			if tt.want == "" {
				if err != nil || email != tt.email {
					t.Fatalf("Check = %q, %v; want %q", email, err, tt.email)
				}
				return
			}
			var rej *Rejection
			if !errors.As(err, &rej) || err.Error() != tt.want || email != "" {
				t.Fatalf("Check = %q, %v; want a Rejection %q", email, err, tt.want)
			}
		})
	}
}

func TestCheckCRLProblems(t *testing.T) {
	f := newFixture(t)
	good := issue(t, certSpec{cn: "good", email: "good@example.com"}, f.ca)
	other := issue(t, certSpec{cn: "Test Client CA", ca: true}, nil) // same name, other key
	inter := issue(t, certSpec{cn: "Test Intermediate", ca: true}, f.ca)
	sub := issue(t, certSpec{cn: "sub", email: "sub@example.com"}, inter)
	tests := []struct {
		name  string
		crl   []byte // nil: no file
		chain []*issued
		want  string
	}{
		{"no CRL file", nil, []*issued{good}, ""},
		{"current CRL", crlOf(t, f.ca, testNow.Add(-time.Hour), testNow.Add(time.Hour)), []*issued{good}, ""},
		{"expired CRL", crlOf(t, f.ca, testNow.Add(-48*time.Hour), testNow.Add(-24*time.Hour)), []*issued{good}, "CRL has expired"},
		{"future CRL", crlOf(t, f.ca, testNow.Add(time.Hour), testNow.Add(48*time.Hour)), []*issued{good}, "CRL is not yet valid"},
		{"CRL signed by another key", crlOf(t, other, testNow.Add(-time.Hour), testNow.Add(time.Hour)), []*issued{good}, "CRL signature failure"},
		{"no CRL for the intermediate", crlOf(t, f.ca, testNow.Add(-time.Hour), testNow.Add(time.Hour)), []*issued{sub, inter}, "unable to get certificate CRL"},
		{"unparsable CRL file", []byte("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"), []*issued{good}, "unable to get certificate CRL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(filepath.Join(f.dir, "clientcrl.pem"))
			if tt.crl != nil {
				writeFile(t, f.dir, "clientcrl.pem", tt.crl)
			}
			f.clock.add(time.Second) // let the change be seen
			cs, _ := handshake(t, f.relay, f.server, tt.chain...)
			email, err := f.relay.Check(cs)
			if tt.want == "" {
				if err != nil || email == "" {
					t.Fatalf("Check = %q, %v; want accepted", email, err)
				}
				return
			}
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Check = %q, %v; want %q", email, err, tt.want)
			}
		})
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	os.Remove(filepath.Join(f.dir, "tlsclients"))
	good := issue(t, certSpec{cn: "good", email: "good@example.com"}, f.ca)
	cs, _ := handshake(t, f.relay, f.server, good)

	if f.relay.Active() {
		t.Fatal("active without tlsclients")
	}
	if _, err := f.relay.Check(cs); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Check without tlsclients = %v, want ErrNotConfigured", err)
	}

	writeFile(t, f.dir, "tlsclients", []byte("nobody@example.com\n"))
	if f.relay.Active() {
		t.Error("a new tlsclients was seen within a second")
	}
	f.clock.add(time.Second)
	if !f.relay.Active() {
		t.Fatal("tlsclients not seen after a second")
	}
	if _, err := f.relay.Check(cs); err == nil || err.Error() != "email address not in my list of tlsclients" {
		t.Fatalf("Check = %v, want unlisted", err)
	}

	writeFile(t, f.dir, "tlsclients", []byte("nobody@example.com\ngood@example.com\n"))
	f.clock.add(time.Second)
	if email, err := f.relay.Check(cs); err != nil || email != "good@example.com" {
		t.Fatalf("Check after adding the address = %q, %v", email, err)
	}

	// A new CA replaces the old one.
	ca2 := issue(t, certSpec{cn: "Second CA", ca: true}, nil)
	writeFile(t, f.dir, "clientca.pem", certPEM(ca2))
	f.clock.add(time.Second)
	if _, err := f.relay.Check(cs); err == nil || err.Error() != "unable to get local issuer certificate" {
		t.Fatalf("Check against the new CA = %v", err)
	}
	//lint:ignore SA1019 only to compare names; the pool holds no system roots
	subjects := f.relay.ClientCAs().Subjects()
	if len(subjects) != 1 || !bytes.Equal(subjects[0], ca2.Cert.RawSubject) {
		t.Error("ClientCAs does not hold the new CA")
	}

	// clientca.pem without certificates: refused, logged.
	writeFile(t, f.dir, "clientca.pem", []byte("not a certificate\n"))
	f.clock.add(time.Second)
	if f.relay.ClientCAs() != nil {
		t.Error("ClientCAs from a file without certificates")
	}
	if _, err := f.relay.Check(cs); !errors.Is(err, ErrNotConfigured) {
		t.Fatalf("Check = %v, want ErrNotConfigured", err)
	}
	if !bytes.Contains(f.logs.Bytes(), []byte("no certificate in clientca.pem")) {
		t.Errorf("not logged:\n%s", f.logs)
	}
}

func TestCheckWithoutCertificate(t *testing.T) {
	f := newFixture(t)
	cs, _ := handshake(t, f.relay, f.server)
	if _, err := f.relay.Check(cs); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("Check = %v, want ErrNoCertificate", err)
	}
}

func TestNewNeedsPaths(t *testing.T) {
	if _, err := New(Options{TLSClients: "/x/tlsclients"}); err == nil {
		t.Error("New without ControlDir or all paths succeeded")
	}
	r, err := New(Options{TLSClients: "/nonexistent/a", ClientCA: "/nonexistent/b", ClientCRL: "/nonexistent/c"})
	if err != nil || r.Active() {
		t.Errorf("New with explicit paths = %v, %v", r, err)
	}
}
