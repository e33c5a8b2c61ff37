package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// runEnv is run with extra environment variables.
func (s *site) runEnv(env []string, stdin, prog string, args ...string) (stdout, stderr string, code int) {
	s.t.Helper()
	saved := s.env
	s.env = append(append([]string(nil), saved...), env...)
	defer func() { s.env = saved }()
	return s.run(stdin, prog, args...)
}

// mustInject runs an intake program and fails unless it exits 0.
func (s *site) mustInject(env []string, stdin, prog string, args ...string) {
	s.t.Helper()
	if _, errOut, code := s.runEnv(env, stdin, prog, args...); code != 0 {
		s.t.Fatalf("%s %q: exit %d: %s", prog, args, code, errOut)
	}
}

// envelopes returns the queue's messages as "sender -> rcpt,rcpt" lines,
// each with the header shown by queue show.
func (s *site) envelopes() (lines []string, headers []string) {
	s.t.Helper()
	for _, m := range s.listJSON() {
		var rcpts []string
		for _, r := range m.Recipients {
			rcpts = append(rcpts, r.Address)
		}
		lines = append(lines, m.Sender+" -> "+strings.Join(rcpts, ","))
		headers = append(headers, s.mustRun("queue", "show", strconv.FormatUint(uint64(m.ID), 10)))
	}
	return lines, headers
}

