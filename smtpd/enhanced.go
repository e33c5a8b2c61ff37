package smtpd

import "strings"

// enhanced returns reply line text with an enhanced status code after its
// reply code, for a session that was offered ENHANCEDSTATUSCODES
// (RFC 2034 §4: "250 2.1.0 ok"). qmail's text stays whole, its "(#x.y.z)"
// included, so that what tools match in qmail's replies still matches;
// the code after the reply code is that one. A text without one gets
// RFC 3463's for what was asked: 2.1.0 for MAIL and 2.1.5 for RCPT
// (RFC 3463 §3.2, "Other address status" and "Destination address
// valid"), otherwise X.0.0 (RFC 3463 §3.1, "Other undefined Status").
// Continuation lines, 3xx replies (RFC 3463 §2 has no class 3) and text
// that already carries a code are returned as they are.
func enhanced(text, verb string) string {
	if len(text) < 4 || text[3] != ' ' {
		return text
	}
	class := text[0]
	if class != '2' && class != '4' && class != '5' {
		return text
	}
	rest := text[4:]
	if _, ok := statusCode(rest, class); ok {
		return text // "250 2.0.0 ..." already
	}
	code := trailingCode(rest, class)
	if code == "" {
		switch {
		case class == '2' && verb == "mail":
			code = "2.1.0"
		case class == '2' && verb == "rcpt":
			code = "2.1.5"
		default:
			code = string(class) + ".0.0"
		}
	}
	return text[:4] + code + " " + rest
}

// trailingCode is the x.y.z of a qmail text ending in "(#x.y.z)" of the
// given class, or "".
func trailingCode(s string, class byte) string {
	if !strings.HasSuffix(s, ")") {
		return ""
	}
	i := strings.LastIndex(s, "(#")
	if i < 0 {
		return ""
	}
	code := s[i+2 : len(s)-1]
	if !validCode(code, class) {
		return ""
	}
	return code
}

// statusCode reports whether s begins with an enhanced status code of
// the class followed by a space, and returns it.
func statusCode(s string, class byte) (string, bool) {
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return "", false
	}
	if !validCode(s[:i], class) {
		return "", false
	}
	return s[:i], true
}

// validCode reports whether code is class "." subject "." detail
// (RFC 3463 §2: 1*3digit each, the class 2, 4 or 5).
func validCode(code string, class byte) bool {
	parts := strings.Split(code, ".")
	if len(parts) != 3 || len(parts[0]) != 1 || parts[0][0] != class {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) == 0 || len(p) > 3 {
			return false
		}
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
		}
	}
	return true
}
