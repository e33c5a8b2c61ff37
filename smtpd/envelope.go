package smtpd

import (
	"strconv"
	"strings"
)

// heloCmd answers HELO (qmail-smtpd.c smtp_helo()): it records the name and
// resets the transaction.
func (s *session) heloCmd(arg string) {
	s.setHelo(arg)
	s.ehlo = false
	s.reply("250 " + s.o.Greeting)
}

// ehloCmd answers EHLO with qmail-tls's keywords (qmail-tls
// qmail-smtpd.c smtp_ehlo()): STARTTLS between the greeting and PIPELINING when a
// certificate is present and TLS is not yet on; then 8BITMIME (RFC 6152);
// SIZE with databytes, or alone when there is no limit (RFC 1870 §4);
// ENHANCEDSTATUSCODES (RFC 2034), after which replies carry a status code;
// SMTPUTF8 (RFC 6531 §3.1); AUTH when it may be used now.
func (s *session) ehloCmd(arg string) {
	s.setHelo(arg)
	s.ehlo = true
	lines := make([]string, 0, 8)
	lines = append(lines, "250-"+s.o.Greeting)
	if s.tls == nil && s.o.TLS != nil && s.o.TLS() != nil {
		lines = append(lines, "250-STARTTLS")
	}
	lines = append(lines, "250-PIPELINING", "250-8BITMIME")
	if s.databytes > 0 {
		lines = append(lines, "250-SIZE "+strconv.FormatInt(s.databytes, 10))
	} else {
		lines = append(lines, "250-SIZE")
	}
	lines = append(lines, "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8")
	if s.authOffered() {
		lines = append(lines, "250-AUTH LOGIN PLAIN")
	}
	last := lines[len(lines)-1]
	lines[len(lines)-1] = "250 " + last[4:]
	for _, l := range lines {
		s.reply(l)
	}
}

// setHelo records the HELO or EHLO argument, checks it against badhelo
// (qregex, README.qregex: refused at RCPT; NOBADHELO disables)
// and resets the transaction.
func (s *session) setHelo(arg string) {
	s.helo, s.heloSet = arg, true
	s.badHelo = !s.info.NoBadHelo && s.o.BadHelo != nil && s.o.BadHelo.Match(arg)
	s.resetTx()
}

// mailCmd answers MAIL FROM (qmail-smtpd.c smtp_mail()): it starts a new
// transaction and notes whether the sender is listed; the refusal comes
// at each RCPT, as qmail's does.
func (s *session) mailCmd(arg string) {
	if s.requireAuth && s.authUser == "" {
		// Submission (RFC 6409 §4.3, RFC 4954 §6)
		s.reply(replyAuthRequired)
		return
	}
	a, ok := parseAddr(arg, s.info.LocalIP, s.o.LocalIPHost)
	if !ok {
		s.reply(replySyntax)
		return
	}
	p, refusal := parseMailParams(a.params, s.authOffered() || s.authUser != "")
	if refusal == "" {
		refusal = a.international(p.utf8)
	}
	if refusal != "" {
		s.reply(refusal)
		return
	}
	if s.databytes > 0 && p.size > s.databytes {
		// RFC 1870 §6.2, with qmail's databytes text
		s.reply(replyTooBig)
		return
	}
	s.resetTx()
	s.mail, s.sender, s.utf8 = true, a.addr, p.utf8
	// The null sender is never checked (README.qregex).
	if a.addr != "" {
		s.bmf = s.o.BadMailFrom != nil && s.o.BadMailFrom.Match(a.addr)
		s.bmfNoRelay = s.o.BadMailFromNoRelay != nil && s.o.BadMailFromNoRelay.Match(a.addr)
	}
	s.reply(replyOK)
}

