package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qsend/qsend/config/control"
)

// A parsed value is a string (kString, kPath, kAddr), []string (kList,
// kAddrList), int64 (kInt), time.Duration (kSeconds), slog.Level (kLevel)
// []Listener (kListeners), float64 (kFraction), []LocalDomain
// (kLocalDomains), []TLSRule (kTLSPolicy) or bool (kOnOff). A kString
// with oneOf fills a field of one of the enumeration types (enums.go).

// levels are the allowed log.level values.
var levels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// parseText parses s, a value from the environment, a flag or the embedded
// defaults, and checks it.
//
// Lists are separated by newlines when s holds one, else by commas and
// white space; a listener is "address=mode" or "address" (mode smtp).
func (k *keyDef) parseText(s string) (any, error) {
	var v any
	switch k.kind {
	case kString, kPath, kAddr:
		v = s
	case kList, kAddrList:
		v = splitList(s)
	case kInt:
		n, err := control.ParseNumber(s)
		if err != nil {
			return nil, err
		}
		v = n
	case kSeconds:
		d, err := parseSeconds(s)
		if err != nil {
			return nil, err
		}
		v = d
	case kFraction:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("not a number: %q", s)
		}
		v = f
	case kOnOff:
		if err := checkText(s); err != nil {
			return nil, err
		}
		switch s {
		case "on":
			v = true
		case "off":
			v = false
		default:
			return nil, fmt.Errorf("%q is not one of on, off", s)
		}
	case kLevel:
		l, ok := levels[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
		}
		v = l
	case kListeners:
		ls := []Listener{}
		for _, f := range splitList(s) {
			addr, mode, ok := strings.Cut(f, "=")
			if !ok {
				mode = "smtp"
			}
			ls = append(ls, Listener{Address: addr, Mode: ListenerMode(mode)})
		}
		v = ls
	case kLocalDomains:
		if strings.TrimSpace(s) != "" {
			return nil, errLocalDomainsText
		}
		v = []LocalDomain{}
	case kTLSPolicy:
		if strings.TrimSpace(s) != "" {
			return nil, errTLSPolicyText
		}
		v = []TLSRule{}
	case kDKIMKeys:
		if strings.TrimSpace(s) != "" {
			return nil, errDKIMKeysText
		}
		v = []DKIMKey{}
	}
	return v, k.check(v)
}

// splitList splits a list given as text (see parseText). The result is
// never nil: an empty text is an empty list, which is not the same as an
// absent one (an empty rcpthosts accepts no recipient).
func splitList(s string) []string {
	if strings.Contains(s, "\n") {
		lines := control.ParseList("", []byte(s))
		out := make([]string, len(lines))
		for i, l := range lines {
			out[i] = l.Text
		}
		return out
	}
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\r'
	})
	if f == nil {
		f = []string{}
	}
	return f
}

// parseSeconds parses a Go duration ("90s", "168h") or a number of seconds.
func parseSeconds(s string) (time.Duration, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := control.ParseNumber(s)
		if err != nil {
			return 0, err
		}
		return secondsDuration(n)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("not a duration: %q (want Go syntax like \"90s\" or whole seconds)", s)
	}
	return d, nil
}

// secondsDuration converts n seconds to a Duration, refusing overflow.
func secondsDuration(n int64) (time.Duration, error) {
	if n > int64(1<<63-1)/int64(time.Second) {
		return 0, fmt.Errorf("%w: %d seconds", control.ErrRange, n)
	}
	return time.Duration(n) * time.Second, nil
}

