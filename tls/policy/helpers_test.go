package policy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// server is the far end of a test handshake.
type server struct {
	cert       tls.Certificate
	maxVersion uint16 // 0: TLS 1.3
	askClient  bool   // request a client certificate
}

// result is what a test handshake produced.
type result struct {
	err        error               // the client's handshake error
	state      tls.ConnectionState // the client's view
	clientSeen []*x509.Certificate // client certificates the server got
}

// handshake runs a real TLS handshake over loopback TCP between a
// crypto/tls server and the given client configuration. (net.Pipe has no
// buffer: a client that aborts mid-flight and a server still writing its
// flight would wait on each other.)
func handshake(t *testing.T, cfg *tls.Config, s server) result {
	t.Helper()
	if cfg == nil {
		t.Fatal("no client configuration")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(10 * time.Second)
	scfg := &tls.Config{Certificates: []tls.Certificate{s.cert}, MaxVersion: s.maxVersion}
	if s.askClient {
		scfg.ClientAuth = tls.RequestClientCert
	}
	done := make(chan []*x509.Certificate, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(deadline)
		srv := tls.Server(c, scfg)
		srv.Handshake()
		done <- srv.ConnectionState().PeerCertificates
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(deadline)
	cli := tls.Client(c, cfg)
	r := result{err: cli.Handshake(), state: cli.ConnectionState()}
	c.Close()
	r.clientSeen = <-done
	return r
}

// failureText returns the text of a *Failure, "" for nil, and fails the
// test for any other error.
func failureText(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	if !f.Temporary() {
		t.Fatalf("failure %q is not temporary", f.Text)
	}
	return f.Text
}

// write creates a file under dir with the given content.
func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// newEngine returns an engine or fails the test.
func newEngine(t *testing.T, o Options) *Engine {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// writeFile creates a file and its directories.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
