package smtpd

import (
	"crypto/tls"
	"fmt"
	"time"
)

// starttlsCmd answers STARTTLS (RFC 3207, qmail-tls qmail-smtpd.c smtp_tls()).
func (s *session) starttlsCmd(arg string) {
	if arg != "" {
		s.reply(replyTLSParam)
		return
	}
	if s.tls != nil {
		s.reply(replyUnimpl)
		return
	}
	cfg, err := s.tlsConfig()
	if cfg == nil {
		if err != nil {
			s.log.Warn("smtpd: STARTTLS not available", "err", err)
		}
		s.reply(replyTLSNotAvail)
		return
	}
	s.reply(replyReadyTLS)
	if err := s.bw.Flush(); err != nil {
		s.close("write error: " + err.Error())
		return
	}
	if err := s.handshake(cfg); err != nil {
		// Written in clear text, then the session ends, as qmail-tls does.
		s.raw.SetWriteDeadline(time.Now().Add(s.o.Timeout))
		reply := replyTLSFailed + sanitizeReply(err.Error()) + replyTLSCodeSuffix
		if s.ehlo {
			reply = enhanced(reply, s.verb)
		}
		s.raw.Write([]byte(reply + "\r\n"))
		s.close("TLS handshake failed: " + err.Error())
		return
	}
	// RFC 3207 §4.2: forget what the client said before TLS. qmail-tls
	// resets only the HELO name and keeps MAIL and RCPT; qsend also drops
	// the transaction and any authentication (a deliberate deviation).
	s.helo, s.heloSet, s.badHelo, s.ehlo = "", false, false, false
	s.authUser = ""
	s.resetTx()
}

// handshake runs the server side of TLS on the raw connection and
// replaces the session's reader and writer. Resetting the reader throws
// away anything the client sent after STARTTLS in plain text before the
// handshake: that is the CVE-2011-0411 fix (qmail-tls qmail-smtpd.c tls_init():
// qmail-tls 20110119 empties its input buffer the same way).
func (s *session) handshake(cfg *tls.Config) error {
	tc := tls.Server(s.raw, cfg)
	now := time.Now()
	s.raw.SetDeadline(earliest(now.Add(s.o.Timeout), s.link.end))
	s.link.waiting(now)
	if err := tc.HandshakeContext(s.ctx); err != nil {
		return err
	}
	cs := tc.ConnectionState()
	s.tls = &cs
	s.cipher = cipherName(cs)
	s.link.c = tc
	s.br.Reset(s.link)
	s.bw.Reset(s.link)
	s.link.bw = s.bw
	s.certTried, s.certEmail, s.certReason = false, "", ""
	return nil
}

// tlsConfig is the connection's TLS configuration: the server's, cloned,
// with the client's TLSCIPHERS and, when certificate relaying is active,
// a request (not a demand) for a client certificate. crypto/tls does not
// verify it (RequestClientCert): CertRelay.Check does, so that a bad
// certificate is a refused relay with qmail-tls's reason instead of a
// failed handshake (qmail-tls qmail-smtpd.c tls_verify(), which
// renegotiates; Go cannot renegotiate, so the certificate is asked for in the first handshake). It is nil when
// there is no certificate.
func (s *session) tlsConfig() (*tls.Config, error) {
	if s.o.TLS == nil {
		return nil, nil
	}
	base := s.o.TLS()
	if base == nil {
		return nil, nil
	}
	cfg := base.Clone()
	if s.info.TLSCiphers != "" {
		suites, err := s.o.CipherSuites(s.info.TLSCiphers)
		if err != nil {
			return nil, fmt.Errorf("TLSCIPHERS %q: %w", s.info.TLSCiphers, err)
		}
		cfg.CipherSuites = suites
	}
	if cr := s.o.CertRelay; cr != nil && cr.Active() {
		cfg.ClientAuth = tls.RequestClientCert
		cfg.ClientCAs = cr.ClientCAs()
	}
	return cfg, nil
}

// certRelay runs the client-certificate relay check, at most once per TLS
// session and only where rcpthosts refused a recipient, in a TLS session
// without RELAYCLIENT (qmail-tls qmail-smtpd.c tls_verify()). A refusal's reason is
// kept for the 553 text.
func (s *session) certRelay() bool {
	if s.certEmail != "" {
		return true
	}
	if s.tls == nil || s.info.Relay || s.certTried {
		return false
	}
	s.certTried = true
	cr := s.o.CertRelay
	if cr == nil || !cr.Active() || len(s.tls.PeerCertificates) == 0 {
		return false
	}
	email, err := cr.Check(*s.tls)
	if err != nil {
		s.certReason = err.Error()
		s.log.Info("smtpd: client certificate refused for relaying", "subject", s.tls.PeerCertificates[0].Subject.String(), "reason", s.certReason)
		return false
	}
	s.certEmail = email
	s.srv.relaying(s)
	s.log.Info("smtpd: client certificate allows relaying", "cert", email)
	return true
}
