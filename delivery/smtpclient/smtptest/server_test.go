package smtptest

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// dialRaw connects and reads the greeting.
func dialRaw(t testing.TB, s *Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	if l, _ := r.ReadString('\n'); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	return c, r
}

// replyCodes reads n replies and returns their last lines.
func replyCodes(t testing.TB, r *bufio.Reader, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading replies: %v (got %q)", err, out)
		}
		if len(l) >= 4 && l[3] == ' ' {
			out = append(out, strings.TrimRight(l, "\r\n"))
		}
	}
	return out
}

func TestPipelinedSessionAndDotUnstuffing(t *testing.T) {
	s := Start(t, "127.0.0.2:0", Config{Pipelining: true, MaxRcpts: 1})
	c, r := dialRaw(t, s)
	fmt.Fprint(c, "EHLO x\r\nMAIL FROM:<a@x> SIZE=3\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n")
	got := replyCodes(t, r, 5)
	want := []string{"250 PIPELINING", "250 2.1.0 ok", "250 2.1.5 ok", "452 4.5.3 too many recipients", "354 go ahead"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("replies %q, want %q", got, want)
	}
	// A bare-LF "." is not the end (strict CRLF.CRLF); ".." is un-stuffed.
	fmt.Fprint(c, "..hidden\r\n.\nstill data\r\n.\r\nQUIT\r\n")
	replyCodes(t, r, 2)
	m := s.Messages()
	if len(m) != 1 || string(m[0].Data) != ".hidden\r\n\nstill data\r\n" || m[0].MailParams != "SIZE=3" ||
		strings.Join(m[0].Rcpts, ",") != "b@y" {
		t.Fatalf("messages %+v", m)
	}
	if e := s.Early(); len(e) != 5 { // MAIL, RCPT, RCPT, DATA after EHLO; QUIT after the data
		t.Errorf("early commands %q", e)
	}
}

// BenchmarkSink measures how many messages per second the server sinks
// with Discard over one pipelining connection, 2 KB messages, driven by a
// raw client writing each transaction in one write.
func BenchmarkSink(b *testing.B) {
	s := Start(b, "127.0.0.2:0", Config{Pipelining: true, Discard: true})
	c, r := dialRaw(b, s)
	fmt.Fprint(c, "EHLO x\r\n")
	replyCodes(b, r, 1)
	txn := "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n"
	body := strings.Repeat(strings.Repeat("x", 62)+"\r\n", 32) + ".\r\n"
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		fmt.Fprint(c, txn)
		replyCodes(b, r, 3)
		fmt.Fprint(c, body)
		replyCodes(b, r, 1)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
