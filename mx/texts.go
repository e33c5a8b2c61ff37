package mx

import "strconv"

// The texts of a failed plan or lookup, as an Error's Text. They end up in
// a recipient's last result, the delivery log and bounces, so each is kept
// here once; where qmail-remote has the text, it is qmail-remote's byte for
// byte (without the report's leading status letter and trailing LF).

// TextSoftDNS is a temporary DNS failure (qmail-remote.c temp_dns()). The
// remote transport reports it too when a plan fails without an *Error.
const TextSoftDNS = "Sorry, I couldn't find any host by that name. (#4.1.2)"

const (
	// qmail-remote.c perm_nomx()
	textNoMX = "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
	// qmail-remote.c perm_ambigmx()
	textSelfMX = "Sorry. Although I'm listed as a best-preference MX or A for that host,\n" +
		"it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)"
)

// textNoHost is a name that does not exist (qmail-remote.c perm_dns()).
func textNoHost(domain string) string {
	return "Sorry, I couldn't find any host named " + domain + ". (#5.1.2)"
}

// textNullMX is a domain with a null MX (RFC 7505 §3), which qmail
// predates; the wording follows textNoHost and the code is RFC 7505 §5's.
func textNullMX(domain string) string {
	return "Sorry, " + domain + " does not accept mail (null MX, RFC 7505). (#5.1.10)"
}

// textAddrSoft is a failed address lookup of one host (the MTA-STS policy
// host, RFC 8461 §3.3); qsend's own wording.
func textAddrSoft(host string) string { return "temporary failure looking up " + host }

// textAddrNone is a host without addresses; qsend's own wording.
func textAddrNone(host string) string { return "no address for " + host }

// textTLSA is a failed TLSA lookup (RFC 7672 §2.1), worded as Postfix's
// smtp(8) reports it.
func textTLSA(host string, port int) string {
	return "TLSA lookup error for " + host + ":" + strconv.Itoa(port)
}

// textTXT is a failed TXT lookup (the _mta-sts record, RFC 8461 §3.1);
// qsend's own wording.
func textTXT(name string) string { return "TXT lookup error for " + name }

// Texts returns every text of this package in a fixed order, the
// formatting ones rendered for the host mx.example.net, the domain
// example.net and port 25, for a golden list of what qsend can store.
func Texts() []string {
	const domain, host = "example.net", "mx.example.net"
	return []string{
		TextSoftDNS,
		textNoHost(domain),
		textNoMX,
		textNullMX(domain),
		textSelfMX,
		textAddrSoft(host),
		textAddrNone(host),
		textTLSA(host, 25),
		textTXT("_mta-sts." + domain),
	}
}
