package mx

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// TXT looks up the TXT records of name, e.g. "_mta-sts.example.com", and
// returns one string per record with the record's strings joined without
// spaces (RFC 8461 §3.1, RFC 7208 §3.3). NXDOMAIN and NODATA give no strings
// and no error; a SERVFAIL or a timeout is an *Error with Temporary set.
// Answers are cached for their TTL.
func (r *Resolver) TXT(ctx context.Context, name string) ([]string, error) {
	name = normalName(name)
	if name == "" {
		return nil, fmt.Errorf("mx: TXT lookup: empty name")
	}
	ans, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, &Error{Domain: name, Temporary: true, Enhanced: "4.4.3",
			Text: textTXT(name), Err: err}
	}
	var out []string
	for _, rr := range ans.rrs {
		if t, ok := rr.(*dns.TXT); ok {
			var b strings.Builder
			for _, s := range t.Txt {
				b.WriteString(unescapeTXT(s))
			}
			out = append(out, b.String())
		}
	}
	return out, nil
}

// unescapeTXT undoes the presentation escapes miekg/dns puts into the strings
// it unpacks: \" and \\ for those bytes, \DDD for bytes outside printable
// ASCII (RFC 1035 §5.1). Anything else is kept as it is.
func unescapeTXT(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); v <= 255 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
