package smtpclient

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

func lmtpOptions() Options {
	o := testOptions()
	o.LMTP = true
	return o
}

// TestLMTPReplies: after the final dot every recipient accepted at RCPT gets
// its own reply, in RCPT order (RFC 2033 §4.2).
func TestLMTPReplies(t *testing.T) {
	tests := []struct {
		name       string
		script     []scripted
		drop       string
		wantStates string
		wantStages []Stage
		wantCodes  []int
		wantAfter  []bool
		wantErr    bool // connection unusable
		wantRcpts  string
	}{
		{"all delivered", nil, "", "delivered delivered delivered",
			[]Stage{StageBody, StageBody, StageBody}, []int{250, 250, 250}, []bool{false, false, false}, false, "a@x.test,b@x.test,c@x.test"},
		{"one reply each", []scripted{{cmd: "DOT", match: "b@", code: 452, text: "4.2.2 mailbox full"},
			{cmd: "DOT", match: "c@", code: 550, text: "5.2.1 mailbox disabled"}}, "", "delivered deferred failed",
			[]Stage{StageBody, StageBody, StageBody}, []int{250, 452, 550}, []bool{false, false, false}, false, "a@x.test"},
		{"refused at RCPT gets no reply after the dot", []scripted{{cmd: "RCPT", match: "b@", code: 550, text: "5.1.1 unknown user"},
			{cmd: "DOT", match: "c@", code: 451, text: "4.3.0 later"}}, "", "delivered failed deferred",
			[]Stage{StageBody, StageRcpt, StageBody}, []int{250, 550, 451}, []bool{false, false, false}, false, "a@x.test"},
		{"421 in the middle", []scripted{{cmd: "DOT", match: "b@", code: 421, text: "4.3.2 shutting down"}}, "", "delivered deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{250, 421, 421}, []bool{false, false, false}, true, "a@x.test"},
		{"dropped after the dot", nil, "DOT", "deferred deferred deferred",
			[]Stage{StageBody, StageBody, StageBody}, []int{0, 0, 0}, []bool{true, true, true}, true, ""},
		{"DATA refused", []scripted{{cmd: "DATA", code: 554, text: "5.7.1 no"}}, "", "failed failed failed",
			[]Stage{StageData, StageData, StageData}, []int{554, 554, 554}, []bool{false, false, false}, false, ""},
	}
	for _, pipe := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if pipe {
				name += " pipelined"
			}
			t.Run(name, func(t *testing.T) {
				s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: pipe, Enhanced: true,
					DropAfter: tt.drop, Reply: replies(tt.script...)})
				c := dial(t, s, lmtpOptions())
				res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("hello\n")})
				if (err != nil) != tt.wantErr || c.Usable() == tt.wantErr {
					t.Fatalf("err = %v, usable %v; want error %v", err, c.Usable(), tt.wantErr)
				}
				if got := states(res); got != tt.wantStates {
					t.Errorf("states = %q, want %q", got, tt.wantStates)
				}
				for i, r := range res {
					if r.Stage != tt.wantStages[i] || r.Reply.Code != tt.wantCodes[i] || r.AfterDot != tt.wantAfter[i] {
						t.Errorf("rcpt %d: stage %v code %d (%q) after dot %v, want %v %d %v", i, r.Stage, r.Reply.Code,
							r.Reply.Text(), r.AfterDot, tt.wantStages[i], tt.wantCodes[i], tt.wantAfter[i])
					}
				}
				var got []string
				for _, m := range s.Messages() {
					got = append(got, m.Rcpts...)
				}
				if strings.Join(got, ",") != tt.wantRcpts {
					t.Errorf("server delivered to %q, want %q", got, tt.wantRcpts)
				}
				if tt.wantErr {
					return
				}
				// The connection takes another message, without RSET.
				res, err = c.Send(context.Background(), Envelope{Rcpts: []string{"z@x.test"}}, Message{Body: strings.NewReader("again\n")})
				if err != nil || res[0].State != Delivered && tt.name != "DATA refused" {
					t.Errorf("second Send = %+v, %v", res, err)
				}
				if cmds := strings.Join(s.Commands(), "|"); strings.Contains(cmds, "RSET") != (tt.name == "DATA refused") {
					t.Errorf("commands %q", cmds)
				}
			})
		}
	}
}

// TestLMTPHello: LHLO, its extensions, and no HELO fallback (RFC 2033 §4.1).
func TestLMTPHello(t *testing.T) {
	tests := []struct {
		name     string
		script   []scripted
		wantCode int // 0: NewConn succeeds
	}{
		{"LHLO", nil, 0},
		{"LHLO 5xx", []scripted{{cmd: "LHLO", code: 500, text: "5.5.1 no"}}, 500},
		{"LHLO 4xx", []scripted{{cmd: "LHLO", code: 451, text: "4.3.0 later"}}, 451},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: true, Reply: replies(tt.script...)})
			c, err := Dial(context.Background(), s.Addr(), "", lmtpOptions())
			cmds := strings.Join(s.Commands(), "|")
			if strings.Contains(cmds, "EHLO") || strings.Contains(cmds, "HELO ") {
				t.Errorf("commands %q: EHLO or HELO sent over LMTP", cmds)
			}
			if tt.wantCode == 0 {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer c.Close()
				if !c.Ext().Pipelining {
					t.Error("PIPELINING from LHLO not seen")
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Stage != StageHelo || e.Reply == nil || e.Reply.Code != tt.wantCode {
				t.Fatalf("err = %v, want %d at %v", err, tt.wantCode, StageHelo)
			}
		})
	}
}

