// Package mx decides where mail for a domain goes: it applies smtproutes, looks
// up MX records and the exchangers' AAAA and A records, and returns a Plan of
// hosts and addresses in the order to try, or an Error that says whether the
// failure is temporary (defer) or permanent (bounce).
//
// The behaviour follows qmail-remote (qmail-remote.8; qmail-remote.c main(),
// dns.c dns_mxip()), RFC 5321 §5.1 and RFC 7505, with answers cached for
// their TTL.
//
// For outbound TLS policy it also looks up TLSA records (DANE, RFC 7672) and
// TXT records (the _mta-sts record of RFC 8461), and says which answers are
// DNSSEC-secure: a Plan and each Host carry Secure, believed from the AD bit
// of a loopback or explicitly trusted validating resolver only (see
// Options.TrustedResolvers).
package mx
