// Package mx decides where mail for a domain goes: it applies smtproutes, looks
// up MX records and the exchangers' AAAA and A records, and returns a Plan of
// hosts and addresses in the order to try, or an Error that says whether the
// failure is temporary (defer) or permanent (bounce).
//
// The behaviour follows qmail-remote (qmail-semantics.md §1.1–1.2), RFC 5321
// §5.1 and RFC 7505, with answers cached for their TTL.
package mx
