package qregex

import (
	"regexp"
	"testing"
)

// FuzzCompile compiles arbitrary lines and matches arbitrary strings: no
// panic, and a line that compiles translates to a Go expression that
// compiles on its own.
func FuzzCompile(f *testing.F) {
	for _, s := range [][2]string{
		{`!\.`, "localhost"},
		{`[!%#:*^(){}]`, "a%b@example.com"},
		{`@.*@`, "a@b@c"},
		{`[[:digit:]]{,3}[]a-]`, "12]"},
		{"\\`a[\\.]b\\'", `a\b`},
		{`[[=a=][.-.]]`, "-"},
		{`user+tag@example.com`, "USER+TAG@EXAMPLE.COM"},
		{`\d\1\<`, "x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, line, s string) {
		l, err := Compile("fuzz", []string{line})
		if err != nil {
			return
		}
		l.Match(s)
		pat := line
		if len(pat) > 0 && pat[0] == '!' {
			pat = pat[1:]
		}
		goPat, err := translate(pat)
		if err != nil {
			t.Fatalf("Compile accepted %q but translate fails: %v", line, err)
		}
		if _, err := regexp.Compile(goPat); err != nil {
			t.Fatalf("%q translates to %q, which does not compile without flags: %v", line, goPat, err)
		}
	})
}
