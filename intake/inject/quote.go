package inject

import "strings"

// quoteOK marks the ASCII characters an RFC 821/822 local part may hold
// without quoting (qmail's quote.c table).
var quoteOK = func() (ok [128]bool) {
	for c := 33; c < 127; c++ {
		ok[c] = true
	}
	for _, c := range "\"(),:;<>@[\\]" {
		ok[c] = false
	}
	return ok
}()

// quoteNeed reports whether the local part s must be quoted: it is empty,
// holds a special, space, control or 8-bit character, or has a dot at
// either end or two dots in a row.
func quoteNeed(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 128 || !quoteOK[c] {
			return true
		}
	}
	return s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")
}

// quote returns s as a quoted string when it needs to be one.
func quote(s string) string {
	if !quoteNeed(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\r', '\n', '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// quoteAddr quotes the local part of addr, everything before its last
// "@", when it needs quoting (qmail's quote2).
func quoteAddr(addr string) string {
	if addr == "" {
		return ""
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return quote(addr)
	}
	return quote(addr[:at]) + addr[at:]
}
