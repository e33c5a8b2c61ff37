package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/qsend/qsend/internal/ctl"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
)

// The interoperability tests of the SMTP server: third-party clients
// (swaks, openssl s_client) against the daemon's listeners, and qsend
// smtpd under ucspi-tcp's tcpserver with a tcprules cdb, all on loopback.
// scripts/test installs the Debian packages; without them the tests skip.

// toolTimeout bounds every run of a third-party program.
const toolTimeout = time.Minute

// needTools skips the test unless every program is installed, and returns
// their paths by name (smtp-source and friends live in /usr/sbin, which an
// ordinary user's PATH may lack).
func needTools(t *testing.T, names ...string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, n := range names {
		p, err := exec.LookPath(n)
		if err != nil {
			if _, serr := os.Stat(filepath.Join("/usr/sbin", n)); serr == nil {
				p, err = filepath.Join("/usr/sbin", n), nil
			}
		}
		if err != nil {
			t.Skipf("%s is not installed (scripts/test installs its Debian package): %v", n, err)
		}
		paths[n] = p
	}
	return paths
}

// smtpdConfig is the YAML of an smtpd section with one listener on a free
// loopback port per mode, followed by keys (lines of the section without
// their indentation). It returns the listeners' addresses by mode.
func smtpdConfig(t *testing.T, modes []string, keys ...string) (yaml string, addrs map[string]string) {
	t.Helper()
	addrs = map[string]string{}
	var b strings.Builder
	b.WriteString("smtpd:\n  listen:\n")
	for _, m := range modes {
		addrs[m] = testlib.FreeAddr(t)
		fmt.Fprintf(&b, "    - {address: %q, mode: %s}\n", addrs[m], m)
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "  %s\n", k)
	}
	return b.String(), addrs
}

// runTool runs a third-party program with stdin, bounded by toolTimeout,
// and returns its standard output and error together and its exit status.
func runTool(t *testing.T, stdin, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: no result within %v:\n%s", name, strings.Join(args, " "), toolTimeout, out)
	}
	return string(out), exitStatus(t, err)
}

// swaks runs swaks against addr with message as DATA (swaks ends it with
// CRLF.CRLF itself) and the given options.
func swaks(t *testing.T, addr, message string, args ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--server", host, "--port", port, "--timeout", "20", "--data", "-"}
	out, _ := runTool(t, message, "swaks", append(base, args...)...)
	return out
}

// swaks's transcript marks what the server sent with "<-" in plain text
// and "<~" under TLS, and refusals with "<**" in plain text or "<~*"
// under TLS. swaks says EHLO, so replies carry their enhanced status
// code after the reply code (RFC 2034 §4).
var (
	swaksQueued = regexp.MustCompile(`(?m)^<[-~] +250 2\.0\.0 ok \d+ qp \d+\r?$`)
	swaksCipher = regexp.MustCompile(`=== TLS started with cipher (TLSv[0-9.]+):([A-Z0-9_-]+):\d+`)
)

// swaksQueuedOK fails the test unless the transcript shows the message
// accepted for delivery.
func swaksQueuedOK(t *testing.T, what, out string) {
	t.Helper()
	if !swaksQueued.MatchString(out) {
		t.Fatalf("%s: message not accepted:\n%s", what, out)
	}
}

// swaksRefused fails the test unless the transcript shows reply, a
// refusal, and no message accepted.
func swaksRefused(t *testing.T, what, out, reply string) {
	t.Helper()
	if !regexp.MustCompile(`(?m)^<[*~]\* +` + regexp.QuoteMeta(reply) + `\r?$`).MatchString(out) {
		t.Fatalf("%s: no refusal %q:\n%s", what, reply, out)
	}
	if swaksQueued.MatchString(out) {
		t.Fatalf("%s: message accepted:\n%s", what, out)
	}
}

