package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/remote/postfixtest"
	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

// writePem writes control/tlshosts/<host>.pem.
func (s *site) writePem(host string, pem []byte) {
	s.t.Helper()
	if err := os.MkdirAll(filepath.Join(s.control, "tlshosts"), 0o755); err != nil {
		s.t.Fatal(err)
	}
	s.writeControl("tlshosts/"+host+".pem", string(pem))
}

// tlsConfig is a server configuration presenting c.
func tlsConfig(c *certtest.Cert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.TLS()}}
}

// metrics returns the text of the daemon's /metrics.
func metrics(t *testing.T, addr string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTLSExpiryHeld: a message whose tlshosts pem does not verify the MX is
// deferred with qmail-tls's text; when its queue lifetime ends the message
// is held, not bounced (tls.on_expiry: hold), and says so in queue list,
// queue show, the log and /metrics; once the pem is fixed, queue release
// delivers it over TLS. With tls.on_expiry: bounce it bounces as qmail
// would (qmail-tls qmail-remote.c tls_quit(); qmail-send.c nextretry()).
func TestTLSExpiryHeld(t *testing.T) {
	const tlsText = "TLS unable to verify server with control/tlshosts/mx.example.net.pem: unable to get local issuer certificate; connected to 127.0.0.2."
	for _, onExpiry := range []string{"hold", "bounce"} {
		t.Run(onExpiry, func(t *testing.T) {
			ca := certtest.NewCA(t, "qsend e2e CA")
			other := certtest.NewCA(t, "other CA")
			w := newRemoteWorld(t)
			w.dns.Add("example.net. 60 IN MX 10 mx.example.net.", "mx.example.net. 60 IN A 127.0.0.2",
				"sender.example. 60 IN MX 10 mx.sender.example.", "mx.sender.example. 60 IN A 127.0.0.3")
			mx := w.server(t, "127.0.0.2", smtptest.Config{Hostname: "mx.example.net",
				TLS: tlsConfig(ca.Issue(t, certtest.Options{DNSNames: []string{"mx.example.net"}}))})
			home := w.server(t, "127.0.0.3", smtptest.Config{})
			s := newSite(t)
			s.writePem("mx.example.net", other.PEM())
			metricsAddr := testlib.FreeAddr(t)
			s.writeConfig(w.config(fmt.Sprintf("queuelifetime: 1\nmetrics:\n  listen: %q\ntls:\n  on_expiry: %s\n", metricsAddr, onExpiry)))
			s.startDaemon()
			if code, errOut := s.queue("Subject: secret\n\nbody\n", envelope("joe@sender.example", "rcpt@example.net")); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			waitFor(t, "the first deferral", func() bool {
				l := s.listJSON()
				return len(l) == 1 && l[0].Recipients[0].Attempts == 1
			})
			if got := s.listJSON()[0].Recipients[0].LastResult; got != tlsText+"\n" {
				t.Fatalf("last result %q, want %q", got, tlsText+"\n")
			}
			id := s.listJSON()[0].ID
			time.Sleep(1100 * time.Millisecond) // past the queue lifetime
			s.mustRun("queue", "flush")

			if onExpiry == "bounce" {
				if !home.WaitCount(1, 15*time.Second) {
					t.Fatalf("no bounce reached the sender's MX\n%s", s.daemonLog())
				}
				text := strings.ReplaceAll(string(home.Messages()[0].Data), "\r\n", "\n")
				want := "<rcpt@example.net>:\n" + tlsText + "\nI'm not going to try again; this message has been in the queue too long.\n"
				if !strings.Contains(text, want) {
					t.Fatalf("bounce lacks %q:\n%s", want, text)
				}
				waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
				if mx.Count() != 0 {
					t.Fatalf("the MX got %d messages", mx.Count())
				}
				return
			}

			waitFor(t, "the message to be held", func() bool {
				l := s.listJSON()
				return len(l) == 1 && l[0].Held
			})
			if l := s.listJSON()[0]; l.Recipients[0].State != "deferred" || l.Recipients[0].LastResult != tlsText+"\n" {
				t.Fatalf("held recipient %+v", l.Recipients[0])
			}
			if out := s.mustRun("queue", "list"); !strings.Contains(out, fmt.Sprintf("#%d ", id)) || !strings.Contains(out, " held\n") {
				t.Errorf("queue list does not show the message held:\n%s", out)
			}
			show := s.mustRun("queue", "show", fmt.Sprint(id))
			for _, want := range []string{"held:     yes", "<rcpt@example.net>  deferred, ", ", held\n", tlsText} {
				if !strings.Contains(show, want) {
					t.Errorf("queue show lacks %q:\n%s", want, show)
				}
			}
			if m := metrics(t, metricsAddr); !strings.Contains(m, "\nqsend_tls_expiry_held_total 1\n") {
				t.Errorf("/metrics lacks qsend_tls_expiry_held_total 1:\n%s", m)
			}
			if log := s.daemonLog(); !strings.Contains(log, "message held") {
				t.Errorf("the log does not say the message was held:\n%s", log)
			}
			if home.Count() != 0 || mx.Count() != 0 {
				t.Fatalf("messages: %d bounces, %d at the MX; want none", home.Count(), mx.Count())
			}

			// The operator fixes the pem and releases the message.
			s.writePem("mx.example.net", ca.PEM())
			s.mustRun("queue", "release", fmt.Sprint(id))
			if !mx.WaitCount(1, 15*time.Second) {
				t.Fatalf("the released message was not delivered\n%s", s.daemonLog())
			}
			waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
			if msgs := mx.Messages(); len(msgs) != 1 || !msgs[0].TLS || msgs[0].Rcpts[0] != "rcpt@example.net" {
				t.Fatalf("delivered %+v, want one message over TLS", msgs)
			}
			if home.Count() != 0 {
				t.Fatalf("%d bounces", home.Count())
			}
		})
	}
}

// TestTLSPostfixInterop: Postfix as the receiving MX with a certificate
// from a test CA, reached by name through smtproutes: a tlshosts pem of
// another CA defers the message with qmail-tls's text and Postfix gets
// nothing; the right pem delivers it over verified TLS.
func TestTLSPostfixInterop(t *testing.T) {
	ca := certtest.NewCA(t, "qsend e2e CA")
	cert := ca.Issue(t, certtest.Options{CommonName: "mx.pf.test", DNSNames: []string{"mx.pf.test"}})
	pf := postfixtest.Start(t, postfixtest.Options{Domain: "pf.test", TLS: true, CertPEM: cert.CertPEM(), KeyPEM: cert.KeyPEM(t)})
	w := newRemoteWorld(t)
	w.dns.Add("mx.pf.test. 60 IN A 127.0.0.1")
	s := newSite(t)
	s.writePem("mx.pf.test", certtest.NewCA(t, "other CA").PEM())
	s.writeConfig(w.config(fmt.Sprintf("smtproutes: [\"pf.test:mx.pf.test:%d\"]\n", pf.Addr().Port())))
	s.startDaemon()
	if code, errOut := s.queue(bodyFor("pftls"), envelope("sender@test.example", "user@pf.test")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	waitFor(t, "the first deferral", func() bool {
		l := s.listJSON()
		return len(l) == 1 && l[0].Recipients[0].Attempts == 1
	})
	const wrong = "TLS unable to verify server with control/tlshosts/mx.pf.test.pem: unable to get local issuer certificate; connected to 127.0.0.1.\n"
	if got := s.listJSON()[0].Recipients[0].LastResult; got != wrong {
		t.Fatalf("last result %q, want %q\n%s", got, wrong, pf.Log())
	}
	if msgs := pf.WaitMessages(1, 200*time.Millisecond); len(msgs) != 0 {
		t.Fatalf("Postfix got %d messages through an unverified session", len(msgs))
	}

	s.writePem("mx.pf.test", ca.PEM())
	s.mustRun("queue", "flush")
	msgs := pf.WaitMessages(1, 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("Postfix got %d messages, want 1\n%s\n%s", len(msgs), pf.Log(), s.daemonLog())
	}
	text := strings.ReplaceAll(string(msgs[0]), "\r\n", "\n")
	if !strings.Contains(text, "(using TLS") || !strings.Contains(text, "pftls line") {
		t.Errorf("message did not arrive over TLS, intact:\n%s", text[:min(len(text), 800)])
	}
	waitFor(t, "the queue to empty", func() bool { return len(s.listJSON()) == 0 })
}
