package smtpd

import (
	"strings"
	"time"

	"github.com/qsend/qsend/internal/trace"
)

// received is qmail-smtpd's Received line (qmail-smtpd.c smtp_data(),
// received.c), two physical lines:
//
//	Received: from <remotehost> (HELO <helo>) (<remoteinfo>@<remoteip>)
//	  by <local> with <protocol>; <date>
//
// "(HELO x)" only when x differs from remotehost, ignoring case (before
// any HELO the name is remotehost); "<remoteinfo>@" only when there is
// one. An authenticated user takes remoteinfo's place, as the qmail AUTH
// patches set remoteinfo to the user.
func (s *session) received(now time.Time) string {
	remoteHost := s.info.RemoteHost
	if remoteHost == "" {
		remoteHost = "unknown"
	}
	var b strings.Builder
	b.Grow(160)
	b.WriteString("Received: from ")
	safePut(&b, remoteHost)
	if s.heloSet && !strings.EqualFold(s.helo, remoteHost) {
		b.WriteString(" (HELO ")
		safePut(&b, s.helo)
		b.WriteString(")")
	}
	b.WriteString(" (")
	info := s.info.RemoteInfo
	if s.authUser != "" {
		info = s.authUser
	}
	if info != "" {
		safePut(&b, info)
		b.WriteString("@")
	}
	safePut(&b, ipString(s.info))
	b.WriteString(")\n  by ")
	local := s.info.LocalHost
	if local == "" {
		local = "unknown"
		if s.info.LocalIP.IsValid() {
			local = s.info.LocalIP.String()
		}
	}
	safePut(&b, local)
	b.WriteString(" with ")
	b.WriteString(s.protocol())
	b.WriteString("; ")
	b.WriteString(trace.Date(now))
	b.WriteString("\n")
	return b.String()
}

// protocol is the Received line's "with" clause:
//   - SMTP in plain text (qmail-smtpd.c);
//   - ESMTPS (<cipher> encrypted) under TLS, and on a continuation line
//     (cert <email>) for a certificate-relay client (qmail-tls qmail-smtpd.c
//     tls_verify(), qmail-tls 20070408 and later);
//   - ESMTPA, or ESMTPSA (<cipher> encrypted, authenticated) under TLS,
//     after AUTH, as the qmail AUTH patches combined with qmail-tls write
//     it (RFC 3848 names);
//   - in a transaction with SMTPUTF8, UTF8SMTP, UTF8SMTPA, UTF8SMTPS or
//     UTF8SMTPSA in their place (RFC 6531 §3.7.3).
//
// The certificate's address is filtered like the other fields (qmail-tls
// writes it unfiltered), so it cannot add header lines.
func (s *session) protocol() string {
	p := s.esmtpProtocol()
	if s.utf8 {
		// RFC 6531 §3.7.3: "UTF8SMTP" for ESMTP, "UTF8SMTPS" for ESMTPS...
		p = "UTF8" + strings.TrimPrefix(p, "E")
	}
	return p
}

func (s *session) esmtpProtocol() string {
	switch {
	case s.tls == nil && s.authUser != "":
		return "ESMTPA"
	case s.tls == nil:
		return "SMTP"
	case s.authUser != "":
		return "ESMTPSA (" + s.cipher + " encrypted, authenticated)"
	case s.certEmail != "":
		var b strings.Builder
		b.WriteString("ESMTPS (" + s.cipher + " encrypted)\n  (cert ")
		safePut(&b, s.certEmail)
		b.WriteString(")")
		return b.String()
	}
	return "ESMTPS (" + s.cipher + " encrypted)"
}

// safePut writes v with every byte outside a-zA-Z0-9.@%+/=:- replaced by
// '?' (qmail's received.c safeput).
func safePut(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte(".@%+/=:-", c) >= 0:
		default:
			c = '?'
		}
		b.WriteByte(c)
	}
}
