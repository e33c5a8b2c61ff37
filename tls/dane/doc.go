// Package dane checks a server's certificate chain against TLSA records,
// as DANE for SMTP prescribes (RFC 6698, RFC 7671, RFC 7672). It is pure
// crypto: the caller looks the records up over DNSSEC and passes only
// records from a secure answer.
package dane