// TestLMTPSplitting: 452 carry-over and MaxRcpts work over LMTP.
func TestLMTPSplitting(t *testing.T) {
	rcpts := []string{"1@x", "2@x", "3@x", "4@x", "5@x"}
	tests := []struct {
		name                 string
		serverMax, clientMax int
	}{
		{"452 carry-over", 2, 0},
		{"MaxRcpts split", 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: true, MaxRcpts: tt.serverMax})
			o := lmtpOptions()
			o.MaxRcpts = tt.clientMax
			c := dial(t, s, o)
			res, err := c.Send(context.Background(), Envelope{Sender: "s@x", Rcpts: rcpts}, Message{Body: strings.NewReader("x\n")})
			if err != nil {
				t.Fatal(err)
			}
			if got := states(res); got != "delivered delivered delivered delivered delivered" {
				t.Errorf("states %q", got)
			}
			var split []int
			for _, m := range s.Messages() {
				split = append(split, len(m.Rcpts))
			}
			if len(split) != 3 || split[0] != 2 || split[1] != 2 || split[2] != 1 {
				t.Errorf("transactions of %v recipients, want [2 2 1]", split)
			}
		})
	}
}

// TestLMTPPipelining: MAIL, RCPTs and DATA go in one write when the LMTP
// server advertises PIPELINING (RFC 2920 §3.1).
func TestLMTPPipelining(t *testing.T) {
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: true})
	c := dial(t, s, lmtpOptions())
	if _, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("x\n")}); err != nil {
		t.Fatal(err)
	}
	want := "RCPT TO:<a@x.test>|RCPT TO:<b@x.test>|RCPT TO:<c@x.test>|DATA"
	if early := strings.Join(s.Early(), "|"); early != want {
		t.Errorf("early commands %q, want %q", early, want)
	}
}

// TestLMTPDataWithoutRecipients: an LMTP server that answers DATA with 354
// although no RCPT succeeded breaks RFC 2033 §4.2; the client sends a lone
// dot and ends the connection instead of guessing how many replies follow.
func TestLMTPDataWithoutRecipients(t *testing.T) {
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: true,
		Reply: replies(scripted{cmd: "RCPT", code: 550, text: "5.1.1 no"}, scripted{cmd: "DATA", code: 354, text: "go ahead anyway"})})
	c := dial(t, s, lmtpOptions())
	res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("secret\n")})
	if err == nil || c.Usable() {
		t.Fatalf("err = %v, usable %v; want the connection ended", err, c.Usable())
	}
	if states(res) != "failed failed failed" || res[0].Stage != StageRcpt || res[0].AfterDot {
		t.Errorf("results %+v", res)
	}
	if strings.Contains(strings.Join(s.Commands(), "|"), "secret") {
		t.Error("the body was sent")
	}
}

// TestNewConn: NewConn greets on a connection the caller made; Addr is the
// peer for TCP and zero for a Unix socket.
func TestNewConn(t *testing.T) {
	tcp := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true, Pipelining: true})
	sock := filepath.Join(t.TempDir(), "lmtp")
	unix := smtptest.StartUnix(t, sock, smtptest.Config{LMTP: true, Pipelining: true})
	tests := []struct {
		name, network, addr string
		s                   *smtptest.Server
	}{
		{"tcp", "tcp", tcp.Addr().String(), tcp},
		{"unix", "unix", sock, unix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Dial(tt.network, tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			c, err := NewConn(context.Background(), raw, "mailbox.test", lmtpOptions())
			if err != nil {
				t.Fatalf("NewConn: %v", err)
			}
			defer c.Quit()
			if c.Addr() != tt.s.Addr() || c.Host() != "mailbox.test" {
				t.Errorf("Addr %v Host %q, want %v", c.Addr(), c.Host(), tt.s.Addr())
			}
			res, err := c.Send(context.Background(), three, Message{Body: strings.NewReader("hello\n")})
			if err != nil || states(res) != "delivered delivered delivered" {
				t.Fatalf("Send = %+v, %v", res, err)
			}
			if m := tt.s.Messages(); len(m) != 1 || string(m[0].Data) != "hello\r\n" {
				t.Errorf("messages %+v", m)
			}
		})
	}
}

// TestNewConnGreetingFailureClosesConn: the Conn owns the connection, and
// closes it when the greeting fails.
func TestNewConnGreetingFailureClosesConn(t *testing.T) {
	s := smtptest.Start(t, "127.0.0.2:0", smtptest.Config{LMTP: true,
		Reply: replies(scripted{cmd: "GREETING", code: 554, text: "5.3.2 not now"})})
	raw, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewConn(context.Background(), raw, "", lmtpOptions())
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageGreeting || e.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if _, err := raw.Write([]byte("NOOP\r\n")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after failed NewConn: %v, want net.ErrClosed", err)
	}
}
