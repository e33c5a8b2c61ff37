package mx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// ErrRouteAuth is an smtproutes entry carrying "user password" after the
// relay, as AUTH patches to qmail-remote allow; qsend does not support it.
var ErrRouteAuth = errors.New("authentication in smtproutes is not supported")

// Routes is a parsed control/smtproutes (qmail-remote.c main(), qmail-control.5). The
// zero value has no routes.
type Routes struct {
	entries map[string]routeEntry // by lower-case key: "example.com", ".example.com" or ""
	order   []string              // keys in the order of their last definition
}

// routeEntry is one line's value; an empty relay means "use MX".
type routeEntry struct {
	relay string
	port  int
}

// Route is where an smtproutes entry sends mail.
type Route struct {
	Relay string // host name, dotted quad, "[1.2.3.4]" or "[IPv6:...]"; never "" from Lookup
	Port  int    // 0: the caller's default port
}

// String returns the entry's value as written in smtproutes: relay[:port].
func (r Route) String() string {
	if r.Port == 0 {
		return r.Relay
	}
	return r.Relay + ":" + strconv.Itoa(r.Port)
}

// ParseRoutes parses smtproutes lines: "domain:relay[:port]",
// ".suffix:relay[:port]", ":relay[:port]" for every other domain, and
// "domain:" to use MX for domain. Empty lines and lines starting with # are
// skipped and trailing white space is ignored, as qmail's control files
// (control.c, qmail-control.5). When a key appears twice the later line wins, as
// in qmail, whose constmap puts later entries first. Errors name the line's
// 1-based position and text.
func ParseRoutes(lines []string) (Routes, error) {
	rt := Routes{entries: map[string]routeEntry{}}
	for i, line := range lines {
		line = strings.TrimRight(line, " \t\r\n")
		if line == "" || line[0] == '#' {
			continue
		}
		key, e, err := parseRoute(line)
		if err != nil {
			return Routes{}, fmt.Errorf("mx: smtproutes entry %d %q: %w", i+1, line, err)
		}
		if _, dup := rt.entries[key]; dup {
			for j, k := range rt.order {
				if k == key {
					rt.order = append(rt.order[:j], rt.order[j+1:]...)
					break
				}
			}
		}
		rt.entries[key] = e
		rt.order = append(rt.order, key)
	}
	return rt, nil
}

func parseRoute(line string) (string, routeEntry, error) {
	key, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", routeEntry{}, errors.New("no ':' between domain and relay")
	}
	key, err := routeKey(key)
	if err != nil {
		return "", routeEntry{}, err
	}
	if strings.ContainsAny(value, " \t") {
		return "", routeEntry{}, ErrRouteAuth
	}
	if value == "" {
		return key, routeEntry{}, nil
	}
	var relay, port string
	if strings.HasPrefix(value, "[") {
		end := strings.IndexByte(value, ']')
		if end < 0 {
			return "", routeEntry{}, fmt.Errorf("relay %q: no closing ]", value)
		}
		relay, port = value[:end+1], value[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", routeEntry{}, fmt.Errorf("relay %q: text after ]", value)
			}
			port = port[1:]
			if port == "" {
				return "", routeEntry{}, fmt.Errorf("relay %q: empty port", value)
			}
		}
		if _, _, err := parseLiteral(relay); err != nil {
			return "", routeEntry{}, err
		}
	} else {
		var hasPort bool
		relay, port, hasPort = strings.Cut(value, ":")
		if hasPort && port == "" {
			return "", routeEntry{}, fmt.Errorf("relay %q: empty port", value)
		}
		if err := checkRelayName(relay); err != nil {
			return "", routeEntry{}, err
		}
	}
	e := routeEntry{relay: strings.ToLower(relay)}
	if strings.HasPrefix(e.relay, "[ipv6:") {
		e.relay = "[IPv6:" + e.relay[6:]
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' || port[0] == '-' {
			return "", routeEntry{}, fmt.Errorf("port %q: want 1..65535", port)
		}
		e.port = n
	}
	return key, e, nil
}

// routeKey normalises a key: lower case, internationalised names in A-label
// form, a leading dot kept.
func routeKey(key string) (string, error) {
	if key == "" {
		return "", nil
	}
	dot := strings.HasPrefix(key, ".")
	name := strings.TrimSuffix(strings.TrimPrefix(key, "."), ".")
	if name == "" {
		return "", fmt.Errorf("domain %q: empty suffix", key)
	}
	if strings.ContainsAny(name, " \t[]") {
		return "", fmt.Errorf("domain %q: not a domain name", key)
	}
	ascii, err := toASCII(name)
	if err != nil {
		return "", fmt.Errorf("domain %q: %w", key, err)
	}
	if dot {
		return "." + ascii, nil
	}
	return ascii, nil
}

// checkRelayName accepts a host name or a bare dotted quad.
func checkRelayName(relay string) error {
	if _, lit, err := parseLiteral(relay); lit {
		return err
	}
	if !isHostName(strings.TrimSuffix(strings.ToLower(relay), ".")) {
		return fmt.Errorf("relay %q: not a host name", relay)
	}
	return nil
}

// Lookup returns the route for domain: the whole domain, then every suffix
// starting at a dot, then the default key "", first hit wins, so the longest
// suffix wins (qmail-remote.c main()). An entry with an empty relay stops
// the search and means "use MX": ok is false then.
func (rt Routes) Lookup(domain string) (Route, bool) {
	_, r, ok := rt.lookup(domain)
	return r, ok
}

func (rt Routes) lookup(domain string) (key string, r Route, ok bool) {
	if len(rt.entries) == 0 {
		return "", Route{}, false
	}
	domain = normalName(domain)
	try := func(k string) (bool, Route, bool) {
		e, hit := rt.entries[k]
		if !hit {
			return false, Route{}, false
		}
		return true, Route{Relay: e.relay, Port: e.port}, e.relay != ""
	}
	if hit, r, ok := try(domain); hit {
		return domain, r, ok
	}
	for i := 0; i < len(domain); i++ {
		if domain[i] == '.' {
			if hit, r, ok := try(domain[i:]); hit {
				return domain[i:], r, ok
			}
		}
	}
	hit, r, ok := try("")
	if hit {
		return "", r, ok
	}
	return "", Route{}, false
}

// Lines returns the routes in smtproutes syntax, one entry per key in the
// order of their last definition; ParseRoutes(rt.Lines()) equals rt.
func (rt Routes) Lines() []string {
	out := make([]string, 0, len(rt.order))
	for _, k := range rt.order {
		e := rt.entries[k]
		out = append(out, k+":"+Route{Relay: e.relay, Port: e.port}.String())
	}
	return out
}

// toASCII converts a domain to its lower-case A-label form (RFC 5890
// §2.3.2.1). Only names with non-ASCII characters go through IDNA processing
// (UTS #46); ASCII names are lower-cased as they are, so that names IDNA would
// refuse but DNS serves (underscores, say) still resolve as with qmail.
func toASCII(name string) (string, error) {
	ascii := name
	for i := 0; i < len(name); i++ {
		if name[i] >= 0x80 {
			var err error
			if ascii, err = idna.Lookup.ToASCII(name); err != nil {
				return "", err
			}
			break
		}
	}
	ascii = strings.ToLower(ascii)
	if !isHostName(ascii) {
		return "", fmt.Errorf("%q: not a domain name", name)
	}
	return ascii, nil
}

// isHostName reports whether s (lower case, no trailing dot) is a host name
// DNS can carry: labels of 1..63 letters, digits, '-' or '_' (RFC 1035 §2.3.4;
// the underscore appears in real names), at most 253 characters.
func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
