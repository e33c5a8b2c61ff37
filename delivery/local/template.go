package local

import (
	"fmt"
	"strings"
)

// field is one placeholder of a template.
type field int

const (
	fLiteral field = iota
	fUser
	fExt
	fLocal
	fDomain
	fAddr
	fHome
	fSender
)

// fieldNames are the placeholders a template may use (see the package
// comment).
var fieldNames = map[string]field{
	"user":   fUser,
	"ext":    fExt,
	"local":  fLocal,
	"domain": fDomain,
	"addr":   fAddr,
	"home":   fHome,
	"sender": fSender,
}

// part is literal text or a placeholder.
type part struct {
	f   field
	lit string
}

// template is a parsed Maildir path or command argument.
type template struct {
	parts []part
}

// parseTemplate parses s: text with {name} placeholders, "{{" for a
// literal '{'. An unknown name or an unclosed '{' is an error naming it.
func parseTemplate(s string) (template, error) {
	var t template
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '{' {
			lit.WriteByte(c)
			continue
		}
		if i+1 < len(s) && s[i+1] == '{' {
			lit.WriteByte('{')
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '}')
		if end < 0 {
			return template{}, fmt.Errorf("template %q: '{' at offset %d is not closed (write {{ for a literal '{')", s, i)
		}
		name := s[i+1 : i+1+end]
		f, ok := fieldNames[name]
		if !ok {
			return template{}, fmt.Errorf("template %q: unknown placeholder {%s} (want user, ext, local, domain, addr, home or sender)", s, name)
		}
		flush()
		t.parts = append(t.parts, part{f: f})
		i += end + 1
	}
	flush()
	return t, nil
}

// uses reports whether the template has placeholder f.
func (t template) uses(f field) bool {
	for _, p := range t.parts {
		if p.f == f {
			return true
		}
	}
	return false
}

// expand writes the template with the values of v.
func (t template) expand(v *vars) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.f == fLiteral {
			b.WriteString(p.lit)
			continue
		}
		b.WriteString(v.get(p.f))
	}
	return b.String()
}
