package smtpd

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/qsend/qsend/tls/ciphers"
)

func tlsServer(t *testing.T, more func(o *Options)) *testServer {
	pki := sharedPKI(t)
	return startServer(t, serverConfig{opts: func(o *Options) {
		o.TLS = pki.serverTLS()
		if more != nil {
			more(o)
		}
	}})
}

func TestStartTLS(t *testing.T) {
	ts := tlsServer(t, nil)
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("EHLO before\r\n")
	c.expect("250-"+testMe, "250-STARTTLS", "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
	c.send(mailOK)
	c.expect("250 2.1.0 ok") // RFC 2034 §4: the code after EHLO
	cs := c.startTLS(ts.pki.clientTLS())

	// RFC 3207 §4.2: the transaction and the HELO name are gone.
	c.send(rcptLocal)
	c.expect("503 MAIL first (#5.5.1)")
	c.send("EHLO after\r\n")
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
	c.send("STARTTLS\r\n")
	c.expect("502 5.5.1 unimplemented (#5.5.1)") // RFC 2034 §4, after EHLO
	got := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
	if !regexp.MustCompile(okPattern).MatchString(got) {
		t.Fatalf("reply %q", got)
	}
	cipher := ciphers.Name(cs.CipherSuite, cs.Version)
	want := "Received: from unknown (HELO after) (192.0.2.10)\n  by " + testMe + " with ESMTPS (" + cipher + " encrypted); " + testDate + "\nx\n"
	if msgs := ts.q.messages(t); len(msgs) != 1 || msgs[0].body != want {
		t.Fatalf("queued %+v, want body %q", msgs, want)
	}
}

// TestStartTLSNoHELOAfter: a HELO given before STARTTLS does not appear.
func TestStartTLSHeloForgotten(t *testing.T) {
	ts := tlsServer(t, nil)
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("HELO before\r\n")
	c.expect("250 " + testMe)
	c.startTLS(ts.pki.clientTLS())
	sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
	msgs := ts.q.messages(t)
	if len(msgs) != 1 || strings.Contains(msgs[0].body, "HELO") {
		t.Fatalf("queued %+v", msgs)
	}
}

// TestStartTLSInjection is CVE-2011-0411: plain text pipelined behind
// STARTTLS must not be run inside TLS.
func TestStartTLSInjection(t *testing.T) {
	ts := tlsServer(t, nil)
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("STARTTLS\r\nRSET\r\n")
	c.expect("220 ready for tls")
	tc := tls.Client(c.c, ts.pki.clientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c = newClient(t, tc)
	c.send("NOOP\r\n")
	c.expect("250 ok") // not "250 flushed": RSET was thrown away
	c.send("QUIT\r\n")
	c.expect("221 " + testMe)
}

func TestStartTLSHandshakeFails(t *testing.T) {
	ts := tlsServer(t, nil)
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("STARTTLS\r\n")
	c.expect("220 ready for tls")
	c.send("this is not a TLS client hello\r\n")
	rest, err := io.ReadAll(c.br)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`454 TLS connection failed: [^\r\n]+ \(#4\.3\.0\)\r\n$`).Match(rest) {
		t.Fatalf("after a failed handshake: %q", rest)
	}
}

func TestTLSCiphers(t *testing.T) {
	pki := sharedPKI(t)
	tests := []struct {
		name       string
		tlsciphers string
		want       string // cipher, or "" when STARTTLS is refused
	}{
		{name: "one suite", tlsciphers: "ECDHE-ECDSA-AES256-GCM-SHA384", want: "ECDHE-ECDSA-AES256-GCM-SHA384"},
		{name: "another", tlsciphers: "ECDHE-ECDSA-CHACHA20-POLY1305", want: "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{name: "unknown", tlsciphers: "NO-SUCH-CIPHER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{
				opts: func(o *Options) {
					o.TLS = func() *tls.Config {
						return &tls.Config{Certificates: []tls.Certificate{pki.server}, MaxVersion: tls.VersionTLS12}
					}
				},
				rules: func(c *Conn) { c.TLSCiphers = tt.tlsciphers },
			})
			c := dial(t, ts.addr)
			c.expect(greeting)
			if tt.want == "" {
				c.send("STARTTLS\r\n")
				c.expect("454 TLS not available due to temporary reason (#4.3.0)")
				return
			}
			cs := c.startTLS(pki.clientTLS())
			if got := ciphers.Name(cs.CipherSuite, cs.Version); got != tt.want {
				t.Fatalf("cipher %s, want %s", got, tt.want)
			}
			sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
			if msgs := ts.q.messages(t); len(msgs) != 1 || !strings.Contains(msgs[0].body, "with ESMTPS ("+tt.want+" encrypted); ") {
				t.Fatalf("queued %+v", msgs)
			}
		})
	}
}

