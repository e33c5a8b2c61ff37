package smtpd

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/qsend/qsend/internal/envelope"
)

// maxAddrLen is the longest address qmail-smtpd's addrparse accepts
// (qmail-smtpd.c addrparse(): "Result >900 bytes → 555").
const maxAddrLen = 900

// parseCommand splits a command line as qmail's commands.c does: the verb
// is the text before the first space, compared case-insensitively (it is
// returned in lower case), and the argument is the rest after any spaces
// (qmail-smtpd.c, commands.c commands()). Tabs are not separators.
func parseCommand(line string) (verb, arg string) {
	i := strings.IndexByte(line, ' ')
	if i < 0 {
		return asciiLower(line), ""
	}
	verb = asciiLower(line[:i])
	arg = strings.TrimLeft(line[i:], " ")
	return verb, arg
}

// asciiLower lower-cases ASCII letters only, without allocating when
// there is nothing to change.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// address is a parsed MAIL or RCPT argument.
type address struct {
	addr   string // the address with quotes and escapes removed
	params string // what follows the address (ESMTP parameters)
	// route is set when a source route "@a,@b:" was dropped.
	route bool
	// literal is set when the domain is an address literal that is not
	// this host's (those become LocalIPHost).
	literal bool
}

// parseAddr parses a MAIL FROM or RCPT TO argument as qmail-smtpd's
// addrparse does (qmail-smtpd.c addrparse()): with a '<', the text after it
// up to an unquoted '>'; without, the text after the first ':' (spaces
// skipped) up to a space. The keyword is not checked. A leading source
// route is dropped, '"' toggles quoting and is removed, '\' escapes the
// next byte. box@[ip] with this host's address ip becomes
// box@localIPHost. It fails for an address over 900 bytes, and (unlike
// qmail) for one with a control character, which would end up in header
// lines and the envelope.
func parseAddr(arg string, localIP netip.Addr, localIPHost string) (address, bool) {
	var a address
	terminator := byte('>')
	if i := strings.IndexByte(arg, '<'); i >= 0 {
		arg = arg[i+1:]
	} else {
		// "partner should go read rfc 821" (qmail-smtpd.c)
		terminator = ' '
		if i := strings.IndexByte(arg, ':'); i >= 0 {
			arg = arg[i+1:]
		} else {
			arg = ""
		}
		arg = strings.TrimLeft(arg, " ")
	}
	if strings.HasPrefix(arg, "@") {
		a.route = true
		if i := strings.IndexByte(arg, ':'); i >= 0 {
			arg = arg[i+1:]
		} else {
			arg = ""
		}
	}
	var b strings.Builder
	esc, quoted := false, false
	i := 0
	for ; i < len(arg); i++ {
		c := arg[i]
		if esc {
			b.WriteByte(c)
			esc = false
			continue
		}
		if !quoted && c == terminator {
			break
		}
		switch c {
		case '\\':
			esc = true
		case '"':
			quoted = !quoted
		default:
			b.WriteByte(c)
		}
		if b.Len() > maxAddrLen {
			return a, false
		}
	}
	if i < len(arg) {
		a.params = arg[i+1:]
	}
	a.addr = b.String()
	for j := 0; j < len(a.addr); j++ {
		if c := a.addr[j]; c < ' ' || c == 0x7f {
			return a, false
		}
	}
	if local, domain, ok := envelope.Split(a.addr); ok && strings.HasPrefix(domain, "[") {
		if ip, ok := addrLiteral(domain); ok && localIP.IsValid() && ip == localIP {
			a.addr = local + "@" + localIPHost
		} else {
			a.literal = true
		}
	}
	if len(a.addr) > maxAddrLen {
		return a, false
	}
	return a, true
}

// addrLiteral parses "[1.2.3.4]" or "[IPv6:...]" (RFC 5321 §4.1.3).
func addrLiteral(s string) (netip.Addr, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	s = s[1 : len(s)-1]
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		ip, err := netip.ParseAddr(s[5:])
		return ip.Unmap(), err == nil && ip.Is6()
	}
	ip, err := netip.ParseAddr(s)
	return ip, err == nil && ip.Is4()
}

// trick names the relay trick in an address, or is "" when there is none:
// the forms qmail-send or a next hop could route elsewhere than the domain
// after the last '@' (percent hack, bang paths, source routes, quoted or
// repeated '@', address literals). Clients that may not relay are refused
// them.
func (a address) trick() string {
	switch {
	case a.route:
		return "source route"
	case a.literal:
		return "address literal"
	case strings.IndexByte(a.addr, '%') >= 0:
		return "percent hack"
	case strings.IndexByte(a.addr, '!') >= 0:
		return "bang path"
	case strings.Count(a.addr, "@") > 1:
		return "several @"
	}
	return ""
}

// mailParams reads the ESMTP parameters of MAIL FROM that qsend knows:
// SIZE (RFC 1870) and BODY (RFC 6152, accepted and ignored: the store
// notes 8-bit bodies itself). Others are ignored, as qmail-smtpd ignores
// everything after the address. size is -1 when absent or unreadable;
// an oversized number reads as the largest int64.
func mailParams(params string) (size int64) {
	size = -1
	for _, p := range strings.Fields(params) {
		k, v, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(k, "SIZE") {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		switch {
		case err == nil && n >= 0:
			size = n
		case errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-"):
			size = 1<<63 - 1
		}
	}
	return size
}
