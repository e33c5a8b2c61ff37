package tcprules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrSyntax is wrapped by the error for a line tcprules cannot parse.
var ErrSyntax = errors.New("unable to parse this line")

// maxLine bounds one rules line; real ones are far shorter.
const maxLine = 64 << 10

// Entry is one rule of the text form with the line it came from. A range
// line gives one Entry per address, each with its own Rule.Key.
type Entry struct {
	Rule Rule
	Line int
}

// ParseRules reads rules in tcprules' text form (tcprules(1)) and returns
// the entries in file order, ranges expanded. name is used in error texts,
// which read "name:line: unable to parse this line: ...". As in tcprules,
// lines starting with '#', empty lines and lines without ':' are skipped,
// and trailing spaces and tabs are ignored; a trailing CR is ignored too,
// so files saved with CRLF line ends work.
func ParseRules(r io.Reader, name string) ([]Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	var out []Entry
	for num := 1; sc.Scan(); num++ {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		entries, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, num, err)
		}
		for i := range entries {
			entries[i].Line = num
		}
		out = append(out, entries...)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// parseLine parses one non-comment line; nil, nil for a line without ':'.
func parseLine(line string) ([]Entry, error) {
	if strings.IndexByte(line, 0) >= 0 {
		// A NUL would end the value early in the cdb (tcpserver reads
		// NUL-terminated entries), so refuse it rather than change its
		// meaning.
		return nil, fmt.Errorf("%w: %q: NUL byte", ErrSyntax, line)
	}
	addr, instr, ok := splitAddress(line)
	if !ok {
		if strings.IndexByte(line, ':') < 0 {
			return nil, nil // tcprules skips it
		}
		return nil, fmt.Errorf("%w: %q", ErrSyntax, line)
	}
	rule, err := parseInstructions(instr)
	rule.Key = addr
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrSyntax, line, err)
	}
	keys, err := expand(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrSyntax, line, err)
	}
	out := make([]Entry, len(keys))
	for i, k := range keys {
		r := rule
		r.Key = k
		out[i] = Entry{Rule: r}
	}
	return out, nil
}

// splitAddress finds the colon that ends the address. tcprules takes the
// first colon; the IPv6 patch, whose addresses contain colons, takes the
// first colon followed by "allow" or "deny" (observed with Debian's
// ucspi-tcp-ipv6 tcprules). For IPv4 lines both agree.
func splitAddress(line string) (addr, instr string, ok bool) {
	for i := 0; i < len(line); i++ {
		if line[i] != ':' {
			continue
		}
		rest := line[i+1:]
		if strings.HasPrefix(rest, "allow") || strings.HasPrefix(rest, "deny") {
			return line[:i], rest, true
		}
	}
	return "", "", false
}

// parseInstructions parses "allow" or "deny" and the assignments after it
// (tcprules(1), INSTRUCTIONS): ",NAME=" then a quote character, the value,
// and the same character again.
func parseInstructions(s string) (Rule, error) {
	var r Rule
	switch {
	case strings.HasPrefix(s, "deny"):
		s = s[len("deny"):]
	case strings.HasPrefix(s, "allow"):
		r.Allow = true
		s = s[len("allow"):]
	}
	for s != "" {
		if s[0] != ',' {
			return Rule{}, fmt.Errorf("expected ',' before %q", s)
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return Rule{}, fmt.Errorf("no '=' in %q", s)
		}
		name := s[1:eq]
		if name == "" {
			return Rule{}, fmt.Errorf("empty variable name in %q", s)
		}
		s = s[eq+1:]
		if s == "" {
			return Rule{}, fmt.Errorf("no value for %s", name)
		}
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return Rule{}, fmt.Errorf("value of %s is not closed with %q", name, q)
		}
		r.set(name, s[1:1+end])
		s = s[2+end:]
	}
	return r, nil
}

// expand turns a range address into its keys (tcprules(1), ADDRESS
// RANGES): the number before the '-' runs up to the number after it,
// capped at 255, in the component that holds the '-'. Addresses with '='
// or '@' are never ranges. An empty bound counts as 0, as tcprules'
// scan_ulong reads it.
func expand(addr string) ([]string, error) {
	dash := strings.IndexByte(addr, '-')
	if dash < 0 || strings.ContainsAny(addr, "=@") {
		return []string{addr}, nil
	}
	left := strings.LastIndexByte(addr[:dash], '.') + 1
	right := len(addr)
	if i := strings.IndexByte(addr[dash+1:], '.'); i >= 0 {
		right = dash + 1 + i
	}
	bot, err := rangeBound(addr[left:dash])
	if err != nil {
		return nil, err
	}
	top, err := rangeBound(addr[dash+1 : right])
	if err != nil {
		return nil, err
	}
	top = min(top, 255)
	var keys []string
	for n := bot; n <= top; n++ {
		keys = append(keys, addr[:left]+strconv.FormatUint(n, 10)+addr[right:])
	}
	return keys, nil
}

// rangeBound parses one end of a range: decimal digits only.
func rangeBound(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("range bound %q is not a number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("range bound %q is too large", s)
	}
	return n, nil
}
