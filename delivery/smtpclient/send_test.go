package smtpclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

var three = Envelope{Sender: "s@example.org", Rcpts: []string{"a@x.test", "b@x.test", "c@x.test"}}

func TestSendReplies(t *testing.T) {
	tests := []struct {
		name       string
		script     []scripted
		wantStates string
		wantStages []Stage
		wantCodes  []int
		wantErr    bool // connection unusable
		wantMsgs   int
	}{
		{"all delivered", nil, "delivered delivered delivered",
			[]Stage{StageBody, StageBody, StageBody}, []int{250, 250, 250}, false, 1},
		{"MAIL 4xx", []scripted{{cmd: "MAIL", code: 451, text: "4.3.0 later"}}, "deferred deferred deferred",
			[]Stage{StageMail, StageMail, StageMail}, []int{451, 451, 451}, false, 0},
		{"MAIL 5xx", []scripted{{cmd: "MAIL", code: 553, text: "5.1.8 bad sender"}}, "failed failed failed",
			[]Stage{StageMail, StageMail, StageMail}, []int{553, 553, 553}, false, 0},
		{"RCPT mixed", []scripted{{cmd: "RCPT", match: "a@", code: 550, text: "5.1.1 no such user"},
			{cmd: "RCPT", match: "b@", code: 450, text: "4.2.1 full"}}, "failed deferred delivered",
			[]Stage{StageRcpt, StageRcpt, StageBody}, []int{550, 450, 250}, false, 1},
		{"no recipient accepted", []scripted{{cmd: "RCPT", code: 550, text: "5.1.1 no"}}, "failed failed failed",
			[]Stage{StageRcpt, StageRcpt, StageRcpt}, []int{550, 550, 550}, false, 0},
		{"DATA 5xx", []scripted{{cmd: "RCPT", match: "a@", code: 550, text: "no"}, {cmd: "DATA", code: 554, text: "5.7.1 no data"}},
			"failed failed failed", []Stage{StageRcpt, StageData, StageData}, []int{550, 554, 554}, false, 0},
		{"DATA 4xx", []scripted{{cmd: "DATA", code: 451, text: "4.3.0 later"}}, "deferred deferred deferred",
			[]Stage{StageData, StageData, StageData}, []int{451, 451, 451}, false, 0},
		{"after dot 4xx", []scripted{{cmd: "DOT", code: 452, text: "4.3.1 disk full"}}, "deferred deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{452, 452, 452}, false, 0},
		{"after dot 5xx", []scripted{{cmd: "DOT", code: 554, text: "5.6.0 spam"}}, "failed failed failed",
			[]Stage{StageBody, StageBody, StageBody}, []int{554, 554, 554}, false, 0},
		{"421 at MAIL", []scripted{{cmd: "MAIL", code: 421, text: "4.3.2 bye"}}, "deferred deferred deferred",
			[]Stage{StageMail, StageMail, StageMail}, []int{421, 421, 421}, true, 0},
		{"421 at RCPT", []scripted{{cmd: "RCPT", match: "b@", code: 421, text: "4.3.2 bye"}}, "deferred deferred deferred",
			[]Stage{StageRcpt, StageRcpt, StageRcpt}, []int{421, 421, 421}, true, 0},
		{"421 after dot", []scripted{{cmd: "DOT", code: 421, text: "4.3.2 bye"}}, "deferred deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{421, 421, 421}, true, 0},
		// RFC 5321 §4.3.2: only 354 opens the data; any other reply that is
		// not a refusal leaves the dialogue out of step. The body was never
		// sent, so nobody is delivered, and the connection ends.
		{"DATA 250", []scripted{{cmd: "DATA", code: 250, text: "2.0.0 ok"}}, "deferred deferred deferred",
			[]Stage{StageData, StageData, StageData}, []int{250, 250, 250}, true, 0},
		{"DATA 251", []scripted{{cmd: "DATA", code: 251, text: "ok"}}, "deferred deferred deferred",
			[]Stage{StageData, StageData, StageData}, []int{251, 251, 251}, true, 0},
		{"DATA 334", []scripted{{cmd: "DATA", code: 334, text: "go on"}}, "deferred deferred deferred",
			[]Stage{StageData, StageData, StageData}, []int{334, 334, 334}, true, 0},
		{"DATA 250 after a refused recipient", []scripted{{cmd: "RCPT", match: "a@", code: 550, text: "5.1.1 no"},
			{cmd: "DATA", code: 250, text: "ok"}}, "failed deferred deferred",
			[]Stage{StageRcpt, StageData, StageData}, []int{550, 250, 250}, true, 0},
		{"MAIL 354", []scripted{{cmd: "MAIL", code: 354, text: "what"}}, "deferred deferred deferred",
			[]Stage{StageMail, StageMail, StageMail}, []int{354, 354, 354}, true, 0},
		{"RCPT 354", []scripted{{cmd: "RCPT", match: "b@", code: 354, text: "what"}}, "deferred deferred deferred",
			[]Stage{StageRcpt, StageRcpt, StageRcpt}, []int{354, 354, 354}, true, 0},
		{"after dot 354", []scripted{{cmd: "DOT", code: 354, text: "more"}}, "deferred deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{354, 354, 354}, true, 0},
		{"421 at DATA", []scripted{{cmd: "DATA", code: 421, text: "4.3.2 bye"}}, "deferred deferred deferred",
			[]Stage{StageData, StageData, StageData}, []int{421, 421, 421}, true, 0},
		// 220 answers only the connection and STARTTLS: to another command
		// it is a second greeting, and every later reply would answer the
		// command before the one it is read for.
		{"MAIL 220", []scripted{{cmd: "MAIL", code: 220, text: "hello again"}}, "deferred deferred deferred",
			[]Stage{StageMail, StageMail, StageMail}, []int{220, 220, 220}, true, 0},
		{"RCPT 220", []scripted{{cmd: "RCPT", match: "b@", code: 220, text: "hello again"}}, "deferred deferred deferred",
			[]Stage{StageRcpt, StageRcpt, StageRcpt}, []int{220, 220, 220}, true, 0},
		{"after dot 220", []scripted{{cmd: "DOT", code: 220, text: "hello again"}}, "deferred deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{220, 220, 220}, true, 1},
	}
	for _, pipe := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if pipe {
				name += " pipelined"
			}
			t.Run(name, func(t *testing.T) {
				s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: pipe, Enhanced: true, Reply: replies(tt.script...)})
				c := dial(t, s, testOptions())
				res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("hello\n")})
				if (err != nil) != tt.wantErr || c.Usable() == tt.wantErr {
					t.Fatalf("err = %v, usable %v; want error %v", err, c.Usable(), tt.wantErr)
				}
				if got := states(res); got != tt.wantStates {
					t.Errorf("states = %q, want %q", got, tt.wantStates)
				}
				for i, r := range res {
					if r.Stage != tt.wantStages[i] || r.Reply.Code != tt.wantCodes[i] {
						t.Errorf("rcpt %d: stage %v code %d (%q), want %v %d", i, r.Stage, r.Reply.Code, r.Reply.Text(), tt.wantStages[i], tt.wantCodes[i])
					}
				}
				if s.Count() != tt.wantMsgs {
					t.Errorf("server got %d messages, want %d", s.Count(), tt.wantMsgs)
				}
				if tt.wantErr {
					return
				}
				// The connection takes another message.
				res, err = c.Send(context.Background(), Envelope{Sender: "", Rcpts: []string{"z@x.test"}}, Message{Body: strings.NewReader("again\n")})
				if err != nil || res[0].State != Delivered && tt.script == nil {
					t.Errorf("second Send = %+v, %v", res, err)
				}
			})
		}
	}
}