// rcptCmd answers RCPT TO in qmail-smtpd's order (qmail-smtpd.c
// smtp_rcpt(), README.qregex): MAIL first, syntax, badhelo, badmailfrom, the norelay
// list, badrcptto, then the relay decision.
func (s *session) rcptCmd(arg string) {
	if !s.mail {
		s.reply(replyMailFirst)
		return
	}
	a, ok := parseAddr(arg, s.info.LocalIP, s.o.LocalIPHost)
	if !ok {
		s.reply(replySyntax)
		return
	}
	refusal := rcptParams(a.params)
	if refusal == "" {
		refusal = a.international(s.utf8)
	}
	if refusal != "" {
		s.reply(refusal)
		return
	}
	relay := s.mayRelay()
	switch {
	case s.badHelo:
		s.refuseRcpt(replyHeloDenied, a.addr, "badhelo")
		return
	case s.bmf:
		s.refuseRcpt(replyBMF, a.addr, "badmailfrom")
		return
	case s.bmfNoRelay && !relay:
		s.refuseRcpt(replySenderDenied, a.addr, "badmailfromnorelay")
		return
	case s.o.BadRcptTo != nil && s.o.BadRcptTo.Match(a.addr):
		s.refuseRcpt(replyRcptDenied, a.addr, "badrcptto")
		return
	case !relay && s.o.BadRcptToNoRelay != nil && s.o.BadRcptToNoRelay.Match(a.addr):
		s.refuseRcpt(replyRcptDenied, a.addr, "badrcpttonorelay")
		return
	case len(s.rcpts) >= s.o.MaxRcpts:
		// Not an error of the client's: RFC 5321 §4.5.3.1.10 has it send
		// the other recipients in another transaction, and one that
		// pipelines them all must not lose the session to MaxErrors.
		s.logRcptRefused(a.addr, "too many recipients")
		s.send(replyTooManyRcpts)
		return
	}
	addr := a.addr
	switch {
	case s.info.Relay:
		// RELAYCLIENT's value is appended (qmail-smtpd.c smtp_rcpt()).
		addr += s.info.RelayClient
	case relay:
	case a.trick() == "" && s.o.rcptAllowed(addr):
	case s.certRelay():
		// qmail-tls qmail-smtpd.c smtp_rcpt(), tls_verify(): tried only where rcpthosts refuses.
	default:
		why := "rcpthosts"
		if t := a.trick(); t != "" {
			why = t
		}
		s.refuseRcpt(s.noGateway(), a.addr, why)
		return
	}
	s.rcpts = append(s.rcpts, addr)
	s.reply(replyOK)
}

func (s *session) refuseRcpt(reply, addr, why string) {
	s.logRcptRefused(addr, why)
	s.reply(reply)
}

func (s *session) logRcptRefused(addr, why string) {
	s.log.Info("smtpd: recipient refused", "from", s.sender, "rcpt", addr, "why", why)
}

// mayRelay reports whether the client may send to any domain: RELAYCLIENT,
// an authenticated client (the AUTH patches set relayclient), a
// certificate-relay client, and, only when rcpthosts is absent, a client
// on loopback (the deviation that replaces qmail's open default).
func (s *session) mayRelay() bool {
	return s.info.Relay || s.authUser != "" || s.certEmail != "" ||
		(s.o.Rcpthosts == nil && s.info.RemoteIP.IsLoopback())
}

// noGateway is qmail-tls's rcpthosts refusal (qmail-tls qmail-smtpd.c tls_nogateway()):
// in a TLS session without RELAYCLIENT it names the certificate problem.
func (s *session) noGateway() string {
	var b strings.Builder
	b.WriteString(replyNoGateway)
	if s.tls != nil && !s.info.Relay {
		b.WriteString(replyTLSNoGateway)
		if s.certReason != "" {
			b.WriteString(": ")
			b.WriteString(sanitizeReply(s.certReason))
		}
	}
	b.WriteString(replyNoGatewayEnd)
	return b.String()
}

// sanitizeReply keeps a text from elsewhere on one reply line.
func sanitizeReply(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
