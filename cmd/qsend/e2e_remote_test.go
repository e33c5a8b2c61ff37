package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/mx/dnstest"
)

// remoteWorld is a DNS server and SMTP servers on loopback addresses that
// share one port (remote.port), as MX hosts share port 25.
type remoteWorld struct {
	dns  *dnstest.Server
	port int
}

func newRemoteWorld(t *testing.T) *remoteWorld {
	// A port free on 127.0.0.2 is almost surely free on the others.
	return &remoteWorld{dns: dnstest.Start(t), port: testlib.FreePortOn(t, "127.0.0.2")}
}

// config is the YAML that points a site at this world.
func (w *remoteWorld) config(extra string) string {
	if !strings.Contains(extra, "concurrencyremote:") {
		extra = "concurrencyremote: 20\n" + extra
	}
	return fmt.Sprintf("dns:\n  resolvers: [%q]\nremote:\n  port: %d\n%s", w.dns.Addr, w.port, extra)
}

func (w *remoteWorld) server(t *testing.T, ip string, cfg smtptest.Config) *smtptest.Server {
	return smtptest.Start(t, fmt.Sprintf("%s:%d", ip, w.port), cfg)
}

// TestRemoteDelivery: the daemon delivers queued mail to the MX hosts the
// DNS names, in one transaction per message and domain, over reused
// connections, and the queue empties; a restart in the middle loses
// nothing.
func TestRemoteDelivery(t *testing.T) {
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx1.example.net.", "example.net. 60 IN MX 20 mx2.example.net.",
		"mx1.example.net. 60 IN A 127.0.0.2", "mx2.example.net. 60 IN A 127.0.0.3")
	s1 := w.server(t, "127.0.0.2", smtptest.Config{Pipelining: true, EightBitMIME: true})
	s := newSite(t)
	s.writeConfig(w.config(""))
	d := s.startDaemon()
	const n = 40
	for i := 0; i < n; i++ {
		if code, errOut := s.queue(bodyFor(fmt.Sprintf("m%d", i)), envelope("sender@test.example", fmt.Sprintf("a%d@example.net", i), fmt.Sprintf("b%d@EXAMPLE.NET", i))); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if i == n/2 {
			if err := d.stop(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			d = s.startDaemon()
		}
	}
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
	if s1.Count() != n {
		t.Fatalf("the MX got %d transactions, want %d (one per message)", s1.Count(), n)
	}
	for _, m := range s1.Messages() {
		if len(m.Rcpts) != 2 || !strings.HasPrefix(string(m.Data), "Received: (qmail ") {
			t.Fatalf("transaction %+v", m)
		}
	}
	if s1.Connections() >= n {
		t.Errorf("%d connections for %d messages: no reuse", s1.Connections(), n)
	}
	d.stop(syscall.SIGTERM)
	log := s.daemonLog()
	for _, want := range []string{"starting delivery ", ": success: 127.0.0.2_accepted_message./Remote_host_said:_250", "end msg "} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestRemoteExpiryBounces: a recipient that keeps getting 4xx becomes a
// failure once the queue lifetime is over (qmail's dying pass), and the
// sender gets qmail's bounce, delivered like any other message.
func TestRemoteExpiryBounces(t *testing.T) {
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx.example.net.", "mx.example.net. 60 IN A 127.0.0.2",
		"sender.example. 60 IN MX 10 mx.sender.example.", "mx.sender.example. 60 IN A 127.0.0.3")
	w.server(t, "127.0.0.2", smtptest.Config{Reply: func(cmd, _ string) (int, string) {
		if cmd == "RCPT" {
			return 451, "4.2.0 mailbox busy"
		}
		return 0, ""
	}})
	home := w.server(t, "127.0.0.3", smtptest.Config{})
	s := newSite(t)
	s.writeConfig(w.config("queuelifetime: 1\n"))
	s.startDaemon()
	if code, errOut := s.queue("Subject: doomed\n\nbody\n", envelope("joe@sender.example", "busy@example.net")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	waitFor(t, "the first deferral", func() bool {
		l := s.listJSON()
		return len(l) == 1 && l[0].Recipients[0].Attempts == 1
	})
	// qmail's schedule (qmail-send.c nextretry()): the pass started within a
	// second of birth, so the next is birth + (0 + 20)² = 400 s.
	l := s.listJSON()[0]
	if next := l.Recipients[0].NextAttempt.Sub(l.ArrivalTime); next < 399*time.Second || next > 401*time.Second {
		t.Fatalf("next attempt %v after arrival, want 400s", next)
	}
	time.Sleep(1100 * time.Millisecond) // past the queue lifetime
	s.mustRun("queue", "flush")
	if !home.WaitCount(1, 15*time.Second) {
		t.Fatalf("no bounce reached the sender's MX\n%s", s.daemonLog())
	}
	b := home.Messages()[0]
	if b.Sender != "" || len(b.Rcpts) != 1 || b.Rcpts[0] != "joe@sender.example" {
		t.Fatalf("bounce envelope %q %q", b.Sender, b.Rcpts)
	}
	text := strings.ReplaceAll(string(b.Data), "\r\n", "\n")
	for _, want := range []string{
		"\nFrom: MAILER-DAEMON@test.example\n",
		"\nTo: joe@sender.example\n",
		"\nSubject: failure notice\n\nHi. This is the qmail-send program at test.example.\n" +
			"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
			"This is a permanent error; I've given up. Sorry it didn't work out.\n\n" +
			"<busy@example.net>:\n127.0.0.2 does not like recipient.\nRemote host said: 451 4.2.0 mailbox busy\n" +
			"I'm not going to try again; this message has been in the queue too long.\n\n" +
			"--- Below this line is a copy of the message.\n\nReturn-Path: <joe@sender.example>\nReceived: (qmail ",
		"Subject: doomed\n\nbody\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("bounce lacks %q:\n%s", want, text)
		}
	}
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
}

// TestRemoteKillDuringDelivery kills the daemon with SIGKILL while it
// delivers to a slow server, restarts it, and finds every message delivered
// at least once (a message whose final dot was sent before the kill may
// arrive twice, as with qmail) and the queue empty.
func TestRemoteKillDuringDelivery(t *testing.T) {
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx.example.net.", "mx.example.net. 60 IN A 127.0.0.2")
	slow := w.server(t, "127.0.0.2", smtptest.Config{Pipelining: true, Reply: func(cmd, _ string) (int, string) {
		if cmd == "DOT" {
			time.Sleep(100 * time.Millisecond)
		}
		return 0, ""
	}})
	s := newSite(t)
	s.writeConfig(w.config("concurrencyremote: 4\n"))
	d := s.startDaemon()
	const n = 120
	for i := 0; i < n; i++ {
		if code, errOut := s.queue(bodyFor(fmt.Sprintf("k%d", i)), envelope("sender@test.example", fmt.Sprintf("k%d@example.net", i))); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	}
	if !slow.WaitCount(n/4, 30*time.Second) {
		t.Fatal("deliveries did not start")
	}
	d.cmd.Process.Kill()
	<-d.done
	killedAt := slow.Count()
	s.startDaemon()
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
	got := map[string]int{}
	for _, m := range slow.Messages() {
		got[m.Rcpts[0]]++
	}
	dups := 0
	for i := 0; i < n; i++ {
		switch c := got[fmt.Sprintf("k%d@example.net", i)]; {
		case c == 0:
			t.Errorf("message k%d was lost", i)
		case c > 1:
			dups++
		}
	}
	t.Logf("%d delivered before the kill, %d transactions in all, %d duplicates", killedAt, slow.Count(), dups)
}
