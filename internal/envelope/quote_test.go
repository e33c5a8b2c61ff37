package envelope

import "testing"

func TestQuoteAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a@b", "a@b"},
		{"a b@c", `"a b"@c`},
		{"a@b@c", `"a@b"@c`},
		{".a@b", `".a"@b`},
		{"a..b@c", `"a..b"@c`},
		{`a"\@c`, `"a\"\\"@c`},
		{"nohost", "nohost"},
		{"no host", `"no host"`},
	}
	for _, tt := range tests {
		if got := QuoteAddr(tt.in); got != tt.want {
			t.Errorf("QuoteAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