func TestPipelining(t *testing.T) {
	for _, pipe := range []bool{false, true} {
		s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: pipe})
		c := dial(t, s, testOptions())
		if _, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("x\n")}); err != nil {
			t.Fatal(err)
		}
		early := strings.Join(s.Early(), "|")
		want := ""
		if pipe {
			// Every RCPT and DATA arrived before MAIL's reply had been sent.
			want = "RCPT TO:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA"
		}
		if early != want {
			t.Errorf("pipelining %v: early commands %q, want %q", pipe, early, want)
		}
	}
}

// TestPipelinedDataAfterNoRecipients: RFC 2920 §3.1, a server that answers
// DATA with 354 although every RCPT failed gets a lone dot.
func TestPipelinedDataAfterNoRecipients(t *testing.T) {
	s2 := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true,
		Reply: func(cmd, arg string) (int, string) {
			switch cmd {
			case "RCPT":
				return 550, "5.1.1 no"
			case "DATA":
				return 354, "go ahead anyway"
			}
			return 0, ""
		}})
	c := dial(t, s2, testOptions())
	res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("secret\n")})
	if err != nil || states(res) != "failed failed failed" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	cmds := strings.Join(s2.Commands(), "|")
	if !strings.HasSuffix(cmds, "|DATA") || strings.Contains(cmds, "secret") {
		t.Errorf("commands %q", cmds)
	}
	if !c.Usable() {
		t.Fatal("connection unusable")
	}
	// RSET works: the lone dot ended the data, and its reply was read.
	if err := c.Reset(context.Background()); err != nil {
		t.Fatalf("Reset: %v", err)
	}
}

