// Package smtpclient is qsend's SMTP client: it connects to one mail
// exchanger, greets it (EHLO with HELO fallback), starts TLS when offered and
// asked to, and runs mail transactions with or without PIPELINING, returning
// one structured result per recipient. It never logs and never decides about
// retries or other mail exchangers; the remote transport does that with the
// results and errors it returns.
//
// With Options.LMTP it speaks LMTP (RFC 2033) to a mailbox server such as
// Dovecot, on a TCP or Unix socket connection given to NewConn: LHLO, and
// one result per recipient from the replies after the final dot.
//
// The wire behaviour follows qmail-remote with the TLS patch
// (qmail-remote.8, qmail-remote.c smtp(); qmail-tls qmail-remote.c
// tls_init()) and RFC 5321, with the deviations
// documented where they are made.
package smtpclient
