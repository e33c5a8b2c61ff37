package smtpclient

import (
	"context"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// TestLongLines checks the folding of lines over MaxLine octets (RFC 5322
// §2.1.1, RFC 5321 §4.5.3.1.6) on the wire, and that a receiver refusing
// longer lines (aiosmtpd's "500 Line too long") takes the folded message.
func TestLongLines(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct{ name, stored, want string }{
		{"header of 998 unchanged", "S: " + x(995) + "\n\nb\n", "S: " + x(995) + "\r\n\r\nb\r\n"},
		{"body of 998 unchanged", "S: s\n\n" + x(998) + "\n", "S: s\r\n\r\n" + x(998) + "\r\n"},
		{"header folded at the last space", "S: " + x(500) + " " + x(400) + " " + x(300) + "\n\nb\n",
			"S: " + x(500) + " " + x(400) + "\r\n " + x(300) + "\r\n\r\nb\r\n"},
		{"header folded at a tab", "S: " + x(900) + "\t" + x(300) + "\n",
			"S: " + x(900) + "\r\n\t" + x(300) + "\r\n"},
		{"header without whitespace", "S:" + x(1500) + "\n\n",
			"S:" + x(996) + "\r\n " + x(504) + "\r\n\r\n"},
		{"continuation line folded", "S: a\n\t" + x(999) + "\n\n",
			"S: a\r\n\t" + x(997) + "\r\n " + x(2) + "\r\n\r\n"},
		{"header folded twice", "S: " + x(990) + " " + x(990) + " " + x(10) + "\n",
			"S: " + x(990) + "\r\n " + x(990) + "\r\n " + x(10) + "\r\n"},
		{"header without final line end", "S: " + x(995) + " " + x(5),
			"S: " + x(995) + "\r\n " + x(5) + "\r\n"},
		{"body of 999 broken", "S: s\n\n" + x(999) + "\n", "S: s\r\n\r\n" + x(998) + "\r\nx\r\n"},
		{"body of 2000 broken twice", "S: s\r\n\r\n" + x(2000) + "\r\n",
			"S: s\r\n\r\n" + x(998) + "\r\n" + x(998) + "\r\n" + x(4) + "\r\n"},
		{"body break before a dot", "\n" + x(998) + ".y\n", "\r\n" + x(998) + "\r\n..y\r\n"},
		{"body spaces broken too", "\n" + strings.Repeat("ab ", 400) + "\n",
			"\r\n" + strings.Repeat("ab ", 332) + "ab\r\n " + strings.Repeat("ab ", 67) + "\r\n"},
		{"long dot line in header", "." + x(1000) + "\n", ".." + x(997) + "\r\n " + x(3) + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, bufSize := range []int{7, 1000, 32 * 1024} {
				var b strings.Builder
				w := bufioWriter(&b)
				if rerr, werr := writeBody(w, strings.NewReader(tt.stored), make([]byte, bufSize), make([]byte, MaxLine+1)); rerr != nil || werr != nil {
					t.Fatal(rerr, werr)
				}
				w.Flush()
				if got, want := b.String(), tt.want+".\r\n"; got != want {
					t.Errorf("buffer %d: wire %q, want %q", bufSize, got, want)
				}
				for i, l := range strings.Split(b.String(), "\r\n") {
					if len(strings.TrimPrefix(l, ".")) > MaxLine {
						t.Errorf("buffer %d: line %d has %d octets", bufSize, i, len(l))
					}
				}
			}
		})
	}
	// A receiver that refuses lines over 998 octets takes every folded
	// message; lines of 998 arrive unchanged.
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true, LineLimit: MaxLine})
	c := dial(t, s, testOptions())
	for _, tt := range tests {
		res, err := c.Send(context.Background(), Envelope{Sender: "s@x", Rcpts: []string{"r@x"}}, Message{Body: strings.NewReader(tt.stored)})
		if err != nil || res[0].State != Delivered {
			t.Fatalf("%s: %+v %v", tt.name, res, err)
		}
	}
	for i, m := range s.Messages() {
		want := strings.TrimPrefix(strings.ReplaceAll(tests[i].want, "\r\n.", "\r\n"), ".")
		if string(m.Data) != want {
			t.Errorf("%s: received %q, want %q", tests[i].name, m.Data, want)
		}
	}
}
