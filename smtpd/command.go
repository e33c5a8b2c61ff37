package smtpd

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

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
// lines and the envelope, or that is not valid UTF-8.
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
	if !utf8.ValidString(a.addr) {
		// RFC 6531 §3.3: a non-ASCII address is UTF-8
		return a, false
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

// mailParams is what the parameters of MAIL FROM asked for.
type mailParams struct {
	size int64 // SIZE=, -1 when absent; an oversized number reads as the largest int64
	utf8 bool  // SMTPUTF8
}

// parseMailParams reads the ESMTP parameters of MAIL FROM, those of the
// extensions the server offers: SIZE (RFC 1870 §3), BODY=7BIT
// or 8BITMIME (RFC 6152 §2: accepted, the store notes 8-bit bodies
// itself), SMTPUTF8 without a value (RFC 6531 §3.4), and AUTH= when AUTH
// is offered (RFC 4954 §5: accepted and not trusted). Any other is
// refused with 555 (RFC 5321 §4.1.1.11), where qmail-smtpd ignores
// everything after the address; a malformed value of a known one gets
// 501. refusal is the reply, or "" when all are accepted. Keywords are
// compared case-insensitively (RFC 5321 §2.4).
func parseMailParams(params string, authOffered bool) (p mailParams, refusal string) {
	p.size = -1
	for _, f := range strings.Fields(params) {
		k, v, hasValue := strings.Cut(f, "=")
		switch {
		case strings.EqualFold(k, "SIZE"):
			n, ok := sizeValue(v)
			if !ok {
				return p, paramSyntax(f)
			}
			p.size = n
		case strings.EqualFold(k, "BODY"):
			switch {
			case strings.EqualFold(v, "7BIT"), strings.EqualFold(v, "8BITMIME"):
			case strings.EqualFold(v, "BINARYMIME"):
				// RFC 3030 §3: needs BINARYMIME and CHUNKING, not offered
				return p, paramNotOffered(f)
			default:
				return p, paramSyntax(f)
			}
		case strings.EqualFold(k, "SMTPUTF8"):
			if hasValue {
				return p, paramSyntax(f)
			}
			p.utf8 = true
		case strings.EqualFold(k, "AUTH") && authOffered:
		default:
			return p, paramNotOffered(k)
		}
	}
	return p, ""
}

// rcptParams checks the ESMTP parameters of RCPT TO: no extension qsend
// offers has one (NOTIFY and ORCPT are DSN's, RFC 3461 §4, not offered),
// so any is refused with 555 (RFC 5321 §4.1.1.11).
func rcptParams(params string) (refusal string) {
	if f := strings.Fields(params); len(f) > 0 {
		k, _, _ := strings.Cut(f[0], "=")
		return paramNotOffered(k)
	}
	return ""
}

// sizeValue parses SIZE's value, digits (RFC 1870 §3 has 1*20DIGIT;
// longer is taken too); a number past int64 reads as the largest int64,
// which is over any limit.
func sizeValue(v string) (int64, bool) {
	if v == "" {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return 1<<63 - 1, true
	}
	return n, err == nil
}

// maxParamEcho bounds how much of a parameter a reply repeats.
const maxParamEcho = 64

func paramNotOffered(p string) string {
	return replyParamNotOffered + echoParam(p) + replyParamEnd
}

func paramSyntax(p string) string {
	return replyParamSyntax + echoParam(p) + replyParamEnd
}

func echoParam(p string) string {
	if len(p) > maxParamEcho {
		p = p[:maxParamEcho] + "..."
	}
	return strings.ToValidUTF8(sanitizeReply(p), "?")
}

// international checks an address with non-ASCII characters (RFC 6531):
// it is refused with 553 5.6.7 unless MAIL asked for SMTPUTF8
// (RFC 6531 §3.5), and a non-ASCII domain is replaced by its A-labels
// (RFC 5890 §2.3.2.1: the same name), the form qmail's control files
// (rcpthosts, locals, virtualdomains) and the DNS hold, so that it is
// matched and routed as an ASCII one; the local part is kept as it was
// sent. A domain that IDNA refuses gets 553 5.1.3 (RFC 3463 §3.2, "Bad
// destination mailbox address syntax"). refusal is the reply or "".
func (a *address) international(utf8Allowed bool) (refusal string) {
	if isASCII(a.addr) {
		return ""
	}
	if !utf8Allowed {
		return replyNeedUTF8
	}
	local, domain, ok := envelope.Split(a.addr)
	if !ok || isASCII(domain) {
		return ""
	}
	ace, err := idna.Lookup.ToASCII(domain)
	if err != nil || ace == "" {
		return replyBadIDN
	}
	a.addr = local + "@" + ace
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
