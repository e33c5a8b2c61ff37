package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/remote/postfixtest"
)

// TestPostfixInterop delivers through a real Postfix (Debian's package) as
// the receiving MX on loopback, reached through smtproutes, with STARTTLS
// offered: every message arrives once, byte for byte after Postfix's own
// Received line, and the session was encrypted.
func TestPostfixInterop(t *testing.T) {
	pf := postfixtest.Start(t, postfixtest.Options{Domain: "pf.test", TLS: true})
	s := newSite(t)
	s.writeConfig(fmt.Sprintf("concurrencyremote: 5\nsmtproutes: [\"pf.test:127.0.0.1:%d\"]\n", pf.Addr().Port()))
	s.startDaemon()
	const n = 5
	for i := 0; i < n; i++ {
		body := bodyFor(fmt.Sprintf("pf%d", i)) + ".a line with a leading dot\n"
		if code, errOut := s.queue(body, envelope("sender@test.example", fmt.Sprintf("user%d@pf.test", i), "all@pf.test")); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	msgs := pf.WaitMessages(2*n, 30*time.Second)
	if len(msgs) != 2*n {
		t.Fatalf("Postfix delivered %d messages, want %d\n%s\n%s", len(msgs), 2*n, pf.Log(), s.daemonLog())
	}
	seen := map[string]int{}
	for _, m := range msgs {
		sender, rcpt, ok := postfixtest.Envelope(m)
		text := strings.ReplaceAll(string(m), "\r\n", "\n")
		if !ok || sender != "sender@test.example" {
			t.Fatalf("envelope %q %q %v", sender, rcpt, ok)
		}
		if !strings.Contains(text, "(using TLS") {
			t.Errorf("message to %s did not travel over TLS:\n%s", rcpt, text[:min(len(text), 600)])
		}
		if !strings.Contains(text, "\n.a line with a leading dot\n") {
			t.Errorf("dot-stuffing damaged the message to %s", rcpt)
		}
		seen[rcpt]++
	}
	if seen["all@pf.test"] != n {
		t.Errorf("all@pf.test got %d copies, want %d", seen["all@pf.test"], n)
	}
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
}
