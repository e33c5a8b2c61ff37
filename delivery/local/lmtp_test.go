package local

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
)

// TestLMTP: recipients that share an LMTP server share one transaction and
// each gets the result of its own reply after the dot.
func TestLMTP(t *testing.T) {
	reply := func(cmd, arg string) (int, string) {
		switch {
		case cmd == "RCPT" && strings.Contains(arg, "nobody@"):
			return 550, "5.1.1 no such user"
		case cmd == "DOT" && strings.HasPrefix(arg, "full@"):
			return 452, "4.2.2 mailbox full"
		case cmd == "DOT" && strings.HasPrefix(arg, "off@"):
			return 552, "5.2.1 mailbox disabled"
		}
		return 0, ""
	}
	sock := filepath.Join(t.TempDir(), "lmtp")
	unix := smtptest.StartUnix(t, sock, smtptest.Config{LMTP: true, Pipelining: true, Enhanced: true, Reply: reply})
	tcp := smtptest.Start(t, "127.0.0.1:0", smtptest.Config{LMTP: true, Enhanced: true, Reply: reply})
	tr := newTransport(t, Options{Me: "mx.example", Default: Method{Kind: KindLMTP, LMTP: "unix:" + sock},
		Domains: map[string]Method{"tcp.example": {Kind: KindLMTP, LMTP: tcp.Addr().String()}}})
	j := job("#@[]", body, "a@h", "nobody@h", "full@h", "off@h", "b@tcp.example", "c@tcp.example")
	rs := deliver(t, tr, j)
	want := []struct {
		state store.RcptState
		text  string
	}{
		{store.Delivered, "unix:" + sock + " accepted message.\nLMTP server said: 250"},
		{store.Failed, "unix:" + sock + " does not like recipient.\nLMTP server said: 550 5.1.1 no such user"},
		{store.Deferred, "LMTP delivery to unix:" + sock + " deferred.\nLMTP server said: 452 4.2.2 mailbox full"},
		{store.Failed, "unix:" + sock + " does not like recipient.\nLMTP server said: 552 5.2.1 mailbox disabled"},
		{store.Delivered, tcp.Addr().String() + " accepted message."},
		{store.Delivered, tcp.Addr().String() + " accepted message."},
	}
	for i, w := range want {
		if rs[i].State != w.state || !strings.HasPrefix(rs[i].Text, w.text) {
			t.Errorf("rcpt %d: %v %q, want %v %q", i, rs[i].State, rs[i].Text, w.state, w.text)
		}
	}
	msgs := unix.Messages()
	if len(msgs) != 1 || strings.Join(msgs[0].Rcpts, ",") != "a@h" || msgs[0].Sender != "" {
		t.Fatalf("unix server got %+v", msgs)
	}
	if got := strings.ReplaceAll(string(msgs[0].Data), "\r\n", "\n"); got != body {
		t.Errorf("body %q, want %q", got, body)
	}
	if msgs := tcp.Messages(); len(msgs) != 1 || strings.Join(msgs[0].Rcpts, ",") != "b@tcp.example,c@tcp.example" {
		t.Errorf("tcp server got %+v", msgs)
	}
	if c := unix.Connections() + tcp.Connections(); c != 2 {
		t.Errorf("%d connections, want 2", c)
	}
}

func TestLMTPDown(t *testing.T) {
	addr := testlib.FreeAddr(t) // nothing listens there
	for _, server := range []string{addr, "unix:" + filepath.Join(t.TempDir(), "none")} {
		tr := newTransport(t, Options{Default: Method{Kind: KindLMTP, LMTP: server}})
		rs := deliver(t, tr, job("s@x", body, "a@h", "b@h"))
		for _, r := range rs {
			if r.State != store.Deferred || !strings.HasPrefix(r.Text, "LMTP server "+server+" unavailable. (#4.4.1)\n") {
				t.Errorf("%s: %v %q", server, r.State, r.Text)
			}
		}
	}
}
