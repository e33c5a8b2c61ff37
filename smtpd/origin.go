package smtpd

import "context"

// Origin is what a session knows about the client a message came from,
// for the queue's records (the store's Intake fields). Queue.Enqueue finds
// it in its context with OriginFrom.
type Origin struct {
	// Protocol is "smtp", "esmtpa" (after AUTH), "esmtps" (under TLS) or
	// "esmtpsa" (both), RFC 3848's names in lower case.
	Protocol   string
	ClientAddr string // the client's IP address, or "unknown"
	HELO       string // the HELO or EHLO argument, if any
	TLS        string // the cipher, OpenSSL's name, under TLS
	Auth       string // the AUTH user, or the relay certificate's address
}

type originKey struct{}

// OriginFrom returns the Origin a session put in the context it gave
// Queue.Enqueue.
func OriginFrom(ctx context.Context) (Origin, bool) {
	o, ok := ctx.Value(originKey{}).(Origin)
	return o, ok
}

// origin describes the session's client now.
func (s *session) origin() Origin {
	o := Origin{Protocol: "smtp", ClientAddr: ipString(s.info), HELO: s.helo, TLS: s.cipher, Auth: s.authUser}
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
