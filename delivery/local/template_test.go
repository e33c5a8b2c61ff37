package local

import (
	"strings"
	"testing"
)

func TestTemplate(t *testing.T) {
	v := newVars("vu-Carol-Ann@Sub.Example", "s@x")
	v.home = "/home/vu"
	tests := []struct {
		in, out, err string
	}{
		{"/var/vmail/{domain}/{user}/{ext}/", "/var/vmail/sub.example/vu/Carol-Ann/", ""},
		{"{home}/Maildir/", "/home/vu/Maildir/", ""},
		{"{local}|{addr}|{sender}", "vu-Carol-Ann|vu-Carol-Ann@Sub.Example|s@x", ""},
		{"${{HOME}", "${HOME}", ""},
		{"a}b", "a}b", ""},
		{"", "", ""},
		{"{nope}", "", "unknown placeholder {nope}"},
		{"{user", "", "is not closed"},
		{"${HOME}", "", "unknown placeholder {HOME}"},
	}
	for _, tc := range tests {
		tpl, err := parseTemplate(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := tpl.expand(v); got != tc.out {
			t.Errorf("%q expands to %q, want %q", tc.in, got, tc.out)
		}
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"unknown kind", Options{Default: Method{Kind: "mbox"}}, `unknown transport "mbox"`},
		{"relative maildir", Options{Default: Method{Kind: KindMaildir, Maildir: "Maildir/"}}, "not an absolute path"},
		{"placeholder", Options{Default: Method{Kind: KindMaildir, Maildir: "/m/{usr}/"}}, "unknown placeholder {usr}"},
		{"lmtp address", Options{Default: Method{Kind: KindLMTP}}, "lmtp method without an address"},
		{"command", Options{Default: Method{Kind: KindCommand}}, "command method without a program"},
		{"command placeholder", Options{Default: Method{Kind: KindCommand, Command: []string{"/bin/x", "{x}"}}}, "command argument 1"},
		{"domain", Options{Default: Method{Kind: KindMaildir, Maildir: "~/Maildir/"},
			Domains: map[string]Method{"b.example": {Kind: "x"}}}, "local.domains b.example"},
		{"ok", Options{Default: Method{Kind: KindMaildir, Maildir: "~/Maildir/"},
			Domains: map[string]Method{"B.example": {Kind: KindLMTP, LMTP: "unix:/run/dovecot/lmtp"}}}, ""},
	}
	for _, tc := range tests {
		_, err := New(tc.o)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}

// FuzzTemplate: parsing never panics, and a parsed template expanded with
// empty values is its text without placeholders and with "{{" as '{'.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"~/Maildir/", "/var/vmail/{domain}/{user}/", "{{x}}", "{", "{home}{ext}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tpl, err := parseTemplate(s)
		if err != nil {
			return
		}
		var want strings.Builder
		for i := 0; i < len(s); i++ {
			switch {
			case strings.HasPrefix(s[i:], "{{"):
				want.WriteByte('{')
				i++
			case s[i] == '{':
				i += strings.IndexByte(s[i:], '}')
			default:
				want.WriteByte(s[i])
			}
		}
		if got := tpl.expand(&vars{}); got != want.String() {
			t.Fatalf("%q expands to %q, want %q", s, got, want.String())
		}
	})
}
