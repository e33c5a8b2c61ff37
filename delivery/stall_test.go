package delivery

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// TestWaitsDoNotStallTheQueue: many messages queued before the loop
// starts, all for the remote channel, a remote transport that puts a share
// of its jobs back as waits (a busy destination) and delivers the rest,
// and an idle local channel whose scan runs ahead of the remote one: every
// message is delivered, the never-attempted ones as well as the ones that
// waited. (The remote channel, freed while the scan served only the local
// one, once took up that batch and jumped past entries it never saw.)
func TestWaitsDoNotStallTheQueue(t *testing.T) {
	const n = 5000
	// Like remote delivery to one destination: 100 sessions, at most 300
	// attempts holding or waiting for one; beyond that an attempt is put
	// back for a second without counting.
	sessions := make(chan struct{}, 100)
	var holding atomic.Int64
	tr := &funcTransport{answer: func(job Job) []store.Result {
		out := make([]store.Result, len(job.Rcpts))
		if holding.Add(1) > 300 {
			holding.Add(-1)
			for i := range out {
				out[i] = store.Result{State: store.Deferred, NotAttempted: true, Next: time.Now().Add(time.Second)}
			}
			return out
		}
		defer holding.Add(-1)
		sessions <- struct{}{}
		time.Sleep(time.Millisecond)
		<-sessions
		for i := range out {
			out[i] = store.Result{State: store.Delivered, Text: "ok\n"}
		}
		return out
	}}
	e := newEnv(t, func(o *Options) {
		o.Remote = tr
		o.Local = &funcTransport{answer: func(Job) []store.Result { return nil }}
		o.ConcurrencyRemote = 400
		o.Now = time.Now
	})
	for i := range n {
		if _, err := e.st.Enqueue(context.Background(), store.NewMessage{Sender: "a@x.example",
			Recipients: []string{fmt.Sprintf("r%d@d.example", i)}, Intake: store.Intake{Protocol: "qmail-queue"}},
			strings.NewReader("hi\n")); err != nil {
			t.Fatal(err)
		}
	}
	e.run()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := e.stats()
		if st.Messages == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages left; status %+v", st.Messages, e.s.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
