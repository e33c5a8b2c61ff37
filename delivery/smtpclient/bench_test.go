package smtpclient

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// BenchmarkSendPipelined measures messages per second over one reused
// connection with PIPELINING to a discarding smtptest sink, 2 KB messages.
func BenchmarkSendPipelined(b *testing.B) {
	s := smtptest.Start(b, "127.0.0.2:0", smtptest.Config{Pipelining: true, Enhanced: true, Discard: true, Size: 1 << 20})
	c, err := Dial(context.Background(), s.Addr(), "", testOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	line := bytes.Repeat([]byte("x"), 63)
	line = append(line, '\n')
	body := bytes.Repeat(line, 32) // 2048 bytes
	env := Envelope{Sender: "s@example.org", Rcpts: []string{"r@example.net"}}
	r := bytes.NewReader(body)
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r.Reset(body)
		res, err := c.Send(ctx, env, Message{Body: r, Size: int64(len(body))})
		if err != nil || res[0].State != Delivered {
			b.Fatalf("Send: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkWriteBody measures the body writer alone: a 64 KB message of
// 64-octet lines, a header and a body, into a discarding writer.
func BenchmarkWriteBody(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 63), '\n')
	msg := append([]byte("Subject: s\nFrom: f@example.org\n\n"), bytes.Repeat(line, 1024)...)
	w := bufioWriter(io.Discard)
	buf, hl := make([]byte, 32*1024), make([]byte, MaxLine+1)
	r := bytes.NewReader(msg)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		if rerr, werr := writeBody(w, r, buf, hl); rerr != nil || werr != nil {
			b.Fatal(rerr, werr)
		}
	}
}
