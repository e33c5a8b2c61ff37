package smtpclient

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// testPKI is a CA and a server certificate for one MX name, made in the test.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
}

func newPKI(t testing.TB, name string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtpclient test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return testPKI{pool: pool, server: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

func testOptions() Options {
	return Options{HeloHost: "client.example.test", Timeout: 5 * time.Second, ConnectTimeout: 5 * time.Second}
}

func dial(t testing.TB, s *smtptest.Server, o Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), s.Addr(), "mx.example.test", o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// script returns a Config.Reply that answers cmd (and, when match is not
// empty, only arguments containing match) with code and text.
type scripted struct {
	cmd, match string
	code       int
	text       string
}

func replies(rs ...scripted) func(cmd, arg string) (int, string) {
	return func(cmd, arg string) (int, string) {
		for _, r := range rs {
			if r.cmd == cmd && (r.match == "" || strings.Contains(arg, r.match)) {
				return r.code, r.text
			}
		}
		return 0, ""
	}
}

// rawServer accepts one connection on 127.0.0.x and hands it to serve.
func rawServer(t testing.TB, serve func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return netip.MustParseAddrPort(ln.Addr().String())
}

func states(rs []RcptResult) string {
	var b strings.Builder
	for i, r := range rs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.State.String())
	}
	return b.String()
}

func stringsReader(s string) *strings.Reader { return strings.NewReader(s) }

func mustAddr(t testing.TB, s string) netip.AddrPort {
	t.Helper()
	a, err := netip.ParseAddrPort(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }
