package inject

// rewriter completes addresses as qmail-inject does (qmail-inject.c
// rwgeneric()). The token lists are "@defaulthost", ".defaultdomain" and
// ".plusdomain" tokenized, in forward order.
type rewriter struct {
	defaultHost, defaultDomain, plusDomain []token
}

// rewrite completes one address given in reverse token order, and returns
// it in reverse order (qmail's rwgeneric): <> and <x@[]> stay as they are;
// a source route is dropped; a trailing "." and a trailing "@" go; an
// address without "@" gets "@defaulthost"; a host ending in "+" gets the
// "+" replaced by ".plusdomain"; a host without dots that is not a domain
// literal gets ".defaultdomain".
func (rw *rewriter) rewrite(a []token) []token {
	if len(a) == 0 {
		return a
	}
	if len(a) >= 2 && a[1].typ == tAt && a[0].typ == tLiteral && a[0].s == "" {
		return a
	}
	// The source route: everything from a leading "@" to the last ":" of
	// the route (RFC 822 §6.2.7, which RFC 5321 §4.1.2 says to ignore).
	if a[len(a)-1].typ == tAt {
		for len(a) > 0 {
			last := a[len(a)-1]
			a = a[:len(a)-1]
			if last.typ == tColon {
				break
			}
		}
	}
	if len(a) == 0 {
		return a
	}
	if a[0].typ == tDot {
		a = a[1:]
	}
	if len(a) == 0 {
		return a
	}
	if a[0].typ == tAt {
		a = a[1:]
	}
	if len(a) == 0 {
		return a
	}
	if !hasType(a, tAt) {
		a = prepend(a, rw.defaultHost)
	}
	if a[0].typ == tAtom && a[0].s != "" && a[0].s[len(a[0].s)-1] == '+' {
		a = append([]token(nil), a...)
		a[0].s = a[0].s[:len(a[0].s)-1]
		a = prepend(a, rw.plusDomain)
	}
	if !hostHasDot(a) {
		a = prepend(a, rw.defaultDomain)
	}
	return a
}

// hostHasDot reports whether the host part of a reversed address has a
// dot or is a domain literal, so that it needs no default domain.
func hostHasDot(a []token) bool {
	for _, t := range a {
		if t.typ == tDot {
			return true
		}
		if t.typ == tAt {
			break
		}
	}
	for _, t := range a {
		if t.typ == tLiteral {
			return true
		}
		if t.typ == tAt {
			break
		}
	}
	return false
}

func hasType(ts []token, typ tokType) bool {
	for _, t := range ts {
		if t.typ == typ {
			return true
		}
	}
	return false
}

// prepend puts the forward token list tail at the end of the reversed
// address a.
func prepend(a, tail []token) []token {
	out := make([]token, 0, len(a)+len(tail))
	out = append(out, reversed(tail)...)
	return append(out, a...)
}