// needSwaksTLS skips the test unless swaks can do TLS: it needs Perl's
// Net::SSLeay (Debian's libnet-ssleay-perl, only recommended by the swaks
// package).
func needSwaksTLS(t *testing.T) {
	t.Helper()
	out, _ := runTool(t, "", "swaks", "--support")
	if !strings.Contains(out, "=== TLS supported") {
		t.Skipf("swaks cannot do TLS (install libnet-ssleay-perl):\n%s", out)
	}
}

// swaksTLSCipher returns the cipher swaks (OpenSSL) negotiated, by its
// OpenSSL name.
func swaksTLSCipher(t *testing.T, out string) string {
	t.Helper()
	m := swaksCipher.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no TLS session in the transcript:\n%s", out)
	}
	return m[2]
}

// testMessage is a small message named by its Subject, with a line that
// starts with a dot (stuffed by the client, unstuffed by the server) and
// without a final newline: swaks writes CRLF before the final dot.
func testMessage(token string) string {
	return "Subject: " + token + "\nMessage-ID: <" + token + "@client.example>\n\nbody of " + token + "\n.a line with a leading dot\nend"
}

// storedMessage is a queued message with its body.
type storedMessage struct {
	store.Message
	Body string
}

// storedMessages stops the daemon and returns the queued messages by
// their Subject, read from the queue file itself: envelope, intake and the
// body exactly as stored.
func (s *site) storedMessages(d *daemonProc) map[string]storedMessage {
	s.t.Helper()
	if err := d.stop(syscall.SIGTERM); err != nil {
		s.t.Fatalf("daemon exit: %v\n%s", err, s.daemonLog())
	}
	st, err := store.Open(ctl.LayoutOf(s.stateDir).Queue, store.Options{ReadOnly: true})
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	out := map[string]storedMessage{}
	err = st.Walk(func(m store.Message) error {
		b, err := storedBody(st, m.ID)
		if err != nil {
			return err
		}
		subject := regexp.MustCompile(`(?m)^Subject: (.*)$`).FindStringSubmatch(string(b))
		if subject == nil {
			return fmt.Errorf("message %d has no Subject:\n%s", m.ID, b)
		}
		out[subject[1]] = storedMessage{Message: m, Body: string(b)}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// checkStored checks a queued message: its envelope, and a body that is
// qmail-queue's Received line ("invoked" invoked), qmail-smtpd's Received
// line from the client ip with HELO helo, received "by" local "with" with,
// then the message as the client sent it.
func checkStored(t *testing.T, msgs map[string]storedMessage, token, sender string, rcpts []string, invoked, ip, helo, local, with string) {
	t.Helper()
	m, ok := msgs[token]
	if !ok {
		t.Fatalf("message %q is not in the queue (%d messages)", token, len(msgs))
	}
	var got []string
	for _, r := range m.Recipients {
		got = append(got, r.Addr)
	}
	if m.Sender != sender || strings.Join(got, " ") != strings.Join(rcpts, " ") {
		t.Errorf("message %q: envelope <%s> %q, want <%s> %q", token, m.Sender, got, sender, rcpts)
	}
	// qmail-queue.c (qmail-queue's line), received.c received().
	re := regexp.MustCompile(`^Received: \(qmail \d+ invoked ` + regexp.QuoteMeta(invoked) + `\); \d+ \w+ \d{4} \d\d:\d\d:\d\d -0000\n` +
		`Received: from unknown \(HELO ` + regexp.QuoteMeta(helo) + `\) \(` + regexp.QuoteMeta(ip) + `\)\n` +
		`  by ` + regexp.QuoteMeta(local) + ` with ` + regexp.QuoteMeta(with) + `; \d+ \w+ \d{4} \d\d:\d\d:\d\d -0000\n` +
		regexp.QuoteMeta(testMessage(token)+"\n") + `$`)
	if !re.MatchString(m.Body) {
		t.Errorf("message %q: body\n%s\nwant\n%s", token, m.Body, re)
	}
}

// writeServerCert writes control/servercert.pem for mx.test.example,
// issued by a new test CA, which it returns.
func (s *site) writeServerCert() *certtest.CA {
	s.t.Helper()
	ca := certtest.NewCA(s.t, "qsend test CA")
	ca.Issue(s.t, certtest.Options{CommonName: "mx.test.example", DNSNames: []string{"mx.test.example"}}).
		WriteFile(s.t, filepath.Join(s.control, "servercert.pem"))
	return ca
}

// fromNetwork is qmail-queue's words for the listeners' messages, which
// the daemon queues as qmail-queue does for qmaild (qmail-queue.c).
const fromNetwork = "from network"

// writeClientCert writes a client certificate for email issued by ca
// (the address in the subject's emailAddress, as qmail-tls's
// README.starttls makes them with openssl req) and its key, and returns
// the two file names.
func writeClientCert(t *testing.T, ca *certtest.CA, dir, email string) (certFile, keyFile string) {
	t.Helper()
	certFile = filepath.Join(dir, email+".crt")
	keyFile = filepath.Join(dir, email+".key")
	ca.Issue(t, certtest.Options{
		CommonName:   "client " + email,
		SubjectEmail: email,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}).WriteFiles(t, certFile, keyFile)
	return certFile, keyFile
}

// TestSMTPDSwaks: swaks delivers to the daemon's smtp listener in plain
// text, with STARTTLS under TLS 1.3 and TLS 1.2, and with pipelining; the
// queue holds each message with qmail-smtpd's Received line, and the
// cipher it names is the one the client negotiated, by OpenSSL's name.
func TestSMTPDSwaks(t *testing.T) {
	needTools(t, "swaks")
	needSwaksTLS(t)
	s := newSite(t)
	s.writeControl("rcpthosts", "test.example\n")
	s.writeServerCert()
	conf, addrs := smtpdConfig(t, []string{"smtp"})
	s.writeConfig(conf)
	d := s.startDaemon()
	addr := addrs["smtp"]

	type sent struct{ token, helo, with, cipher string }
	var all []sent
	tests := []struct {
		name, token string
		args        []string
		// with is the Received line's protocol; %s is the cipher swaks saw.
		with  string
		check func(t *testing.T, out string)
	}{
		{name: "plain", token: "plain", with: "SMTP", check: func(t *testing.T, out string) {
			if strings.Contains(out, "TLS started") {
				t.Fatalf("TLS without --tls:\n%s", out)
			}
		}},
		{name: "STARTTLS", token: "starttls", args: []string{"--tls"}, with: "ESMTPS (%s encrypted)", check: func(t *testing.T, out string) {
			if m := swaksCipher.FindStringSubmatch(out); m == nil || m[1] != "TLSv1.3" {
				t.Fatalf("want TLS 1.3:\n%s", out)
			}
		}},
		// The TLS 1.2 suite names are where OpenSSL's and Go's differ.
		{name: "STARTTLS TLS 1.2", token: "starttls12", args: []string{"--tls", "--tls-protocol", "tlsv1_2"}, with: "ESMTPS (%s encrypted)", check: func(t *testing.T, out string) {
			if m := swaksCipher.FindStringSubmatch(out); m == nil || m[1] != "TLSv1.2" || !strings.HasPrefix(m[2], "ECDHE-ECDSA-") {
				t.Fatalf("want TLS 1.2 with an ECDHE-ECDSA suite:\n%s", out)
			}
		}},
		// RFC 2920: MAIL, both RCPTs and DATA go out before their replies
		// come back, which arrive in order; the refused recipient does not
		// stop the message.
		{name: "pipelining", token: "pipelined", args: []string{"--pipeline", "--to", "joe@test.example,far@example.net"}, with: "SMTP", check: func(t *testing.T, out string) {
			pipelined := regexp.MustCompile(` -> MAIL FROM:<[^\n]*\n -> RCPT TO:<joe@test.example>\n -> RCPT TO:<far@example.net>\n -> DATA\n` +
				// RFC 2034 §4: the codes after EHLO
				`<-  250 2\.1\.0 ok\n<-  250 2\.1\.5 ok\n<\*\* 553 5\.7\.1 sorry, that domain isn't in my list of allowed rcpthosts \(#5\.7\.1\)\n<-  354 go ahead\n`)
			if !pipelined.MatchString(strings.ReplaceAll(out, "\r", "")) {
				t.Fatalf("commands not pipelined or replies out of order:\n%s", out)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			helo := tt.token + ".client.example"
			args := append([]string{"--from", "sender@example.org", "--to", "joe@test.example", "--ehlo", helo}, tt.args...)
			out := swaks(t, addr, testMessage(tt.token), args...)
			swaksQueuedOK(t, tt.name, out)
			tt.check(t, out)
			with, cipher := tt.with, ""
			if strings.Contains(with, "%s") {
				cipher = swaksTLSCipher(t, out)
				with = fmt.Sprintf(with, cipher)
			}
			all = append(all, sent{tt.token, helo, with, cipher})
		})
	}
	msgs := s.storedMessages(d)
	for _, m := range all {
		checkStored(t, msgs, m.token, "sender@example.org", []string{"joe@test.example"}, fromNetwork, "127.0.0.1", m.helo, "test.example", m.with)
		want := store.Intake{Protocol: "smtp", UID: -1, ClientAddr: "127.0.0.1", HELO: m.helo, TLS: m.cipher}
		if m.cipher != "" {
			want.Protocol = "esmtps"
		}
		got := msgs[m.token].Intake
		want.PID = got.PID // the daemon's
		if got.PID == 0 || got != want {
			t.Errorf("message %q: intake %+v, want %+v", m.token, got, want)
		}
	}
	if len(msgs) != len(all) {
		t.Errorf("%d messages in the queue, want %d", len(msgs), len(all))
	}
}

// checkpasswordScript is a checkpassword program in the interface's
// convention (cr.yp.to/checkpwd/interface.html): "user\0password\0
// timestamp\0" on descriptor 3, exit 1 for a wrong password, else run its
// arguments.
const checkpasswordScript = `#!/bin/bash
IFS= read -r -d '' user <&3 || exit 111
IFS= read -r -d '' pass <&3 || exit 111
if [ "$user" != alice ] || [ "$pass" != 'correct horse' ]; then
	exit 1
fi
exec "$@"
`

// TestSMTPDSwaksAuth: AUTH PLAIN and LOGIN with swaks over STARTTLS,
// against a bcrypt password file and against a checkpassword program. A
// good password lets the client relay, a wrong one gets 535, a client that
// does not authenticate gets the rcpthosts 553, and AUTH is not offered
// before STARTTLS.
func TestSMTPDSwaksAuth(t *testing.T) {
	needTools(t, "swaks", "bash")
	needSwaksTLS(t)
	backends := []struct {
		name  string
		setup func(t *testing.T, dir string) string // the smtpd key
	}{
		{"password file", func(t *testing.T, dir string) string {
			hash, err := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "passwords")
			if err := os.WriteFile(path, []byte("# users\nalice:"+string(hash)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("auth_passwords: %q", path)
		}},
		{"checkpassword", func(t *testing.T, dir string) string {
			path := filepath.Join(dir, "checkpassword")
			if err := os.WriteFile(path, []byte(checkpasswordScript), 0o755); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("auth_checkpassword: [%q, /bin/true]", path)
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			s := newSite(t)
			s.writeControl("rcpthosts", "test.example\n")
			s.writeServerCert()
			conf, addrs := smtpdConfig(t, []string{"smtp"}, b.setup(t, s.dir), "auth_fail_delay: 0s")
			s.writeConfig(conf)
			d := s.startDaemon()
			addr := addrs["smtp"]
			relay := []string{"--from", "alice@test.example", "--to", "far@example.net"}

			// Inside TLS the rcpthosts refusal carries qmail-tls's
			// certificate clause (qmail-tls qmail-smtpd.c tls_verify()).
			out := swaks(t, addr, testMessage("noauth"), append(relay, "--ehlo", "noauth.client.example", "--tls")...)
			swaksRefused(t, "relaying without AUTH", out, "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying (#5.7.1)")

			// Passwords never travel in plain text: AUTH is advertised
			// only after STARTTLS (smtpd.auth_without_tls: never).
			out = swaks(t, addr, testMessage("plaintext"), append(relay, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "correct horse")...)
			if !strings.Contains(out, "Host did not advertise authentication") {
				t.Fatalf("AUTH before STARTTLS:\n%s", out)
			}

			t.Run("wrong password", func(t *testing.T) {
				out := swaks(t, addr, testMessage("wrong"), append(relay, "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong horse")...)
				swaksRefused(t, "wrong password", out, "535 5.7.0 authorization failed (#5.7.0)")
			})

			var ciphers []string
			for _, mech := range []string{"PLAIN", "LOGIN"} {
				token := "auth-" + strings.ToLower(mech)
				out = swaks(t, addr, testMessage(token), append(relay, "--ehlo", token+".client.example", "--tls", "--auth", mech, "--auth-user", "alice", "--auth-password", "correct horse")...)
				if !regexp.MustCompile(`(?m)^<~ +235 2\.0\.0 ok, go ahead \(#2\.0\.0\)\r?$`).MatchString(out) {
					t.Fatalf("AUTH %s:\n%s", mech, out)
				}
				swaksQueuedOK(t, "AUTH "+mech, out)
				ciphers = append(ciphers, swaksTLSCipher(t, out))
			}

			msgs := s.storedMessages(d)
			if len(msgs) != 2 {
				t.Fatalf("%d messages queued, want the 2 authenticated ones", len(msgs))
			}
			for i, mech := range []string{"PLAIN", "LOGIN"} {
				token := "auth-" + strings.ToLower(mech)
				// The AUTH patches put the user where qmail writes
				// TCPREMOTEINFO; RFC 3848's ESMTPSA.
				checkStored(t, msgs, token, "alice@test.example", []string{"far@example.net"}, fromNetwork, "alice@127.0.0.1", token+".client.example",
					"test.example", "ESMTPSA ("+ciphers[i]+" encrypted, authenticated)")
			}
		})
	}
}

// sClient is an SMTP session through openssl s_client -starttls smtp:
// s_client says EHLO and STARTTLS itself, and what is written to it goes
// to the server inside TLS (with -crlf, as CRLF lines).
type sClient struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Reader
	log strings.Builder // the transcript, for failure messages
}

// startSClient runs s_client against addr with extra options; it is
// killed when the test ends, and after toolTimeout in any case.
func startSClient(t *testing.T, addr string, args ...string) *sClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	args = append([]string{"s_client", "-starttls", "smtp", "-connect", addr, "-quiet", "-crlf", "-name", "client.example"}, args...)
	cmd := exec.CommandContext(ctx, "openssl", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cancel()
		cmd.Wait()
	})
	return &sClient{t: t, in: in, out: bufio.NewReader(out)}
}

// send writes lines and returns the server's reply, all its lines joined
// by "\n".
func (c *sClient) send(lines ...string) string {
	c.t.Helper()
	for _, l := range lines {
		c.log.WriteString("C: " + l + "\n")
		if _, err := io.WriteString(c.in, l+"\n"); err != nil {
			c.t.Fatalf("s_client: %v\n%s", err, c.log.String())
		}
	}
	var reply []string
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			c.t.Fatalf("s_client: reading the reply: %v\n%s", err, c.log.String())
		}
		line = strings.TrimRight(line, "\r\n")
		c.log.WriteString("S: " + line + "\n")
		reply = append(reply, line)
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(reply, "\n")
		}
	}
}

