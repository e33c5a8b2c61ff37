package inject

// addrList walks the address list of a header field tokenized whole (name,
// colon, then the list), calling rw on every address and putting what rw
// returns in its place (qmail's token822_addrlist). RFC 822 address lists
// are easiest to read from right to left, so rw gets each address with its
// tokens in reverse order and must return it reversed too.
//
// It recognises addresses inside angle brackets (with the phrase before
// them), bare addresses, and groups ("name: a, b;"). Two words in a row
// that are not one address get a comma between them (qmail-inject.8:
// "illegal spaces between addresses become commas"). It fails on a
// group that opens twice or closes without opening, and on a '>' without
// '<'.
func addrList(ts []token, rw func([]token) []token) ([]token, bool) {
	var out, addr []token
	flush := func() {
		if len(addr) > 0 {
			out = append(out, rw(addr)...)
			addr = nil
		}
	}
	flushComma := func() {
		if len(addr) > 0 {
			flush()
			out = append(out, token{typ: tComma})
		}
	}
	const beginning = 2 // the field name and its colon
	ingroup, wordok := false, true
	t := len(ts) - 1
	for t >= beginning {
		switch ts[t].typ {
		case tSemi:
			flushComma()
			if ingroup {
				return nil, false
			}
			ingroup, wordok = true, true
		case tColon:
			flush()
			if !ingroup {
				return nil, false
			}
			ingroup = false
			// The group's name goes out as it is.
			for t >= beginning && ts[t].typ != tComma {
				out = append(out, ts[t])
				t--
			}
			if t >= beginning {
				out = append(out, ts[t])
				t--
			}
			wordok = true
			continue
		case tRight:
			flushComma()
			out = append(out, ts[t])
			t--
			for t >= beginning && ts[t].typ != tLeft {
				addr = append(addr, ts[t])
				t--
			}
			// Even an empty address counts here: <>.
			out = append(out, rw(addr)...)
			addr = nil
			if t < beginning {
				return nil, false
			}
			out = append(out, ts[t])
			t--
			for t >= beginning && inPhrase(ts[t].typ) {
				out = append(out, ts[t])
				t--
			}
			wordok = false
			continue
		case tAtom, tQuote, tLiteral:
			if !wordok {
				flushComma()
			}
			wordok = false
			addr = append(addr, ts[t])
			t--
			continue
		case tComment:
			// A comment is lexically a space: it does not change wordok.
		case tComma:
			flush()
			wordok = true
		default:
			wordok = true
			addr = append(addr, ts[t])
			t--
			continue
		}
		out = append(out, ts[t])
		t--
	}
	flush()
	for i := min(t, len(ts)-1); i >= 0; i-- {
		out = append(out, ts[i])
	}
	return reversed(out), true
}

// inPhrase reports whether a token of type typ can be part of the phrase
// before an address in angle brackets.
func inPhrase(typ tokType) bool {
	switch typ {
	case tComment, tAtom, tQuote, tAt, tDot:
		return true
	}
	return false
}