func TestSMTPS(t *testing.T) {
	pki := sharedPKI(t)
	ts := startServer(t, serverConfig{mode: ModeSMTPS, opts: func(o *Options) { o.TLS = pki.serverTLS() }})
	tc, err := tls.Dial("tcp", ts.addr, pki.clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	c := newClient(t, tc)
	c.expect(greeting)
	c.send("EHLO c\r\n")
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
	c.send("STARTTLS\r\n")
	c.expect("502 5.5.1 unimplemented (#5.5.1)") // RFC 2034 §4, after EHLO
	sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
	if msgs := ts.q.messages(t); len(msgs) != 1 || !strings.Contains(msgs[0].body, " with ESMTPS (") {
		t.Fatalf("queued %+v", msgs)
	}

	// A plain-text client gets nothing and is dropped.
	p := dial(t, ts.addr)
	p.send("EHLO plain\r\n")
	if b, err := io.ReadAll(p.br); len(b) > 0 && strings.Contains(string(b), "220") || err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("plain client on SMTPS got %q, %v", b, err)
	}
}

// TestCertRelay: qmail-tls's client-certificate relaying, with a good,
// an unknown, a revoked and an unlisted certificate, one without an
// address, and none (qmail-tls qmail-smtpd.c tls_verify()).
func TestCertRelay(t *testing.T) {
	pki := sharedPKI(t)
	// RFC 2034 §4: after EHLO, with the code after the reply code
	prefix := "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying"
	tests := []struct {
		name  string
		certs []tls.Certificate
		want  string
	}{
		{name: "listed", certs: []tls.Certificate{pki.alice}, want: "250 2.1.5 ok"},
		{name: "unknown CA", certs: []tls.Certificate{pki.stranger}, want: prefix + ": unable to get local issuer certificate (#5.7.1)"},
		{name: "revoked", certs: []tls.Certificate{pki.revoked}, want: prefix + ": certificate revoked (#5.7.1)"},
		{name: "unlisted", certs: []tls.Certificate{pki.bob}, want: prefix + ": email address not in my list of tlsclients (#5.7.1)"},
		{name: "no address", certs: []tls.Certificate{pki.noEmail}, want: prefix + ": contains no email address (#5.7.1)"},
		{name: "no certificate", want: prefix + " (#5.7.1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{opts: func(o *Options) {
				o.TLS = pki.serverTLS()
				o.Rcpthosts = domainSet{"example.org": true}
				o.CertRelay = pki.relay(t, "alice@example.com", "carol@example.com")
			}})
			c := dial(t, ts.addr)
			c.expect(greeting)
			c.startTLS(pki.clientTLS(tt.certs...))
			c.send("EHLO c\r\n")
			c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
			// A local recipient does not trigger the check.
			c.send(mailOK + rcptLocal + rcptRemote + rcptRemote)
			c.expect("250 2.1.0 ok", "250 2.1.5 ok", tt.want, tt.want)
			if tt.want != "250 2.1.5 ok" {
				return
			}
			c.send("DATA\r\nx\r\n.\r\n")
			c.expect("354 go ahead")
			c.line()
			msgs := ts.q.messages(t)
			if len(msgs) != 1 || !regexp.MustCompile(` encrypted\)\n  \(cert alice@example\.com\); `+testDate+"\n").MatchString(msgs[0].body) {
				t.Fatalf("queued %+v", msgs)
			}
		})
	}
}

// TestCertRelayRelayClient: with RELAYCLIENT no certificate is asked about
// and a refusal has no certificate clause (qmail-tls qmail-smtpd.c tls_verify()).
func TestNoGatewayText(t *testing.T) {
	pki := sharedPKI(t)
	ts := startServer(t, serverConfig{opts: func(o *Options) {
		o.TLS = pki.serverTLS()
		o.Rcpthosts = domainSet{"example.org": true}
	}})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send(mailOK + rcptRemote)
	c.expect("250 ok", noGateway) // plain text: qmail's text
	c.startTLS(pki.clientTLS())
	c.send(mailOK + rcptRemote)
	c.expect("250 ok", "553 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying (#5.7.1)")
}

// TestCertRelayRequest: a certificate is requested, naming clientca's
// subjects, only when certificate relaying is active.
func TestCertRelayRequest(t *testing.T) {
	pki := sharedPKI(t)
	for _, active := range []bool{true, false} {
		ts := startServer(t, serverConfig{opts: func(o *Options) {
			o.TLS = pki.serverTLS()
			if active {
				o.CertRelay = pki.relay(t)
			}
		}})
		var asked bool
		var cas [][]byte
		cfg := pki.clientTLS()
		cfg.GetClientCertificate = func(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			asked, cas = true, info.AcceptableCAs
			return &tls.Certificate{}, nil
		}
		c := dial(t, ts.addr)
		c.expect(greeting)
		c.startTLS(cfg)
		c.send("NOOP\r\n")
		c.expect("250 ok")
		if asked != active {
			t.Errorf("active %v: certificate requested %v", active, asked)
		}
		if active && (len(cas) != 1 || !bytes.Equal(cas[0], pki.ca.Cert.Cert.RawSubject)) {
			t.Errorf("acceptable CAs %q", cas)
		}
	}
}
