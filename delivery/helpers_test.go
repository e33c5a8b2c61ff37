package delivery

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/internal/qmaillog"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/store"
)

// start is the fake clock's first reading.
var start = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// outcome is a scripted result.
type outcome struct {
	state store.RcptState
	text  string
}

// attempt is one recipient's attempt as the transport saw it.
type attempt struct {
	id   store.ID
	addr string
	body string
}

// scriptTransport answers each recipient from a script by address (the
// last entry repeats; no entry means delivered), records what it was
// given, and can be made to wait until released or canceled.
type scriptTransport struct {
	mu       sync.Mutex
	script   map[string][]outcome
	attempts []attempt
	gate     chan struct{} // when set, Deliver waits for it to close or ctx
	running  int
	maxRun   int
}

func (tr *scriptTransport) Deliver(ctx context.Context, job Job) []store.Result {
	tr.mu.Lock()
	tr.running++
	tr.maxRun = max(tr.maxRun, tr.running)
	gate := tr.gate
	tr.mu.Unlock()
	defer func() {
		tr.mu.Lock()
		tr.running--
		tr.mu.Unlock()
	}()
	body := ""
	if rc, err := job.Body(); err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		body = string(b)
	}
	canceled := false
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			canceled = true
		}
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []store.Result
	for _, i := range job.Rcpts {
		addr := job.Msg.Recipients[i].Addr
		tr.attempts = append(tr.attempts, attempt{job.Msg.ID, addr, body})
		o := outcome{store.Delivered, "ok\n"}
		if s := tr.script[addr]; len(s) > 0 {
			o = s[0]
			if len(s) > 1 {
				tr.script[addr] = s[1:]
			}
		}
		if canceled {
			o = outcome{store.Deferred, "canceled\n"}
		}
		out = append(out, store.Result{State: o.state, Text: o.text})
	}
	return out
}

func (tr *scriptTransport) Attempts() []attempt {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.attempts)
}

func (tr *scriptTransport) Running() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.running
}

// env is a scheduler on a real store in a temporary directory, with a
// fake clock and the qmail log in a buffer.
type env struct {
	t     *testing.T
	st    *store.Store
	clock *fakeClock
	log   *testlib.LogBuffer
	opts  Options
	s     *Scheduler
	stop  func()
}

func newEnv(t *testing.T, mod func(o *Options)) *env {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "queue"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, clock: &fakeClock{t: start}, log: &testlib.LogBuffer{}}
	e.opts = Options{
		Store:             st,
		Logger:            slog.New(qmaillog.NewHandler(e.log, slog.LevelInfo)),
		ConcurrencyRemote: 20,
		ConcurrencyLocal:  10,
		Bounce: BounceSettings{BounceFrom: "MAILER-DAEMON", BounceHost: "mx.example",
			DoubleBounceTo: "postmaster", DoubleBounceHost: "mx.example"},
		ShutdownGrace: 5 * time.Second,
		Now:           e.clock.Now,
	}
	if mod != nil {
		mod(&e.opts)
	}
	e.s = New(e.opts)
	return e
}

// enqueue queues a message born now and announces it.
func (e *env) enqueue(sender string, rcpts ...string) store.Message {
	e.t.Helper()
	id, err := e.st.Enqueue(context.Background(), store.NewMessage{
		Sender: sender, Recipients: rcpts, Born: e.clock.Now(),
		Intake: store.Intake{Protocol: "qmail-queue", UID: 1000, PID: 77},
	}, strings.NewReader("Subject: test\n\nhello\n"))
	if err != nil {
		e.t.Fatal(err)
	}
	m := e.get(id)
	e.s.Enqueued(m)
	return m
}

func (e *env) get(id store.ID) store.Message {
	e.t.Helper()
	m, err := e.st.Get(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// run starts the loop; the returned function (also a cleanup) stops it
// and waits for Run to return.
func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run: %v", err)
			}
		})
	}
	e.t.Cleanup(e.stop)
}

// advance moves the clock and wakes the loop, as its timer would.
func (e *env) advance(d time.Duration) {
	e.clock.Set(e.clock.Now().Add(d))
	e.s.poke()
}

// waitFor polls cond until it holds or a deadline passes.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; log:\n%s", what, strings.Join(e.log.Lines(), "\n"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) waitLine(line string) {
	e.t.Helper()
	e.waitFor("log line "+line, func() bool { return e.log.Has(line) })
}

// gone reports whether message id has left the queue.
func (e *env) gone(id store.ID) bool {
	_, err := e.st.Get(id)
	return err != nil
}

// quiesce gives the loop a chance to act on everything.
func (e *env) quiesce() {
	for range 3 {
		e.s.poke()
		time.Sleep(20 * time.Millisecond)
	}
}

// settle waits until the loop has had a chance to act on everything and
// nothing is running.
func (e *env) settle() {
	e.t.Helper()
	e.quiesce()
	e.waitFor("idle", func() bool {
		st := e.s.Status()
		return st.Remote.InFlight == 0 && st.Local.InFlight == 0
	})
}

func (e *env) stats() store.Stats {
	e.t.Helper()
	st, err := e.st.Stats()
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}
