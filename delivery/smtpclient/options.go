package smtpclient

import (
	"crypto/tls"
	"time"
)

// Options configure a connection. The zero value works, with the defaults
// named on each field.
type Options struct {
	HeloHost       string        // control/helohost; "localhost" when empty
	ConnectTimeout time.Duration // control/timeoutconnect (default 60s); Dial only
	Timeout        time.Duration // control/timeoutremote: bound on each read and write (default 1200s)
	// TLSConfig is asked, when the server offers STARTTLS, for the
	// configuration to start TLS with; nil means stay in plaintext. The
	// handshake error, if any, is returned as an *Error with Stage
	// StageStartTLS.
	TLSConfig func(host string) *tls.Config
	// RequireTLS makes a server that does not offer STARTTLS, or refuses
	// it, a failure (an *Error at StageStartTLS, Err ErrNoTLS or the
	// reply) instead of a plaintext session.
	RequireTLS bool
	// ImplicitTLS starts TLS right after connecting and reads the greeting
	// inside it (SMTPS, port 465 in smtproutes, qmail-tls qmail-remote.8).
	ImplicitTLS bool
	// MaxLineLength is the longest reply line accepted (default 4096;
	// RFC 5321 §4.5.3.1.5 says 512, and real servers exceed it).
	MaxLineLength int
	// MaxReplyBytes bounds the bytes of one reply, all its lines
	// together (default 64 KiB), as maxReplyLines bounds its lines: a
	// server cannot make the client collect an endless reply.
	MaxReplyBytes int
	// Phases bound each step of the dialogue as a whole, however slowly
	// the server's bytes trickle in; Timeout still bounds each read and
	// write inside them. A phase that runs out is an *Error whose Err is
	// a *TimeoutError naming the phase.
	Phases Phases
	// MaxRcpts caps the recipients of one transaction (default 100, the
	// minimum a server must accept, RFC 5321 §4.5.3.1.8); larger envelopes
	// are split into several transactions on the connection.
	MaxRcpts int
	// LMTP speaks LMTP (RFC 2033) instead of SMTP, for mailbox servers
	// such as Dovecot: LHLO instead of EHLO with no HELO fallback (§4.1),
	// and after the final dot one reply per recipient accepted at RCPT, in
	// RCPT order, each deciding its own recipient (§4.2).
	LMTP bool
}

// Phases are the deadlines of the steps of one SMTP session, after
// Postfix's smtp_*_timeout parameters (postconf(5)), which bound a whole
// step where qmail-remote bounds only each read and write
// (control/timeoutremote, qmail-remote.c timeoutread()). Each reply must
// arrive complete within its step's deadline; the zero value of a field
// takes the default named on it.
type Phases struct {
	Helo     time.Duration // the greeting, and each EHLO, HELO or LHLO (smtp_helo_timeout, 300s)
	StartTLS time.Duration // STARTTLS and the TLS handshake (smtp_starttls_timeout, 300s)
	Mail     time.Duration // MAIL, and RSET between messages (smtp_mail_timeout, 300s)
	Rcpt     time.Duration // each RCPT (smtp_rcpt_timeout, 300s)
	DataInit time.Duration // DATA until its 354 (smtp_data_init_timeout, 120s)
	// DataXfer is the base of the message transfer's deadline, to which
	// Size/MinDataRate is added (smtp_data_xfer_timeout, 180s, bounds
	// each write; here the whole transfer has a deadline that grows with
	// the message).
	DataXfer time.Duration
	// MinDataRate is the slowest transfer accepted, in bytes per second
	// (default 500, the rate of Postfix's smtpd_min_data_rate).
	MinDataRate int64
	DataDone    time.Duration // the reply after the final dot, each one with LMTP (smtp_data_done_timeout, 600s)
	// Session caps a connection's whole life from its connect, each
	// message's transfer allowance (Size/MinDataRate) added (default 1
	// hour). Postfix has no such cap, and qmail-remote only its
	// per-read timeout, so a server answering each step just in time
	// could hold a session for hours.
	Session time.Duration
}

// Defaults of Options (qmail-remote.c getcontrols() for the timeouts) and
// of Phases (postconf(5) for Postfix's values).
const (
	DefaultConnectTimeout = 60 * time.Second
	DefaultTimeout        = 1200 * time.Second
	DefaultMaxLineLength  = 4096
	DefaultMaxReplyBytes  = 64 << 10
	DefaultMaxRcpts       = 100

	DefaultHeloTimeout     = 300 * time.Second
	DefaultStartTLSTimeout = 300 * time.Second
	DefaultMailTimeout     = 300 * time.Second
	DefaultRcptTimeout     = 300 * time.Second
	DefaultDataInitTimeout = 120 * time.Second
	DefaultDataXferTimeout = 180 * time.Second
	DefaultMinDataRate     = 500
	DefaultDataDoneTimeout = 600 * time.Second
	DefaultSessionTimeout  = time.Hour
)

// quitWait bounds the wait for the reply to QUIT: qmail-remote does not
// wait at all (qmail-remote.c quit()); a short wait lets a server finish
// cleanly.
const quitWait = 2 * time.Second

func (o Options) withDefaults() Options {
	if o.HeloHost == "" {
		o.HeloHost = "localhost"
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = DefaultMaxLineLength
	}
	if o.MaxReplyBytes <= 0 {
		o.MaxReplyBytes = DefaultMaxReplyBytes
	}
	if o.MaxRcpts <= 0 {
		o.MaxRcpts = DefaultMaxRcpts
	}
	o.Phases = o.Phases.withDefaults()
	return o
}

func (p Phases) withDefaults() Phases {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&p.Helo, DefaultHeloTimeout)
	def(&p.StartTLS, DefaultStartTLSTimeout)
	def(&p.Mail, DefaultMailTimeout)
	def(&p.Rcpt, DefaultRcptTimeout)
	def(&p.DataInit, DefaultDataInitTimeout)
	def(&p.DataXfer, DefaultDataXferTimeout)
	def(&p.DataDone, DefaultDataDoneTimeout)
	def(&p.Session, DefaultSessionTimeout)
	if p.MinDataRate <= 0 {
		p.MinDataRate = DefaultMinDataRate
	}
	return p
}

// limit is the deadline of a reply or command at stage.
func (p Phases) limit(stage Stage) time.Duration {
	switch stage {
	case StageGreeting, StageHelo:
		return p.Helo
	case StageStartTLS:
		return p.StartTLS
	case StageRcpt:
		return p.Rcpt
	case StageData:
		return p.DataInit
	case StageBody:
		return p.DataDone
	}
	return p.Mail
}

// transfer is the deadline of sending a message of size bytes, and the
// allowance it adds to the session's cap.
func (p Phases) transfer(size int64) (deadline, allowance time.Duration) {
	allowance = time.Duration(max(size, 0)/p.MinDataRate) * time.Second
	return p.DataXfer + allowance, allowance
}
