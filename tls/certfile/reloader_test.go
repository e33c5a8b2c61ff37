package certfile

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

// clock is a settable time for a Reloader under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// replace writes data to path through a rename, as an installer does.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestReloader(t *testing.T) {
	ca := certtest.NewCA(t, "Root")
	first := ca.Issue(t, certtest.Options{CommonName: "first.example.com"})
	second := ca.Issue(t, certtest.Options{CommonName: "second.example.com", Key: certtest.Ed25519})
	path := filepath.Join(t.TempDir(), "servercert.pem")
	var logs bytes.Buffer
	r := NewReloader(path, slog.New(slog.NewTextHandler(&logs, nil)))
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	r.now = clk.now

	leafCN := func() string {
		c, err := r.GetCertificate(nil)
		if err != nil {
			return "error: " + err.Error()
		}
		return c.Leaf.Subject.CommonName
	}
	type step struct {
		name    string
		do      func()
		advance time.Duration
		present bool
		cn      string // leaf CN, or a prefix of "error: ..."
	}
	steps := []step{
		{name: "missing file", present: false, cn: "error: stat "},
		{name: "file appears, within the second", do: func() { first.WriteFile(t, path) }, advance: 500 * time.Millisecond, present: false, cn: "error: stat "},
		{name: "a second later", advance: 500 * time.Millisecond, present: true, cn: "first.example.com"},
		{name: "replaced, not yet looked at", do: func() { replace(t, path, cat(second.CertPEM(), second.KeyPEM(t))) }, advance: 10 * time.Millisecond, present: true, cn: "first.example.com"},
		{name: "replaced, looked at", advance: time.Second, present: true, cn: "second.example.com"},
		{name: "broken file keeps the last good one", do: func() { replace(t, path, second.CertPEM()) }, advance: time.Second, present: true, cn: "second.example.com"},
		{name: "still broken", advance: time.Second, present: true, cn: "second.example.com"},
		{name: "fixed", do: func() { replace(t, path, cat(first.CertPEM(), first.KeyPEM(t))) }, advance: time.Second, present: true, cn: "first.example.com"},
		{name: "removed", do: func() { os.Remove(path) }, advance: time.Second, present: false, cn: "error: stat "},
		{name: "broken from the start", do: func() { replace(t, path, []byte("junk")) }, advance: time.Second, present: false, cn: "error: " + path + ": no certificate"},
		{name: "back", do: func() { replace(t, path, cat(second.CertPEM(), second.KeyPEM(t))) }, advance: time.Second, present: true, cn: "second.example.com"},
	}
	for _, s := range steps {
		if s.do != nil {
			s.do()
		}
		clk.advance(s.advance)
		if got := r.Present(); got != s.present {
			t.Errorf("%s: Present() = %v, want %v", s.name, got, s.present)
		}
		if got := leafCN(); !strings.HasPrefix(got, s.cn) {
			t.Errorf("%s: certificate %q, want %q", s.name, got, s.cn)
		}
	}
	if n := strings.Count(logs.String(), "does not load; keeping the previous certificate"); n != 1 {
		t.Errorf("the broken file was logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestReloaderClientCertificate(t *testing.T) {
	ca := certtest.NewCA(t, "Root")
	client := ca.Issue(t, certtest.Options{CommonName: "client.example.com"})
	dir := t.TempDir()
	path := filepath.Join(dir, "clientcert.pem")

	r := NewReloader(path, nil)
	c, err := r.GetClientCertificate(nil)
	if err != nil || len(c.Certificate) != 0 {
		t.Fatalf("missing file: %v, %d certificates; want none and no error", err, len(c.Certificate))
	}
	client.WriteFile(t, path)
	r = NewReloader(path, nil)
	c, err = r.GetClientCertificate(nil)
	if err != nil || len(c.Certificate) != 1 {
		t.Fatalf("GetClientCertificate: %v, %d certificates", err, len(c.Certificate))
	}
}

// TestReloaderHandshake serves a loaded servercert.pem over a real TLS
// connection, asks for a clientcert.pem, and checks what each side saw.
func TestReloaderHandshake(t *testing.T) {
	ca := certtest.NewCA(t, "Root")
	inter := ca.Intermediate(t, "Intermediate")
	server := inter.Issue(t, certtest.Options{CommonName: "mx.example.com", DNSNames: []string{"mx.example.com"}, Key: certtest.RSA})
	client := ca.Issue(t, certtest.Options{CommonName: "relay.example.org"})
	dir := t.TempDir()
	srv := NewReloader(server.WriteFile(t, filepath.Join(dir, "servercert.pem")), nil)
	cli := NewReloader(client.WriteFile(t, filepath.Join(dir, "clientcert.pem")), nil)

	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	done := make(chan error, 1)
	var seen []*x509.Certificate
	go func() {
		s := tls.Server(c1, &tls.Config{GetCertificate: srv.GetCertificate, ClientAuth: tls.RequestClientCert})
		err := s.Handshake()
		seen = s.ConnectionState().PeerCertificates
		done <- err
	}()
	cc := tls.Client(c2, &tls.Config{RootCAs: ca.Pool(), ServerName: "mx.example.com", GetClientCertificate: cli.GetClientCertificate})
	if err := cc.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	if len(seen) != 1 || seen[0].Subject.CommonName != "relay.example.org" {
		t.Errorf("server saw client certificates %v", seen)
	}
	if got := cc.ConnectionState().PeerCertificates; len(got) != 2 {
		t.Errorf("client saw %d certificates, want leaf and intermediate", len(got))
	}
}
