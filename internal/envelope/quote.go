package envelope

import "strings"

// atomOK marks the bytes qmail's quote.c leaves unquoted in a local part:
// printable ASCII except space and ()<>@,;:\"[] ("." is allowed, but not
// first, last or doubled).
var atomOK = func() (t [128]bool) {
	for c := 33; c < 127; c++ {
		t[c] = !strings.ContainsRune(`()<>@,;:\"[]`, rune(c))
	}
	return t
}()

// NeedQuote reports whether local part s must be quoted (quote.c
// quote_need): it is empty, holds a byte outside atomOK, or has a dot at
// either end or two dots in a row.
func NeedQuote(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 128 || !atomOK[c] {
			return true
		}
	}
	return s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..")
}

// QuoteLocal quotes a local part as quote.c does: unchanged when it can
// stand as it is, else in double quotes with CR, LF, '"' and '\'
// backslash-escaped. qmail-send's bounces and qmail-inject share it.
func QuoteLocal(s string) string {
	if !NeedQuote(s) {
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

// QuoteAddr quotes the local part of an address (everything before the
// last "@") as quote.c's quote2 does; the empty address stays empty.
func QuoteAddr(addr string) string {
	if addr == "" {
		return ""
	}
	local, domain, ok := Split(addr)
	if !ok {
		return QuoteLocal(addr)
	}
	return QuoteLocal(local) + "@" + domain
}
