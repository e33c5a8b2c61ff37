package smtpd

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const (
	authOK = "235 ok, go ahead (#2.0.0)"
	// authOKCoded is authOK after EHLO (RFC 2034 §4).
	authOKCoded = "235 2.0.0 ok, go ahead (#2.0.0)"
	authFailed  = "535 authorization failed (#5.7.0)"
	authInput   = "501 malformed auth input (#5.5.4)"
)

func TestAuth(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "PLAIN initial response", steps: []step{
			s("AUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", authOK),
			s(mailOK+rcptRemote, "250 ok", "250 ok"), // may relay now
			s("AUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", "503 you're already authenticated (#5.5.0)"),
		}},
		{name: "PLAIN challenge", steps: []step{
			s("auth plain\r\n", "334 "),
			s(b64("\x00alice\x00secret")+"\r\n", authOK),
		}},
		{name: "PLAIN authzid same user", steps: []step{s("AUTH PLAIN "+b64("alice\x00alice\x00secret")+"\r\n", authOK)}},
		{name: "PLAIN authzid another user", steps: []step{s("AUTH PLAIN "+b64("root\x00alice\x00secret")+"\r\n", authFailed)}},
		{name: "PLAIN bad password", steps: []step{
			s("AUTH PLAIN "+b64("\x00alice\x00wrong")+"\r\n", authFailed),
			s(mailOK+rcptRemote, "250 ok", noGateway),
		}},
		{name: "PLAIN malformed", steps: []step{
			s("AUTH PLAIN "+b64("alice secret")+"\r\n", authInput),
			s("AUTH PLAIN "+b64("\x00\x00secret")+"\r\n", authInput),
			s("AUTH PLAIN not*base64\r\n", authInput),
			s("AUTH PLAIN =\r\n", authInput),
		}},
		{name: "PLAIN cancelled", steps: []step{s("AUTH PLAIN\r\n", "334 "), s("*\r\n", "501 auth exchange cancelled (#5.0.0)")}},
		{name: "LOGIN", steps: []step{
			s("AUTH LOGIN\r\n", "334 VXNlcm5hbWU6"),
			s(b64("alice")+"\r\n", "334 UGFzc3dvcmQ6"),
			s(b64("secret")+"\r\n", authOK),
		}},
		{name: "LOGIN initial response", steps: []step{
			s("AUTH LOGIN "+b64("alice")+"\r\n", "334 UGFzc3dvcmQ6"),
			s(b64("secret")+"\r\n", authOK),
		}},
		{name: "LOGIN bad password", steps: []step{
			s("AUTH LOGIN "+b64("alice")+"\r\n", "334 UGFzc3dvcmQ6"),
			s(b64("nope")+"\r\n", authFailed),
		}},
		{name: "LOGIN cancelled", steps: []step{
			s("AUTH LOGIN\r\n", "334 VXNlcm5hbWU6"),
			s("*\r\n", "501 auth exchange cancelled (#5.0.0)"),
			s("AUTH LOGIN\r\n", "334 VXNlcm5hbWU6"),
			s(b64("alice")+"\r\n", "334 UGFzc3dvcmQ6"),
			s("*\r\n", "501 auth exchange cancelled (#5.0.0)"),
		}},
		{name: "LOGIN malformed", steps: []step{
			s("AUTH LOGIN\r\n", "334 VXNlcm5hbWU6"),
			s("%%%\r\n", authInput),
			s("AUTH LOGIN =\r\n", authInput),
		}},
		{name: "unknown mechanism", steps: []step{
			s("AUTH CRAM-MD5\r\n", "504 auth type unimplemented (#5.5.1)"),
			s("AUTH\r\n", "504 auth type unimplemented (#5.5.1)"),
		}},
		{name: "not during a transaction", steps: []step{
			s(mailOK+"AUTH PLAIN "+b64("\x00alice\x00secret")+"\r\n", "250 ok", "503 no auth during mail transaction (#5.5.0)"),
		}},
		{name: "temporary failure", steps: []step{
			s("AUTH PLAIN "+b64("\x00temp\x00x")+"\r\n", "454 temporary authentication failure (#4.3.0)"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{loopback: true, opts: func(o *Options) {
				o.Auth = passwords{"alice": "secret"}
				o.AuthWithoutTLS = true
			}})
			runDialogue(t, ts, tt.steps)
		})
	}
}

