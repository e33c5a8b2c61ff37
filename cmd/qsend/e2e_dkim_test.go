package main

import (
	"bytes"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/dkim"
)

// TestDKIMEndToEnd: keys made by `qsend dkim keygen` (RSA and Ed25519),
// checked against the DNS by `qsend dkim check` before and after they
// are published; mail that sendmail queues as a local user is signed
// with both and verifies with dkimpy at the MX, a large one too; the
// bounce of one is signed with me's keys; a RELAYCLIENT client's mail
// is signed; mail that an unauthenticated SMTP client sends to a local
// domain is not.
func TestDKIMEndToEnd(t *testing.T) {
	if err := exec.Command("/usr/bin/python3", "-c", "import dkim, dns.resolver").Run(); err != nil {
		t.Skip("python3-dkim is not installed (scripts/test installs it)")
	}
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx.example.net.", "mx.example.net. 60 IN A 127.0.0.2")
	mxs := w.server(t, "127.0.0.2", smtptest.Config{Pipelining: true, EightBitMIME: true,
		Reply: func(cmd, arg string) (int, string) {
			if cmd == "RCPT" && strings.Contains(arg, "nobody@") {
				return 550, "5.1.1 no such user"
			}
			return 0, ""
		}})
	s := newSite(t)
	s.writeControl("rcpthosts", "test.example\n")
	// RELAYCLIENT for 127.0.0.1 only, when tcprules is there to compile
	// the rules.
	relayRules := ""
	if _, err := exec.LookPath("tcprules"); err == nil {
		cdb := filepath.Join(s.dir, "tcp.smtp.cdb")
		if out, code := runTool(t, "127.0.0.1:allow,RELAYCLIENT=\"\"\n:allow\n", "tcprules", cdb, cdb+".tmp"); code != 0 {
			t.Fatalf("tcprules: exit %d: %s", code, out)
		}
		relayRules = "tcprules: " + cdb
	}
	listen, addrs := smtpdConfig(t, []string{"smtp"}, relayRules)
	s.writeConfig(w.config(listen))

	for _, args := range [][]string{{"test.example", "r1"}, {"test.example", "--type", "ed25519", "e1"}} {
		out := s.mustRun(append([]string{"dkim", "keygen"}, args...)...)
		if !strings.Contains(out, "._domainkey.test.example. IN TXT ") {
			t.Fatalf("keygen printed:\n%s", out)
		}
	}
	if _, _, code := s.run("", "qsend", "dkim", "keygen", "test.example", "r1"); code == 0 {
		t.Error("keygen replaced an existing key")
	}
	out, _, code := s.run("", "qsend", "dkim", "check", "test.example")
	if code != 1 || strings.Count(out, "no record") != 2 {
		t.Fatalf("check before publishing: exit %d\n%s", code, out)
	}
	for _, sel := range []string{"r1", "e1"} {
		k, err := dkim.ReadKey(filepath.Join(s.control, "domainkeys", "test.example", sel), "test.example", sel)
		if err != nil {
			t.Fatal(err)
		}
		var quoted []string
		for _, p := range dkim.Strings(k.Record()) {
			quoted = append(quoted, strconv.Quote(p))
		}
		w.dns.Add(k.RecordName() + ". 60 IN TXT " + strings.Join(quoted, " "))
	}
	out, _, code = s.run("", "qsend", "dkim", "check", "test.example")
	if code != 0 || strings.Count(out, "published, matches") != 2 {
		t.Fatalf("check after publishing: exit %d\n%s", code, out)
	}

	d := s.startDaemon()
	big := strings.Repeat(strings.Repeat("x", 70)+"\n", 5<<20/71)
	for i, body := range []string{"Hello.\n.\n..dots\n", big} {
		msg := fmt.Sprintf("From: Alice <alice@test.example>\nTo: bob@example.net\nSubject: signed %d\n\n%s", i, body)
		if _, errOut, code := s.run(msg, "sendmail", "-t"); code != 0 {
			t.Fatalf("sendmail: exit %d: %s", code, errOut)
		}
	}
	if !mxs.WaitCount(2, 30*time.Second) {
		t.Fatalf("the MX got %d messages", mxs.Count())
	}
	host, port, _ := net.SplitHostPort(w.dns.Addr)
	for _, m := range mxs.Messages() {
		out, code := runTool(t, string(m.Data), "/usr/bin/python3", "../../internal/dkim/testdata/verify.py", host, port)
		if code != 0 || strings.Count(out, "pass") != 2 {
			t.Errorf("dkimpy on the message the MX got (%d bytes): exit %d\n%s", len(m.Data), code, out)
		}
	}

	// Its bounce, to a local sender, is signed with me's keys.
	if _, errOut, code := s.run("From: alice@test.example\nTo: nobody@example.net\nSubject: to bounce\n\nx\n", "sendmail", "-t"); code != 0 {
		t.Fatalf("sendmail: exit %d: %s", code, errOut)
	}
	waitFor(t, "the bounce", func() bool {
		for _, m := range s.listJSON() {
			// A message listed may be delivered and gone before it is shown.
			sh, _, _ := s.run("", "qsend", "queue", "show", strconv.FormatUint(uint64(m.ID), 10))
			if strings.Contains(sh, "MAILER-DAEMON@test.example") {
				if strings.Count(sh, "DKIM-Signature: ") != 2 || !strings.Contains(sh, "d=test.example") {
					t.Fatalf("the bounce is not signed with me's keys:\n%s", sh)
				}
				return true
			}
		}
		return false
	})

	// A RELAYCLIENT client's mail is signed.
	if relayRules != "" {
		n := mxs.Count()
		sendFrom(t, "127.0.0.1", addrs["smtp"], "bob@example.net", "From: alice@test.example\r\nTo: bob@example.net\r\nSubject: relayed\r\n\r\nhi\r\n")
		if !mxs.WaitCount(n+1, 30*time.Second) {
			t.Fatal("the relayed message did not arrive")
		}
		m := mxs.Messages()[n]
		if out, code := runTool(t, string(m.Data), "/usr/bin/python3", "../../internal/dkim/testdata/verify.py", host, port); code != 0 || strings.Count(out, "pass") != 2 {
			t.Errorf("dkimpy on the RELAYCLIENT message: exit %d\n%s", code, out)
		}
	}

	// Mail from the Internet to a local domain is not signed.
	sendFrom(t, "127.0.0.4", addrs["smtp"], "postmaster@test.example", "From: alice@test.example\r\nTo: postmaster@test.example\r\nSubject: inbound\r\n\r\nhi\r\n")
	var shown string
	waitFor(t, "the inbound message", func() bool {
		for _, m := range s.listJSON() {
			if sh, _, _ := s.run("", "qsend", "queue", "show", strconv.FormatUint(uint64(m.ID), 10)); strings.Contains(sh, "Subject: inbound") {
				shown = sh
				return true
			}
		}
		return false
	})
	if strings.Contains(shown, "DKIM-Signature") {
		t.Errorf("inbound mail was signed:\n%s", shown)
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if log := s.daemonLog(); bytes.Contains([]byte(log), []byte("signing failed")) {
		t.Errorf("signing failed:\n%s", log)
	}
}

// sendFrom sends msg from alice@test.example to rcpt over SMTP to addr,
// from the loopback address src.
func sendFrom(t *testing.T, src, addr, rcpt, msg string) {
	t.Helper()
	dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(time.Minute))
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("alice@test.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		t.Fatalf("RCPT %s from %s: %v", rcpt, src, err)
	}
	wc, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := wc.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
}

