package control

import (
	"strings"
	"testing"
)

func FuzzControlList(f *testing.F) {
	for _, s := range []string{"", "a\nb\n", "# c\n\nx \t\r\n", "a", "\n\n#\n #\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := ParseList("f", data)
		prev := 0
		for _, l := range lines {
			switch {
			case strings.Contains(l.Text, "\n"):
				t.Fatalf("line %d contains LF: %q", l.Num, l.Text)
			case l.Text == "":
				t.Fatalf("line %d is empty", l.Num)
			case l.Text[0] == '#':
				t.Fatalf("line %d is a comment: %q", l.Num, l.Text)
			case strings.TrimRight(l.Text, " \t\r") != l.Text:
				t.Fatalf("line %d has trailing whitespace: %q", l.Num, l.Text)
			case l.Num <= prev:
				t.Fatalf("line numbers not increasing: %d after %d", l.Num, prev)
			}
			prev = l.Num
		}
		if n := strings.Count(string(data), "\n") + 1; prev > n {
			t.Fatalf("line %d beyond the %d lines of the input", prev, n)
		}
	})
}

func FuzzControlLine(f *testing.F) {
	for _, s := range []string{"", "me.example\n", "x \t\r\ny", "\n", "12abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := ParseFirst("f", data)
		if strings.Contains(l.Text, "\n") {
			t.Fatalf("contains LF: %q", l.Text)
		}
		if strings.TrimRight(l.Text, " \t\r") != l.Text {
			t.Fatalf("trailing whitespace: %q", l.Text)
		}
		if !strings.HasPrefix(string(data), l.Text) {
			t.Fatalf("%q is not a prefix of the input", l.Text)
		}
		if n, err := ParseNumber(l.Text); err == nil && n < 0 {
			t.Fatalf("negative number %d from %q", n, l.Text)
		}
	})
}
