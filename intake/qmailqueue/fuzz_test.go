package qmailqueue

import (
	"strings"
	"testing"
)

// FuzzParse feeds the parsers of qmail's queue files arbitrary bytes: they
// must never panic, and what they accept must hold no empty address
// record nor a NUL inside an address.
func FuzzParse(f *testing.F) {
	f.Add([]byte("u0\x00p1\x00Fa@example.org\x00Tb@example.net\x00"))
	f.Add([]byte("Fa@example.org\x00"))
	f.Add([]byte("Ta@b\x00Dc@d\x00"))
	f.Add([]byte("<a@b>:\nSorry. (#5.1.1)\n/\nmore\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if err := parseTodo(b, &m); err == nil {
			for _, a := range m.Remote {
				if strings.IndexByte(a, 0) >= 0 {
					t.Fatalf("todo: address with NUL %q", a)
				}
			}
		}
		if recs, err := records(b); err == nil {
			for _, r := range recs {
				if r == "" {
					t.Fatal("an empty record accepted")
				}
			}
		}
		var to []string
		parseChannel(b, &to)
		var fs []Failure
		parseBounce(b, &fs)
	})
}
