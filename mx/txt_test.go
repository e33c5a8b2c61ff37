package mx

import (
	"fmt"
	"strings"
	"testing"
)

// escapeTXT escapes as miekg/dns does when it unpacks a character string.
func escapeTXT(raw string) string {
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestUnescapeTXT(t *testing.T) {
	tests := []struct{ in, want string }{
		{"v=STSv1; id=1;", "v=STSv1; id=1;"},
		{`a\"b`, `a"b`},
		{`a\\b`, `a\b`},
		{`\009x\255`, "\tx\xff"},
		{`\256`, "256"},
		{`\12`, "12"},
		{`end\`, `end\`},
		{`\x`, "x"},
	}
	for _, tt := range tests {
		if got := unescapeTXT(tt.in); got != tt.want {
			t.Errorf("unescapeTXT(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzUnescapeTXT checks that unescaping undoes miekg/dns's escaping of any
// string a TXT record can carry, and never grows its input.
func FuzzUnescapeTXT(f *testing.F) {
	for _, s := range []string{"v=STSv1; id=20240101;", `a"b\c`, "\x00\xff\n", `\123`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if got := unescapeTXT(escapeTXT(raw)); got != raw {
			t.Errorf("round trip of %q gave %q", raw, got)
		}
		if got := unescapeTXT(raw); len(got) > len(raw) {
			t.Errorf("unescapeTXT(%q) = %q is longer", raw, got)
		}
	})
}
