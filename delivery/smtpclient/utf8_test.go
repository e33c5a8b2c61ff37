package smtpclient

import (
	"context"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// TestSMTPUTF8Required: a message that needs SMTPUTF8 (RFC 6531 §3.4) is
// not sent to a server without it, and the result says so apart from a
// refused sender; a message that came with SMTPUTF8 needs it only when its
// header has a byte over 127 or the server offers it.
func TestSMTPUTF8Required(t *testing.T) {
	const header8, body8 = "Subject: caf\xc3\xa9\n\nx\n", "Subject: s\r\n\r\ncaf\xc3\xa9\n"
	tests := []struct {
		name     string
		offered  bool
		env      Envelope
		msg      Message
		wantNo   bool   // NoSMTPUTF8, nothing sent
		wantMail string // MAIL parameters when sent
	}{
		{"UTF-8 recipient", false, Envelope{Sender: "s@x", Rcpts: []string{"üser@x"}}, Message{}, true, ""},
		{"UTF-8 sender", false, Envelope{Sender: "jörg@x", Rcpts: []string{"a@x"}}, Message{}, true, ""},
		{"UTF-8 header", false, three, Message{SMTPUTF8: true, EightBit: true, Body: strings.NewReader(header8)}, true, ""},
		{"UTF-8 header without SMTPUTF8", false, three, Message{EightBit: true, Body: strings.NewReader(header8)}, false, ""},
		{"8-bit body only", false, three, Message{SMTPUTF8: true, EightBit: true, Body: strings.NewReader(body8)}, false, ""},
		{"8-bit body, offered", true, three, Message{SMTPUTF8: true, EightBit: true, Body: strings.NewReader(body8)}, false, "SMTPUTF8"},
		{"ASCII with SMTPUTF8", true, three, Message{SMTPUTF8: true, Body: strings.NewReader("a\n")}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{SMTPUTF8: tt.offered})
			c := dial(t, s, testOptions())
			want := ""
			if tt.msg.Body == nil {
				tt.msg.Body = strings.NewReader("x\n")
			}
			if r, ok := tt.msg.Body.(*strings.Reader); ok {
				b := make([]byte, r.Len())
				r.Read(b)
				r.Reset(string(b))
				want = strings.ReplaceAll(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n", "\r\n")
			}
			res, err := c.Send(context.Background(), tt.env, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.NoSMTPUTF8 != tt.wantNo || (tt.wantNo && (r.State != Failed || r.Reply.Enhanced != "5.6.7")) {
					t.Errorf("result %+v, want NoSMTPUTF8 %v", r, tt.wantNo)
				}
			}
			m := s.Messages()
			if tt.wantNo {
				if len(m) != 0 || strings.Contains(strings.Join(s.Commands(), "\n"), "MAIL") {
					t.Errorf("sent: %q", s.Commands())
				}
				return
			}
			if len(m) != 1 || m[0].MailParams != tt.wantMail || string(m[0].Data) != want {
				t.Errorf("received %+v, want params %q data %q", m, tt.wantMail, want)
			}
		})
	}
}
