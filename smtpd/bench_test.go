package smtpd

import (
	"context"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/envelope"
)

// discardQueue accepts everything without storing it: the server alone.
type discardQueue struct{}

func (discardQueue) Enqueue(_ context.Context, _ envelope.Envelope, _ Origin, body io.Reader) error {
	_, err := io.Copy(io.Discard, body)
	return err
}

// BenchmarkSession sends 2 KB messages over loopback in one session, with
// MAIL, RCPT and DATA pipelined; one message per op. "discard" measures
// the server, "store" adds the fsynced bbolt queue.
func BenchmarkSession(b *testing.B) {
	var body strings.Builder
	body.WriteString("From: a@example.com\r\nTo: user@example.org\r\nSubject: benchmark\r\n\r\n")
	for body.Len() < 2048 {
		body.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	body.WriteString(".\r\n")
	msg := body.String()
	for _, tc := range []struct {
		name  string
		queue Queue
	}{{"discard", discardQueue{}}, {"store", nil}} {
		b.Run(tc.name, func(b *testing.B) {
			ts := startServer(b, serverConfig{queue: tc.queue})
			c := dial(b, ts.addr)
			c.expect(greeting)
			c.send("EHLO bench\r\n")
			c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<user@example.org>\r\nDATA\r\n")
				c.expect("250 ok", "250 ok", "354 go ahead")
				c.send(msg)
				if l := c.line(); !strings.HasPrefix(l, "250 ok ") {
					b.Fatalf("reply %q", l)
				}
			}
		})
	}
}

// BenchmarkIdleSessions measures the memory of idle sessions: heap and
// goroutine stacks per connection that has had its greeting. One op opens
// and closes 500 sessions.
func BenchmarkIdleSessions(b *testing.B) {
	const n = 500
	ts := startServer(b, serverConfig{opts: func(o *Options) { o.MaxConnections, o.MaxPerClient = 2*n, 2*n }})
	for b.Loop() {
		// The sessions of the last round must be gone first.
		for ts.srv.sessions() > 0 {
			time.Sleep(time.Millisecond)
		}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		buf := make([]byte, 64)
		for range n {
			c, err := net.Dial("tcp", ts.addr)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadAtLeast(c, buf, len(greeting)+2); err != nil {
				b.Fatal(err)
			}
			conns = append(conns, c)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perConn := float64(after.HeapInuse+after.StackInuse-before.HeapInuse-before.StackInuse) / n
		b.ReportMetric(perConn, "bytes/session")
		for _, c := range conns {
			c.Close()
		}
	}
}