func TestRcptSplitting(t *testing.T) {
	rcpts := []string{"1@x", "2@x", "3@x", "4@x", "5@x"}
	tests := []struct {
		name       string
		serverMax  int
		clientMax  int
		refuseAll  bool
		body       func() io.Reader
		wantStates string
		wantSplit  []int
	}{
		{"452 carry-over", 2, 0, false, nil, "delivered delivered delivered delivered delivered", []int{2, 2, 1}},
		{"MaxRcpts split", 0, 2, false, nil, "delivered delivered delivered delivered delivered", []int{2, 2, 1}},
		{"both", 3, 2, false, nil, "delivered delivered delivered delivered delivered", []int{2, 2, 1}},
		{"452 with nothing accepted", 0, 0, true, nil, "deferred deferred deferred deferred deferred", nil},
		{"body not seekable", 2, 0, false, func() io.Reader { return struct{ io.Reader }{strings.NewReader("m\n")} },
			"delivered delivered deferred deferred deferred", []int{2}},
	}
	for _, pipe := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cfg := smtptest.Config{Pipelining: pipe, MaxRcpts: tt.serverMax}
				if tt.refuseAll {
					cfg.Reply = replies(scripted{cmd: "RCPT", code: 452, text: "4.5.3 too many"})
				}
				s := smtptest.Start(t, "127.0.0.2:0", cfg)
				o := testOptions()
				o.MaxRcpts = tt.clientMax
				c := dial(t, s, o)
				var body io.Reader = strings.NewReader("m\n")
				if tt.body != nil {
					body = tt.body()
				}
				res, err := c.Send(context.Background(), Envelope{Sender: "s@x", Rcpts: rcpts}, Message{Body: body})
				if err != nil {
					t.Fatal(err)
				}
				if got := states(res); got != tt.wantStates {
					t.Errorf("states %q, want %q (%+v)", got, tt.wantStates, res)
				}
				msgs := s.Messages()
				var split []int
				for _, m := range msgs {
					split = append(split, len(m.Rcpts))
					if string(m.Data) != "m\r\n" {
						t.Errorf("data %q", m.Data)
					}
				}
				if !slices.Equal(split, tt.wantSplit) {
					t.Errorf("transactions %v, want %v", split, tt.wantSplit)
				}
			})
		}
	}
}

func TestDropped(t *testing.T) {
	tests := []struct {
		drop      string
		wantStage Stage
		afterDot  bool
	}{
		{"DATA", StageData, false},
		{"DOT", StageBody, true},
	}
	for _, tt := range tests {
		t.Run(tt.drop, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{DropAfter: tt.drop})
			c := dial(t, s, testOptions())
			res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("x\n")})
			var e *Error
			if !errors.As(err, &e) || e.Stage != tt.wantStage || e.AfterDot != tt.afterDot || e.Reply != nil || !e.Temporary() {
				t.Fatalf("err = %v (%+v)", err, e)
			}
			if c.Usable() {
				t.Error("connection still usable")
			}
			for i, r := range res {
				if r.State != Deferred || r.Stage != tt.wantStage || r.AfterDot != tt.afterDot {
					t.Errorf("rcpt %d: %+v", i, r)
				}
			}
		})
	}
}

