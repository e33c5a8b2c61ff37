// Package mtasts implements the sending side of SMTP MTA Strict Transport
// Security (RFC 8461): it reads a domain's _mta-sts TXT record, fetches and
// parses its policy over HTTPS, keeps policies in a Cache until they expire,
// and says which MX hosts a policy allows.
//
// Delivery asks Get for the policy of a recipient domain before it connects.
// A policy in mode enforce allows only MX hosts that Match and a TLS session
// with a certificate valid for the MX host (RFC 8461 §4.2); mode testing
// delivers anyway and reports what would have failed. Get returns nil when no
// policy applies, including mode none.
//
// Failures to fetch a policy never stop delivery: without a valid cached
// policy the domain is treated as having none (RFC 8461 §3.3, §5.1). Lookup
// returns the reason alongside, for logs and tls-probe.
package mtasts
