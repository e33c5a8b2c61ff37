package smtpd

import (
	"slices"
	"strings"
	"testing"
)

// ehloLines is the EHLO answer of a server without certificate, AUTH or
// databytes.
var ehloLines = []string{"250-" + testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8"}

func ehloStep(send string, then ...string) step {
	return step{send, append(slices.Clone(ehloLines), then...)}
}

// TestSMTPUTF8: non-ASCII addresses only with SMTPUTF8 on MAIL
// (RFC 6531 §3.5); non-ASCII domains matched as A-labels.
func TestSMTPUTF8(t *testing.T) {
	const needUTF8 = "553 sorry, that address is not ASCII and MAIL did not ask for SMTPUTF8 (#5.6.7)"
	tests := []struct {
		name  string
		cfg   serverConfig
		steps []step
		rcpts []string // queued by the last step, when set
	}{
		{name: "UTF-8 recipient without SMTPUTF8", steps: []step{
			ehloStep("EHLO c\r\n"+mailOK+"RCPT TO:<üser@example.org>\r\n",
				"250 2.1.0 ok", "553 5.6.7 "+needUTF8[4:]),
		}},
		{name: "UTF-8 sender without SMTPUTF8", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<sénder@example.com>\r\n", "553 5.6.7 "+needUTF8[4:]),
		}},
		{name: "UTF-8 domain without SMTPUTF8, after HELO", steps: []step{
			s("HELO c\r\n"+mailOK+"RCPT TO:<user@bücher.example.org>\r\n", "250 "+testMe, "250 ok", needUTF8),
		}},
		{name: "UTF-8 recipient with SMTPUTF8", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<sénder@example.com> SMTPUTF8\r\nRCPT TO:<üser@example.org>\r\nDATA\r\n",
				"250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead"),
			s("x\r\n.\r\n", "250 2.0.0 ok 1709618828 qp 4242"),
		}, rcpts: []string{"üser@example.org"}},
		{name: "SMTPUTF8 is per transaction", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<üser@example.org>\r\n",
				"250 2.1.0 ok", "250 2.0.0 flushed", "250 2.1.0 ok", "553 5.6.7 "+needUTF8[4:]),
		}},
		{name: "UTF-8 domain matched in rcpthosts as A-labels",
			cfg: serverConfig{opts: func(o *Options) { o.Rcpthosts = domainSet{"xn--bcher-kva.example": true} }},
			steps: []step{
				ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<üser@Bücher.example>\r\nRCPT TO:<u@bücher.example.net>\r\nDATA\r\n",
					"250 2.1.0 ok", "250 2.1.5 ok", "553 5.7.1 "+noGateway[4:], "354 go ahead"),
				s("x\r\n.\r\n", "250 2.0.0 ok 1709618828 qp 4242"),
			}, rcpts: []string{"üser@xn--bcher-kva.example"}},
		{name: "an A-label local part is ASCII", steps: []step{
			ehloStep("EHLO c\r\n"+mailOK+"RCPT TO:<xn--ser-kva@example.org>\r\nDATA\r\n", "250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead"),
			s("x\r\n.\r\n", "250 2.0.0 ok 1709618828 qp 4242"),
		}, rcpts: []string{"xn--ser-kva@example.org"}},
		{name: "invalid UTF-8", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<\xfcser@example.org>\r\n", "250 2.1.0 ok", "555 5.5.4 syntax error (#5.5.4)"),
		}},
		{name: "invalid IDN", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<u@-ü.example.org>\r\n", "250 2.1.0 ok",
				"553 5.1.3 sorry, that domain is not a valid internationalized domain name (#5.1.3)"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			runDialogue(t, ts, tt.steps)
			if tt.rcpts == nil {
				return
			}
			msgs := ts.q.messages(t)
			if len(msgs) != 1 || !slices.Equal(msgs[0].rcpts, tt.rcpts) {
				t.Fatalf("queued %+v, want recipients %q", msgs, tt.rcpts)
			}
		})
	}
}