func TestInjectAndSendmailReachTheQueue(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	alice := []string{"USER=alice"}

	s.mustInject(alice, "To: bob@example.net\nSubject: one\n\nbody\n", "qmail-inject")
	s.mustInject(alice, "To: carol@example.com\nCc: dave\nBcc: eve@example.org\nSubject: two\n\nbody\n", "sendmail", "-t")
	// PHP's mail(): sendmail -t -i, with the site's own From.
	s.mustInject([]string{"USER=www-data"}, "From: \"Web Site\" <www@site.example>\nTo: user@example.net\nSubject: three\n\nbody\n", "sendmail", "-t", "-i")
	// cron: sendmail -oi -f root user, no To field.
	s.mustInject([]string{"USER=nobody", "NAME=Nobody"}, "Subject: Cron <root@test> ls\n\noutput\n", "sendmail", "-oi", "-f", "root", "user")
	// qsend inject itself, options clustered as qmail's getopt allows.
	s.mustInject(nil, "Subject: five\n\n", "qsend", "inject", "-af", "list-bounces@lists.example", "r@z.example", "s")

	lines, headers := s.envelopes()
	want := []string{
		"alice@test.example -> bob@example.net",
		"alice@test.example -> carol@example.com,dave@test.example,eve@example.org",
		"www-data@test.example -> user@example.net",
		"root@test.example -> user@test.example",
		"list-bounces@lists.example -> r@z.example,s@test.example",
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("queue:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	checks := []struct {
		msg      int
		has, not []string
	}{
		{0, []string{"  From: alice@test.example\n", "  Date: ", "  Message-ID: <", ".qmail@test.example>\n", "  To: bob@example.net\n", "  Received: (qmail "}, nil},
		{1, []string{"  Cc: dave@test.example\n"}, []string{"Bcc", "eve@"}},
		{2, []string{"  From: \"Web Site\" <www@site.example>\n"}, []string{"www-data"}},
		{3, []string{"  From: root@test.example\n", "  Cc: recipient list not shown: ;\n"}, []string{"Nobody"}},
		{4, []string{"  From: anonymous@test.example\n"}, nil},
	}
	for _, c := range checks {
		for _, h := range c.has {
			if !strings.Contains(headers[c.msg], h) {
				t.Errorf("message %d lacks %q:\n%s", c.msg, h, headers[c.msg])
			}
		}
		_, header, _ := strings.Cut(headers[c.msg], "header:\n")
		for _, h := range c.not {
			if strings.Contains(header, h) {
				t.Errorf("message %d has %q:\n%s", c.msg, h, headers[c.msg])
			}
		}
	}
}

func TestInjectWhileTheDaemonIsStopped(t *testing.T) {
	s := newSite(t)
	d := s.startDaemon() // sets up the state directory
	if err := d.stop(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.mustInject([]string{"USER=alice"}, "To: bob@example.net\n\nbody\n", "qmail-inject")
	s.mustInject([]string{"USER=cron"}, "Subject: s\n\nbody\n", "sendmail", "-oi", "-f", "root", "user@example.org")
	if got := s.mustRun("queue", "stat"); got != "messages in queue: 2\nmessages in queue but not yet preprocessed: 2\n" {
		t.Fatalf("queue stat while stopped:\n%s", got)
	}
	s.startDaemon()
	s.mustRun("queue", "flush") // waits for the import
	lines, headers := s.envelopes()
	want := []string{"alice@test.example -> bob@example.net", "root@test.example -> user@example.org"}
	if !slices.Equal(lines, want) {
		t.Fatalf("queue after the import:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(headers[0], "intake:   maildrop uid "+strconv.Itoa(os.Getuid())) {
		t.Errorf("not from the maildrop:\n%s", headers[0])
	}
}

func TestInjectRefusesBrokenInput(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	tests := []struct {
		name   string
		prog   string
		args   []string
		in     string
		stderr string
	}{
		{"unparsable address field", "qmail-inject", nil, "To: <bob@example.net\nCc: (unclosed\n\n", "qmail-inject: fatal: unable to parse this line:\nCc: (unclosed\n"},
		{"invalid field name", "sendmail", []string{"-t"}, "To: a@example.net\nX-\x01Bad: y\n\n", "qmail-inject: fatal: invalid header field: X-\x01Bad: y\n"},
		{"no recipients", "sendmail", []string{"-t"}, "Subject: nobody\n\n", "qmail-inject: fatal: no recipients\n"},
		{"empty message", "qmail-inject", nil, "", "qmail-inject: fatal: no recipients\n"},
		{"unparsable argument", "qmail-inject", []string{"a@(b"}, "Subject: s\n\n", "qmail-inject: fatal: unable to parse address: a@(b\n"},
		{"qmail-inject option", "qmail-inject", []string{"-t"}, "To: a@example.net\n\n", "qmail-inject: illegal option -- t\n"},
		{"sendmail option", "sendmail", []string{"-k", "a@example.net"}, "Subject: s\n\n", "sendmail: illegal option -- k\n" +
			"sendmail: usage: sendmail [ -t ] [ -fsender ] [ -Fname ] [ -bp ] [ -bs ] [ arg ... ]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := s.run(tt.in, tt.prog, tt.args...)
			if code != 100 || errOut != tt.stderr {
				t.Fatalf("exit %d, stderr %q; want 100, %q", code, errOut, tt.stderr)
			}
		})
	}
	if got := s.listJSON(); len(got) != 0 {
		t.Fatalf("refused messages were queued: %+v", got)
	}
}

func TestInjectNoStateDir(t *testing.T) {
	s := newSite(t) // the daemon never ran: no maildrop
	_, errOut, code := s.run("To: a@example.net\n\n", "qmail-inject")
	if code != 111 || !strings.HasPrefix(errOut, "qmail-inject: fatal: qq temporary problem (#4.3.0)\n") || !strings.Contains(errOut, "maildrop") || !strings.Contains(errOut, s.stateDir) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

func TestInjectQMAILQUEUE(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	out := filepath.Join(s.dir, "qq")
	prog := filepath.Join(s.dir, "qmail-queue-save")
	body := "#!/bin/sh\ncat > " + out + ".msg && cat <&1 > " + out + ".env; exit $QQCODE\n"
	if err := os.WriteFile(prog, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"USER=alice", "QMAILQUEUE=" + prog}
	s.mustInject(append(env, "QQCODE=0"), "To: bob@example.net\nSubject: s\n\nbody\n", "sendmail", "-t")
	msg, err := os.ReadFile(out + ".msg")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^Date: \d+ \w{3} \d{4} \d\d:\d\d:\d\d -0000\nMessage-ID: <\d{14}\.\d+\.qmail@test\.example>\nFrom: alice@test\.example\nTo: bob@example\.net\nSubject: s\n\nbody\n$`)
	if !re.Match(msg) {
		t.Errorf("QMAILQUEUE got the message:\n%s", msg)
	}
	if envl, err := os.ReadFile(out + ".env"); err != nil || string(envl) != string(envelope("alice@test.example", "bob@example.net")) {
		t.Errorf("QMAILQUEUE got the envelope %q (%v)", envl, err)
	}
	if got := s.listJSON(); len(got) != 0 {
		t.Fatalf("the message went into the queue too: %+v", got)
	}

	for _, tt := range []struct {
		code, exit int
		stderr     string
	}{
		{31, 100, "qmail-inject: fatal: mail server permanently rejected message (#5.3.0)\n"},
		{71, 111, "qmail-inject: fatal: mail server temporarily rejected message (#4.3.0)\n"},
	} {
		_, errOut, code := s.runEnv(append(env, "QQCODE="+strconv.Itoa(tt.code)), "To: bob@example.net\n\n", "qmail-inject")
		if code != tt.exit || errOut != tt.stderr {
			t.Errorf("QMAILQUEUE exiting %d: exit %d, stderr %q", tt.code, code, errOut)
		}
	}
}

func TestSendmailModes(t *testing.T) {
	s := newSite(t)
	s.startDaemon()
	s.mustInject(nil, "Subject: s\n\n", "sendmail", "-f", "a@example.org", "b@example.net")

	qread := s.mustRun("queue", "list")
	out, errOut, code := s.run("", "sendmail", "-bp")
	if code != 0 || out != qread || !strings.Contains(out, "<a@example.org> \n\tremote\tb@example.net\n") {
		t.Fatalf("sendmail -bp: exit %d\n%s%s\nwant:\n%s", code, out, errOut, qread)
	}
	if _, errOut, code := s.run("", "sendmail", "-q"); code != 0 {
		t.Fatalf("sendmail -q: exit %d: %s", code, errOut)
	}
	if out, errOut, code := s.run("", "newaliases"); code != 0 || out != "" || errOut != "" {
		t.Fatalf("newaliases: exit %d %q %q", code, out, errOut)
	}
	// sendmail.c smtpd(): -bs is an SMTP session with relaying
	// allowed.
	session := "HELO client\r\nMAIL FROM:<cron@test.example>\r\nRCPT TO:<far@elsewhere.example>\r\nDATA\r\nSubject: bs\r\n\r\nhello\r\n.\r\nQUIT\r\n"
	if out, errOut, code := s.run(session, "sendmail", "-bs"); code != 0 || !strings.Contains(out, "\r\n250 ok ") || !strings.HasSuffix(out, "221 test.example\r\n") {
		t.Fatalf("sendmail -bs: exit %d\n%s%s", code, out, errOut)
	}
	// The -bs message joins the one queued above.
	printed, _, code := s.runEnv([]string{"USER=alice", "QMAILINJECT=c", "NAME=Alice"}, "To: bob\n\nbody", "qsend", "inject", "-n", "-f", "b@x.example")
	re := regexp.MustCompile(`^Return-Path: <b@x\.example>\nDate: .*\nMessage-ID: <.*>\nFrom: alice@test\.example \(Alice\)\nTo: bob@test\.example\n\nbody\n$`)
	if code != 0 || !re.MatchString(printed) {
		t.Fatalf("inject -n: exit %d:\n%s", code, printed)
	}
	if got := s.listJSON(); len(got) != 2 {
		t.Fatalf("inject -n queued a message: %d in the queue, want 2", len(got))
	}

	// qsend's own flags may come before qmail-inject's options.
	other := filepath.Join(s.dir, "control2")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "me"), []byte("other.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	printed, errOut, code = s.run("To: bob\n\n", "qsend", "inject", "--control-dir", other, "-n")
	if code != 0 || !strings.Contains(printed, "\nTo: bob@other.example\n") {
		t.Fatalf("inject --control-dir: exit %d: %s%s", code, printed, errOut)
	}
	if out, _, code := s.run("", "qsend", "sendmail", "--help"); code != 0 || !strings.Contains(out, "-bp lists the queue") {
		t.Fatalf("sendmail --help: exit %d: %s", code, out)
	}
}