// TestDKIMReload: a key added while the daemon runs signs after SIGHUP; a
// key readable by others makes the reload fail, keeping the keys in use,
// and stops a start, naming the file.
func TestDKIMReload(t *testing.T) {
	w := newRemoteWorld(t)
	w.dns.Add("example.net. 60 IN MX 10 mx.example.net.", "mx.example.net. 60 IN A 127.0.0.2")
	mxs := w.server(t, "127.0.0.2", smtptest.Config{Pipelining: true})
	s := newSite(t)
	s.writeConfig(w.config(""))
	d := s.startDaemon()
	send := func(subject string) []byte {
		t.Helper()
		n := mxs.Count()
		if _, errOut, code := s.run("From: alice@test.example\nTo: bob@example.net\nSubject: "+subject+"\n\nx\n", "sendmail", "-t"); code != 0 {
			t.Fatalf("sendmail: exit %d: %s", code, errOut)
		}
		if !mxs.WaitCount(n+1, 30*time.Second) {
			t.Fatalf("%s did not arrive", subject)
		}
		return mxs.Messages()[n].Data
	}
	if m := send("before"); bytes.Contains(m, []byte("DKIM-Signature")) {
		t.Fatal("signed without a key")
	}
	s.mustRun("dkim", "keygen", "test.example", "--type", "ed25519", "e1")
	hup := func() {
		t.Helper()
		if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	waitFor(t, "the reload", func() bool { return strings.Contains(s.daemonLog(), "configuration reloaded") })
	if m := send("after"); !bytes.Contains(m, []byte("DKIM-Signature: ")) || !bytes.Contains(m, []byte("d=test.example")) {
		t.Fatalf("not signed after the reload:\n%s", m)
	}
	key := filepath.Join(s.control, "domainkeys", "test.example", "e1")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	hup()
	waitFor(t, "the failed reload", func() bool { return strings.Contains(s.daemonLog(), "reload failed") })
	if m := send("kept"); !bytes.Contains(m, []byte("DKIM-Signature: ")) {
		t.Fatal("the failed reload dropped the key in use")
	}
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := s.run("", "qsend", "daemon")
	if code == 0 || !strings.Contains(errOut, key+": readable by others") {
		t.Errorf("daemon with a bad key: exit %d: %s", code, errOut)
	}
}
