package dkim

import (
	"bytes"
	"net/mail"
	"strings"
)

// headerEnd returns the offset of the empty line that ends the header
// section of msg (LF or CRLF line ends), or -1 when msg has none yet.
func headerEnd(msg []byte) int {
	if bytes.HasPrefix(msg, []byte("\n")) || bytes.HasPrefix(msg, []byte("\r\n")) {
		return 0
	}
	if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		return i + 1
	}
	if i := bytes.Index(msg, []byte("\n\r\n")); i >= 0 {
		return i + 1
	}
	return -1
}

// FromDomain returns the lower-case domain of the first address of the
// first From: field of the header section at the start of msg: the
// author's domain (RFC 5322 §3.6.2), which is the d= a signature must
// align with (RFC 7489 §3.1.1). ok is false when there is no From: field
// or no domain can be found in it.
func FromDomain(msg []byte) (domain string, ok bool) {
	if end := headerEnd(msg); end >= 0 {
		msg = msg[:end]
	}
	value, found := field(msg, "From")
	if !found {
		return "", false
	}
	var addr string
	if list, err := mail.ParseAddressList(value); err == nil && len(list) > 0 {
		addr = list[0].Address
	} else {
		// An address net/mail refuses (obsolete syntax, 8-bit display
		// names): the part in angle brackets, else the whole value.
		addr = strings.TrimSpace(value)
		if i := strings.IndexByte(addr, '<'); i >= 0 {
			addr = addr[i+1:]
			if j := strings.IndexByte(addr, '>'); j >= 0 {
				addr = addr[:j]
			}
		}
		if i := strings.IndexAny(addr, ", "); i >= 0 {
			addr = addr[:i]
		}
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return "", false
	}
	domain = strings.TrimSuffix(strings.ToLower(addr[at+1:]), ".")
	if !validDomain(domain) {
		return "", false
	}
	return domain, true
}

// field returns the unfolded value of the first header field called
// name in header (RFC 5322 §2.2.3).
func field(header []byte, name string) (string, bool) {
	lines := bytes.Split(header, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		l := bytes.TrimSuffix(lines[i], []byte("\r"))
		colon := bytes.IndexByte(l, ':')
		if colon < 0 || !strings.EqualFold(string(bytes.TrimRight(l[:colon], " \t")), name) {
			continue
		}
		var v strings.Builder
		v.Write(l[colon+1:])
		for i+1 < len(lines) && len(lines[i+1]) > 0 && (lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
			i++
			v.Write(bytes.TrimSuffix(lines[i], []byte("\r")))
		}
		return v.String(), true
	}
	return "", false
}

// validDomain reports whether d is a host name: dot-separated labels of
// letters, digits and hyphens.
func validDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
