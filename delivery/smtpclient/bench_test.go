package smtpclient

import (
	"bytes"
	"context"
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
