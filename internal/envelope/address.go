// Package envelope is a message's envelope as qmail keeps it: a sender and
// its recipients, each address a local part and a domain around the last
// '@', quoted for a header as qmail's quote.c does, and VERP senders.
// Every stage that handles addresses (the SMTP server, qmail-inject and
// sendmail, the queue, bounces and deliveries) uses this one
// implementation.
package envelope

import "strings"

// Envelope is a message's envelope sender and recipients.
type Envelope struct {
	Sender     string // "" is the null sender
	Recipients []string
}

// Split returns the local part and the domain of addr around its last
// '@' (qmail's rule, qmail-send.c rewrite() and qmail-remote.c
// addrmangle(): the domain cannot hold an '@'), and whether there was an
// '@' at all. Without one, local is addr and domain is empty.
func Split(addr string) (local, domain string, found bool) {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return addr[:at], addr[at+1:], true
	}
	return addr, "", false
}

// verpSuffix ends a sender asking for per-recipient senders, VERP
// (qmail-send.c injectbounce(); qmail-inject's QMAILINJECT=r writes it).
const verpSuffix = "-@[]"

// VERPBase returns sender without the VERP marker, and whether it had one:
// "owner-@host-@[]" is "owner-@host", where bounces go.
func VERPBase(sender string) (string, bool) {
	return strings.CutSuffix(sender, verpSuffix)
}

// VERPSender is the sender of a delivery to rcpt when sender asks for VERP
// (qmail-send.c injectbounce()): "owner-@host-@[]" and "box@rhost" give
// "owner-box=rhost@host". It returns "" for any other sender.
func VERPSender(sender, rcpt string) string {
	base, ok := VERPBase(sender)
	if !ok {
		return ""
	}
	local, host, ok := Split(base)
	if !ok {
		return ""
	}
	box, rhost, _ := Split(rcpt)
	return local + box + "=" + rhost + "@" + host
}
