// Package policy decides what TLS an outbound delivery gets and builds the
// tls.Config that enforces it. It speaks both qmail-tls's language
// (control/tlshosts, notlshosts, exhaustivelist, clientcert.pem,
// tlsclientciphers; qmail-tls qmail-remote.c tls_init(), match_partner()) and
// Postfix's security levels (none, may, encrypt, verify, secure, dane,
// dane-only, fingerprint; Postfix smtp_tls_security_level), and adds DANE
// (RFC 7672) and MTA-STS (RFC 8461).
//
// # Precedence
//
// Engine.Decide takes the first of these that applies to the attempt:
//
//  1. control/tlshosts/<mx>.pem: TLS required, the chain verified from that
//     file alone, the name by qmail-tls's rule (verify with that CA file).
//  2. control/notlshosts/<mx>: no TLS.
//  3. The table entry for the MX host name.
//  4. The table entry for the next-hop domain: the domain itself, then
//     ".parent" entries from the nearest parent up. Under an smtproutes
//     route the next hop is the relay, as in Postfix's policy table.
//  5. control/tlshosts/exhaustivelist: no TLS for hosts without a pem.
//  6. DANE: DNSSEC-signed TLSA records for the MX host. Usable records
//     require TLS verified by them; records that are all unusable require
//     TLS without verification (RFC 7672 §2.2) unless MTA-STS or the
//     default level asks for more, which then stays in force (DANE raises
//     the level, never lowers it), and defer under a dane-only default; a
//     failed lookup defers.
//  7. MTA-STS: in enforce mode only the policy's MX hosts, with TLS and a
//     certificate valid for the MX host name from the system's roots
//     (RFC 8461 §4.1, §4.2); in testing mode, the same checks reported but
//     not enforced (§5), unless the default level is stricter than may.
//  8. The default level (tls.default_level, may unless configured).
//
// The qmail-tls files are keyed by the MX host name exactly as DNS or
// smtproutes gave it (case-sensitive file names, no lowercasing), and
// none is consulted for an IP literal, as in qmail-tls (qmail-remote.c
// tls_init()). They are looked at on every decision, so a new pem applies to the
// next delivery without a reload.
//
// # Verification
//
// Certificates are never checked by crypto/tls itself: ClientConfig sets
// InsecureSkipVerify and a VerifyConnection that runs Decision.Check, so
// each level applies its own rules and every failure is a *Failure with a
// stable text, qmail-tls's where it has one (qmail-tls qmail-remote.c tls_init()):
//
//	TLS unable to verify server with control/tlshosts/<mx>.pem: certificate has expired
//	TLS unable to verify server <mx>: received certificate for <name>
//	TLS unable to verify server <mx>: certificate contains no valid commonName
//	TLS unable to verify server <mx>: DANE: no TLSA record matched the server certificate chain
//	TLS unable to verify server <mx>: MTA-STS: unable to get local issuer certificate
//	TLS unable to verify server <mx>: fingerprint mismatch (...)
//
// Every Failure is temporary: the delivery code defers and tries the next
// MX, and never falls back to plaintext where TLS is required.
//
// Under a tlshosts pem the name rule is qmail-tls's of 2006/2007: DNS
// subjectAltNames first, then the first CN when none matched; "*." covers
// exactly one leftmost label; case does not matter. Under verify and
// secure from the table, and under MTA-STS, Go's x509 name rules apply
// (subjectAltNames only) to the match names. Under may nothing is
// enforced; Decision.Classify tells whether the certificate would have
// verified, for logs and counters.
//
// # Differences from qmail-tls
//
// qmail-tls sends no SNI; qsend sends the MX host name (or the rule's
// servername), which harms nothing. A failed TLS policy moves on to the
// next MX instead of ending the attempt, and opportunistic TLS may fall
// back to plaintext: both are the delivery code's decisions.
package policy