// check validates a parsed value against the key's rules.
func (k *keyDef) check(v any) error {
	switch v := v.(type) {
	case string:
		if err := checkText(v); err != nil {
			return err
		}
		switch k.kind {
		case kPath:
			if v == "" || !filepath.IsAbs(v) {
				return fmt.Errorf("not an absolute path: %q", v)
			}
		case kAddr:
			if v != "" {
				return checkHostPort(v, false, 0)
			}
		}
		if len(k.oneOf) > 0 && !slices.Contains(k.oneOf, v) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(k.oneOf, ", "))
		}
	case []string:
		for _, s := range v {
			if err := checkText(s); err != nil {
				return err
			}
			if k.kind == kAddrList {
				if err := checkHostPort(s, true, 1); err != nil {
					return err
				}
			}
		}
	case int64:
		if v < k.lo || v > k.hi {
			if k.hi == noMax {
				return fmt.Errorf("%d is out of range: at least %d", v, k.lo)
			}
			return fmt.Errorf("%d is out of range %d..%d", v, k.lo, k.hi)
		}
	case time.Duration:
		if int64(v) < k.lo || int64(v) > k.hi {
			if k.hi == noMax {
				return fmt.Errorf("%s is out of range: at least %s", formatDuration(v), formatDuration(time.Duration(k.lo)))
			}
			return fmt.Errorf("%s is out of range %s..%s", formatDuration(v),
				formatDuration(time.Duration(k.lo)), formatDuration(time.Duration(k.hi)))
		}
	case float64:
		if !(v >= 0 && v <= 1) { // also refuses NaN
			return fmt.Errorf("%s is out of range 0..1", strconv.FormatFloat(v, 'g', -1, 64))
		}
	case []Listener:
		seen := map[string]bool{}
		for _, l := range v {
			if err := checkText(l.Address); err != nil {
				return err
			}
			if err := checkHostPort(l.Address, false, 0); err != nil {
				return err
			}
			if !slices.Contains(listenerModes, l.Mode) {
				return fmt.Errorf("listener %s: mode %q is not one of %s", l.Address, l.Mode, strings.Join(words(listenerModes), ", "))
			}
			if seen[l.Address] {
				return fmt.Errorf("listener %s: address listed twice", l.Address)
			}
			seen[l.Address] = true
		}
	case []LocalDomain:
		return checkLocalDomains(v)
	case []TLSRule:
		return checkTLSRules(v)
	case []DKIMKey:
		return checkDKIMKeys(v)
	}
	if k.name == "local.lmtp" {
		if s, _ := v.(string); s != "" {
			return checkLMTP(s)
		}
	}
	return nil
}

// checkText refuses control characters other than tab: every string value
// ends up in an SMTP line, a header or a file name, where CR, LF or NUL
// would break the protocol (RFC 5321 §2.3.8).
func checkText(s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("control character %q in %q", c, s)
		}
	}
	return nil
}

// checkHostPort checks "host:port" with a numeric port of at least minPort;
// the host may be empty (all addresses) unless hostRequired.
func checkHostPort(s string, hostRequired bool, minPort int) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if hostRequired && host == "" {
		return fmt.Errorf("%q has no host", s)
	}
	n, err := strconv.Atoi(port)
	if err != nil || strings.Trim(port, "0123456789") != "" || n < minPort || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number in %d..65535", s, port, minPort)
	}
	return nil
}

// set stores a parsed value in c.
func (k *keyDef) set(c *Config, v any) {
	switch p := k.field(c).(type) {
	case *string:
		*p = v.(string)
	case *[]string:
		*p = v.([]string)
	case *int:
		*p = int(v.(int64))
	case *int64:
		*p = v.(int64)
	case *time.Duration:
		*p = v.(time.Duration)
	case *slog.Level:
		*p = v.(slog.Level)
	case *[]Listener:
		*p = v.([]Listener)
	case *float64:
		*p = v.(float64)
	case *[]LocalDomain:
		*p = v.([]LocalDomain)
	case *[]TLSRule:
		*p = v.([]TLSRule)
	case *[]DKIMKey:
		*p = v.([]DKIMKey)
	case *bool:
		*p = v.(bool)
	default:
		// A field of an enumeration type (enums.go) holds a checked word.
		if e := reflect.ValueOf(p).Elem(); e.Kind() == reflect.String && len(k.oneOf) > 0 {
			e.SetString(v.(string))
			return
		}
		panic(fmt.Sprintf("config: key %s: field of unhandled type %T", k.name, p))
	}
}

// get returns c's value of the key in parsed form.
func (k *keyDef) get(c *Config) any {
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *[]string:
		return *p
	case *int:
		return int64(*p)
	case *int64:
		return *p
	case *time.Duration:
		return *p
	case *slog.Level:
		return *p
	case *[]Listener:
		return *p
	case *float64:
		return *p
	case *[]LocalDomain:
		return *p
	case *[]TLSRule:
		return *p
	case *[]DKIMKey:
		return *p
	case *bool:
		return *p
	}
	if e := reflect.ValueOf(k.field(c)).Elem(); e.Kind() == reflect.String && len(k.oneOf) > 0 {
		return e.String()
	}
	panic(fmt.Sprintf("config: key %s: unhandled field type", k.name))
}

// errNoValue is the error for a YAML key without a value.
var errNoValue = errors.New(`no value (write "" for an empty string, [] for an empty list)`)

// formatDuration writes d in Go syntax without zero trailing units:
// "168h", "20m", "1m30s", "1ms".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