func TestMailParameters(t *testing.T) {
	tests := []struct {
		name       string
		cfg        smtptest.Config
		env        Envelope
		msg        Message
		wantParams string
		wantState  State
		wantCode   int
		wantMail   bool // MAIL was sent
	}{
		{"none", smtptest.Config{}, three, Message{Size: 5, EightBit: true}, "", Delivered, 250, true},
		{"SIZE", smtptest.Config{Size: 1000}, three, Message{Size: 5}, "SIZE=5", Delivered, 250, true},
		{"SIZE exceeded", smtptest.Config{Size: 4}, three, Message{Size: 5}, "", Failed, 552, false},
		{"SIZE in wire octets", smtptest.Config{Size: 1000}, three, Message{Size: 5, WireSize: 6}, "SIZE=6", Delivered, 250, true},
		{"wire SIZE exceeded", smtptest.Config{Size: 5}, three, Message{Size: 5, WireSize: 6}, "", Failed, 552, false},
		{"8BITMIME", smtptest.Config{EightBitMIME: true}, three, Message{EightBit: true}, "BODY=8BITMIME", Delivered, 250, true},
		{"7bit", smtptest.Config{EightBitMIME: true}, three, Message{}, "", Delivered, 250, true},
		{"SMTPUTF8", smtptest.Config{SMTPUTF8: true, EightBitMIME: true, Size: 100}, Envelope{Sender: "s@x", Rcpts: []string{"jörg@x"}},
			Message{Size: 5, EightBit: true}, "SIZE=5 BODY=8BITMIME SMTPUTF8", Delivered, 250, true},
		{"SMTPUTF8 missing", smtptest.Config{}, Envelope{Sender: "jörg@x", Rcpts: []string{"a@x"}}, Message{}, "", Failed, 553, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", tt.cfg)
			c := dial(t, s, testOptions())
			tt.msg.Body = strings.NewReader("body\n")
			res, err := c.Send(context.Background(), tt.env, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.State != tt.wantState || r.Reply.Code != tt.wantCode {
					t.Errorf("result %+v, want %v %d", r, tt.wantState, tt.wantCode)
				}
			}
			sentMail := strings.Contains(strings.Join(s.Commands(), "\n"), "MAIL ")
			if sentMail != tt.wantMail {
				t.Errorf("MAIL sent = %v; commands %q", sentMail, s.Commands())
			}
			if tt.wantMail {
				if m := s.Messages(); len(m) != 1 || m[0].MailParams != tt.wantParams {
					t.Errorf("messages %+v, want params %q", m, tt.wantParams)
				}
			} else if e := res[0].Reply.Enhanced; e != "5.3.4" && e != "5.6.7" {
				t.Errorf("enhanced code %q", e)
			}
		})
	}
}

func TestBodyOnTheWire(t *testing.T) {
	tests := []struct{ name, stored, want string }{
		{"LF", "a\nb\n", "a\r\nb\r\n"},
		{"CRLF kept", "a\r\nb\r\n", "a\r\nb\r\n"},
		{"bare CR", "a\rb\n", "a\r\nb\r\n"},
		{"CR at end", "a\r", "a\r\n"},
		{"CR CR LF", "a\r\r\nb\n", "a\r\n\r\nb\r\n"},
		{"leading dots", ".\n..x\n.\r\nend\n", "..\r\n...x\r\n..\r\nend\r\n"},
		{"dot after bare CR", "a\r.b\n", "a\r\n..b\r\n"},
		{"no final LF", "a\nlast", "a\r\nlast\r\n"},
		{"lone dot no LF", ".", "..\r\n"},
		{"empty", "", ""},
		{"dot mid line", "a.b\n", "a.b\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := bufioWriter(&b)
			if rerr, werr := writeBody(w, strings.NewReader(tt.stored), make([]byte, 7), make([]byte, MaxLine+1)); rerr != nil || werr != nil {
				t.Fatal(rerr, werr)
			}
			w.Flush()
			if got, want := b.String(), tt.want+".\r\n"; got != want {
				t.Errorf("wire %q, want %q", got, want)
			}
		})
	}
	// Through a real server the message arrives un-stuffed, byte-exact.
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true})
	c := dial(t, s, testOptions())
	for _, tt := range tests {
		res, err := c.Send(context.Background(), Envelope{Sender: "s@x", Rcpts: []string{"r@x"}}, Message{Body: oneByte{strings.NewReader(tt.stored)}})
		if err != nil || res[0].State != Delivered {
			t.Fatalf("%s: %+v %v", tt.name, res, err)
		}
	}
	for i, m := range s.Messages() {
		want := strings.ReplaceAll(tests[i].want, "\r\n.", "\r\n")
		want = strings.TrimPrefix(want, ".")
		if string(m.Data) != want {
			t.Errorf("%s: server got %q, want %q", tests[i].name, m.Data, want)
		}
	}
}

