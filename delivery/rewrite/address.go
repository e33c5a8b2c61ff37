package rewrite

import "strings"

// Split returns the local part and the domain of addr, around its last
// '@' (qmail's rule: the domain cannot hold an '@'); the domain is empty
// when there is none.
func Split(addr string) (local, domain string) {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return addr[:at], addr[at+1:]
	}
	return addr, ""
}

// verpSuffix ends a sender asking for per-recipient senders, VERP
// (qmail-semantics.md §3.5; qmail-inject's QMAILINJECT=r writes it).
const verpSuffix = "-@[]"

// VERPBase returns sender without the VERP marker, and whether it had one:
// "owner-@host-@[]" is "owner-@host", where bounces go.
func VERPBase(sender string) (string, bool) {
	return strings.CutSuffix(sender, verpSuffix)
}

// VERPSender is the sender of a delivery to rcpt when sender asks for VERP
// (qmail-semantics.md §3.5): "owner-@host-@[]" and "box@rhost" give
// "owner-box=rhost@host". It returns "" for any other sender.
func VERPSender(sender, rcpt string) string {
	base, ok := VERPBase(sender)
	if !ok {
		return ""
	}
	if !strings.Contains(base, "@") {
		return ""
	}
	local, host := Split(base)
	box, rhost := Split(rcpt)
	return local + box + "=" + rhost + "@" + host
}
