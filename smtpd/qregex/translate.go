package qregex

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrUnsupported is wrapped by the error for a pattern that is valid POSIX
// but cannot be expressed in Go's regular expressions.
var ErrUnsupported = errors.New("not supported")

// posixClasses are the character class names of POSIX bracket
// expressions; Go's syntax accepts the same names.
var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "blank": true, "cntrl": true, "digit": true, "graph": true,
	"lower": true, "print": true, "punct": true, "space": true, "upper": true, "xdigit": true,
}

// translate rewrites a POSIX extended regular expression (POSIX.1-2017
// XBD 9.4, with the GNU escapes glibc's regcomp accepts) in Go's syntax.
func translate(pat string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pat); {
		c := pat[i]
		switch c {
		case '\\':
			if i+1 >= len(pat) {
				return "", errors.New("trailing backslash")
			}
			s, n, err := escape(pat[i+1:])
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += 1 + n
		case '[':
			s, n, err := bracket(pat[i:])
			if err != nil {
				return "", err
			}
			b.WriteString(s)
			i += n
		case '{':
			// "{,n}" is "{0,n}" to glibc; Go would read it as literal text.
			if i+1 < len(pat) && pat[i+1] == ',' {
				b.WriteString("{0")
			} else {
				b.WriteByte(c)
			}
			i++
		case '(':
			// "(?" is a repetition with nothing to repeat in POSIX, and
			// would turn into a Go flag group or named group.
			if i+1 < len(pat) && pat[i+1] == '?' {
				return "", errors.New(`"(?" repeats nothing`)
			}
			b.WriteByte(c)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// escape translates the escape whose character starts s (after the
// backslash) and returns its Go form and the bytes it used.
func escape(s string) (string, int, error) {
	r, n := utf8.DecodeRuneInString(s)
	switch {
	case r >= '1' && r <= '9':
		return "", 0, fmt.Errorf(`back-reference \%c is %w`, r, ErrUnsupported)
	case r == '<' || r == '>':
		return "", 0, fmt.Errorf(`GNU word boundary \%c is %w (use \b)`, r, ErrUnsupported)
	case r == '`':
		return `\A`, n, nil
	case r == '\'':
		return `\z`, n, nil
	case strings.ContainsRune("bBwWsS", r):
		// GNU extensions with the same meaning in Go.
		return `\` + string(r), n, nil
	case r < utf8.RuneSelf && !isAlnum(byte(r)):
		// An escaped punctuation character or space is itself.
		return `\` + string(r), n, nil
	case r >= utf8.RuneSelf:
		return string(r), n, nil
	}
	return "", 0, fmt.Errorf(`\%c has no meaning in a POSIX extended regular expression (glibc reads it as a plain %c)`, r, r)
}

// bracket translates the bracket expression at the start of s and returns
// its Go form and its length.
func bracket(s string) (string, int, error) {
	var b strings.Builder
	b.WriteByte('[')
	i := 1
	if i < len(s) && s[i] == '^' {
		b.WriteByte('^')
		i++
	}
	first := true
	for {
		if i >= len(s) {
			return "", 0, errors.New("unmatched [")
		}
		if s[i] == ']' && !first {
			b.WriteByte(']')
			return b.String(), i + 1, nil
		}
		first = false
		lo, n, class, err := bracketItem(s[i:])
		if err != nil {
			return "", 0, err
		}
		i += n
		if class != "" {
			b.WriteString(class)
			continue
		}
		// A range "lo-hi", unless the '-' is last before ']'.
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			hi, m, hclass, err := bracketItem(s[i+1:])
			if err != nil {
				return "", 0, err
			}
			if hclass != "" {
				return "", 0, fmt.Errorf("range ends in the class %s", hclass)
			}
			if hi < lo {
				return "", 0, fmt.Errorf("range %s-%s runs backwards", string(lo), string(hi))
			}
			b.WriteString(classLiteral(lo))
			b.WriteByte('-')
			b.WriteString(classLiteral(hi))
			i += 1 + m
			continue
		}
		b.WriteString(classLiteral(lo))
	}
}

// bracketItem reads one element of a bracket expression: a character
// (returned as r), a [:class:] (returned as class), or a one-character
// [.c.] or [=c=].
func bracketItem(s string) (r rune, n int, class string, err error) {
	if len(s) >= 2 && s[0] == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=') {
		delim := s[1]
		end := strings.Index(s[2:], string(delim)+"]")
		if end < 0 {
			return 0, 0, "", fmt.Errorf("unterminated [%c", delim)
		}
		name := s[2 : 2+end]
		n = 2 + end + 2
		if delim == ':' {
			if !posixClasses[name] {
				return 0, 0, "", fmt.Errorf("unknown character class [:%s:]", name)
			}
			return 0, n, "[:" + name + ":]", nil
		}
		r, size := utf8.DecodeRuneInString(name)
		if name == "" || size != len(name) {
			return 0, 0, "", fmt.Errorf("collating element [%c%s%c] is %w", delim, name, delim, ErrUnsupported)
		}
		return r, n, "", nil
	}
	// Everything else, a backslash included, is the character itself
	// (POSIX.1-2017 XBD 9.3.5).
	r, n = utf8.DecodeRuneInString(s)
	return r, n, "", nil
}

// classLiteral writes r for use inside a Go character class.
func classLiteral(r rune) string {
	if r < utf8.RuneSelf && !isAlnum(byte(r)) && r > ' ' {
		return `\` + string(r)
	}
	return string(r)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
