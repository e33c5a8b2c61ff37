// Package smtpd is qsend's SMTP server: qmail-smtpd with the qmail-tls patch
// (STARTTLS, SMTPS, client-certificate relaying), the server half of SMTP
// AUTH, and the qregex checks, speaking qmail-smtpd's exact reply texts
// (qmail-smtpd.c, qmail-smtpd.8) and hardened against the attacks those
// programs have had (CVE-2005-1513, CVE-2011-0411, CVE-2023-51764): STARTTLS
// command injection, SMTP smuggling and unbounded input.
//
// One Server serves listeners inside the daemon (Serve) and single
// sessions on stdin/stdout under tcpserver or inetd (ServeStdio). What it
// needs from elsewhere (the queue, rcpthosts, the qregex lists, password
// checking, client-certificate checks) it takes through small interfaces.
//
// Deliberate deviations from qmail-smtpd, each also noted where it is made:
//   - without rcpthosts only the local domains (me, locals) are accepted as
//     recipient domains unless the client may relay: never an open relay;
//   - STARTTLS forgets the transaction and authentication as well as the
//     HELO name (RFC 3207 §4.2); qmail-tls keeps MAIL and RCPT;
//   - a bare CR in DATA is refused like a bare LF (qmail stored it);
//   - relay tricks (%, !, source routes, several @, address literals) are
//     refused for clients that may not relay;
//   - limits on command lines, recipients, header size, errors and
//     connections, which qmail-smtpd does not have;
//   - time limits against clients that hold connections on purpose
//     (Postfix's smtpd_per_request_deadline and smtpd_min_data_rate): a
//     command line must arrive whole within timeoutsmtpd, DATA must keep a
//     minimum rate, a session has a total limit, and at the connection
//     limit a newcomer displaces the session idle longest instead of
//     being refused, with a share of connections kept for clients that
//     may relay;
//   - AUTH attempts are counted before they are checked and limited per
//     client address, so parallel sessions get no more guesses.
package smtpd
