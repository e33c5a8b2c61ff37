package qregex

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		in    string
		want  bool
	}{
		// README.qregex examples.
		{"badhelo without a dot", []string{`!\.`}, "localhost", true},
		{"badhelo with a dot", []string{`!\.`}, "mail.example.com", false},
		{"domain anywhere, any case", []string{`bad\.domain\.com`}, "user@BAD.Domain.COM", true},
		{"domain absent", []string{`bad\.domain\.com`}, "user@good.example", false},
		{"unqualified sender", []string{`!@`}, "user", true},
		{"qualified sender", []string{`!@`}, "user@example.com", false},
		{"bang literal in brackets", []string{`[!%#:*^(){}]`}, "a!b@example.com", true},
		{"percent in brackets", []string{`[!%#:*^(){}]`}, "a%b@example.com", true},
		{"clean recipient", []string{`[!%#:*^(){}]`, `@.*@`}, "user@example.com", false},
		{"two at signs", []string{`[!%#:*^(){}]`, `@.*@`}, "a@b@example.com", true},

		// Unanchored search; anchors where written.
		{"unanchored", []string{`spammer`}, "nospammer@example.com", true},
		{"anchored start", []string{`^spammer@`}, "nospammer@example.com", false},
		{"anchored both", []string{`^spammer@example\.com$`}, "spammer@example.com", true},
		{"anchored end", []string{`\.ru$`}, "user@example.ru.example.com", false},

		// Order: a negated line that matches lists nothing; later lines
		// still apply (qregex bmcheck).
		{"negated match falls through", []string{`!@`, `spam`}, "spam@example.com", true},
		{"nothing lists", []string{`!@`, `spam`}, "ham@example.com", false},
		{"empty list", nil, "anything", false},
		{"empty negated line", []string{`!`}, "anything", false},

		// Vanilla entries keep their meaning.
		{"vanilla exact", []string{"user@example.com"}, "User@Example.COM", true},
		{"vanilla exact is also a regex", []string{"user@example.com"}, "xuser@example.com.evil", true},
		{"vanilla with plus", []string{"user+tag@example.com"}, "user+tag@example.com", true},
		{"plus is still a regex", []string{"user+tag@example.com"}, "userrtag@example.com", true},
		{"vanilla domain", []string{"@example.com"}, "anyone@EXAMPLE.com", true},
		{"vanilla domain is also a regex", []string{"@example.com"}, "anyone@example.community", true},
		{"vanilla domain with plus", []string{"@a+b.example"}, "x@a+b.example", true},
		{"vanilla domain elsewhere", []string{"@a+b.example"}, "x@y.a+b.example", false},
		{"negated line has no vanilla meaning", []string{"!user@example.com"}, "user@example.com", false},

		// POSIX syntax.
		{"class", []string{`[[:digit:]]{3}@`}, "abc123@example.com", true},
		{"class no match", []string{`[[:digit:]]{3}@`}, "abc12@example.com", false},
		{"negated class", []string{`^[^@]+$`}, "nodomain", true},
		{"backslash literal in brackets", []string{`[\.]`}, `a\b`, true},
		{"bracket close first", []string{`[]x]`}, "a]b", true},
		{"dash last", []string{`^[a-]+$`}, "a-a", true},
		{"interval from zero", []string{`^x{,2}$`}, "xx", true},
		{"interval from zero too many", []string{`^x{,2}$`}, "xxx", false},
		{"GNU buffer anchors", []string{"\\`a.*b\\'"}, "a-b", true},
		{"word boundary", []string{`\bspam\b`}, "x.spam.y", true},
		{"dot matches newline", []string{`a.b`}, "a\nb", true},
		{"alternation", []string{`^(mail|smtp)[0-9]*\.`}, "SMTP12.example.com", true},
		{"escaped punctuation", []string{`a\+b`}, "a+b", true},
		{"equivalence class", []string{`[[=a=]]`}, "xAx", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Compile("badmailfrom", tt.lines)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.Match(tt.in); got != tt.want {
				t.Errorf("Match(%q) with %q = %v, want %v", tt.in, tt.lines, got, tt.want)
			}
		})
	}
}

func TestMatchPattern(t *testing.T) {
	l, err := Compile("badhelo", []string{`^friend$`, `!\.`})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"friend": "^friend$", "localhost": `!\.`, "mx.example.com": ""} {
		got, ok := l.MatchPattern(in)
		if got != want || ok != (want != "") {
			t.Errorf("MatchPattern(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	var none *List
	if none.Match("x") || none.Len() != 0 {
		t.Error("a nil List lists something")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		line        string
		want        string
		unsupported bool
	}{
		{`\d+`, `\d has no meaning`, false},
		{`(a)\1`, "back-reference", true},
		{`\<spam\>`, "word boundary", true},
		{`(?i)spam`, `"(?" repeats nothing`, false},
		{`[[.ch.]]`, "collating element", true},
		{`[a`, "unmatched [", false},
		{`[z-a]`, "runs backwards", false},
		{`[[:word:]]`, "unknown character class", false},
		{`spam\`, "trailing backslash", false},
		{`a{2000}`, "invalid repeat count", false},
		{`(ab`, "missing closing )", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			_, err := Compile("badmailfrom", []string{"ok@example.com", tt.line})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "badmailfrom line 2: ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to start with \"badmailfrom line 2: \" and contain %q", err, tt.want)
			}
			if errors.Is(err, ErrUnsupported) != tt.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v, want %v", !tt.unsupported, tt.unsupported)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	l, err := Load(dir, "badhelo")
	if err != nil || l != nil {
		t.Fatalf("missing file: %v, %v; want nil, nil", l, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "badmailfrom"), []byte("# spammers\n\nspam@example.com\n[bad\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, "badmailfrom")
	if want := filepath.Join(dir, "badmailfrom") + ":4: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want it to start with %q", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "badmailfrom"), []byte("# spammers\n\nspam@example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err = Load(dir, "badmailfrom")
	if err != nil || l.Len() != 1 || !l.Match("SPAM@example.com") {
		t.Fatalf("Load = %v (%d patterns), %v", l, l.Len(), err)
	}
}

func BenchmarkMatch(b *testing.B) {
	lines := []string{`!@`, `[!%#:*^(){}]`, `@.*@`, `^postmaster@`, `\.(ru|cn|top)$`}
	for i := 0; i < 50; i++ {
		lines = append(lines, "user"+string(rune('a'+i%26))+"@spam"+string(rune('a'+i/26))+".example")
	}
	l, err := Compile("badmailfrom", lines)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		l.Match("someone.legit+tag@mail.example.com")
	}
}
