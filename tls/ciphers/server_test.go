package ciphers

import (
	"crypto/tls"
	"net"
	"slices"
	"testing"

	"github.com/qsend/qsend/tls/certfile/certtest"
)

func TestServerDefaultIsAEADOnly(t *testing.T) {
	got, err := ParseServer("")
	if err != nil {
		t.Fatal(err)
	}
	want := ids(t, "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
		"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
		"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305")
	if !slices.Equal(got, want) {
		t.Errorf("ParseServer(\"\") = %v, want %v", got, want)
	}
	if wide, err := ParseServer("DEFAULT"); err != nil || wide != nil {
		t.Errorf("ParseServer(DEFAULT) = %v, %v, want nil (Go's defaults)", wide, err)
	}
}

// handshake runs a TLS 1.2 handshake between a server with suites and a
// client offering only offer.
func handshake(t *testing.T, cert tls.Certificate, suites, offer []uint16) error {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	srv := tls.Server(sc, &tls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: suites})
	done := make(chan error, 1)
	go func() { done <- srv.Handshake(); sc.Close() }()
	cli := tls.Client(cc, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: offer})
	err := cli.Handshake()
	cc.Close()
	<-done
	return err
}

// A TLS 1.2 client offering only CBC suites is refused by the default
// list and served once tlsserverciphers widens it.
func TestServerDefaultRefusesCBCClient(t *testing.T) {
	ca := certtest.NewCA(t, "ciphers test CA")
	cert := ca.Issue(t, certtest.Options{CommonName: "mx.example.test", DNSNames: []string{"mx.example.test"}}).TLS()
	cbc := ids(t, "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA")
	def, _ := ParseServer("")
	if err := handshake(t, cert, def, cbc); err == nil {
		t.Error("a CBC-only TLS 1.2 client completed the handshake against the default suites")
	}
	for _, widened := range []string{"DEFAULT", "HIGH", ServerDefault + ":ECDHE+SHA1"} {
		suites, err := ParseServer(widened)
		if err != nil {
			t.Fatalf("%q: %v", widened, err)
		}
		if err := handshake(t, cert, suites, cbc); err != nil {
			t.Errorf("tlsserverciphers %q: CBC-only client refused: %v", widened, err)
		}
	}
	if err := handshake(t, cert, def, ids(t, "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256")); err != nil {
		t.Errorf("an AEAD client against the defaults: %v", err)
	}
}
