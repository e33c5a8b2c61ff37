// Package auth checks SMTP AUTH credentials for smtpd: a
// checkpassword-compatible program (qmail's convention, as the qmail-smtpd
// AUTH patches use it), a password file of bcrypt and argon2id hashes, and
// a Limiter that slows down and then blocks clients that keep failing,
// counting each attempt before it is checked and bounding the attempts of
// one client under way at once.
//
// Checkpassword and PasswordFile implement smtpd's PasswordChecker: Check
// returns nil when the credentials are accepted, an error matching
// ErrRejected when they are refused (the client gets 535), and any other
// error when the check could not be made (454, try again later).
package auth

import "errors"

// ErrRejected is wrapped by the error for credentials that are refused.
var ErrRejected = errors.New("authentication rejected")
