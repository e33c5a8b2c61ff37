package smtpclient

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

// testPKI is a CA and a server certificate for one MX name, made in the test.
type testPKI struct {
	pool   *x509.CertPool
	server tls.Certificate
}

func newPKI(t testing.TB, name string) testPKI {
	t.Helper()
	ca := certtest.NewCA(t, "smtpclient test CA")
	return testPKI{pool: ca.Pool(), server: ca.Issue(t, certtest.Options{CommonName: name, DNSNames: []string{name}}).TLS()}
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
