package smtpd

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/qsend/qsend/internal/envelope"
)

// FuzzCommand: the command line parser and the address parser never
// panic, and what they return keeps their promises.
func FuzzCommand(f *testing.F) {
	for _, s := range []string{
		"MAIL FROM:<a@example.com> SIZE=100 BODY=8BITMIME",
		"RCPT TO:<@r1,@r2:\"a b\"@[192.0.2.1]>",
		"rcpt to: a\\@b@example.org",
		"EHLO x",
		"AUTH PLAIN AGFsaWNlAHNlY3JldA==",
		"MAIL FROM:<\"unterminated",
		"MAIL FROM:<üser@bücher.example> SMTPUTF8 SIZE=10",
		"RCPT TO:<u@example.org> NOTIFY=NEVER",
	} {
		f.Add(s)
	}
	local := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, line string) {
		verb, arg := parseCommand(line)
		if strings.IndexByte(verb, ' ') >= 0 || strings.HasPrefix(arg, " ") {
			t.Fatalf("parseCommand(%q) = %q, %q", line, verb, arg)
		}
		for i := 0; i < len(verb); i++ {
			if verb[i] >= 'A' && verb[i] <= 'Z' {
				t.Fatalf("verb %q not lower case", verb)
			}
		}
		if !strings.Contains(line, verb) && utf8.ValidString(line) && strings.ToLower(line) == line {
			t.Fatalf("verb %q not from %q", verb, line)
		}
		a, ok := parseAddr(arg, local, "here.example")
		if !ok {
			return
		}
		if len(a.addr) > maxAddrLen {
			t.Fatalf("address of %d bytes", len(a.addr))
		}
		for i := 0; i < len(a.addr); i++ {
			if c := a.addr[i]; c < ' ' || c == 0x7f {
				t.Fatalf("control character in %q", a.addr)
			}
		}
		if a.trick() == "" && strings.Count(a.addr, "@") > 1 {
			t.Fatalf("several @ not a trick: %q", a.addr)
		}
		parseMailParams(a.params, true)
		rcptParams(a.params)
		if !utf8.ValidString(a.addr) {
			t.Fatalf("address %q is not UTF-8", a.addr)
		}
		if a.international(true) == "" && !isASCII(a.addr) {
			if _, domain, ok := envelope.Split(a.addr); ok && !isASCII(domain) {
				t.Fatalf("domain of %q not made ASCII", a.addr)
			}
		}
	})
}

// FuzzData: the DATA reader never panics, never stores a CR, and ends
// exactly at the first CRLF.CRLF, never earlier on a smuggling sequence,
// in both modes and however the input is cut.
func FuzzData(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nbody\r\n.\r\n",
		".\r\n",
		"a\n.\nMAIL FROM:<e@x>\r\n.\r\n",
		"a\r\n.\nb\r\n.\r\n",
		"a\n.\r\nb\r\n.\r\n",
		"a\r.\r\nb\r\n.\r\n",
		"..\r\n...\r\n.\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDotReader(t, in, false)
		checkDotReader(t, in, true)
	})
}
