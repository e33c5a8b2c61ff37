package delivery

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// funcTransport answers every job with answer.
type funcTransport struct {
	mu     sync.Mutex
	answer func(job Job) []store.Result
	jobs   int
}

func (tr *funcTransport) Deliver(_ context.Context, job Job) []store.Result {
	tr.mu.Lock()
	tr.jobs++
	tr.mu.Unlock()
	return tr.answer(job)
}

func (tr *funcTransport) Jobs() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.jobs
}

// TestFinishRetryAndWaits checks what the scheduler records for a
// deferral: the schedule's next attempt with the recipient's count, a
// transport's own time for a wait that was no attempt, and the failure of
// a wait in the message's last pass.
func TestFinishRetryAndWaits(t *testing.T) {
	backedOff := start.Add(3 * time.Hour)
	tests := []struct {
		name         string
		lifetime     time.Duration
		res          store.Result
		wantState    store.RcptState
		wantAttempts int
		wantNext     time.Time // for Deferred
		wantText     string
	}{
		{"attempt counts and the schedule sees N=1", 0,
			store.Result{State: store.Deferred, Text: "busy\n"},
			store.Deferred, 1, start.Add(time.Minute + 1), "busy\n"},
		{"wait with the transport's time", 0,
			store.Result{State: store.Deferred, Text: "backed off\n", NotAttempted: true, Next: backedOff},
			store.Deferred, 0, backedOff, "backed off\n"},
		{"wait without a time uses the schedule", 0,
			store.Result{State: store.Deferred, NotAttempted: true},
			store.Deferred, 0, start.Add(time.Minute + 1), ""},
		{"a final result cannot be a wait", 0,
			store.Result{State: store.Failed, Text: "no\n", NotAttempted: true},
			store.Failed, 1, time.Time{}, "no\n"},
		{"a wait in the last pass fails", time.Nanosecond,
			store.Result{State: store.Deferred, Text: "backed off\n", NotAttempted: true, Next: backedOff},
			store.Failed, 1, time.Time{}, "backed off\n" + dyingText},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &funcTransport{answer: func(Job) []store.Result { return []store.Result{tc.res} }}
			var seen []Deferral
			var mu sync.Mutex
			e := newEnv(t, func(o *Options) {
				o.Remote = tr
				o.QueueLifetime = tc.lifetime
				o.Retry = func(d Deferral) time.Time {
					mu.Lock()
					seen = append(seen, d)
					mu.Unlock()
					return d.End.Add(time.Minute + time.Duration(d.N))
				}
			})
			// Keep the message: a bounce would complete and delete it.
			m := e.enqueue("", "a@x.example", "b@y.example")
			if tc.lifetime > 0 {
				e.clock.Set(start.Add(time.Second))
			}
			e.run()
			e.waitFor("a job", func() bool { return tr.Jobs() > 0 })
			e.settle()
			e.stop()
			if tc.lifetime > 0 {
				// Every recipient failed: the message is gone, the log
				// tells.
				e.waitLine("delivery 1: failure: backed_off/I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long./")
				return
			}
			got, err := e.st.Get(m.ID)
			if err != nil {
				t.Fatal(err)
			}
			rc := got.Recipients[0]
			if rc.State != tc.wantState || rc.Attempts != tc.wantAttempts || rc.LastResult != tc.wantText {
				t.Errorf("recipient %+v, want state %s attempts %d text %q", rc, tc.wantState, tc.wantAttempts, tc.wantText)
			}
			if tc.wantState == store.Deferred && !rc.NextAttempt.Equal(tc.wantNext) {
				t.Errorf("next attempt %v, want %v", rc.NextAttempt, tc.wantNext)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, d := range seen {
				if d.N != 1 || !d.Born.Equal(m.Born) || d.Channel != Remote || d.Start.IsZero() || d.End.IsZero() {
					t.Errorf("schedule saw %+v", d)
				}
			}
		})
	}
}

// TestExponentialCounts checks that the n-th deferral of a recipient in
// the scheduler waits initial × 2^(n-1).
func TestExponentialCounts(t *testing.T) {
	tr := &funcTransport{answer: func(j Job) []store.Result {
		out := make([]store.Result, len(j.Rcpts))
		for i := range out {
			out[i] = store.Result{State: store.Deferred, Text: "busy\n"}
		}
		return out
	}}
	retry, err := RetryFunc(ScheduleExponential, time.Minute, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.Retry = retry })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute}
	for n, w := range want {
		e.waitFor("attempt", func() bool { return e.get(m.ID).Recipients[0].Attempts == n+1 })
		rc := e.get(m.ID).Recipients[0]
		if got := rc.NextAttempt.Sub(e.clock.Now()); got != w {
			t.Errorf("deferral %d waits %v, want %v", n+1, got, w)
		}
		e.settle()
		e.advance(w)
	}
}
