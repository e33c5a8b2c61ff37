package delivery

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// fill queues n due messages quickly, sharing commits.
func (e *env) fill(n int) {
	e.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := e.st.Enqueue(context.Background(), store.NewMessage{
				Sender: "joe@example.com", Recipients: []string{"a@x.example"}, Born: e.clock.Now(),
			}, strings.NewReader("x\n"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			e.t.Fatal(err)
		}
	}
}

// TestBlockedMailCostsNothing checks that due mail a channel cannot take
// is not read again and again: with no transport it is never read, and
// with a full channel events read nothing more.
func TestBlockedMailCostsNothing(t *testing.T) {
	const n = 500
	t.Run("no transports", func(t *testing.T) {
		e := newEnv(t, nil)
		e.fill(n)
		e.run()
		for i := range 50 {
			e.advance(time.Duration(i) * time.Minute)
			e.s.FlushAll()
		}
		m := e.enqueue("joe@example.com", "b@x.example")
		e.settle()
		if got := e.s.Status().Examined; got != 0 {
			t.Errorf("read %d messages with nothing to deliver them", got)
		}
		// Completion still runs from the head of the index.
		if err := e.s.Bounce(m.ID); err != nil {
			t.Fatal(err)
		}
		e.waitLine("end msg " + m.ID.String())
	})
	t.Run("full channel", func(t *testing.T) {
		gate := make(chan struct{})
		tr := &scriptTransport{gate: gate}
		e := newEnv(t, func(o *Options) { o.Remote = tr; o.ConcurrencyRemote = 1 })
		e.fill(n)
		e.run()
		e.waitFor("one job", func() bool { return tr.Running() == 1 })
		e.quiesce()
		before := e.s.Status().Examined
		for range 50 {
			e.advance(time.Second)
			e.enqueue("joe@example.com", "b@x.example")
		}
		e.quiesce()
		if got := e.s.Status().Examined; got != before {
			t.Errorf("events read %d more messages while the channel was full (first pass %d)", got-before, before)
		}
		if before > 2 {
			t.Errorf("first pass read %d messages to start one job", before)
		}
		// Each finished job reads about one message to start the next.
		tr.mu.Lock()
		tr.gate = nil
		tr.mu.Unlock()
		close(gate)
		e.waitFor("queue empty", func() bool { return e.stats().Messages == 0 })
		if got := e.s.Status().Examined; got > 2*(n+50) {
			t.Errorf("read %d messages to deliver %d", got, n+50)
		}
	})
}
