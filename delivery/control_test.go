package delivery

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

func TestConcurrencyLimit(t *testing.T) {
	tr := &scriptTransport{gate: make(chan struct{})}
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.ConcurrencyRemote = 2 })
	var ids []store.ID
	for range 5 {
		ids = append(ids, e.enqueue("joe@example.com", "a@x.example").ID)
	}
	e.run()
	e.waitFor("two jobs", func() bool { return tr.Running() == 2 })
	e.quiesce()
	if st := e.s.Status(); st.Remote.InFlight != 2 || tr.Running() != 2 {
		t.Fatalf("status %+v, running %d", st, tr.Running())
	}
	close(tr.gate)
	for _, id := range ids {
		e.waitLine("end msg " + id.String())
	}
	if tr.maxRun != 2 {
		t.Errorf("%d jobs ran at once, limit 2", tr.maxRun)
	}
	if e.log.Has("status: local 0/10 remote 3/2") || !e.log.Has("status: local 0/10 remote 2/2") {
		t.Errorf("status lines wrong:\n%s", strings.Join(e.log.Lines(), "\n"))
	}
}

func TestConcurrencyZeroHolds(t *testing.T) {
	tr := &scriptTransport{}
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.ConcurrencyRemote = 0 })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.settle()
	if len(tr.Attempts()) != 0 {
		t.Fatal("delivered on a held channel")
	}
	o := e.opts
	o.ConcurrencyRemote = 1
	e.s.Reconfigure(o)
	e.waitLine("end msg " + m.ID.String())
	if st := e.s.Status(); st.Remote.Limit != 1 {
		t.Errorf("status %+v", st)
	}
}

func TestHoldRelease(t *testing.T) {
	tr := &scriptTransport{}
	e := newEnv(t, func(o *Options) { o.Remote = tr })
	m := e.enqueue("joe@example.com", "a@x.example")
	if err := e.s.Hold(m.ID); err != nil {
		t.Fatal(err)
	}
	e.run()
	e.advance(time.Hour)
	e.s.FlushAll()
	e.settle()
	if len(tr.Attempts()) != 0 || !e.get(m.ID).Held {
		t.Fatal("held message delivered")
	}
	if err := e.s.Release(m.ID); err != nil {
		t.Fatal(err)
	}
	e.waitLine("end msg " + m.ID.String())
}

func TestUnknownID(t *testing.T) {
	e := newEnv(t, nil)
	for name, fn := range map[string]func(store.ID) error{
		"hold": e.s.Hold, "release": e.s.Release, "delete": e.s.Delete, "bounce": e.s.Bounce,
		"flush": func(id store.ID) error { return e.s.Flush(id) },
	} {
		if err := fn(12345); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, nil)
	m := e.enqueue("joe@example.com", "a@x.example")
	if err := e.s.Delete(m.ID); err != nil {
		t.Fatal(err)
	}
	if !e.gone(m.ID) || !e.log.Has("end msg "+m.ID.String()) {
		t.Error("not deleted")
	}
}

func TestFlush(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{
		"a@x.example": {{store.Deferred, "busy\n"}},
		"b@x.example": {{store.Deferred, "busy\n"}},
		"c@x.example": {{store.Deferred, "busy\n"}},
	}}
	e := newEnv(t, func(o *Options) { o.Remote = tr })
	a := e.enqueue("joe@example.com", "a@x.example")
	b := e.enqueue("joe@example.com", "b@x.example")
	c := e.enqueue("joe@example.com", "c@x.example")
	e.run()
	e.waitFor("three attempts", func() bool { return len(tr.Attempts()) == 3 })
	e.settle()

	// Flush one: only it is tried again, at once.
	e.advance(10 * time.Second)
	if err := e.s.Flush(a.ID); err != nil {
		t.Fatal(err)
	}
	e.waitFor("flushed attempt", func() bool { return len(tr.Attempts()) == 4 })
	e.settle()
	if got := tr.Attempts()[3].id; got != a.ID {
		t.Errorf("flushed %d, want %d", got, a.ID)
	}
	// The retry after a flush follows the formula from birth:
	// (isqrt(10) + 20)² = 529 s.
	if r := e.get(a.ID).Recipients[0]; !r.NextAttempt.Equal(start.Add(529 * time.Second)) {
		t.Errorf("next attempt after flush %v", r.NextAttempt.Sub(start))
	}

	// FlushAll: every message once more, and only once.
	e.advance(10 * time.Second)
	e.s.FlushAll()
	e.waitFor("flush-all attempts", func() bool { return len(tr.Attempts()) == 7 })
	e.settle()
	e.s.poke()
	e.settle()
	if n := len(tr.Attempts()); n != 7 {
		t.Errorf("%d attempts after FlushAll, want 7", n)
	}
	// (isqrt(20) + 20)² = 576 s.
	for _, id := range []store.ID{a.ID, b.ID, c.ID} {
		if r := e.get(id).Recipients[0]; !r.NextAttempt.Equal(start.Add(576 * time.Second)) {
			t.Errorf("message %d: next attempt %v after FlushAll", id, r.NextAttempt.Sub(start))
		}
	}
	if err := e.s.Flush(a.ID, 999, b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Flush with an unknown id: %v", err)
	}
}

