package inject

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The fixed inputs of the tests: qmail-inject's example date, pid 12345,
// and a different value for each control.
var (
	testNow      = time.Date(1995, 9, 26, 4, 46, 53, 0, time.UTC)
	testControls = Controls{DefaultDomain: "dom.example", DefaultHost: "host.example", PlusDomain: "plus.example", IDHost: "id.example"}
)

const (
	date  = "Date: 26 Sep 1995 04:46:53 -0000\n"
	msgid = "Message-ID: <19950926044653.12345.qmail@id.example>\n"
)

// run applies Inject to msg with the command line args and env.
func run(t *testing.T, args []string, env map[string]string, msg string) (*Message, string, error) {
	t.Helper()
	opts, err := ParseArgs(args)
	if err != nil {
		return nil, "", err
	}
	m, err := Inject(Input{Options: opts, Env: env, Controls: testControls, Now: testNow, PID: 12345}, strings.NewReader(msg))
	if err != nil {
		return nil, "", err
	}
	out, err := io.ReadAll(m.Reader())
	if err != nil {
		t.Fatal(err)
	}
	return m, string(out), nil
}

func TestInjectPrint(t *testing.T) {
	alice := map[string]string{"USER": "alice"}
	mft := filepath.Join(t.TempDir(), "mft")
	if err := os.WriteFile(mft, []byte("# lists\nList@Lists.example  \n\nother@lists.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		in     string
		out    string
		sender string
		rcpts  []string
	}{
		{
			name:   "fields added to a bare message",
			args:   []string{"-n"},
			env:    alice,
			in:     "Subject: hi\n\nbody\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nCc: recipient list not shown: ;\nSubject: hi\n\nbody\n",
			sender: "alice@host.example",
		},
		{
			name: "fields present are kept and nothing is added",
			args: []string{"-n"},
			env:  alice,
			in:   "Date: yesterday\nMessage-ID: <x@y>\nFrom: bob@b.example\nTo: carol@c.example\n\nbody\n",
			out: "Return-Path: <alice@host.example>\nDate: yesterday\nMessage-ID: <x@y>\nFrom: bob@b.example\n" +
				"To: carol@c.example\n\nbody\n",
			sender: "alice@host.example",
			rcpts:  []string{"carol@c.example"},
		},
		{
			name: "address rewriting",
			args: []string{"-n"},
			env:  alice,
			in:   "To: joe, fred@mail, sue@x.org+, <@r1,@r2:bob@b.example>, \"q u\"@y.example, <>, x@[], t@host.\nCc: lit@[10.0.0.1], end@\n\n",
			out: "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\n" +
				"To: joe@host.example, fred@mail.dom.example, sue@x.org.plus.example,\n" +
				"  <bob@b.example>, \"q u\"@y.example, <>, x@[], t@host.dom.example\n" +
				"Cc: lit@[10.0.0.1], end@host.example\n\n",
			sender: "alice@host.example",
			rcpts: []string{"t@host.dom.example", "x@[]", "", "q u@y.example", "bob@b.example",
				"sue@x.org.plus.example", "fred@mail.dom.example", "joe@host.example", "end@host.example", "lit@[10.0.0.1]"},
		},
		{
			name: "phrases, comments, groups and spaces between addresses",
			args: []string{"-n"},
			env:  alice,
			in:   "To: \"Joe Q. Public\" <joe>, Mary Smith <mary@m.example> (home), team: ann, bob@b.example;\nCc: ed fay\n\n",
			out: "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\n" +
				"To: \"Joe Q. Public\" <joe@host.example>, Mary Smith <mary@m.example>(home),\n" +
				"  team: ann@host.example, bob@b.example;\n" +
				"Cc: ed@host.example, fay@host.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"bob@b.example", "ann@host.example", "mary@m.example", "joe@host.example", "fay@host.example", "ed@host.example"},
		},
		{
			name: "Bcc, Return-Path and Content-Length removed; Apparently-To counted",
			args: []string{"-n"},
			env:  alice,
			in:   "Return-Path: <bounce@lists.example>\nBcc: hidden@h.example\nApparently-To: app@a.example\nContent-Length: 12\nTo: to@t.example\n\nbody\n",
			out: "Return-Path: <bounce@lists.example>\n" + date + msgid + "From: alice@host.example\n" +
				"Apparently-To: app@a.example\nTo: to@t.example\n\nbody\n",
			sender: "bounce@lists.example",
			rcpts:  []string{"hidden@h.example", "app@a.example", "to@t.example"},
		},
		{
			name: "sender fields are rewritten but give no recipients",
			args: []string{"-n"},
			env:  alice,
			in: "From: f\nSender: s\nReply-To: r\nReturn-Receipt-To: rr\nErrors-To: e\nTo: t\n" +
				"X-Other: o\n\n",
			out: "Return-Path: <alice@host.example>\n" + date + msgid +
				"From: f@host.example\nSender: s@host.example\nReply-To: r@host.example\n" +
				"Return-Receipt-To: rr@host.example\nErrors-To: e@host.example\nTo: t@host.example\nX-Other: o\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@host.example"},
		},
		{
			name: "resent message",
			args: []string{"-n"},
			env:  alice,
			in:   "Resent-To: new@n.example\nResent-Bcc: rb@r.example\nResent-Sender: rs\nTo: old@o.example\nDate: old\n\n",
			out: "Return-Path: <alice@host.example>\nResent-" + date + "Resent-" + msgid + "Resent-From: alice@host.example\n" +
				"Resent-To: new@n.example\nResent-Sender: rs@host.example\nTo: old@o.example\nDate: old\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"new@n.example", "rb@r.example"},
		},
		{
			name: "resent message without Resent-To or Resent-Cc",
			args: []string{"-n"},
			env:  alice,
			in:   "Resent-Date: today\nResent-Message-ID: <r@id>\nResent-From: rf@r.example\nTo: old@o.example\n\n",
			out: "Return-Path: <alice@host.example>\nResent-Cc: recipient list not shown: ;\n" +
				"Resent-Date: today\nResent-Message-ID: <r@id>\nResent-From: rf@r.example\nTo: old@o.example\n\n",
			sender: "alice@host.example",
		},
		{
			name:   "-f overrides Return-Path and the environment",
			args:   []string{"-n", "-f", "boss"},
			env:    alice,
			in:     "Return-Path: <other@o.example>\nTo: t@t.example\n\n",
			out:    "Return-Path: <boss@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "boss@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "-f <> is rewritten like any address",
			args:   []string{"-nf", ""},
			env:    alice,
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "-A: arguments when there are some",
			args:   []string{"-n", "a1", "a2@x.example"},
			env:    alice,
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"a1@host.example", "a2@x.example"},
		},
		{
			name:   "-a without arguments: no recipients",
			args:   []string{"-a", "-n"},
			env:    alice,
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
		},
		{
			name:   "-h ignores the arguments",
			args:   []string{"-hn", "a1@x.example"},
			env:    alice,
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "-H: arguments first, then the header",
			args:   []string{"-H", "-n", "--", "-a1@x.example"},
			env:    alice,
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"-a1@x.example", "t@t.example"},
		},
		{
			name: "-N after -n queues",
			args: []string{"-nN", "r@x.example"},
			env:  alice,
			in:   "Subject: s\n\n",
			out: date + msgid + "From: alice@host.example\nCc: recipient list not shown: ;\n" +
				"Subject: s\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"r@x.example"},
		},
		{
			name:   "user and host variables: the first one set wins",
			args:   []string{"-n"},
			env:    map[string]string{"QMAILUSER": "qu", "MAILUSER": "mu", "USER": "u", "LOGNAME": "l", "QMAILHOST": "qh.example", "MAILHOST": "mh.example"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <qu@qh.example>\n" + date + msgid + "From: qu@qh.example\nTo: t@t.example\n\n",
			sender: "qu@qh.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "MAILUSER, MAILHOST",
			args:   []string{"-n"},
			env:    map[string]string{"MAILUSER": "mu", "USER": "u", "LOGNAME": "l", "MAILHOST": "mh"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <mu@mh.dom.example>\n" + date + msgid + "From: mu@mh.dom.example\nTo: t@t.example\n\n",
			sender: "mu@mh.dom.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "LOGNAME",
			args:   []string{"-n"},
			env:    map[string]string{"LOGNAME": "l"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <l@host.example>\n" + date + msgid + "From: l@host.example\nTo: t@t.example\n\n",
			sender: "l@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "no user at all: anonymous",
			args:   []string{"-n"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <anonymous@host.example>\n" + date + msgid + "From: anonymous@host.example\nTo: t@t.example\n\n",
			sender: "anonymous@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "a user name that needs quoting",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "Mr. X"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <\"Mr. X\"@host.example>\n" + date + msgid + "From: \"Mr. X\"@host.example\nTo: t@t.example\n\n",
			sender: "Mr. X@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "full name: QMAILNAME before MAILNAME before NAME",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILNAME": "Alice Q", "MAILNAME": "Alice M", "NAME": "Alice N"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: \"Alice Q\" <alice@host.example>\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "MAILNAME",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "MAILNAME": "Alice M", "NAME": "Alice N"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: \"Alice M\" <alice@host.example>\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "NAME, as a comment with QMAILINJECT=c",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "NAME": "Alice (N)", "QMAILINJECT": "c"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example (Alice \\(N\\))\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "envelope sender from QMAILSUSER and QMAILSHOST",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILHOST": "from.example", "QMAILSUSER": "bounces", "QMAILSHOST": "lists.example"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <bounces@lists.example>\n" + date + msgid + "From: alice@from.example\nTo: t@t.example\n\n",
			sender: "bounces@lists.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "QMAILSHOST defaults to QMAILHOST",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILHOST": "from.example", "QMAILSUSER": "bounces"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <bounces@from.example>\n" + date + msgid + "From: alice@from.example\nTo: t@t.example\n\n",
			sender: "bounces@from.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "QMAILINJECT=s ignores and deletes Return-Path",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILINJECT": "s"},
			in:     "Return-Path: <x@x.example>\nTo: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "QMAILINJECT=fi deletes From and Message-ID, which are made anew",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILINJECT": "fi"},
			in:     "From: old@o.example\nMessage-ID: <old@o>\nTo: t@t.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "QMAILINJECT=r: per-recipient VERP",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILINJECT": "r"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <\"alice-@host.example-\"@[]>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice-@host.example-@[]",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "QMAILINJECT=m: per-message VERP",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILINJECT": "m"},
			in:     "To: t@t.example\n\n",
			out:    "Return-Path: <alice-812090813.12345@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n\n",
			sender: "alice-812090813.12345@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name: "QMAILDEFAULTDOMAIN, QMAILDEFAULTHOST, QMAILPLUSDOMAIN, QMAILIDHOST",
			args: []string{"-n"},
			env: map[string]string{"USER": "alice", "QMAILDEFAULTDOMAIN": "dd.example", "QMAILDEFAULTHOST": "dh",
				"QMAILPLUSDOMAIN": "pd.example", "QMAILIDHOST": "ih.example"},
			in: "To: a, b@c, d@e+\n\n",
			out: "Return-Path: <alice@dh.dd.example>\n" + date + "Message-ID: <19950926044653.12345.qmail@ih.example>\n" +
				"From: alice@dh.dd.example\nTo: a@dh.dd.example, b@c.dd.example, d@e.pd.example\n\n",
			sender: "alice@dh.dd.example",
			rcpts:  []string{"d@e.pd.example", "b@c.dd.example", "a@dh.dd.example"},
		},
		{
			name: "QMAILMFTFILE adds Mail-Followup-To",
			args: []string{"-n"},
			env:  map[string]string{"USER": "alice", "QMAILMFTFILE": mft},
			in:   "To: list@lists.example\nCc: bob@b.example\n\n",
			out: "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\n" +
				"Mail-Followup-To: bob@b.example,\n  list@lists.example\nTo: list@lists.example\nCc: bob@b.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"list@lists.example", "bob@b.example"},
		},
		{
			name: "QMAILMFTFILE: not when the message has Mail-Followup-To",
			args: []string{"-n"},
			env:  map[string]string{"USER": "alice", "QMAILMFTFILE": mft},
			in:   "To: list@lists.example\nMail-Followup-To: me@m.example\n\n",
			out: "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\n" +
				"To: list@lists.example\nMail-Followup-To: me@m.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"list@lists.example"},
		},
		{
			name:   "QMAILMFTFILE: not when no list is addressed; a missing file is none",
			args:   []string{"-n"},
			env:    map[string]string{"USER": "alice", "QMAILMFTFILE": mft + ".missing"},
			in:     "To: list@lists.example\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: list@lists.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"list@lists.example"},
		},
		{
			name: "mbox From line, folded fields, body without an empty line before it",
			args: []string{"-n"},
			env:  alice,
			in:   "From alice Tue Sep 26 04:46:53 1995\nSubject: a\n\tlong subject\nTo: x@x.example,\n  y@y.example\nthis is the body\nlast line",
			out: "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\n" +
				"MBOX-Line: From alice Tue Sep 26 04:46:53 1995\nSubject: a\n\tlong subject\n" +
				"To: x@x.example, y@y.example\n\nthis is the body\nlast line\n",
			sender: "alice@host.example",
			rcpts:  []string{"y@y.example", "x@x.example"},
		},
		{
			name:   "empty message",
			args:   []string{"-n"},
			env:    alice,
			in:     "",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nCc: recipient list not shown: ;\n",
			sender: "alice@host.example",
		},
		{
			name:   "header only, last line without newline",
			args:   []string{"-n"},
			env:    alice,
			in:     "To: t@t.example",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "From: alice@host.example\nTo: t@t.example\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@t.example"},
		},
		{
			name:   "field names in any case, blanks before the colon",
			args:   []string{"-n"},
			env:    alice,
			in:     "tO : t\nBCC:b\nfROM:f\n\n",
			out:    "Return-Path: <alice@host.example>\n" + date + msgid + "tO: t@host.example\nfROM: f@host.example\n\n",
			sender: "alice@host.example",
			rcpts:  []string{"t@host.example", "b@host.example"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out, err := run(t, tt.args, tt.env, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.out {
				t.Errorf("message:\n%s\nwant:\n%s", out, tt.out)
			}
			if m.Envelope.Sender != tt.sender {
				t.Errorf("sender %q, want %q", m.Envelope.Sender, tt.sender)
			}
			if !slices.Equal(m.Envelope.Recipients, tt.rcpts) {
				t.Errorf("recipients %q, want %q", m.Envelope.Recipients, tt.rcpts)
			}
		})
	}
}

func TestInjectErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		in   string
		code int
		msg  string
	}{
		{"unknown option", []string{"-x"}, nil, "", ExitPermanent, "qmail-inject: illegal option -- x"},
		{"-f without its argument", []string{"-f"}, nil, "", ExitPermanent, "qmail-inject: option requires an argument -- f"},
		{"unparsable To", []string{"-n"}, nil, "Subject: s\nTo: (unclosed\n\n", ExitPermanent,
			"qmail-inject: fatal: unable to parse this line:\nTo: (unclosed"},
		{"unparsable folded From", []string{"-n"}, nil, "From: a@b,\n  c>\n\n", ExitPermanent,
			"qmail-inject: fatal: unable to parse this line:\nFrom: a@b,\n  c>"},
		{"group closed twice", []string{"-n"}, nil, "Cc: a: b;;\n\n", ExitPermanent,
			"qmail-inject: fatal: unable to parse this line:\nCc: a: b;;"},
		{"unparsable argument", []string{"a@(b"}, nil, "", ExitPermanent, "qmail-inject: fatal: unable to parse address: a@(b"},
		{"unparsable -f", []string{"-f", "a@(b"}, nil, "", ExitPermanent, "qmail-inject: fatal: unable to parse this line:\na@(b"},
		{"field name with a control character", []string{"-n"}, nil, "Subject: s\nX-Bad\x01Name: v\n\n", ExitPermanent,
			"qmail-inject: fatal: invalid header field: X-Bad\x01Name: v"},
		{"field name with 8-bit bytes", []string{"-n"}, nil, "S\xfcbject: s\n\n", ExitPermanent,
			"qmail-inject: fatal: invalid header field: S\xfcbject: s"},
		{"no recipients when queueing", nil, nil, "Subject: s\n\nbody\n", ExitPermanent, "qmail-inject: fatal: no recipients"},
		{"unparsable default host", []string{"-n"}, map[string]string{"QMAILDEFAULTHOST": "(a"}, "", ExitPermanent,
			"qmail-inject: fatal: unable to parse this line:\n@(a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, tt.args, tt.env, tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v, want an *Error", err)
			}
			if e.Code != tt.code || e.Msg != tt.msg {
				t.Fatalf("exit %d %q, want %d %q", e.Code, e.Msg, tt.code, tt.msg)
			}
		})
	}
}

// TestProseIsBody checks that a line that only looks like a field with a
// broken name when it has no spaces is refused; prose starts the body as
// in qmail.
func TestProseIsBody(t *testing.T) {
	_, out, err := run(t, []string{"-n"}, map[string]string{"USER": "u"}, "Subject: s\nDear Jürgen: hello\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "Subject: s\n\nDear Jürgen: hello\n") {
		t.Fatalf("message:\n%s", out)
	}
}

func TestInjectMFTUnreadable(t *testing.T) {
	dir := t.TempDir() // a directory cannot be read as a file
	_, _, err := run(t, []string{"-n"}, map[string]string{"QMAILMFTFILE": dir}, "")
	var e *Error
	if !errors.As(err, &e) || e.Code != ExitTemporary || !strings.Contains(e.Msg, dir) {
		t.Fatalf("error %v, want exit 111 naming %s", err, dir)
	}
}

func TestBodyStreams(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB without a final newline
	m, err := Inject(Input{Options: Options{Args: []string{"r@x.example"}}, Controls: testControls, Now: testNow, PID: 1},
		strings.NewReader("Subject: s\n\n"+big))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "\n"+big+"\n" {
		t.Fatalf("body of %d bytes, want %d", len(b), len(big)+2)
	}
}
