package qmaillog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

// FuzzHandler logs texts and addresses from the network and checks every
// record is exactly one line, and event lines carry no space inside an
// address or text.
func FuzzHandler(f *testing.F) {
	f.Add("a@b", "250 ok\n", "k", "v")
	f.Add("a b\n%c", "multi\nline\ntext", "key with space", "x\ny")
	f.Add("", "", "", "")
	f.Add("\x00\xff", "\r\n", "=", "\"")
	f.Fuzz(func(t *testing.T, addr, text, k, v string) {
		var buf bytes.Buffer
		l := slog.New(NewHandler(&buf, slog.LevelDebug))
		LogStarting(l, 1, 2, "remote", addr)
		LogDelivery(l, 1, store.Deferred, text)
		LogInfoMsg(l, store.Message{ID: 2, Sender: addr})
		l.Warn(text, k, v)
		l.Info(text, slog.Group(k, v, addr))
		lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
		if len(lines) != 5 {
			t.Fatalf("%d lines for 5 records: %q", len(lines), buf.String())
		}
		if got := strings.Count(lines[0], " "); got != 7 {
			t.Errorf("starting line has %d spaces: %q", got, lines[0])
		}
		if got := strings.Count(lines[1], " "); got != 3 {
			t.Errorf("delivery line has %d spaces: %q", got, lines[1])
		}
	})
}
