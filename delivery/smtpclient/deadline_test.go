package smtpclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

// tarpit writes "220-" continuation lines one byte every gap, never ending
// the reply, until the client goes away.
func tarpit(gap time.Duration) func(net.Conn) {
	return func(c net.Conn) {
		line := "220-mx.example.test slow\r\n"
		for {
			for i := 0; i < len(line); i++ {
				if _, err := c.Write([]byte{line[i]}); err != nil {
					return
				}
				time.Sleep(gap)
			}
		}
	}
}

func timeoutOf(t *testing.T, err error) (*Error, *TimeoutError) {
	t.Helper()
	var e *Error
	var te *TimeoutError
	if !errors.As(err, &e) || !errors.As(err, &te) {
		t.Fatalf("err = %v, want an *Error with a *TimeoutError", err)
	}
	if !e.Temporary() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("err = %v: temporary %v, want a temporary deadline error", err, e.Temporary())
	}
	return e, te
}

// A greeting that trickles in never ends each read's timeout, but the
// greeting step as a whole has a deadline.
func TestGreetingDeadlineTarpit(t *testing.T) {
	addr := rawServer(t, tarpit(5*time.Millisecond))
	o := testOptions()
	o.Phases.Helo = 300 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), addr, "", o)
	took := time.Since(start)
	e, te := timeoutOf(t, err)
	if e.Stage != StageGreeting || te.Phase != "greeting" || te.Limit != o.Phases.Helo {
		t.Errorf("err = %v (stage %v, phase %q), want the greeting's deadline", err, e.Stage, te.Phase)
	}
	if took > 2*time.Second {
		t.Errorf("Dial took %v with a 300ms greeting deadline", took)
	}
	if got := err.Error(); !strings.Contains(got, "the greeting step took longer than 300ms") {
		t.Errorf("text %q does not name the step", got)
	}
}

// lineServer greets, then hands each line the client sends (EHLO, MAIL,
// the body's lines, ...) to answer until it returns false or the client
// goes away.
func lineServer(t *testing.T, answer func(c net.Conn, line string) bool) netip.AddrPort {
	return rawServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		c.Write([]byte("220 mx.example.test\r\n"))
		for {
			line, err := r.ReadString('\n')
			if err != nil || !answer(c, line) {
				return
			}
		}
	})
}

// A server that answers every step just in time is cut off by the
// session's cap.
func TestSessionCap(t *testing.T) {
	addr := lineServer(t, func(c net.Conn, line string) bool {
		time.Sleep(150 * time.Millisecond)
		if strings.HasPrefix(line, "EHLO") {
			c.Write([]byte("250 mx.example.test\r\n"))
		} else {
			c.Write([]byte("250 ok\r\n"))
		}
		return true
	})
	o := testOptions()
	o.Phases.Session = 400 * time.Millisecond
	c, err := Dial(context.Background(), addr, "", o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	var last error
	for range 10 {
		if last = c.Reset(context.Background()); last != nil {
			break
		}
	}
	_, te := timeoutOf(t, last)
	if te.Phase != "session" || te.Limit != o.Phases.Session {
		t.Errorf("err = %v, want the session's cap", last)
	}
	if c.Usable() {
		t.Error("connection still usable after its session ran out")
	}
}

// The reply after the final dot has its own deadline; a timeout there is
// after the dot (possible duplicate).
func TestDataDoneDeadline(t *testing.T) {
	addr := lineServer(t, func(c net.Conn, line string) bool {
		switch {
		case strings.HasPrefix(line, "EHLO"):
			c.Write([]byte("250 mx.example.test\r\n"))
		case strings.HasPrefix(line, "DATA"):
			c.Write([]byte("354 go\r\n"))
		case line == ".\r\n":
			tarpit(5 * time.Millisecond)(c)
			return false
		case strings.HasPrefix(line, "MAIL"), strings.HasPrefix(line, "RCPT"):
			c.Write([]byte("250 ok\r\n"))
		}
		return true
	})
	o := testOptions()
	o.Phases.DataDone = 300 * time.Millisecond
	c, err := Dial(context.Background(), addr, "", o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	res, err := c.Send(context.Background(), Envelope{Sender: "a@example.test", Rcpts: []string{"b@example.test"}}, Message{Body: stringsReader("Subject: x\n\nhi\n")})
	e, te := timeoutOf(t, err)
	if e.Stage != StageBody || !e.AfterDot || te.Phase != StageBody.String() {
		t.Errorf("err = %v, want the end of data's deadline after the dot", err)
	}
	if res[0].State != Deferred || !res[0].AfterDot {
		t.Errorf("result = %+v, want deferred after the dot", res[0])
	}
}

func TestTransferDeadlineGrowsWithSize(t *testing.T) {
	p := Phases{}.withDefaults()
	d0, a0 := p.transfer(0)
	d1, a1 := p.transfer(50 << 20)
	if d0 != DefaultDataXferTimeout || a0 != 0 {
		t.Errorf("transfer(0) = %v, %v", d0, a0)
	}
	if want := time.Duration(50<<20/DefaultMinDataRate) * time.Second; a1 != want || d1 != DefaultDataXferTimeout+want {
		t.Errorf("transfer(50 MiB) = %v, %v, want allowance %v", d1, a1, want)
	}
}

// A reply is bounded in bytes as well as in lines.
func TestReplyByteCap(t *testing.T) {
	long := strings.Repeat("x", 90)
	in := strings.Repeat("250-"+long+"\r\n", 20) + "250 end\r\n"
	_, err := readReplyLimit(bufio.NewReader(strings.NewReader(in)), 4096, 1000)
	if !errors.Is(err, ErrMalformedReply) || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("err = %v, want a reply over 1000 bytes refused", err)
	}
	if _, err := readReplyLimit(bufio.NewReader(strings.NewReader(in)), 4096, 4000); err != nil {
		t.Errorf("a reply within the cap: %v", err)
	}
	addr := rawServer(t, func(c net.Conn) {
		w := bufio.NewWriter(c)
		for range 900 { // under the 1000-line cap, over the byte cap
			w.WriteString("220-" + long + "\r\n")
		}
		w.Flush()
		io.Copy(io.Discard, c) // until the client hangs up
	})
	o := testOptions()
	o.MaxReplyBytes = 8 << 10
	_, err = Dial(context.Background(), addr, "", o)
	var e *Error
	if !errors.As(err, &e) || e.Stage != StageGreeting || !errors.Is(err, ErrMalformedReply) {
		t.Errorf("err = %v, want a malformed greeting", err)
	}
}
