package remote

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
)

// TestNoSMTPUTF8Text: a recipient that needs SMTPUTF8 at a server that
// does not offer it fails with a text saying so, not as a refused sender
// (nothing was sent; RFC 6531 §3.2).
func TestNoSMTPUTF8Text(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
	s := w.server("127.0.0.2", smtptest.Config{Pipelining: true})
	res := deliver(w.transport(Options{}), job(1, "a@qsend.test", "üser@example.test"))
	if res[0].State != store.Failed || res[0].Text != "SMTPUTF8 is required, but was not offered by host mx.example.test[127.0.0.2] (#5.6.7)\n" {
		t.Fatalf("result %v %q", res[0].State, res[0].Text)
	}
	if len(s.Commands()) > 0 && strings.Contains(strings.Join(s.Commands(), "\n"), "MAIL") {
		t.Fatalf("MAIL sent: %q", s.Commands())
	}
}

// TestWireSizeAndSMTPUTF8Passed: SIZE= gives the stored message's wire
// size (RFC 1870 §3), and a message that came with SMTPUTF8 and has UTF-8
// in its header is not sent to a server without SMTPUTF8.
func TestWireSizeAndSMTPUTF8Passed(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
	s := w.server("127.0.0.2", smtptest.Config{Pipelining: true, Size: 1000})
	j := job(1, "a@qsend.test", "b@example.test")
	wire := int64(len(strings.ReplaceAll(body, "\n", "\r\n")))
	j.Msg.WireSize = wire
	res := deliver(w.transport(Options{}), j)
	want(t, res, 0, store.Delivered, "accepted message")
	if m := s.Messages(); len(m) != 1 || m[0].MailParams != "SIZE="+strconv.FormatInt(wire, 10) {
		t.Fatalf("messages %+v, want SIZE=%d", m, wire)
	}

	j = job(2, "a@qsend.test", "b@example.test")
	j.Msg.SMTPUTF8, j.Msg.EightBit = true, true
	j.Body = func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("Subject: caf\xc3\xa9\n\nx\n")), nil
	}
	res = deliver(w.transport(Options{}), j)
	want(t, res, 0, store.Failed, "SMTPUTF8 is required")
}
