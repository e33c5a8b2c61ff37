// Package tcprules reads and writes the per-client rules of ucspi-tcp's
// tcpserver: the text form that tcprules(1) compiles (tcp.smtp) and the cdb
// it compiles to (tcp.smtp.cdb), so an existing qmail installation's rules
// decide relaying, DATABYTES, TLSCIPHERS and the like for qsend's listeners.
//
// A rule is "address:allow" or "address:deny", optionally followed by
// environment assignments ",NAME=<q>value<q>" where <q> is any character
// repeated to close the value (tcprules(1), INSTRUCTIONS). Addresses are an
// IP address, an IP prefix ending in a dot, an IPv4 range "1.2.3.4-10" or
// "10.2-3." (expanded when compiling), "=host.name", "=.domain", "=" (any
// named host), "user@address" forms, or empty (every client).
//
// The cdb value of a rule is a list of NUL-terminated entries: "D" for
// deny, and "+NAME=value" for each assignment, in order (ucspi-tcp-0.88
// tcprules.c, read back by tcpserver.c and tcprulescheck.c); a rule
// without "D" allows.
//
// IPv6 follows the ucspi-tcp IPv6 patch (Debian's ucspi-tcp-ipv6):
// addresses in the text form, keys made of the address text and its
// prefixes ending in ':', and IPv4-mapped clients looked up as IPv4. The
// client address text is Go's (RFC 5952: lower case, the longest run of
// zero groups compressed), so rules for IPv6 clients must be written in
// that form. Ranges are IPv4 only, as in the patch.
package tcprules
