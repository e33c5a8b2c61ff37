package tcprules

import (
	"bytes"
	"strings"
)

// Rule is what tcpserver does for a client: allow or deny the connection,
// and the environment variables to set.
type Rule struct {
	// Key is the address the rule is for, as stored in the cdb: for a rule
	// returned by Lookup, the key that matched ("" for the default rule).
	Key   string
	Allow bool
	// Env holds the variables the rule sets, each with its final value
	// (a later assignment of the same name wins, as in tcpserver). A name
	// absent from Env is not set by the rule; a name mapped to "" is set
	// to the empty string, which matters for RELAYCLIENT.
	Env map[string]string
	// Names lists the names in Env in the order the rule first sets them.
	Names []string
}

// set records one assignment.
func (r *Rule) set(name, value string) {
	if r.Env == nil {
		r.Env = make(map[string]string)
	}
	if _, ok := r.Env[name]; !ok {
		r.Names = append(r.Names, name)
	}
	r.Env[name] = value
}

// String returns the rule in the text form tcprules reads, with '"' as the
// quote unless the value holds one.
func (r Rule) String() string {
	var b strings.Builder
	if r.Allow {
		b.WriteString("allow")
	} else {
		b.WriteString("deny")
	}
	for _, n := range r.Names {
		v := r.Env[n]
		q := quoteFor(v)
		b.WriteString(",")
		b.WriteString(n)
		b.WriteString("=")
		b.WriteByte(q)
		b.WriteString(v)
		b.WriteByte(q)
	}
	return b.String()
}

// quoteFor picks a quote character that v does not contain.
func quoteFor(v string) byte {
	for _, q := range []byte(`"'/|#%!^~`) {
		if strings.IndexByte(v, q) < 0 {
			return q
		}
	}
	for q := byte(1); q < 0x7f; q++ {
		if strings.IndexByte(v, q) < 0 {
			return q
		}
	}
	return 0x7f
}

// decode reads a cdb value as tcpserver does (ucspi-tcp-0.88 tcpserver.c
// found()): NUL-terminated entries; "D" denies; "+NAME=value" sets NAME;
// an entry of any other kind, an assignment without '=', and bytes after
// the last NUL are ignored.
func decode(key string, data []byte) Rule {
	r := Rule{Key: key, Allow: true}
	for {
		i := bytes.IndexByte(data, 0)
		if i < 0 {
			return r
		}
		e := data[:i]
		data = data[i+1:]
		if len(e) == 0 {
			continue
		}
		switch e[0] {
		case 'D':
			r.Allow = false
		case '+':
			name, value, ok := bytes.Cut(e[1:], []byte("="))
			if ok && len(name) > 0 {
				r.set(string(name), string(value))
			}
		}
	}
}

// encode returns the cdb value of r, as tcprules writes it.
func (r Rule) encode() []byte {
	var b []byte
	if !r.Allow {
		b = append(b, 'D', 0)
	}
	for _, n := range r.Names {
		b = append(b, '+')
		b = append(b, n...)
		b = append(b, '=')
		b = append(b, r.Env[n]...)
		b = append(b, 0)
	}
	return b
}
