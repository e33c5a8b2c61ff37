package postfixtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// session is a tiny SMTP client: enough to hand Postfix a message.
type session struct {
	t    testing.TB
	conn net.Conn
	text *textproto.Conn
}

func dial(t testing.TB, p *Postfix) *session {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", p.Addr(), err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	s := &session{t: t, conn: c, text: textproto.NewConn(c)}
	t.Cleanup(func() { s.text.Close() })
	s.expect(220, "")
	return s
}

// cmd sends line and returns the reply's code and text.
func (s *session) cmd(line string) (int, string) {
	s.t.Helper()
	if err := s.text.PrintfLine("%s", line); err != nil {
		s.t.Fatalf("%s: %v", line, err)
	}
	code, msg, err := s.text.ReadResponse(0)
	if err != nil && code == 0 {
		s.t.Fatalf("%s: %v", line, err)
	}
	return code, msg
}

func (s *session) expect(code int, line string) string {
	s.t.Helper()
	var got int
	var msg string
	if line == "" {
		c, m, err := s.text.ReadResponse(0)
		if err != nil && c == 0 {
			s.t.Fatalf("greeting: %v", err)
		}
		got, msg = c, m
	} else {
		got, msg = s.cmd(line)
	}
	if got != code {
		s.t.Fatalf("%q: got %d %s, want %d", line, got, msg, code)
	}
	return msg
}

func (s *session) starttls(cert *x509.Certificate) {
	s.t.Helper()
	s.expect(220, "STARTTLS")
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	tc := tls.Client(s.conn, &tls.Config{RootCAs: roots, ServerName: cert.DNSNames[0]})
	if err := tc.Handshake(); err != nil {
		s.t.Fatalf("TLS handshake: %v", err)
	}
	// RFC 3207 §4.2: the session starts over after the handshake.
	s.conn = tc
	s.text = textproto.NewConn(tc)
}

func (s *session) send(from string, to []string, body string) {
	s.t.Helper()
	s.expect(250, "MAIL FROM:<"+from+">")
	for _, rcpt := range to {
		s.expect(250, "RCPT TO:<"+rcpt+">")
	}
	s.expect(354, "DATA")
	w := s.text.DotWriter()
	fmt.Fprint(w, body)
	if err := w.Close(); err != nil {
		s.t.Fatalf("DATA: %v", err)
	}
	code, msg, err := s.text.ReadResponse(250)
	if err != nil {
		s.t.Fatalf("end of DATA: %d %s: %v", code, msg, err)
	}
}

func TestDelivers(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"plain", Options{Domain: "pf.test"}},
		{"starttls", Options{Domain: "tls.pf.test", TLS: true}},
		{"default domain", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			begin := time.Now()
			p := Start(t, tt.opts)
			t.Logf("Start took %v", time.Since(begin))

			s := dial(t, p)
			ehlo := s.expect(250, "EHLO client.example")
			if tt.opts.TLS != strings.Contains(ehlo, "STARTTLS") {
				t.Fatalf("EHLO reply %q: STARTTLS offered should be %v", ehlo, tt.opts.TLS)
			}
			if tt.opts.TLS {
				s.starttls(p.Certificate())
				s.expect(250, "EHLO client.example")
			}
			to := []string{"alice@" + p.Domain(), "Bob.Smith@" + p.Domain()}
			s.send("sender@client.example", to,
				"Subject: interop\r\nMessage-ID: <1@client.example>\r\n\r\nhello\r\n.leading dot\r\n")
			s.expect(221, "QUIT")

			msgs := p.WaitMessages(len(to), 10*time.Second)
			if len(msgs) != len(to) {
				t.Fatalf("got %d messages, want %d\n%s", len(msgs), len(to), p.Log())
			}
			got := map[string]bool{}
			for _, m := range msgs {
				from, rcpt, ok := Envelope(m)
				if !ok || from != "sender@client.example" {
					t.Errorf("envelope of %q: %q %q %v", m, from, rcpt, ok)
				}
				got[strings.ToLower(rcpt)] = true
				if !strings.Contains(string(m), "\nhello\n.leading dot\n") {
					t.Errorf("body not delivered intact (dot-stuffing, RFC 5321 §4.5.2): %q", m)
				}
				if tt.opts.TLS && !strings.Contains(string(m), "(using TLS") {
					t.Errorf("Received header does not record TLS: %q", m)
				}
			}
			for _, rcpt := range to {
				if !got[strings.ToLower(rcpt)] {
					t.Errorf("no message for %s among %v", rcpt, got)
				}
			}
		})
	}
}

// TestRefusals checks that the instance behaves as an Internet MX, not a
// relay, and that Options.Main reaches main.cf.
func TestRefusals(t *testing.T) {
	p := Start(t, Options{Main: map[string]string{"message_size_limit": "2000"}})
	s := dial(t, p)
	s.expect(250, "EHLO client.example")
	if ehlo := s.expect(250, "EHLO client.example"); !strings.Contains(ehlo, "SIZE 2000") {
		t.Errorf("EHLO %q: message_size_limit not applied", ehlo)
	}
	s.expect(250, "MAIL FROM:<a@client.example>")
	if code, msg := s.cmd("RCPT TO:<x@elsewhere.example>"); code != 554 {
		t.Errorf("relay attempt: %d %s, want 554", code, msg)
	}
	if code, msg := s.cmd("RCPT TO:<x@" + p.Domain() + ">"); code != 250 {
		t.Errorf("local recipient: %d %s, want 250", code, msg)
	}
	s.expect(221, "QUIT")
	if msgs := p.WaitMessages(1, 200*time.Millisecond); len(msgs) != 0 {
		t.Errorf("got %d messages, want none", len(msgs))
	}
	if !strings.Contains(p.Log(), "Relay access denied") {
		t.Errorf("log does not record the refusal:\n%s", p.Log())
	}
}

// TestParallelInstances runs instances side by side: each has its own
// directories, port and master, so they neither share nor wait.
func TestParallelInstances(t *testing.T) {
	const n = 3
	ps := make([]*Postfix, n)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ps[i] = Start(t, Options{Domain: fmt.Sprintf("p%d.test", i)})
		}()
	}
	wg.Wait()
	t.Logf("%d instances started in %v", n, time.Since(begin))
	if t.Failed() || t.Skipped() {
		return
	}
	for i, p := range ps {
		for j := range i {
			if ps[j].Addr() == p.Addr() {
				t.Fatalf("instances %d and %d share %s", i, j, p.Addr())
			}
		}
		s := dial(t, p)
		s.expect(250, "EHLO client.example")
		s.send("", []string{"u@" + p.Domain()}, fmt.Sprintf("Subject: %d\r\n\r\nfor instance %d\r\n", i, i))
		s.expect(221, "QUIT")
	}
	for i, p := range ps {
		msgs := p.WaitMessages(1, 10*time.Second)
		if len(msgs) != 1 || !strings.Contains(string(msgs[0]), fmt.Sprintf("for instance %d", i)) {
			t.Errorf("instance %d: got %q\n%s", i, msgs, p.Log())
			continue
		}
		if from, rcpt, _ := Envelope(msgs[0]); from != "" || rcpt != "u@"+p.Domain() {
			t.Errorf("instance %d: envelope %q %q, want null sender and u@%s", i, from, rcpt, p.Domain())
		}
	}
}
