package smtpd

import (
	"context"
	"io"

	"github.com/qsend/qsend/internal/envelope"
)

// Origin is what a session knows about the client a message came from,
// for the queue's records (the store's Intake fields). Queue.Enqueue gets
// it with each message.
type Origin struct {
	// Protocol is "smtp", "esmtpa" (after AUTH), "esmtps" (under TLS) or
	// "esmtpsa" (both), RFC 3848's names in lower case.
	Protocol   string
	ClientAddr string // the client's IP address, or "unknown"
	HELO       string // the HELO or EHLO argument, if any
	TLS        string // the cipher, OpenSSL's name, under TLS
	Auth       string // the AUTH user, or the relay certificate's address
	// SMTPUTF8 is set when MAIL asked for SMTPUTF8 (RFC 6531 §3.4): the
	// message may need it at the next hop too.
	SMTPUTF8 bool
	Relay    bool // RELAYCLIENT is set for the client
}

// EnvelopeQueue stores a message with its envelope only, as qmail-queue
// does (qmail-queue.8: the message on fd 0, the envelope on fd 1).
type EnvelopeQueue interface {
	Enqueue(ctx context.Context, env envelope.Envelope, body io.Reader) error
}

// EnvelopeOnly makes q a Queue that drops the origin: qmail-queue's
// interface has no place for it.
func EnvelopeOnly(q EnvelopeQueue) Queue { return envelopeOnly{q} }

type envelopeOnly struct{ q EnvelopeQueue }

func (e envelopeOnly) Enqueue(ctx context.Context, env envelope.Envelope, _ Origin, body io.Reader) error {
	return e.q.Enqueue(ctx, env, body)
}

// origin describes the session's client now.
func (s *session) origin() Origin {
	o := Origin{Protocol: "smtp", ClientAddr: ipString(s.info), HELO: s.helo, TLS: s.cipher, Auth: s.authUser, SMTPUTF8: s.utf8, Relay: s.info.Relay}
	switch {
	case s.tls != nil && s.authUser != "":
		o.Protocol = "esmtpsa"
	case s.tls != nil:
		o.Protocol = "esmtps"
	case s.authUser != "":
		o.Protocol = "esmtpa"
	}
	if o.Auth == "" {
		o.Auth = s.certEmail
	}
	return o
}
