package smtpclient

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Stage names the step of the SMTP dialogue at which something happened.
type Stage int

// The stages of a delivery, in dialogue order.
const (
	StageConnect  Stage = iota // TCP connect
	StageGreeting              // the server's 220 greeting
	StageHelo                  // EHLO or HELO
	StageStartTLS              // STARTTLS and the TLS handshake
	StageMail                  // MAIL FROM
	StageRcpt                  // RCPT TO
	StageData                  // DATA and the message body
	StageBody                  // the reply after the final dot
)

// String returns the stage's name as used in error texts.
func (s Stage) String() string {
	switch s {
	case StageConnect:
		return "connect"
	case StageGreeting:
		return "greeting"
	case StageHelo:
		return "HELO"
	case StageStartTLS:
		return "STARTTLS"
	case StageMail:
		return "MAIL"
	case StageRcpt:
		return "RCPT"
	case StageData:
		return "DATA"
	case StageBody:
		return "end of data"
	}
	return fmt.Sprintf("stage %d", int(s))
}

// Error is a failure of the SMTP dialogue: either the server's negative
// reply (Reply set) or a network, TLS or protocol error (Err set).
type Error struct {
	Stage    Stage
	Reply    *Reply // the server's reply, nil for network errors
	Err      error  // the network or TLS error, nil for a reply
	AfterDot bool   // the final dot was sent: the message may have been delivered (possible duplicate)
	// Handshake marks a failed TLS handshake (Err holds why, for example
	// a tls/policy verification failure).
	Handshake bool
}

// ErrNoTLS is the Err of an *Error at StageStartTLS when Options required
// TLS and the server did not offer STARTTLS (or, with ImplicitTLS, no TLS
// configuration was given).
var ErrNoTLS = errors.New("no TLS achieved")

// Error returns "smtpclient: MAIL: 451 4.3.0 try later" or
// "smtpclient: end of data: read tcp ...: connection reset (possible duplicate)".
func (e *Error) Error() string {
	s := "smtpclient: " + e.Stage.String() + ": "
	switch {
	case e.Reply != nil:
		s += e.Reply.Text()
		if errors.Is(e.Err, ErrOutOfStep) {
			s += " (" + ErrOutOfStep.Error() + ")"
		}
	case e.Err != nil:
		s += e.Err.Error()
	default:
		s += "failed"
	}
	if e.AfterDot {
		// qmail-remote.c dropped(): "Possible duplicate!" once the dot was sent.
		s += " (possible duplicate)"
	}
	return s
}

// Unwrap returns the network or TLS error.
func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: network and
// protocol errors and 4xx replies are temporary, 5xx replies are not.
func (e *Error) Temporary() bool {
	if e.Reply != nil {
		return e.Reply.Code < 500
	}
	return true
}

// TimeoutError is the Err of an *Error for a step of the dialogue that
// ran out of its deadline (Options.Phases), or a session that ran out of
// its cap. It wraps os.ErrDeadlineExceeded; the failure is temporary.
type TimeoutError struct {
	Phase string        // "greeting", "EHLO", "MAIL", ..., "message transfer", or "session"
	Limit time.Duration // the deadline that ran out
}

// Error returns "the greeting step took longer than 5m0s", or "the
// session took longer than 1h0m0s".
func (e *TimeoutError) Error() string {
	if e.Phase == "session" {
		return "the session took longer than " + e.Limit.String()
	}
	return "the " + e.Phase + " step took longer than " + e.Limit.String()
}

// Unwrap returns os.ErrDeadlineExceeded.
func (e *TimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }
