package remote

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
)

// tarpitMX is a hostile MX on ip at the world's port: every connection
// gets endless "220-" continuation lines, one byte every gap, so that no
// single read ever times out. It counts the connections it holds.
type tarpitMX struct {
	open, most atomic.Int64
}

func (w *world) tarpit(ip string, gap time.Duration) *tarpitMX {
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, w.port))
	if err != nil {
		w.t.Fatal(err)
	}
	tp := &tarpitMX{}
	var wg sync.WaitGroup
	w.t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				n := tp.open.Add(1)
				defer tp.open.Add(-1)
				for m := tp.most.Load(); n > m && !tp.most.CompareAndSwap(m, n); m = tp.most.Load() {
				}
				line := []byte("220-tarpit.test ESMTP please wait\r\n")
				for i := 0; ; i = (i + 1) % len(line) {
					if _, err := c.Write(line[i : i+1]); err != nil {
						return
					}
					time.Sleep(gap)
				}
			})
		}
	})
	return tp
}

// tarpitWorld is a tarpit MX for tarpit.test beside a normal sink for
// ok.test.
func tarpitWorld(t *testing.T) (*world, *tarpitMX, *smtptest.Server) {
	w := newWorld(t)
	w.dns.Add("tarpit.test. 60 IN MX 10 mx.tarpit.test.", "mx.tarpit.test. 60 IN A 127.0.0.4",
		"ok.test. 60 IN MX 10 mx.ok.test.", "mx.ok.test. 60 IN A 127.0.0.3")
	return w, w.tarpit("127.0.0.4", 20*time.Millisecond), w.server("127.0.0.3", smtptest.Config{Pipelining: true})
}

// With the daemon's defaults (20 sessions, the per-destination limit left
// to the transport, a destination holding at most three quarters of the
// 80 messages in progress) a tarpit holds its share, a quarter of the
// sessions, and mail to another domain is delivered at once beside it.
// The scheduler is played by inProgress callers that keep asking for the
// tarpit's messages.
func TestTarpitHoldsOnlyItsShare(t *testing.T) {
	w, tp, sink := tarpitWorld(t)
	const sessions, inProgress = 20, 80
	tr := w.transport(Options{Sessions: sessions, MaxWaiting: inProgress * 3 / 4, BusyRetry: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for i := range inProgress - 1 {
		wg.Go(func() {
			for ctx.Err() == nil {
				res := tr.Deliver(ctx, job(store.ID(1000+i), "a@qsend.test", "x@tarpit.test"))
				if res[0].NotAttempted {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	share := int64(sessions / 4)
	deadline := time.Now().Add(5 * time.Second)
	for tp.open.Load() < share && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the tarpit take more if it can
	start := time.Now()
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	res := tr.Deliver(dctx, job(1, "a@qsend.test", "y@ok.test"))
	dcancel()
	took := time.Since(start)
	t.Logf("ok.test delivered in %v beside a tarpit holding %d sessions (at most %d)", took, tp.open.Load(), tp.most.Load())
	want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
	if took > 2*time.Second {
		t.Errorf("ok.test took %v beside the tarpit", took)
	}
	if got := tp.most.Load(); got != share {
		t.Errorf("the tarpit held %d sessions at once, want its share %d", got, share)
	}
	if len(sink.Messages()) != 1 {
		t.Errorf("sink got %d messages", len(sink.Messages()))
	}
}

// A tarpit's greeting ends at its step's deadline with a deferral that
// names the step.
func TestTarpitGreetingTimesOut(t *testing.T) {
	w, _, _ := tarpitWorld(t)
	tr := w.transport(Options{Client: smtpclient.Options{Phases: smtpclient.Phases{Helo: 300 * time.Millisecond}}})
	start := time.Now()
	res := deliver(tr, job(1, "a@qsend.test", "x@tarpit.test"))
	want(t, res, 0, store.Deferred, "Connected to 127.0.0.4 but the greeting step took longer than 300ms; giving up on the connection. (#4.4.2)")
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the attempt took %v", took)
	}
}

// After a short outage a flush makes the next attempt go ahead at once
// instead of waiting for the destination's backoff.
func TestResetBackoffAfterOutage(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("back.test. 60 IN MX 10 mx.back.test.", "mx.back.test. 60 IN A 127.0.0.3",
		"other.test. 60 IN MX 10 mx.other.test.", "mx.other.test. 60 IN A 127.0.0.5")
	tr := w.transport(Options{})
	want(t, deliver(tr, job(1, "a@qsend.test", "b@back.test")), 0, store.Deferred, noConnection[:20])
	want(t, deliver(tr, job(2, "a@qsend.test", "c@other.test")), 0, store.Deferred, noConnection[:20])
	w.server("127.0.0.3", smtptest.Config{Pipelining: true}) // the outage is over
	if res := deliver(tr, job(3, "a@qsend.test", "b@back.test")); !res[0].NotAttempted {
		t.Fatalf("before the flush: %+v, want a wait for the backoff", res[0])
	}
	tr.ResetBackoff([]string{"b@BACK.test"})
	start := time.Now()
	want(t, deliver(tr, job(3, "a@qsend.test", "b@back.test")), 0, store.Delivered, "127.0.0.3 accepted message.")
	t.Logf("delivered %v after the flush", time.Since(start))
	if res := deliver(tr, job(4, "a@qsend.test", "d@other.test")); !res[0].NotAttempted {
		t.Fatalf("a destination the flush did not touch: %+v, want still backed off", res[0])
	}
	tr.ResetBackoff(nil)
	if res := deliver(tr, job(4, "a@qsend.test", "d@other.test")); res[0].NotAttempted {
		t.Fatalf("after a flush of everything: %+v, want an attempt", res[0])
	}
}
