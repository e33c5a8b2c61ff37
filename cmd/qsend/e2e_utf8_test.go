package main

import (
	"bufio"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	c, err := net.Dial("tcp", addrs["smtp"])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	for _, step := range []struct{ cmd, want string }{
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
	} {
		if got := smtpLine(t, c, br, step.cmd); !strings.HasPrefix(got, step.want) {
			t.Fatalf("%q: reply %q, want %q", step.cmd, got, step.want)
		}
	}
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