// TestParameters: parameters of extensions not offered get 555
// (RFC 5321 §4.1.1.11), SIZE over databytes 552 at MAIL (RFC 1870 §6.2).
func TestParameters(t *testing.T) {
	tests := []struct {
		name  string
		cfg   serverConfig
		steps []step
	}{
		{name: "MAIL", steps: []step{
			ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> FOO=bar\r\n", "555 5.5.4 sorry, that parameter is not offered here: FOO (#5.5.4)"),
			s("MAIL FROM:<a@example.com> BODY=BINARYMIME\r\n", "555 5.5.4 sorry, that parameter is not offered here: BODY=BINARYMIME (#5.5.4)"),
			s("MAIL FROM:<a@example.com> RET=FULL ENVID=x\r\n", "555 5.5.4 sorry, that parameter is not offered here: RET (#5.5.4)"),
			s("MAIL FROM:<a@example.com> AUTH=<>\r\n", "555 5.5.4 sorry, that parameter is not offered here: AUTH (#5.5.4)"),
			s("MAIL FROM:<a@example.com> SIZE=x\r\n", "501 5.5.4 sorry, that parameter is malformed: SIZE=x (#5.5.4)"),
			s("MAIL FROM:<a@example.com> SIZE=99999999 BODY=8BITMIME SMTPUTF8\r\n", "250 2.1.0 ok"),
		}},
		{name: "RCPT", steps: []step{
			ehloStep("EHLO c\r\n"+mailOK+"RCPT TO:<user@example.org> NOTIFY=NEVER\r\nRCPT TO:<user@example.org> ORCPT=rfc822;user@example.org\r\n"+rcptLocal,
				"250 2.1.0 ok", "555 5.5.4 sorry, that parameter is not offered here: NOTIFY (#5.5.4)",
				"555 5.5.4 sorry, that parameter is not offered here: ORCPT (#5.5.4)", "250 2.1.5 ok"),
		}},
		{name: "after HELO: qmail's texts, no enhanced codes", steps: []step{
			s("HELO c\r\nMAIL FROM:<a@example.com> FOO=bar\r\n", "250 "+testMe, "555 sorry, that parameter is not offered here: FOO (#5.5.4)"),
		}},
		{name: "AUTH= when AUTH is offered", cfg: serverConfig{loopback: true, opts: func(o *Options) { o.Auth = passwords{}; o.AuthWithoutTLS = true }},
			steps: []step{s("EHLO c\r\nMAIL FROM:<a@example.com> AUTH=<>\r\n", "250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE",
				"250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250 AUTH LOGIN PLAIN", "250 2.1.0 ok")}},
		{name: "SIZE over databytes", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 1000 }}, steps: []step{
			s("EHLO c\r\nMAIL FROM:<a@example.com> SIZE=1001\r\nMAIL FROM:<a@example.com> SIZE=1000\r\n",
				"250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE 1000", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8",
				"552 5.3.4 sorry, that message size exceeds my databytes limit (#5.3.4)", "250 2.1.0 ok"),
		}},
		{name: "enhanced codes on the other commands", steps: []step{
			ehloStep("EHLO c\r\nNOOP\r\nRSET\r\nVRFY x\r\nHELP\r\nDATA\r\nEXPN x\r\nQUIT\r\n",
				"250 2.0.0 ok", "250 2.0.0 flushed", "252 2.0.0 send some mail, i'll try my best",
				"214 2.0.0 netqmail home page: http://qmail.org/netqmail", "503 5.5.1 MAIL first (#5.5.1)",
				"502 5.5.1 unimplemented (#5.5.1)", "221 2.0.0 "+testMe),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runDialogue(t, startServer(t, tt.cfg), tt.steps)
		})
	}
}

// TestOriginSMTPUTF8: the queue learns that MAIL asked for SMTPUTF8.
func TestOriginSMTPUTF8(t *testing.T) {
	q := originQueue{got: make(chan Origin, 2)}
	ts := startServer(t, serverConfig{queue: q})
	runDialogue(t, ts, []step{
		ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<üser@example.org>\r\nDATA\r\nx\r\n.\r\n",
			"250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead", "250 2.0.0 ok 1709618828 qp 4242"),
		s(mailOK+rcptLocal+"DATA\r\nx\r\n.\r\n", "250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead", "250 2.0.0 ok 1709618828 qp 4242"),
	})
	if o := <-q.got; !o.SMTPUTF8 {
		t.Errorf("with SMTPUTF8: %+v", o)
	}
	if o := <-q.got; o.SMTPUTF8 {
		t.Errorf("without SMTPUTF8: %+v", o)
	}
}

func TestEnhanced(t *testing.T) {
	tests := []struct{ text, verb, want string }{
		{"250 ok", "mail", "250 2.1.0 ok"},
		{"250 ok", "rcpt", "250 2.1.5 ok"},
		{"250 ok", "noop", "250 2.0.0 ok"},
		{"553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "rcpt", "553 5.7.1 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)"},
		{"451 See http://pobox.com/~djb/docs/smtplf.html.", "data", "451 4.0.0 See http://pobox.com/~djb/docs/smtplf.html."},
		{"451 qq temporary problem (#4.3.0)", "data", "451 4.3.0 qq temporary problem (#4.3.0)"},
		{"550 mismatched class (#4.3.0)", "data", "550 5.0.0 mismatched class (#4.3.0)"},
		{"250 2.0.0 already", "noop", "250 2.0.0 already"},
		{"354 go ahead", "data", "354 go ahead"},
		{"334 VXNlcm5hbWU6", "auth", "334 VXNlcm5hbWU6"},
		{"250-PIPELINING", "ehlo", "250-PIPELINING"},
		{"250", "noop", "250"},
	}
	for _, tt := range tests {
		if got := enhanced(tt.text, tt.verb); got != tt.want {
			t.Errorf("enhanced(%q, %q) = %q, want %q", tt.text, tt.verb, got, tt.want)
		}
	}
}

// TestReceivedUTF8: the Received line of a message sent with SMTPUTF8
// says UTF8SMTP (RFC 6531 §3.7.3); without it, qmail's SMTP.
func TestReceivedUTF8(t *testing.T) {
	ts := startServer(t, serverConfig{})
	runDialogue(t, ts, []step{
		ehloStep("EHLO c\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\n"+rcptLocal+"DATA\r\nx\r\n.\r\n",
			"250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead", "250 2.0.0 ok 1709618828 qp 4242"),
		s(mailOK+rcptLocal+"DATA\r\nx\r\n.\r\n", "250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead", "250 2.0.0 ok 1709618828 qp 4242"),
	})
	msgs := ts.q.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, with := range []string{" with UTF8SMTP; ", " with SMTP; "} {
		if !strings.Contains(msgs[i].body, "\n  by ") || !strings.Contains(msgs[i].body[:strings.Index(msgs[i].body, "\nx\n")], with) {
			t.Errorf("message %d: %q, want %q", i, msgs[i].body, with)
		}
	}
}