// expect sends lines and fails the test unless the reply's last line
// matches re.
func (c *sClient) expect(re string, lines ...string) {
	c.t.Helper()
	reply := c.send(lines...)
	last := reply[strings.LastIndexByte(reply, '\n')+1:]
	if !regexp.MustCompile(`^(?:` + re + `)$`).MatchString(last) {
		c.t.Fatalf("reply %q, want %s\n%s", reply, re, c.log.String())
	}
}

// TestSMTPDOpenSSLClientCert: openssl s_client -starttls smtp talks SMTP
// inside TLS; a client certificate from clientca.pem whose address is
// listed in tlsclients may relay and is named in the Received line, as
// with qmail-tls (qmail-tls qmail-smtpd.c tls_verify()); an unlisted certificate or
// none gets qmail-tls's refusal.
func TestSMTPDOpenSSLClientCert(t *testing.T) {
	needTools(t, "openssl")
	s := newSite(t)
	s.writeControl("rcpthosts", "test.example\n")
	ca := s.writeServerCert()
	ca.WritePEM(t, filepath.Join(s.control, "clientca.pem"))
	s.writeControl("tlsclients", "user@example.com\n")
	conf, addrs := smtpdConfig(t, []string{"smtp"})
	s.writeConfig(conf)
	d := s.startDaemon()

	listedCert, listedKey := writeClientCert(t, ca, s.dir, "user@example.com")
	otherCert, otherKey := writeClientCert(t, ca, s.dir, "other@example.com")
	tests := []struct {
		name  string
		args  []string
		reply string // to RCPT to a foreign domain
	}{
		// s_client says EHLO: replies carry the enhanced code (RFC 2034 §4)
		{"listed certificate", []string{"-cert", listedCert, "-key", listedKey}, `250 2\.1\.5 ok`},
		{"unlisted certificate", []string{"-cert", otherCert, "-key", otherKey},
			regexp.QuoteMeta("553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying: email address not in my list of tlsclients (#5.7.1)")},
		{"no certificate", nil,
			regexp.QuoteMeta("553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts; no valid cert for gatewaying (#5.7.1)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startSClient(t, addrs["smtp"], tt.args...)
			c.expect(`250 SMTPUTF8`, "EHLO cert.client.example")
			c.expect(`250 2\.1\.0 ok`, "MAIL FROM:<user@example.com>")
			c.expect(tt.reply, "RCPT TO:<far@example.net>")
			if !strings.HasPrefix(tt.reply, "250") {
				c.expect(`221 2\.0\.0 test\.example`, "QUIT")
				return
			}
			c.expect(`354 go ahead`, "DATA")
			lines := strings.Split(testMessage("cert"), "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, ".") {
					lines[i] = "." + l // RFC 5321 §4.5.2
				}
			}
			c.expect(`250 2\.0\.0 ok \d+ qp \d+`, append(lines, ".")...)
			c.expect(`221 2\.0\.0 test\.example`, "QUIT")
		})
	}
	msgs := s.storedMessages(d)
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued, want 1", len(msgs))
	}
	// The cipher is whatever OpenSSL and Go agreed on; the (cert ...)
	// continuation line is qmail-tls's (qmail-tls qmail-smtpd.c tls_verify()).
	body := msgs["cert"].Body
	with := regexp.MustCompile(`\n  by test\.example with ESMTPS \((TLS_[A-Z0-9_]+) encrypted\)\n  \(cert user@example\.com\); `).FindStringSubmatch(body)
	if with == nil {
		t.Fatalf("Received line without the certificate:\n%s", body)
	}
	checkStored(t, msgs, "cert", "user@example.com", []string{"far@example.net"}, fromNetwork, "127.0.0.1", "cert.client.example", "test.example",
		"ESMTPS ("+with[1]+" encrypted)\n  (cert user@example.com)")
}

