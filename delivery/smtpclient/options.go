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

// Defaults of Options (qmail-remote.c getcontrols() for the timeouts).
const (
	DefaultConnectTimeout = 60 * time.Second
	DefaultTimeout        = 1200 * time.Second
	DefaultMaxLineLength  = 4096
	DefaultMaxRcpts       = 100
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
	if o.MaxRcpts <= 0 {
		o.MaxRcpts = DefaultMaxRcpts
	}
	return o
}