// oneByte reads one byte at a time, so that every state change of the
// line-end conversion crosses a read boundary.
type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestReuseWithReset(t *testing.T) {
	for _, pipe := range []bool{false, true} {
		s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: pipe})
		c := dial(t, s, testOptions())
		for i := 0; i < 5; i++ {
			res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("m\n")})
			if err != nil || states(res) != "delivered delivered delivered" {
				t.Fatalf("Send %d: %+v %v", i, res, err)
			}
			if err := c.Reset(context.Background()); err != nil {
				t.Fatalf("Reset: %v", err)
			}
		}
		if err := c.Quit(); err != nil {
			t.Fatalf("Quit: %v", err)
		}
		if s.Count() != 5 || s.Connections() != 1 {
			t.Errorf("count %d connections %d", s.Count(), s.Connections())
		}
		if c.Usable() {
			t.Error("usable after Quit")
		}
	}
}

// TestOutOfStepError: a reply out of step is a temporary *Error that names
// the reply, and a transaction with one never counts as delivered.
// TestBodyReadError: a message that cannot be read to its end is not
// ended with a dot as if whole; the connection is dropped before it and
// every recipient is deferred, with no possible duplicate.
func TestBodyReadError(t *testing.T) {
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true})
	c := dial(t, s, testOptions())
	body := io.MultiReader(strings.NewReader("partial\n"), iotest.ErrReader(errors.New("disk failure")))
	res, err := c.Send(context.Background(), three, Message{Body: body})
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageData || e.AfterDot || c.Usable() {
		t.Fatalf("err = %v (%+v), usable %v", err, e, c.Usable())
	}
	if got := states(res); got != "deferred deferred deferred" {
		t.Errorf("states = %q", got)
	}
	for i, r := range res {
		if r.Stage != StageData || r.AfterDot {
			t.Errorf("rcpt %d: stage %v, after dot %v", i, r.Stage, r.AfterDot)
		}
	}
	if s.Count() != 0 {
		t.Errorf("the server took %d messages", s.Count())
	}
}

func TestOutOfStepError(t *testing.T) {
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{Pipelining: true, Reply: replies(scripted{cmd: "DATA", code: 250, text: "2.0.0 queued"})})
	c := dial(t, s, testOptions())
	_, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("x\n")})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrOutOfStep) || !e.Temporary() || e.Reply == nil || e.Reply.Code != 250 {
		t.Fatalf("err = %v (%+v)", err, e)
	}
	if want := "smtpclient: DATA: 250 2.0.0 queued (reply out of step with the dialogue)"; err.Error() != want {
		t.Errorf("text %q, want %q", err.Error(), want)
	}
	for _, cmd := range s.Commands() {
		if cmd == "." || strings.HasPrefix(cmd, "x") {
			t.Errorf("the body was sent: %q", s.Commands())
		}
	}
}

// TestUnaskedReply: bytes from the server that answer no command sent (here
// a second reply to EHLO) end the connection before the next command,
// instead of being read as that command's reply.
func TestUnaskedReply(t *testing.T) {
	for _, tt := range []struct {
		name, extra string
		outOfStep   bool
	}{
		{"second reply", "250 ok\r\n", true},
		{"421 unasked", "421 4.3.2 closing\r\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan []string, 1)
			addr := rawServer(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				c.Write([]byte("220 raw ESMTP\r\n"))
				var lines []string
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						break
					}
					lines = append(lines, strings.TrimSpace(l))
					if strings.HasPrefix(l, "EHLO") {
						c.Write([]byte("250 raw\r\n" + tt.extra))
					}
				}
				got <- lines
			})
			c, err := Dial(context.Background(), addr, "raw", testOptions())
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("x\n")})
			var e *Error
			if !errors.As(err, &e) || errors.Is(err, ErrOutOfStep) != tt.outOfStep || e.Reply == nil || e.Stage != StageMail {
				t.Fatalf("err = %v (%+v)", err, e)
			}
			if c.Usable() || states(res) != "deferred deferred deferred" {
				t.Errorf("usable %v, states %q", c.Usable(), states(res))
			}
			c.Close()
			if lines := <-got; slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "MAIL") }) {
				t.Errorf("MAIL was sent: %q", lines)
			}
		})
	}
}