// startTcpserver runs ucspi-tcp's tcpserver on addr with the rules in
// cdb, serving each connection with prog and args in s's environment, as a
// qmail run script does, and waits until it accepts connections. It and
// the sessions it started are killed when the test ends.
func (s *site) startTcpserver(addr, cdb, prog string, args ...string) {
	s.t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		s.t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(s.dir, "tcpserver.log"))
	if err != nil {
		s.t.Fatal(err)
	}
	// -H -R: no DNS or ident lookups of the client; -l: TCPLOCALHOST
	// without a DNS lookup either.
	argv := append([]string{"-H", "-R", "-l", "mx.test.example", "-x", cdb, host, port, prog}, args...)
	cmd := exec.Command("tcpserver", argv...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that the cleanup also reaches sessions
	// still running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	s.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		logf.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			b, _ := os.ReadFile(logf.Name())
			s.t.Fatalf("tcpserver exited: %v\n%s", err, b)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("tcpserver does not accept on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMTPDUnderTcpserver: qsend as qmail-smtpd under ucspi-tcp's
// tcpserver with a rules cdb compiled by its tcprules: RELAYCLIENT=""
// for 127.0.0.1 lets swaks relay, other clients only reach rcpthosts, a
// deny rule closes the connection before the greeting, and a rule's
// DATABYTES is enforced with qmail's 552.
func TestSMTPDUnderTcpserver(t *testing.T) {
	needTools(t, "tcpserver", "tcprules", "swaks")
	s := newSite(t)
	s.writeControl("rcpthosts", "test.example\n")
	d := s.startDaemon() // qmail-smtpd queues through it

	rules := "127.0.0.1:allow,RELAYCLIENT=\"\"\n127.0.0.2:deny\n127.0.0.3:allow,DATABYTES=\"1000\"\n:allow\n"
	cdb := filepath.Join(s.dir, "tcp.smtp.cdb")
	if out, code := runTool(t, rules, "tcprules", cdb, cdb+".tmp"); code != 0 {
		t.Fatalf("tcprules: exit %d: %s", code, out)
	}
	addr := testlib.FreeAddr(t)
	s.startTcpserver(addr, cdb, filepath.Join(filepath.Dir(qsendBin), "qmail-smtpd"))

	big := testMessage("big") + "\n" + strings.Repeat("a line that makes the message bigger than DATABYTES\n", 40) + "end"
	tests := []struct {
		name, from, token, to, message string
		refusal                        string // "" when the message is queued
	}{
		{"RELAYCLIENT relays", "127.0.0.1", "relayclient", "far@example.net", "", ""},
		{"no relay without RELAYCLIENT", "127.0.0.4", "norelay", "far@example.net", "",
			"553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"}, // RFC 2034 §4: after EHLO
		{"rcpthosts without RELAYCLIENT", "127.0.0.4", "rcpthosts", "joe@test.example", "", ""},
		{"DATABYTES small message", "127.0.0.3", "small", "joe@test.example", "", ""},
		{"DATABYTES exceeded", "127.0.0.3", "big", "joe@test.example", big,
			"552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)"},
	}
	var queued []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.message
			if msg == "" {
				msg = testMessage(tt.token)
			}
			out := swaks(t, addr, msg, "--local-interface", tt.from, "--from", "sender@example.org", "--to", tt.to, "--ehlo", tt.token+".client.example")
			if tt.refusal != "" {
				swaksRefused(t, tt.name, out, tt.refusal)
				return
			}
			swaksQueuedOK(t, tt.name, out)
			queued = append(queued, tt.token)
		})
	}
	t.Run("deny rule", func(t *testing.T) {
		out := swaks(t, addr, testMessage("denied"), "--local-interface", "127.0.0.2", "--from", "sender@example.org", "--to", "joe@test.example")
		if !strings.Contains(out, "=== Connected to 127.0.0.1.") || strings.Contains(out, "<-  220") || swaksQueued.MatchString(out) {
			t.Fatalf("a denied client was greeted:\n%s", out)
		}
	})

	msgs := s.storedMessages(d)
	if len(msgs) != len(queued) {
		t.Errorf("%d messages queued, want %d", len(msgs), len(queued))
	}
	for _, tt := range tests {
		if !slices.Contains(queued, tt.token) {
			continue
		}
		// RELAYCLIENT="" appends nothing to the recipient (qmail-smtpd.c
		// smtp_rcpt()); tcpserver -l names the local host. Not run as qmaild,
		// the session's qmail-queue line names its uid (qmail-queue.c).
		checkStored(t, msgs, tt.token, "sender@example.org", []string{tt.to}, fmt.Sprintf("by uid %d", os.Getuid()), tt.from, tt.token+".client.example", "mx.test.example", "SMTP")
	}
}

