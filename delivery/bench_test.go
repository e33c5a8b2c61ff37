package delivery

import (
	"context"
	"testing"
	"time"
)

// BenchmarkEventBlocked is the cost of one loop wake-up with 20,000 due
// messages that no channel can take (the state with no transports).
func BenchmarkEventBlocked(b *testing.B) {
	e := newEnv(&testing.T{}, nil)
	defer e.st.Close()
	e.t = nil
	fillB(b, e, 20000)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		e.s.pump(ctx)
	}
	if e.s.Status().Examined != 0 {
		b.Fatal("blocked mail was read")
	}
}

// BenchmarkDeliver is the scheduler's overhead per message with a
// transport that accepts everything at once: dispatch, Record, log,
// completion and Delete on a real store.
func BenchmarkDeliver(b *testing.B) {
	tr := &scriptTransport{}
	e := newEnv(&testing.T{}, func(o *Options) { o.Remote = tr })
	defer e.st.Close()
	e.t = nil
	n := b.N
	fillB(b, e, n)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	b.ResetTimer()
	go func() { done <- e.s.Run(ctx) }()
	for {
		st, err := e.st.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if st.Messages == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	<-done
}

func fillB(b *testing.B, e *env, n int) {
	b.Helper()
	t := &testing.T{}
	e.t = t
	e.fill(n)
	if t.Failed() {
		b.Fatal("fill failed")
	}
}

// BenchmarkEventWalk is the cost of one wake-up when the remote channel
// has room but 20,000 due messages ahead of its scan position wait for the
// local channel, which has no transport. The store can only walk its
// schedule from the head, so this is a cursor walk over those entries
// (no message is read); a seek in the store would make it O(log n).
func BenchmarkEventWalk(b *testing.B) {
	e := newEnv(&testing.T{}, func(o *Options) {
		o.Remote = &scriptTransport{}
		o.Route = func(string) Channel { return Local }
	})
	defer e.st.Close()
	fillB(b, e, 20000)
	ctx := context.Background()
	e.s.pump(ctx) // the first pass reads each message once
	examined := e.s.Status().Examined
	b.ResetTimer()
	for b.Loop() {
		e.s.pump(ctx)
	}
	if e.s.Status().Examined != examined {
		b.Fatal("messages read again")
	}
}
