package smtptest

import (
	"fmt"
	"strings"
	"testing"
)

// TestLMTPSession: LHLO instead of EHLO, and one reply per accepted
// recipient after the dot (RFC 2033 §4.1, §4.2).
func TestLMTPSession(t *testing.T) {
	s := Start(t, "127.0.0.2:0", Config{LMTP: true, Pipelining: true, Reply: func(cmd, arg string) (int, string) {
		switch {
		case cmd == "RCPT" && strings.Contains(arg, "unknown"):
			return 550, "5.1.1 unknown"
		case cmd == "DOT" && arg == "full@y":
			return 452, "4.2.2 full"
		}
		return 0, ""
	}})
	c, r := dialRaw(t, s)
	fmt.Fprint(c, "EHLO x\r\nLHLO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<unknown@y>\r\nRCPT TO:<full@y>\r\nDATA\r\n")
	got := replyCodes(t, r, 7)
	want := []string{"500 5.5.1 this is LMTP: say LHLO", "250 PIPELINING", "250 2.1.0 ok", "250 2.1.5 ok",
		"550 5.1.1 unknown", "250 2.1.5 ok", "354 go ahead"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	fmt.Fprint(c, "hi\r\n.\r\nQUIT\r\n")
	got = replyCodes(t, r, 3)
	want = []string{"250 2.0.0 <b@y> delivered", "452 4.2.2 full", "221 2.0.0 bye"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if m := s.Messages(); len(m) != 1 || strings.Join(m[0].Rcpts, ",") != "b@y" || string(m[0].Data) != "hi\r\n" {
		t.Fatalf("messages %+v", m)
	}
}
