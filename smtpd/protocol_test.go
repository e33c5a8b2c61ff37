package smtpd

import (
	"crypto/tls"
	"net/netip"
	"strings"
	"testing"
)

// step sends a line (or several, pipelined) and expects reply lines.
type step struct {
	send string
	want []string
}

func s(send string, want ...string) step { return step{send, want} }

const (
	greeting   = "220 " + testMe + " ESMTP"
	noGateway  = "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"
	mailOK     = "MAIL FROM:<sender@example.com>\r\n"
	rcptLocal  = "RCPT TO:<user@example.org>\r\n"
	rcptRemote = "RCPT TO:<user@elsewhere.net>\r\n"
)

// runDialogue runs steps on a fresh connection after the greeting.
func runDialogue(t *testing.T, ts *testServer, steps []step) *client {
	t.Helper()
	c := dial(t, ts.addr)
	if g := ts.opts.Greeting; g != "" {
		c.expect("220 " + g + " ESMTP")
	} else {
		c.expect(greeting)
	}
	for _, st := range steps {
		if st.send != "" {
			c.send(st.send)
		}
		c.expect(st.want...)
	}
	return c
}

func TestDialogue(t *testing.T) {
	pki := sharedPKI(t)
	long := strings.Repeat("a", 901)
	tests := []struct {
		name   string
		cfg    serverConfig
		steps  []step
		closed bool
	}{
		{name: "helo", steps: []step{s("HELO client.example\r\n", "250 "+testMe)}},
		{name: "greeting", cfg: serverConfig{opts: func(o *Options) { o.Greeting = testMe + " NO UCE" }},
			steps: []step{s("HELO x\r\n", "250 "+testMe+" NO UCE"), s("QUIT\r\n", "221 "+testMe+" NO UCE")}, closed: true},
		{name: "ehlo", steps: []step{s("EHLO client.example\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "ehlo with databytes", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 1000 }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE 1000", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "ehlo with DATABYTES from the client's rules", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 1000 }, rules: func(c *Conn) { c.Databytes = 50 }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE 50", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "ehlo with a certificate", cfg: serverConfig{opts: func(o *Options) { o.TLS = pki.serverTLS() }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-STARTTLS", "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "ehlo without a certificate now", cfg: serverConfig{opts: func(o *Options) { o.TLS = func() *tls.Config { return nil } }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "ehlo offers auth in plain text only when allowed", cfg: serverConfig{loopback: true, opts: func(o *Options) { o.Auth = passwords{}; o.AuthWithoutTLS = true }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250 AUTH LOGIN PLAIN")}},
		// A password never crosses a network in clear: AUTH outside TLS is
		// for loopback clients only.
		{name: "ehlo hides auth in plain text from other clients", cfg: serverConfig{opts: func(o *Options) { o.Auth = passwords{}; o.AuthWithoutTLS = true }},
			steps: []step{s("EHLO c\r\nAUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8",
				"538 5.7.11 Encryption required for requested authentication mechanism (#5.7.11)")}}, // RFC 2034 §4
		{name: "ehlo hides auth without TLS", cfg: serverConfig{opts: func(o *Options) { o.Auth = passwords{} }},
			steps: []step{s("EHLO c\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")}},
		{name: "simple commands", steps: []step{
			s("RSET\r\n", "250 flushed"),
			s("NOOP\r\n", "250 ok"),
			s("nOoP with args\r\n", "250 ok"),
			s("VRFY postmaster\r\n", "252 send some mail, i'll try my best"),
			s("HELP\r\n", "214 netqmail home page: http://qmail.org/netqmail"),
			s("EXPN list\r\n", "502 unimplemented (#5.5.1)"),
			s("BDAT 10 LAST\r\n", "502 unimplemented (#5.5.1)"),
			s("\r\n", "502 unimplemented (#5.5.1)"),
			s("QUIT\r\n", "221 "+testMe),
		}, closed: true},
		{name: "commands may end in a bare LF", steps: []step{s("NOOP\nHELO x\n", "250 ok", "250 "+testMe)}},
		{name: "order", steps: []step{
			s(rcptLocal, "503 MAIL first (#5.5.1)"),
			s("DATA\r\n", "503 MAIL first (#5.5.1)"),
			s(mailOK, "250 ok"),
			s("DATA\r\n", "503 RCPT first (#5.5.1)"),
			s(mailOK+rcptLocal+"RSET\r\n"+rcptLocal, "250 ok", "250 ok", "250 flushed", "503 MAIL first (#5.5.1)"),
			s(mailOK+"HELO x\r\n"+rcptLocal, "250 ok", "250 "+testMe, "503 MAIL first (#5.5.1)"),
		}},
		{name: "address forms", steps: []step{
			s("MAIL FROM:<>\r\n", "250 ok"),
			s("MAIL FROM: <a@example.com> SIZE=100 BODY=8BITMIME\r\n", "250 ok"),
			s("MAIL FROM:a@example.com\r\n", "250 ok"),
			s("MAIL FROM: a@example.com SIZE=100\r\n", "250 ok"),
			s("MAIL\r\n", "250 ok"),
			s("RCPT TO:<\"user\"@example.org>\r\n", "250 ok"),
			s("RCPT TO:<User@EXAMPLE.ORG>\r\n", "250 ok"),
			s("RCPT TO:<postmaster>\r\n", "250 ok"),
			s("RCPT TO:<user@"+testMe+">\r\n", "250 ok"),
		}},
		{name: "address syntax", steps: []step{
			s("MAIL FROM:<"+long+">\r\n", "555 syntax error (#5.5.4)"),
			s("MAIL FROM:<a\x01b@example.com>\r\n", "555 syntax error (#5.5.4)"),
			s(mailOK, "250 ok"),
			s("RCPT TO:<"+long+"@example.org>\r\n", "555 syntax error (#5.5.4)"),
		}},
		{name: "SIZE over databytes", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 1000 }}, steps: []step{
			s("MAIL FROM:<a@example.com> SIZE=1001\r\n", "552 sorry, that message size exceeds my databytes limit (#5.3.4)"),
			s("MAIL FROM:<a@example.com> SIZE=99999999999999999999999\r\n", "552 sorry, that message size exceeds my databytes limit (#5.3.4)"),
			s(rcptLocal, "503 MAIL first (#5.5.1)"),
			s("MAIL FROM:<a@example.com> SIZE=1000\r\n", "250 ok"),
			// RFC 5321 §4.1.1.11: a malformed parameter gets 501 (qmail-smtpd ignored it)
			s("MAIL FROM:<a@example.com> SIZE=junk\r\n", "501 sorry, that parameter is malformed: SIZE=junk (#5.5.4)"),
		}},
		{name: "badmailfrom is refused at RCPT", cfg: serverConfig{opts: func(o *Options) { o.BadMailFrom = matcher("^spammer@", "^$") }}, steps: []step{
			s("MAIL FROM:<Spammer@example.com>\r\n", "250 ok"),
			s(rcptLocal, "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)"),
			s("MAIL FROM:<>\r\n"+rcptLocal, "250 ok", "250 ok"), // the null sender is never checked
		}},
		{name: "badmailfromnorelay", cfg: serverConfig{opts: func(o *Options) { o.BadMailFromNoRelay = matcher("@example\\.com$") }}, steps: []step{
			s(mailOK+rcptLocal, "250 ok", "553 sorry, your envelope sender has been denied (#5.7.1)"),
		}},
		{name: "badmailfromnorelay spares relay clients", cfg: serverConfig{opts: func(o *Options) { o.BadMailFromNoRelay = matcher("@example\\.com$") }, rules: func(c *Conn) { c.Relay = true }},
			steps: []step{s(mailOK+rcptLocal, "250 ok", "250 ok")}},
		{name: "badrcptto", cfg: serverConfig{opts: func(o *Options) { o.BadRcptTo = matcher("^user@"); o.BadRcptToNoRelay = matcher("^other@") }}, steps: []step{
			s(mailOK+rcptLocal, "250 ok", "553 sorry, your envelope recipient has been denied (#5.7.1)"),
			s("RCPT TO:<other@example.org>\r\n", "553 sorry, your envelope recipient has been denied (#5.7.1)"),
			s("RCPT TO:<third@example.org>\r\n", "250 ok"),
		}},
		{name: "badrcpttonorelay spares relay clients", cfg: serverConfig{opts: func(o *Options) { o.BadRcptToNoRelay = matcher("^user@") }, rules: func(c *Conn) { c.Relay = true }},
			steps: []step{s(mailOK+rcptLocal, "250 ok", "250 ok")}},
		{name: "badhelo", cfg: serverConfig{opts: func(o *Options) { o.BadHelo = matcher("^friend$") }}, steps: []step{
			s("HELO FRIEND\r\n", "250 "+testMe),
			s(mailOK+rcptLocal, "250 ok", "553 sorry, your HELO host name has been denied (#5.7.1)"),
			s("EHLO stranger\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8"),
			s(mailOK+rcptLocal, "250 2.1.0 ok", "250 2.1.5 ok"), // RFC 2034 §4
		}},
		{name: "NOBADHELO", cfg: serverConfig{opts: func(o *Options) { o.BadHelo = matcher("^friend$") }, rules: func(c *Conn) { c.NoBadHelo = true }},
			steps: []step{s("HELO friend\r\n"+mailOK+rcptLocal, "250 "+testMe, "250 ok", "250 ok")}},
		{name: "rcpthosts", cfg: serverConfig{opts: func(o *Options) { o.Rcpthosts = domainSet{"example.org": true, ".example.net": true} }}, steps: []step{
			s(mailOK, "250 ok"),
			s(rcptLocal, "250 ok"),
			s("RCPT TO:<u@mail.Example.NET>\r\n", "250 ok"),
			s("RCPT TO:<u@a.b.example.net>\r\n", "250 ok"),
			s("RCPT TO:<u@example.net>\r\n", noGateway),
			s("RCPT TO:<u@"+testMe+">\r\n", noGateway), // rcpthosts replaces the locals default
			s("RCPT TO:<u@>\r\n", noGateway),
			s(rcptRemote, noGateway),
		}},
		{name: "no rcpthosts: only local domains", steps: []step{
			s(mailOK, "250 ok"),
			s(rcptLocal, "250 ok"),
			s("RCPT TO:<u@"+testMe+">\r\n", "250 ok"),
			s("RCPT TO:<u@sub.example.org>\r\n", noGateway),
			s(rcptRemote, noGateway),
		}},
		{name: "no rcpthosts: loopback relays", cfg: serverConfig{rules: func(c *Conn) { c.RemoteIP = netip.MustParseAddr("127.0.0.1") }},
			steps: []step{s(mailOK+rcptRemote, "250 ok", "250 ok")}},
		{name: "rcpthosts: loopback does not relay", cfg: serverConfig{
			opts:  func(o *Options) { o.Rcpthosts = domainSet{"example.org": true} },
			rules: func(c *Conn) { c.RemoteIP = netip.MustParseAddr("::1") }},
			steps: []step{s(mailOK+rcptRemote, "250 ok", noGateway)}},
		{name: "RELAYCLIENT relays", cfg: serverConfig{opts: func(o *Options) { o.Rcpthosts = domainSet{"example.org": true} }, rules: func(c *Conn) { c.Relay = true }},
			steps: []step{s(mailOK+rcptRemote, "250 ok", "250 ok")}},
		{name: "relay tricks", cfg: serverConfig{opts: func(o *Options) { o.Rcpthosts = domainSet{"example.org": true} }}, steps: []step{
			s(mailOK, "250 ok"),
			s("RCPT TO:<u%elsewhere.net@example.org>\r\n", noGateway),
			s("RCPT TO:<elsewhere.net!u@example.org>\r\n", noGateway),
			s("RCPT TO:<@example.org:u@elsewhere.net>\r\n", noGateway),
			s("RCPT TO:<@example.org,@example.org:u@example.org>\r\n", noGateway),
			s("RCPT TO:<\"u@elsewhere.net\"@example.org>\r\n", noGateway),
			s("RCPT TO:<u\\@elsewhere.net@example.org>\r\n", noGateway),
			s("RCPT TO:<u@elsewhere.net@example.org>\r\n", noGateway),
			s("RCPT TO:<u@[192.0.2.1]>\r\n", noGateway),
			s("RCPT TO:<u@[IPv6:2001:db8::1]>\r\n", noGateway),
			s(rcptLocal, "250 ok"),
		}},
		{name: "relay tricks allowed to relay clients", cfg: serverConfig{rules: func(c *Conn) { c.Relay = true }},
			steps: []step{s(mailOK+"RCPT TO:<u%elsewhere.net@example.org>\r\n", "250 ok", "250 ok")}},
		{name: "address literal of this host", steps: []step{
			s(mailOK+"RCPT TO:<u@[127.0.0.1]>\r\n", "250 ok", "250 ok"),
		}},
		{name: "too many recipients", cfg: serverConfig{opts: func(o *Options) { o.MaxRcpts = 2 }}, steps: []step{
			s(mailOK+rcptLocal+rcptLocal+rcptLocal, "250 ok", "250 ok", "250 ok", "452 too many recipients (#4.5.3)"),
		}},
		{name: "too many errors", cfg: serverConfig{opts: func(o *Options) { o.MaxErrors = 3 }}, steps: []step{
			s("FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n", "502 unimplemented (#5.5.1)", "502 unimplemented (#5.5.1)",
				"502 unimplemented (#5.5.1)", "421 too many errors (#4.7.0)"),
		}, closed: true},
		{name: "line too long", cfg: serverConfig{opts: func(o *Options) { o.MaxLine = 512 }}, steps: []step{
			s("NOOP "+strings.Repeat("x", 600)+"\r\nNOOP\r\n", "500 line too long (#5.5.2)", "250 ok"),
			s("NOOP "+strings.Repeat("x", 505)+"\r\n", "250 ok"), // 512 with CRLF
		}},
		{name: "STARTTLS", steps: []step{
			s("STARTTLS now\r\n", "501 Syntax error (no parameters allowed) (#5.5.4)"),
			s("STARTTLS\r\n", "454 TLS not available due to temporary reason (#4.3.0)"),
		}},
		{name: "AUTH not configured", steps: []step{s("AUTH PLAIN\r\n", "502 unimplemented (#5.5.1)")}},
		{name: "AUTH needs TLS", cfg: serverConfig{opts: func(o *Options) { o.Auth = passwords{} }},
			steps: []step{s("AUTH PLAIN\r\n", "538 Encryption required for requested authentication mechanism (#5.7.11)")}},
		{name: "submission needs AUTH", cfg: serverConfig{mode: ModeSubmission},
			steps: []step{s(mailOK+rcptLocal, "530 authentication required (#5.7.1)", "503 MAIL first (#5.5.1)")}},
		{name: "RequireAuth", cfg: serverConfig{opts: func(o *Options) { o.RequireAuth = true }},
			steps: []step{s(mailOK, "530 authentication required (#5.7.1)")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			c := runDialogue(t, ts, tt.steps)
			if tt.closed {
				c.expectClosed()
			}
		})
	}
}
