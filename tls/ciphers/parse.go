package ciphers

import (
	"crypto/tls"
	"slices"
	"strconv"
	"strings"
)

// Error is a cipher string that cannot be honoured with Go's TLS. Callers
// prefix the source: fmt.Errorf("tlsclientciphers: %w", err).
type Error struct {
	Element string // the element at fault, or the whole string
	Reason  string // e.g. "is not supported by Go's TLS"
}

// Error returns `cipher "X" is not supported by Go's TLS` and the like.
func (e *Error) Error() string {
	return "cipher " + strconv.Quote(e.Element) + " " + e.Reason
}

// Reasons an element is refused.
const (
	reasonUnsupported = "is not supported by Go's TLS"
	reasonTLS13       = "is a TLS 1.3 suite, which Go does not let be chosen, and the string selects no TLS 1.2 suite"
	reasonEmpty       = "selects no cipher suite"
	reasonSyntax      = "is not a cipher, alias or @ command"
)

// op is what an element's prefix asks for (ciphers(1), "CIPHER LIST
// FORMAT").
type op int

const (
	opAdd  op = iota // no prefix: append the suites not yet listed
	opDel            // "-": remove, may be added again later
	opKill           // "!": remove for good
	opLast           // "+": move to the end of the list
)

// Parse maps an OpenSSL cipher string (control/tlsclientciphers,
// control/tlsserverciphers, $TLSCIPHERS; qmail-tls qmail-remote.c and
// qmail-smtpd.c tls_init())
// onto Go's TLS 1.0–1.2 cipher suites and returns them in order.
//
// Elements are separated by ':', ',', ';' or spaces, as OpenSSL allows. An
// element is a suite name (OpenSSL's, or the IANA name), an alias such as
// HIGH, ECDHE, aRSA, AESGCM or SHA384, or several joined with '+' (all must
// hold). The prefixes '!', '-' and '+' remove for good, remove, and move to
// the end; @STRENGTH sorts by key strength and @SECLEVEL=n is accepted and
// ignored. Aliases select only the suites tls.CipherSuites reports secure;
// the suites of tls.InsecureCipherSuites are used only when named.
//
// An empty string or "DEFAULT" alone returns nil: Go's defaults. Removing
// what Go does not implement ("!aNULL", "!MD5", "!EXPORT") is harmless.
// A positively named suite or alias Go does not know is an error, and so
// is a string that selects nothing, naming the first element that asked
// only for what Go cannot do. Note that TLS 1.3 suites cannot be chosen in
// Go (crypto/tls: "TLS 1.3 ciphersuites are not configurable"), so the list
// governs TLS 1.2 and older only, as OpenSSL's cipher list does since 1.1.1.
func Parse(s string) ([]uint16, error) {
	elements := strings.FieldsFunc(s, func(r rune) bool {
		return r == ':' || r == ',' || r == ';' || r == ' ' || r == '\t'
	})
	if len(elements) == 0 || len(elements) == 1 && elements[0] == "DEFAULT" {
		return nil, nil
	}
	var (
		list      []int // indices into suites, in order
		listed    = make([]bool, len(suites))
		killed    = make([]bool, len(suites))
		unmatched string // first positive element that selects nothing Go has
		only13    string // a TLS 1.3 suite name, when nothing else selected anything
	)
	remove := func(set []int) {
		list = slices.DeleteFunc(list, func(i int) bool { return slices.Contains(set, i) })
		for _, i := range set {
			listed[i] = false
		}
	}
	for _, el := range elements {
		o, word := opAdd, el
		switch el[0] {
		case '!':
			o, word = opKill, el[1:]
		case '-':
			o, word = opDel, el[1:]
		case '+':
			o, word = opLast, el[1:]
		}
		if strings.HasPrefix(word, "@") {
			switch {
			case word == "@STRENGTH" && o == opAdd:
				slices.SortStableFunc(list, func(a, b int) int { return suites[b].strength - suites[a].strength })
			case strings.HasPrefix(word, "@SECLEVEL=") && o == opAdd:
				// Security levels constrain key sizes in OpenSSL; Go has
				// its own fixed minimums.
			default:
				return nil, &Error{Element: el, Reason: reasonSyntax}
			}
			continue
		}
		set, known, tls13 := resolve(word)
		if !known {
			if o == opDel || o == opKill {
				continue // removing what Go does not have changes nothing
			}
			return nil, &Error{Element: word, Reason: reasonUnsupported}
		}
		switch o {
		case opAdd:
			if len(set) == 0 {
				if tls13 && only13 == "" {
					only13 = word
				} else if !tls13 && unmatched == "" {
					unmatched = word
				}
			}
			for _, i := range set {
				if !listed[i] && !killed[i] {
					list = append(list, i)
					listed[i] = true
				}
			}
		case opDel:
			remove(set)
		case opKill:
			remove(set)
			for _, i := range set {
				killed[i] = true
			}
		case opLast:
			var moved []int
			for _, i := range list {
				if slices.Contains(set, i) {
					moved = append(moved, i)
				}
			}
			list = slices.DeleteFunc(list, func(i int) bool { return slices.Contains(moved, i) })
			list = append(list, moved...)
		}
	}
	if len(list) == 0 {
		switch {
		case unmatched != "":
			return nil, &Error{Element: unmatched, Reason: reasonUnsupported}
		case only13 != "":
			return nil, &Error{Element: only13, Reason: reasonTLS13}
		default:
			return nil, &Error{Element: s, Reason: reasonEmpty}
		}
	}
	ids := make([]uint16, len(list))
	for n, i := range list {
		ids[n] = suites[i].id
	}
	return ids, nil
}

// resolve returns the suites a word (one element without its prefix)
// selects, in table order; known is false for a word neither OpenSSL nor
// Go knows as used here, tls13 is true for a TLS 1.3 suite name. Words
// joined with '+' select the suites all of them select.
func resolve(word string) (set []int, known, tls13 bool) {
	if word == "" {
		return nil, false, false
	}
	var must []selector // alias parts
	pick := -1          // the explicitly named suite, if a part names one
	for _, part := range strings.Split(word, "+") {
		if i := byName(part); i >= 0 {
			if pick >= 0 && pick != i {
				return nil, true, false
			}
			pick = i
			continue
		}
		if _, ok := tls13Names[part]; ok {
			tls13 = true
			continue
		}
		if sel, ok := aliases[part]; ok {
			must = append(must, sel)
			continue
		}
		if noneAliases[part] {
			must = append(must, selector{allOf: ^attr(0)}) // matches nothing
			continue
		}
		return nil, false, false
	}
	if tls13 {
		return nil, true, true
	}
	for i, s := range suites {
		if pick >= 0 && i != pick {
			continue
		}
		if pick < 0 && s.attrs&insecure != 0 {
			continue
		}
		ok := true
		for _, sel := range must {
			if sel.anyOf != 0 && s.attrs&sel.anyOf == 0 || s.attrs&sel.allOf != sel.allOf {
				ok = false
				break
			}
		}
		if ok {
			set = append(set, i)
		}
	}
	return set, true, false
}

// byName returns the index of the suite whose OpenSSL or IANA name is n,
// or -1. Aliases have neither form, which keeps them off the slow path
// (tls.CipherSuiteName builds Go's suite lists on each call).
func byName(n string) int {
	iana := strings.HasPrefix(n, "TLS_")
	if !iana && !strings.Contains(n, "-") {
		return -1
	}
	for i, s := range suites {
		if s.name == n || iana && tls.CipherSuiteName(s.id) == n {
			return i
		}
	}
	return -1
}
