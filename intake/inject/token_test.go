package inject

import (
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []token // nil: fails
	}{
		{"a.b@c", []token{{tAtom, "a"}, {typ: tDot}, {tAtom, "b"}, {typ: tAt}, {tAtom, "c"}}},
		{`"q \" x"  (c (nested) \) ) [1.2\]]`, []token{{tQuote, `q " x`}, {tComment, "c nested ) "}, {tLiteral, "1.2]"}}},
		{`a\ b a)b`, []token{{tAtom, "a b"}, {tQuote, "a)b"}}},
		{"<>,;:", []token{{typ: tLeft}, {typ: tRight}, {typ: tComma}, {typ: tSemi}, {typ: tColon}}},
		{"x\xff", []token{{tQuote, "x\xff"}}},
		{")", nil},
		{"a ]", nil},
		{"(open", nil},
		{`"open`, nil},
		{"[open", nil},
		{`"ends in \`, nil},
	}
	for _, tt := range tests {
		got, ok := tokenize(tt.in)
		if ok != (tt.want != nil) {
			t.Errorf("%q: ok %v", tt.in, ok)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%q: token %d %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestUnparseFolds(t *testing.T) {
	addrs := make([]string, 8)
	for i := range addrs {
		addrs[i] = strings.Repeat(string(rune('a'+i)), 10) + "@example.com"
	}
	ts, ok := tokenize("To: " + strings.Join(addrs, ", "))
	if !ok {
		t.Fatal("tokenize failed")
	}
	got := string(unparse(ts, lineLen))
	// Each address is 22 characters; a line takes addresses while it
	// stays within 80 columns counting the break it replaces.
	want := "To: aaaaaaaaaa@example.com, bbbbbbbbbb@example.com, cccccccccc@example.com,\n" +
		"  dddddddddd@example.com, eeeeeeeeee@example.com, ffffffffff@example.com,\n" +
		"  gggggggggg@example.com, hhhhhhhhhh@example.com\n"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := string(unparse(ts, 0)); got != "To: "+strings.Join(addrs, ", ")+"\n" {
		t.Fatalf("without a line length: %q", got)
	}
}

func TestUnparseQuotes(t *testing.T) {
	ts := []token{{tAtom, "X"}, {typ: tColon}, {tQuote, `a"b\c`}, {typ: tLeft}, {tAtom, "u"}, {typ: tAt}, {tLiteral, "1.2.3.4"}, {typ: tRight}, {tComment, "(x)"}}
	if got := string(unparse(ts, lineLen)); got != `X: "a\"b\\c" <u@[1.2.3.4]>(\(x\))`+"\n" {
		t.Fatalf("got %q", got)
	}
	if got := unquote(ts[2:]); got != `a"b\c<u@[1.2.3.4]>` {
		t.Fatalf("unquote: %q", got)
	}
}