// TestFlushAllLimited flushes more messages than the channel takes at
// once: the pass continues as jobs end.
func TestFlushAllLimited(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{}}
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.ConcurrencyRemote = 1 })
	for range 6 {
		e.enqueue("joe@example.com", "d@x.example")
	}
	tr.script["d@x.example"] = []outcome{{store.Deferred, "busy\n"}}
	e.run()
	e.waitFor("first pass", func() bool { return len(tr.Attempts()) == 6 })
	e.settle()
	e.advance(time.Second)
	e.s.FlushAll()
	e.waitFor("flush pass", func() bool { return len(tr.Attempts()) == 12 })
	e.settle()
	if n := len(tr.Attempts()); n != 12 || tr.maxRun != 1 {
		t.Errorf("%d attempts, %d at once", n, tr.maxRun)
	}
}

func TestControlInFlight(t *testing.T) {
	tests := []struct {
		name  string
		act   func(s *Scheduler, id store.ID) error
		check func(e *env, id store.ID)
	}{
		{"hold", (*Scheduler).Hold, func(e *env, id store.ID) {
			if m := e.get(id); !m.Held || m.Recipients[0].Attempts != 1 {
				e.t.Errorf("after hold: %+v", m)
			}
		}},
		{"delete", (*Scheduler).Delete, func(e *env, id store.ID) {
			e.waitLine("end msg " + id.String())
			if !e.gone(id) {
				e.t.Error("not deleted")
			}
		}},
		{"bounce", (*Scheduler).Bounce, func(e *env, id store.ID) {
			e.waitLine("end msg " + id.String())
			e.waitLine("bounce msg " + id.String() + " qp " + strconv.Itoa(e.s.pid))
		}},
		{"hold then release", func(s *Scheduler, id store.ID) error {
			if err := s.Hold(id); err != nil {
				return err
			}
			return s.Release(id)
		}, func(e *env, id store.ID) {
			if m := e.get(id); m.Held {
				e.t.Error("held after release")
			}
		}},
		{"flush", func(s *Scheduler, id store.ID) error { return s.Flush(id) }, func(e *env, id store.ID) {
			// Retried at once after the job that was running.
			e.waitFor("second attempt", func() bool { return e.get(id).Recipients[0].Attempts == 2 })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			tr := &scriptTransport{gate: gate, script: map[string][]outcome{"a@x.example": {{store.Deferred, "busy\n"}}}}
			e := newEnv(t, func(o *Options) { o.Remote = tr })
			m := e.enqueue("joe@example.com", "a@x.example")
			e.run()
			e.waitFor("job running", func() bool { return tr.Running() == 1 })
			if err := tc.act(e.s, m.ID); err != nil {
				t.Fatal(err)
			}
			tr.mu.Lock()
			tr.gate = nil
			tr.mu.Unlock()
			close(gate)
			e.waitLine("delivery 1: deferral: busy/")
			e.settle()
			tc.check(e, m.ID)
		})
	}
}

func TestShutdownGrace(t *testing.T) {
	tr := &scriptTransport{gate: make(chan struct{})} // never opens
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.ShutdownGrace = 200 * time.Millisecond })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.waitFor("job running", func() bool { return tr.Running() == 1 })
	t0 := time.Now()
	e.stop()
	if d := time.Since(t0); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("Run returned after %v, grace 200ms", d)
	}
	r := e.get(m.ID).Recipients[0]
	if r.State != store.Deferred || r.Attempts != 1 || r.LastResult != "canceled\n" {
		t.Errorf("result not recorded: %+v", r)
	}
	if !e.log.Has("delivery 1: deferral: canceled/") {
		t.Error("deferral not logged")
	}
	// A second run picks the queue up again; the recipient waits for its
	// retry time.
	tr.mu.Lock()
	tr.gate = nil
	tr.mu.Unlock()
	e.s.Reconfigure(e.opts)
	e.run()
	e.advance(400 * time.Second)
	e.waitLine("end msg " + m.ID.String())
}

// TestMixedChannels checks a message with recipients on both channels
// when the local channel cannot deliver: the remote recipient is still
// retried on time although the local one holds the entry early.
func TestMixedChannels(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{"r@remote.example": {{store.Deferred, "busy\n"}}}}
	e := newEnv(t, func(o *Options) {
		o.Remote = tr
		o.Route = func(addr string) Channel {
			if strings.HasSuffix(addr, "@here") {
				return Local
			}
			return Remote
		}
	})
	m := e.enqueue("joe@example.com", "l@here", "r@remote.example")
	e.run()
	e.waitLine("delivery 1: deferral: busy/")
	e.settle()
	e.advance(400 * time.Second)
	e.waitLine("delivery 2: deferral: busy/")
	e.advance(1200 * time.Second)
	e.waitLine("delivery 3: deferral: busy/")
	e.settle()
	for _, a := range tr.Attempts() {
		if a.addr != "r@remote.example" {
			t.Errorf("local recipient sent remote: %+v", a)
		}
	}
	if r := e.get(m.ID).Recipients[0]; r.Attempts != 0 {
		t.Errorf("local recipient attempted: %+v", r)
	}
}