// TestAuthReceived: the Received line of an authenticated client, in
// plain text and under TLS.
func TestAuthReceived(t *testing.T) {
	ts := startServer(t, serverConfig{loopback: true, opts: func(o *Options) {
		o.Auth = passwords{"alice": "secret"}
		o.AuthWithoutTLS = true
		o.TLS = sharedPKI(t).serverTLS()
	}})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("EHLO c\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("250-"+testMe, "250-STARTTLS", "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250 AUTH LOGIN PLAIN", authOKCoded)
	sendMessage(t, c, "a@example.com", []string{"x@elsewhere.net"}, "x\r\n.\r\n")

	c.startTLS(ts.pki.clientTLS())
	// STARTTLS forgot the authentication (RFC 3207 §4.2).
	c.send(mailOK + rcptRemote)
	c.expect("250 ok", "553 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying (#5.7.1)")
	c.send("RSET\r\nAUTH LOGIN " + b64("alice") + "\r\n" + b64("secret") + "\r\n")
	c.expect("250 flushed", "334 UGFzc3dvcmQ6", authOK)
	sendMessage(t, c, "a@example.com", []string{"x@elsewhere.net"}, "x\r\n.\r\n")

	msgs := ts.q.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := "Received: from unknown (HELO c) (alice@127.0.0.1)\n  by " + testMe + " with ESMTPA; " + testDate + "\n"
	if !strings.HasPrefix(msgs[0].body, want) {
		t.Errorf("plain text: %q, want %q", msgs[0].body, want)
	}
	re := regexp.MustCompile(`^Received: from unknown \(alice@127\.0\.0\.1\)\n  by ` + testMe + ` with ESMTPSA \([A-Z0-9_-]+ encrypted, authenticated\); ` + testDate + "\n")
	if !re.MatchString(msgs[1].body) {
		t.Errorf("TLS: %q", msgs[1].body)
	}
}

// TestAuthUnderTLS: AUTH is offered and works once TLS is on.
func TestAuthUnderTLS(t *testing.T) {
	ts := startServer(t, serverConfig{mode: ModeSubmission, opts: func(o *Options) {
		o.Auth = passwords{"alice": "secret"}
		o.TLS = sharedPKI(t).serverTLS()
	}})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("538 Encryption required for requested authentication mechanism (#5.7.11)")
	c.startTLS(ts.pki.clientTLS())
	c.send("EHLO c\r\n")
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250 AUTH LOGIN PLAIN")
	c.send(mailOK)
	// RFC 2034 §4: the codes after EHLO
	c.expect("530 5.7.1 authentication required (#5.7.1)")
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n" + mailOK + rcptRemote)
	c.expect(authOKCoded, "250 2.1.0 ok", "250 2.1.5 ok")
}

// TestAuthFailureLimit: failures count per client address across
// connections; once used up, AUTH gets 421 and the session ends. The
// delay applies to each failure.
func TestAuthFailureLimit(t *testing.T) {
	const delay = 100 * time.Millisecond
	ts := startServer(t, serverConfig{loopback: true, opts: func(o *Options) {
		o.Auth = passwords{"alice": "secret"}
		o.AuthWithoutTLS = true
		o.MaxAuthFailures = 2
		o.AuthFailDelay = delay
		o.Now = time.Now
	}})
	bad := "AUTH PLAIN " + b64("\x00alice\x00guess") + "\r\n"
	for range 2 {
		c := dial(t, ts.addr)
		c.expect(greeting)
		start := time.Now()
		c.send(bad)
		c.expect(authFailed)
		if d := time.Since(start); d < delay {
			t.Errorf("failure answered after %v, want at least %v", d, delay)
		}
		c.send("QUIT\r\n")
		c.expect("221 " + testMe)
	}
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("421 too many authentication failures (#4.7.0)")
	c.expectClosed()
}