// TestSMTPDSubmissionAndSMTPS: the submission listener refuses MAIL
// before AUTH with 530 and relays after AUTH under STARTTLS; the smtps
// listener speaks TLS from the first byte (swaks --tlsc).
func TestSMTPDSubmissionAndSMTPS(t *testing.T) {
	needTools(t, "swaks")
	needSwaksTLS(t)
	s := newSite(t)
	s.writeControl("rcpthosts", "test.example\n")
	s.writeServerCert()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	passwords := filepath.Join(s.dir, "passwords")
	if err := os.WriteFile(passwords, []byte("bob:"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf, addrs := smtpdConfig(t, []string{"submission", "smtps"}, fmt.Sprintf("auth_passwords: %q", passwords))
	s.writeConfig(conf)
	d := s.startDaemon()
	auth := []string{"--auth", "LOGIN", "--auth-user", "bob", "--auth-password", "secret"}
	const authRequired = "530 5.7.1 authentication required (#5.7.1)" // RFC 2034 §4: after EHLO

	tests := []struct {
		name, listener, token, to string
		args                      []string
		refusal                   string
		with                      string // %s: the cipher
	}{
		{"submission MAIL before AUTH", "submission", "sub-plain", "joe@test.example", nil, authRequired, ""},
		{"submission MAIL before AUTH under TLS", "submission", "sub-tls", "joe@test.example", []string{"--tls"}, authRequired, ""},
		{"submission after AUTH", "submission", "sub-auth", "far@example.net", append([]string{"--tls"}, auth...), "", "ESMTPSA (%s encrypted, authenticated)"},
		{"smtps", "smtps", "smtps", "joe@test.example", []string{"--tlsc"}, "", "ESMTPS (%s encrypted)"},
		{"smtps after AUTH", "smtps", "smtps-auth", "far@example.net", append([]string{"--tlsc"}, auth...), "", "ESMTPSA (%s encrypted, authenticated)"},
	}
	type sent struct{ token, to, ip, with string }
	var all []sent
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--from", "bob@test.example", "--to", tt.to, "--ehlo", tt.token + ".client.example"}, tt.args...)
			out := swaks(t, addrs[tt.listener], testMessage(tt.token), args...)
			if tt.refusal != "" {
				swaksRefused(t, tt.name, out, tt.refusal)
				return
			}
			swaksQueuedOK(t, tt.name, out)
			ip := "127.0.0.1"
			if strings.Contains(tt.with, "authenticated") {
				ip = "bob@127.0.0.1"
			}
			all = append(all, sent{tt.token, tt.to, ip, fmt.Sprintf(tt.with, swaksTLSCipher(t, out))})
		})
	}
	msgs := s.storedMessages(d)
	if len(msgs) != len(all) {
		t.Errorf("%d messages queued, want %d", len(msgs), len(all))
	}
	for _, m := range all {
		checkStored(t, msgs, m.token, "bob@test.example", []string{m.to}, fromNetwork, m.ip, m.token+".client.example", "test.example", m.with)
	}
}
