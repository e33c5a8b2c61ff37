package inject

// This file is the RFC 822 tokenizer qmail-inject uses for every address
// it reads or writes (qmail-header.5; qmail's token822.c). Its
// quirks are kept on purpose, because they decide what a header looks like
// after qmail-inject has rewritten it.

// tokType is the kind of an RFC 822 token (RFC 822 §3.3).
type tokType uint8

const (
	tAtom tokType = iota + 1
	tQuote
	tLiteral
	tComment
	tLeft  // <
	tRight // >
	tAt    // @
	tComma // ,
	tSemi  // ;
	tColon // :
	tDot   // .
)

// special is the character of each special token.
var special = [...]byte{tLeft: '<', tRight: '>', tAt: '@', tComma: ',', tSemi: ';', tColon: ':', tDot: '.'}

// isSpecial reports whether t is one of the one-character special tokens.
func isSpecial(t tokType) bool { return int(t) < len(special) && special[t] != 0 }

// token is one RFC 822 token; s is the text of a word, literal or comment
// with its quoting removed.
type token struct {
	typ tokType
	s   string
}

// isWord reports whether t is printed as text (an atom, quoted string,
// domain literal or comment).
func (t tokType) isWord() bool {
	return t == tAtom || t == tQuote || t == tLiteral || t == tComment
}

// atomOK reports whether c may continue an atom. Closing parentheses and
// brackets may: qmail's tokenizer only refuses them at the start of a token.
func atomOK(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '(', '[', '"', '<', '>', ';', ':', '@', ',', '.':
		return false
	}
	return true
}

// tokenize splits s into tokens. It fails, as qmail does, on a ')' or ']'
// that starts a token and on a comment, quoted string or domain literal
// that is not closed. Nested comments lose their inner parentheses, and a
// backslash quotes the next character everywhere.
func tokenize(s string) ([]token, bool) {
	var ts []token
	n := len(s)
	// enclosed reads a comment, quoted string or literal after its
	// opening character at i and returns its text and the index of its
	// closing character.
	enclosed := func(i int, open, close byte) (string, int, bool) {
		var b []byte
		level := 1
		for level > 0 {
			i++
			if i >= n {
				return "", 0, false
			}
			c := s[i]
			switch {
			case open != 0 && c == open:
				level++
			case c == close:
				level--
			case c == '\\':
				i++
				if i >= n {
					return "", 0, false
				}
				b = append(b, s[i])
			default:
				b = append(b, c)
			}
		}
		return string(b), i, true
	}
	for i := 0; i < n; i++ {
		switch c := s[i]; c {
		case '.':
			ts = append(ts, token{typ: tDot})
		case ',':
			ts = append(ts, token{typ: tComma})
		case '@':
			ts = append(ts, token{typ: tAt})
		case '<':
			ts = append(ts, token{typ: tLeft})
		case '>':
			ts = append(ts, token{typ: tRight})
		case ':':
			ts = append(ts, token{typ: tColon})
		case ';':
			ts = append(ts, token{typ: tSemi})
		case ' ', '\t', '\r', '\n':
		case ')', ']':
			return nil, false
		case '(', '"', '[':
			typ, open, close := tComment, byte('('), byte(')')
			switch c {
			case '"':
				typ, open, close = tQuote, 0, '"'
			case '[':
				typ, open, close = tLiteral, 0, ']'
			}
			text, end, ok := enclosed(i, open, close)
			if !ok {
				return nil, false
			}
			ts = append(ts, token{typ: typ, s: text})
			i = end
		default:
			var b []byte
			for {
				if s[i] == '\\' {
					i++
					if i >= n {
						break
					}
				}
				b = append(b, s[i])
				i++
				if i >= n || !atomOK(s[i]) {
					break
				}
			}
			i--
			ts = append(ts, atomToken(string(b)))
		}
	}
	return ts, true
}

// atomToken returns an atom, or a quoted string when its text holds
// characters an atom cannot show (qmail's atomcheck).
func atomToken(s string) token {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 32 || c > 126 || c == ')' || c == ']' || c == '\\' {
			return token{typ: tQuote, s: s}
		}
	}
	return token{typ: tAtom, s: s}
}

// needSpace reports whether unparse puts a space between tokens of types
// t1 and t2.
func needSpace(t1, t2 tokType) bool {
	switch {
	case t1 == 0:
		return false
	case t1 == tColon, t1 == tComma, t2 == tLeft:
		return true
	}
	return t1.isWord() && t2.isWord()
}

// unparse prints tokens as a header field: a space where needSpace says,
// a line break after every comma that the next address does not fit
// behind within linelen columns, and a final newline (qmail's
// token822_unparse, which qmail-inject calls with 80).
func unparse(ts []token, linelen int) []byte {
	var b []byte
	lineb, linee := 0, -1
	// brk places a tentative break at the end. When the line up to here
	// still fits, the previous tentative break is taken out again.
	brk := func() {
		if linee >= 0 && (linelen == 0 || len(b)-lineb <= linelen) {
			b = append(b[:linee], b[linee+2:]...)
			linee = len(b)
		} else {
			if linee >= 0 {
				lineb = linee + 1
			}
			linee = len(b)
		}
		b = append(b, '\n', ' ')
	}
	var last tokType
	for _, t := range ts {
		if needSpace(last, t.typ) {
			b = append(b, ' ')
		}
		last = t.typ
		switch {
		case t.typ == tComma:
			b = append(b, ',')
			brk()
		case isSpecial(t.typ):
			b = append(b, special[t.typ])
		default:
			open, close := byte(0), byte(0)
			switch t.typ {
			case tQuote:
				open, close = '"', '"'
			case tLiteral:
				open, close = '[', ']'
			case tComment:
				open, close = '(', ')'
			}
			if open != 0 {
				b = append(b, open)
			}
			for i := 0; i < len(t.s); i++ {
				switch c := t.s[i]; c {
				case '"', '[', ']', '(', ')', '\\', '\r', '\n':
					b = append(b, '\\', c)
				default:
					b = append(b, c)
				}
			}
			if close != 0 {
				b = append(b, close)
			}
		}
	}
	brk()
	return b[:len(b)-1]
}

// unquote returns the address the tokens spell, without quoting and
// comments (qmail's token822_unquote).
func unquote(ts []token) string {
	var b []byte
	for _, t := range ts {
		switch t.typ {
		case tLeft, tRight, tAt, tComma, tSemi, tColon, tDot:
			b = append(b, special[t.typ])
		case tLiteral:
			b = append(b, '[')
			b = append(b, t.s...)
			b = append(b, ']')
		case tAtom, tQuote:
			b = append(b, t.s...)
		}
	}
	return string(b)
}

// reversed returns a reversed copy of ts.
func reversed(ts []token) []token {
	out := make([]token, len(ts))
	for i, t := range ts {
		out[len(ts)-1-i] = t
	}
	return out
}
