package mx

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// errBadLiteral is an address literal that does not parse.
var errBadLiteral = errors.New("bad address literal")

// parseLiteral recognises an address literal: "[1.2.3.4]" or
// "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3), or a bare dotted quad, which qmail
// also treats as an address (dns.c dns_mxip(), qmail-remote.c main()). ok is false for
// anything else, which is a name to look up.
func parseLiteral(s string) (addr netip.Addr, ok bool, err error) {
	if inner, found := strings.CutPrefix(s, "["); found {
		inner, found = strings.CutSuffix(inner, "]")
		if !found {
			return netip.Addr{}, true, fmt.Errorf("%q: %w: no closing ]", s, errBadLiteral)
		}
		want6 := false
		if len(inner) >= 5 && strings.EqualFold(inner[:5], "IPv6:") {
			inner, want6 = inner[5:], true
		}
		a, err := netip.ParseAddr(inner)
		if err != nil || a.Zone() != "" || a.Is6() != want6 || a.Is4In6() {
			return netip.Addr{}, true, fmt.Errorf("%q: %w", s, errBadLiteral)
		}
		return a, true, nil
	}
	if !isDottedQuad(s) {
		return netip.Addr{}, false, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, true, fmt.Errorf("%q: %w", s, errBadLiteral)
	}
	return a, true, nil
}

// isDottedQuad reports whether s is four dot-separated runs of digits.
func isDottedQuad(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
