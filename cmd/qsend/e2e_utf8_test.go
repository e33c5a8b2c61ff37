package main

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/remote/postfixtest"
)

// TestSMTPDExtensionsSwaks: swaks reads SIZE with databytes,
// ENHANCEDSTATUSCODES, SMTPUTF8 and 8BITMIME in the EHLO answer, and
// the replies after it carry enhanced status codes (RFC 2034 §4).
func TestSMTPDExtensionsSwaks(t *testing.T) {
	needTools(t, "swaks")
	s := newSite(t)
	s.writeControl("databytes", "100000\n")
	conf, addrs := smtpdConfig(t, []string{"smtp"})
	s.writeConfig(conf)
	s.startDaemon()
	out := swaks(t, addrs["smtp"], testMessage("ext"), "--quit-after", "RCPT", "--from", "a@example.net", "--to", "joe@test.example")
	for _, want := range []string{"<-  250-8BITMIME", "<-  250-SIZE 100000", "<-  250-ENHANCEDSTATUSCODES", "<-  250 SMTPUTF8",
		"<-  250 2.1.0 ok", "<-  250 2.1.5 ok", "<-  221 2.0.0 test.example"} {
		if !strings.Contains(out, want+"\r\n") && !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in swaks's transcript:\n%s", want, out)
		}
	}
}

// smtpStep is a command and the start of the last line of its reply.
type smtpStep struct{ cmd, want string }

// smtpSession runs steps on a new connection to addr; the first step's
// empty command reads the greeting.
func smtpSession(t *testing.T, addr string, steps []smtpStep) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for _, step := range steps {
		if got := smtpLine(t, c, br, step.cmd); !strings.HasPrefix(got, step.want) {
			t.Fatalf("%q: reply %q, want %q", step.cmd, got, step.want)
		}
	}
}

// smtpLine sends a command and returns the last line of its reply.
func smtpLine(t *testing.T, c net.Conn, br *bufio.Reader, cmd string) string {
	t.Helper()
	if cmd != "" {
		if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("after %q: %v", cmd, err)
		}
		if len(l) < 4 || l[3] != '-' {
			return strings.TrimRight(l, "\r\n")
		}
	}
}

// TestUTF8LocalDelivery: a UTF-8 recipient, with SMTPUTF8 on MAIL, goes
// into the Maildir of that name; without SMTPUTF8 it is refused with
// 553 5.6.7 (RFC 6531 §3.5); an A-label-looking local part goes to the
// Maildir of its literal name, not decoded and not split at its '-'.
func TestUTF8LocalDelivery(t *testing.T) {
	s := newSite(t)
	conf, addrs := smtpdConfig(t, []string{"smtp"})
	s.writeConfig(conf + "concurrencylocal: 10\n")
	s.startDaemon()
	smtpSession(t, addrs["smtp"], []smtpStep{
		{"", "220 test.example ESMTP"},
		{"EHLO client.example", "250 SMTPUTF8"},
		{"MAIL FROM:<sender@example.net>", "250 2.1.0 ok"},
		{"RCPT TO:<üser@test.example>", "553 5.6.7 sorry, that address is not ASCII and MAIL did not ask for SMTPUTF8 (#5.6.7)"},
		{"RSET", "250 2.0.0 flushed"},
		{"MAIL FROM:<sénder@example.net> SMTPUTF8", "250 2.1.0 ok"},
		{"RCPT TO:<üser@test.example>", "250 2.1.5 ok"},
		{"RCPT TO:<xn--ser-kva@test.example>", "250 2.1.5 ok"},
		{"DATA", "354 go ahead"},
		{"Subject: grüße\r\n\r\nbody\r\n.", "250 2.0.0 ok "},
		{"QUIT", "221 2.0.0 test.example"},
	})
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
	for dir, rcpt := range map[string]string{"üser": "üser@test.example", "xn--ser-kva": "xn--ser-kva@test.example"} {
		msgs := maildirMessages(t, filepath.Join(s.dir, "mail", dir, "Maildir"))
		if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "Return-Path: <sénder@example.net>\nDelivered-To: "+rcpt+"\n") ||
			!strings.HasSuffix(msgs[0], "Subject: grüße\n\nbody\n") {
			t.Errorf("Maildir %s: %q", dir, msgs)
		}
	}
	if msgs := maildirMessages(t, filepath.Join(s.dir, "mail", "xn", "Maildir")); len(msgs) != 0 {
		t.Errorf("the A-label local part was split at '-': %q", msgs)
	}
}

// TestUTF8PostfixRelay: a private Postfix with smtputf8_enable relays
// üser@ a qsend domain to qsend's listener, which must offer SMTPUTF8
// (RFC 6531 §3.1; before, Postfix bounced it with 5.6.7 "SMTPUTF8 is
// required, but was not offered"), and the message reaches üser's Maildir.
func TestUTF8PostfixRelay(t *testing.T) {
	s := newSite(t)
	conf, addrs := smtpdConfig(t, []string{"smtp"})
	s.writeConfig(conf + "concurrencylocal: 10\n")
	s.startDaemon()
	_, port, err := net.SplitHostPort(addrs["smtp"])
	if err != nil {
		t.Fatal(err)
	}
	pf := postfixtest.Start(t, postfixtest.Options{Domain: "pf.test", Main: map[string]string{
		"smtputf8_enable": "yes",
		"relay_domains":   "test.example",
		"transport_maps":  "inline:{test.example=smtp:[127.0.0.1]:" + port + "}",
	}})
	smtpSession(t, pf.Addr().String(), []smtpStep{
		{"", "220 "},
		{"EHLO client.example", "250 "},
		{"MAIL FROM:<sénder@pf.test> SMTPUTF8", "250 "},
		{"RCPT TO:<üser@test.example>", "250 "},
		{"DATA", "354 "},
		{"Subject: grüße\r\n\r\nbody\r\n.", "250 "},
		{"QUIT", "221 "},
	})
	dir := filepath.Join(s.dir, "mail", "üser", "Maildir")
	deadline := time.Now().Add(30 * time.Second)
	for len(maildirMessages(t, dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing in %s\n%s\n%s", dir, pf.Log(), s.daemonLog())
		}
		time.Sleep(100 * time.Millisecond)
	}
	msgs := maildirMessages(t, dir)
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "Return-Path: <sénder@pf.test>\nDelivered-To: üser@test.example\n") ||
		!strings.Contains(msgs[0], "Subject: grüße\n") {
		t.Fatalf("üser's Maildir: %q", msgs)
	}
}
