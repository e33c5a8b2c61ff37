package mtasts

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxMaxAge is the largest max_age a policy may give: about a year (RFC 8461
// §3.2). ParsePolicy caps larger values at it.
const MaxMaxAge = 31557600 * time.Second

// Mode is a policy's mode (RFC 8461 §5).
type Mode string

// The modes of RFC 8461 §5.
const (
	// ModeEnforce: deliver only to matching MX hosts over verified TLS.
	ModeEnforce Mode = "enforce"
	// ModeTesting: check as for enforce, report failures, deliver anyway.
	ModeTesting Mode = "testing"
	// ModeNone: the domain has withdrawn its policy.
	ModeNone Mode = "none"
)

// Policy is a parsed MTA-STS policy (RFC 8461 §3.2).
type Policy struct {
	Mode   Mode
	MX     []string      // MX host patterns, lower case: "mx.example.com" or "*.example.net"
	MaxAge time.Duration // how long the policy may be cached, whole seconds up to MaxMaxAge
}

// ErrSyntax is a policy file or TXT record that does not follow RFC 8461.
var ErrSyntax = errors.New("mtasts: syntax error")

// ParsePolicy parses a policy file (RFC 8461 §3.2): "key: value" lines
// separated by LF or CRLF (RFC 8461 erratum 6253), with version STSv1, mode,
// max_age and, unless mode is none, at least one mx. Unknown keys are ignored
// (RFC 8461 §3.2); so are empty lines, which the grammar does not allow but
// hand-written policies carry. A duplicated key other than mx, a missing one,
// a value out of the grammar or a key out of it are errors that name the line
// and wrap ErrSyntax.
func ParsePolicy(data []byte) (*Policy, error) {
	p := &Policy{}
	seen := map[string]int{}
	lineNo := 0
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		lineNo++
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimRight(line, " \t")) == 0 {
			continue
		}
		key, value, err := splitField(string(line))
		if err != nil {
			return nil, fmt.Errorf("%w: policy line %d %q: %v", ErrSyntax, lineNo, line, err)
		}
		if prev, dup := seen[key]; dup && key != "mx" && isKnown(key) {
			return nil, fmt.Errorf("%w: policy line %d: %s repeated from line %d", ErrSyntax, lineNo, key, prev)
		}
		seen[key] = lineNo
		if err := p.set(key, value); err != nil {
			return nil, fmt.Errorf("%w: policy line %d: %s %q: %v", ErrSyntax, lineNo, key, value, err)
		}
	}
	for _, key := range []string{"version", "mode", "max_age"} {
		if _, ok := seen[key]; !ok {
			return nil, fmt.Errorf("%w: policy has no %s", ErrSyntax, key)
		}
	}
	if p.Mode != ModeNone && len(p.MX) == 0 {
		return nil, fmt.Errorf("%w: policy in mode %s has no mx", ErrSyntax, p.Mode)
	}
	return p, nil
}

func isKnown(key string) bool {
	switch key {
	case "version", "mode", "max_age", "mx":
		return true
	}
	return false
}

// splitField splits "key:" *WSP "value" *WSP (RFC 8461 §3.2
// sts-policy-field-delim); the key is a field name, case-sensitive.
func splitField(line string) (key, value string, err error) {
	key, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", errors.New("no colon")
	}
	if !isFieldName(key) {
		return "", "", errors.New("bad key")
	}
	value = strings.Trim(value, " \t")
	if value == "" {
		return "", "", errors.New("empty value")
	}
	return key, value, nil
}

// isFieldName checks sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT /
// "_" / "-" / ".") (RFC 8461 §3.2); the known keys match it too.
func isFieldName(s string) bool {
	if s == "" || len(s) > 32 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// set applies one field; values are case-sensitive (RFC 8461 §3.2 uses %s).
func (p *Policy) set(key, value string) error {
	switch key {
	case "version":
		if value != "STSv1" {
			return errors.New("want STSv1")
		}
	case "mode":
		switch m := Mode(value); m {
		case ModeEnforce, ModeTesting, ModeNone:
			p.Mode = m
		default:
			return errors.New("want enforce, testing or none")
		}
	case "max_age":
		// 1*10DIGIT (RFC 8461 §3.2), so up to 9999999999, which is more
		// seconds than a time.Duration holds: the number is compared with
		// the maximum before it becomes a duration. A larger value is
		// capped at the maximum, not refused: the grammar admits it, the
		// maximum bounds how long a client caches ("clients SHOULD cache a
		// policy for up to this value"), and refusing would leave the
		// domain without its policy (docs/tls.md).
		if len(value) > 10 || strings.Trim(value, "0123456789") != "" {
			return errors.New("want a number of seconds")
		}
		n, err := strconv.ParseUint(value, 10, 64) // 10 digits always fit
		if err != nil {
			return errors.New("want a number of seconds")
		}
		p.MaxAge = MaxMaxAge
		if n < uint64(MaxMaxAge/time.Second) {
			p.MaxAge = time.Duration(n) * time.Second
		}
	case "mx":
		pattern := strings.ToLower(value)
		if !validPattern(pattern) {
			return errors.New(`want a host name, optionally starting with "*."`)
		}
		p.MX = append(p.MX, pattern)
	}
	return nil // unknown keys are ignored (RFC 8461 §3.2)
}

// validPattern checks ["*."] Domain, Domain being RFC 5321 §4.1.2's
// sub-domain *("." sub-domain) with labels of letters, digits and inner
// hyphens, at most 63 octets each and 253 in all.
func validPattern(p string) bool {
	p = strings.TrimPrefix(p, "*.")
	if p == "" || len(p) > 253 {
		return false
	}
	for label := range strings.SplitSeq(p, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !isAlnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// Match reports whether mxHost, an MX host name in any case with or without
// a trailing dot, matches one of the policy's mx patterns: exactly, or a
// "*." pattern whose wildcard stands for exactly one leftmost label (RFC 8461
// §4.1). Names are compared in their ASCII (A-label) form.
func (p *Policy) Match(mxHost string) bool {
	host := strings.TrimSuffix(strings.ToLower(mxHost), ".")
	if host == "" {
		return false
	}
	for _, pat := range p.MX {
		if suffix, ok := strings.CutPrefix(pat, "*."); ok {
			first, rest, found := strings.Cut(host, ".")
			if found && first != "" && rest == suffix {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}

// MarshalText writes the policy as a policy file with CRLF line ends, which
// ParsePolicy reads back: a Cache can keep the policy as text.
func (p *Policy) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "version: STSv1\r\nmode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", mx)
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(p.MaxAge/time.Second))
	return b.Bytes(), nil
}

// UnmarshalText parses a policy file as ParsePolicy does.
func (p *Policy) UnmarshalText(text []byte) error {
	q, err := ParsePolicy(text)
	if err != nil {
		return err
	}
	*p = *q
	return nil
}
