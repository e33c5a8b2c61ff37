package smtpd

import (
	"bytes"
	"encoding/base64"
	"errors"

	"github.com/qsend/qsend/smtpd/auth"
)

// authOffered reports whether EHLO lists AUTH: a checker is configured and
// the session is under TLS, or AUTH is allowed in plain text here.
func (s *session) authOffered() bool {
	return s.o.Auth != nil && (s.tls != nil || s.authInClear())
}

// authInClear reports whether AUTH may be used without TLS: only with
// AuthWithoutTLS and only from a loopback client, so that a password never
// crosses a network in clear (RFC 4954 §4 asks for a security layer).
func (s *session) authInClear() bool {
	return s.o.AuthWithoutTLS && s.info.RemoteIP.IsLoopback()
}

// authCmd answers AUTH PLAIN (RFC 4616) and AUTH LOGIN, with the qmail
// AUTH patches' texts. A success lets the client relay (the patches set
// relayclient). A failure is delayed and counted against the client's
// address; once MaxAuthFailures are used up within AuthFailWindow, AUTH
// gets 421 and the session ends. Each attempt is counted before its
// credentials are checked, so sessions opened at once get no more
// guesses than sessions one after another; beyond MaxAuthConcurrent
// attempts under way from one client, AUTH gets 454 (RFC 4954 §6).
func (s *session) authCmd(arg string) {
	switch {
	case s.o.Auth == nil:
		s.reply(replyUnimpl) // not offered: as any unknown verb
		return
	case s.tls == nil && !s.authInClear():
		s.reply(replyAuthEncrypt)
		return
	case s.authUser != "":
		s.reply(replyAuthAlready) // RFC 4954 §4
		return
	case s.mail:
		s.reply(replyAuthMail) // RFC 4954 §4
		return
	case s.srv.authFails.Blocked(s.info.RemoteIP):
		s.reply(replyAuthTooMany)
		s.close("too many authentication failures")
		return
	}
	mech, initial := parseCommand(arg)
	var user, pass string
	var ok bool
	switch mech {
	case "plain":
		user, pass, ok = s.authPlain(initial)
	case "login":
		user, pass, ok = s.authLogin(initial)
	default:
		s.reply(replyAuthType)
		return
	}
	if !ok {
		return
	}
	attempt, refused := s.srv.authFails.Reserve(s.info.RemoteIP)
	switch refused {
	case auth.Blocked:
		s.reply(replyAuthTooMany)
		s.close("too many authentication failures")
		return
	case auth.Busy:
		s.log.Info("smtpd: authentication refused: attempts under way", "user", user, "mechanism", mech)
		s.reply(replyAuthBusy)
		return
	}
	defer attempt.End() // a check that did not return is a guess made
	err := s.o.Auth.Check(s.ctx, user, pass)
	switch {
	case err == nil:
		attempt.Succeeded()
		s.authUser = user
		s.srv.relaying(s)
		s.log.Info("smtpd: authenticated", "user", user, "mechanism", mech)
		s.reply(replyAuthOK)
	case errors.Is(err, ErrAuthRejected):
		s.authRejected(user, mech, attempt)
	default:
		attempt.Release()
		s.log.Warn("smtpd: authentication failed temporarily", "user", user, "err", err)
		s.reply(replyAuthTemp)
	}
}

// authRejected answers a refused AUTH after the failure delay. The
// failure is recorded first, through attempt when the credentials were
// checked, so that the delay holds no slot of the client's.
func (s *session) authRejected(user, mech string, attempt *auth.Attempt) {
	if attempt != nil {
		attempt.Failed()
	} else {
		s.srv.authFails.Fail(s.info.RemoteIP)
	}
	s.log.Info("smtpd: authentication rejected", "user", user, "mechanism", mech)
	if s.o.AuthFailDelay > 0 {
		// The delay grows with the client's failures (auth.Limiter).
		s.sleep(s.srv.authFails.Delay(s.info.RemoteIP))
	}
	s.reply(replyAuthFailed)
}

// authPlain reads PLAIN's "authzid NUL authcid NUL passwd", from the
// initial response or after an empty 334 challenge. An authorisation
// identity other than the user is refused: nobody may act for another.
func (s *session) authPlain(initial string) (user, pass string, ok bool) {
	var resp []byte
	if initial != "" {
		if resp, ok = s.authDecode(initial); !ok {
			return "", "", false
		}
	} else {
		s.reply("334 ")
		if resp, ok = s.authResponse(); !ok {
			return "", "", false
		}
	}
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		s.reply(replyAuthInput)
		return "", "", false
	}
	user, pass = string(parts[1]), string(parts[2])
	if len(parts[0]) != 0 && string(parts[0]) != user {
		s.authRejected(user, "plain", nil)
		return "", "", false
	}
	return user, pass, true
}

// authLogin reads LOGIN's user name (from the initial response or after
// "Username:") and password (after "Password:").
func (s *session) authLogin(initial string) (user, pass string, ok bool) {
	var u, p []byte
	if initial != "" {
		if u, ok = s.authDecode(initial); !ok {
			return "", "", false
		}
	} else {
		s.reply(replyAuthUser)
		if u, ok = s.authResponse(); !ok {
			return "", "", false
		}
	}
	if len(u) == 0 {
		s.reply(replyAuthInput)
		return "", "", false
	}
	s.reply(replyAuthPass)
	if p, ok = s.authResponse(); !ok {
		return "", "", false
	}
	if len(p) == 0 {
		s.reply(replyAuthInput)
		return "", "", false
	}
	return string(u), string(p), true
}

// authResponse reads one client response of an AUTH exchange: "*"
// cancels (RFC 4954 §4).
func (s *session) authResponse() ([]byte, bool) {
	line, tooLong, err := s.readLine()
	if err != nil {
		s.readFailed(err)
		return nil, false
	}
	if tooLong {
		s.reply(replyAuthInput)
		return nil, false
	}
	if string(line) == "*" {
		s.reply(replyAuthCancelled)
		return nil, false
	}
	return s.authDecode(string(line))
}

// authDecode decodes base64; "=" is an empty response (RFC 4954 §4).
func (s *session) authDecode(v string) ([]byte, bool) {
	if v == "=" {
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		s.reply(replyAuthInput)
		return nil, false
	}
	return b, true
}
