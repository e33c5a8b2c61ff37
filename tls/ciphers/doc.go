// Package ciphers translates between OpenSSL's cipher strings, the form
// qmail-tls reads from control/tlsclientciphers, control/tlsserverciphers
// and $TLSCIPHERS, and the cipher suite lists of Go's crypto/tls; and names
// suites and protocol versions the way OpenSSL prints them, for Received
// lines and logs.
//
// Go implements far fewer suites than OpenSSL (no DHE, no CCM, no
// Camellia, no anonymous or export suites) and does not let TLS 1.3 suites
// be chosen. Parse therefore refuses a string that would, in Go, select
// something other than what it asks for, instead of silently falling back
// to the defaults.
package ciphers
