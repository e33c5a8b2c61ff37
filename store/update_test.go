package store

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestScheduleRules drives one message through a sequence of operations
// and checks its single schedule entry after each.
func TestScheduleRules(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type step struct {
		op   func(s *Store, id ID) error
		want *time.Time // nil: no entry; zero: due for completion
	}
	rec := func(res ...Result) func(*Store, ID) error {
		return func(s *Store, id ID) error { _, err := s.Record(id, res); return err }
	}
	hold := func(h bool) func(*Store, ID) error { return func(s *Store, id ID) error { return s.SetHeld(id, h) } }
	resched := func(t time.Time) func(*Store, ID) error {
		return func(s *Store, id ID) error { return s.Reschedule(id, t) }
	}
	tp := func(t time.Time) *time.Time { return &t }
	zero := tp(time.Time{})
	tests := []struct {
		name  string
		rcpts int
		held  bool
		steps []step
	}{
		{"new message due at birth", 2, false, []step{{nil, tp(t0)}}},
		{"new held message has no entry", 1, true, []step{{nil, nil}, {hold(false), tp(t0)}}},
		{"earliest non-final recipient wins", 3, false, []step{
			{rec(Result{Index: 0, State: Deferred, At: t0, Next: at(400 * time.Second)}), tp(t0)},
			{rec(Result{Index: 1, State: Deferred, At: t0, Next: at(1600 * time.Second)},
				Result{Index: 2, State: Deferred, At: t0, Next: at(900 * time.Second)}), tp(at(400 * time.Second))},
			{rec(Result{Index: 0, State: Delivered, At: at(400 * time.Second)}), tp(at(900 * time.Second))},
			{rec(Result{Index: 2, State: Failed, At: at(900 * time.Second)}), tp(at(1600 * time.Second))},
			{rec(Result{Index: 1, State: Delivered, At: at(1600 * time.Second)}), zero},
		}},
		{"all final is due for completion", 2, false, []step{
			{rec(Result{Index: 0, State: Delivered, At: t0}, Result{Index: 1, State: Failed, At: t0}), zero},
		}},
		{"hold removes, release restores", 2, false, []step{
			{rec(Result{Index: 0, State: Deferred, At: t0, Next: at(time.Hour)}), tp(t0)},
			{hold(true), nil},
			{hold(true), nil},
			{rec(Result{Index: 1, State: Deferred, At: t0, Next: at(2 * time.Hour)}), nil},
			{hold(false), tp(at(time.Hour))},
		}},
		{"held and final is due for completion: nothing is left to hold", 1, false, []step{
			{hold(true), nil},
			{rec(Result{Index: 0, State: Delivered, At: t0}), zero},
			{hold(false), zero},
		}},
		{"reschedule moves every non-final recipient", 3, false, []step{
			{rec(Result{Index: 0, State: Delivered, At: t0},
				Result{Index: 1, State: Deferred, At: t0, Next: at(time.Hour)},
				Result{Index: 2, State: Deferred, At: t0, Next: at(2 * time.Hour)}), tp(at(time.Hour))},
			{resched(at(3 * time.Hour)), tp(at(3 * time.Hour))},
			{resched(at(time.Minute)), tp(at(time.Minute))},
		}},
		{"reschedule of a held message keeps it held", 1, true, []step{
			{resched(at(time.Minute)), nil},
			{hold(false), tp(at(time.Minute))},
		}},
		{"zero next attempt sorts before real times, not as complete", 1, false, []step{
			{rec(Result{Index: 0, State: Deferred, At: t0}), tp(time.Unix(0, 1))},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, Options{})
			m := msg(make([]string, tt.rcpts)...)
			for i := range m.Recipients {
				m.Recipients[i] = strings.Repeat("r", i+1) + "@example.com"
			}
			m.Held = tt.held
			// Another message keeps the index from being trivially empty.
			other := enqueue(t, s, msg("other@x"), "o")
			if err := s.Reschedule(other, t0.Add(1000*time.Hour)); err != nil {
				t.Fatal(err)
			}
			id := enqueue(t, s, m, "body")
			for i, st := range tt.steps {
				if st.op != nil {
					if err := st.op(s, id); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				var got []time.Time
				for _, e := range schedule(t, s) {
					if e.id == id {
						got = append(got, e.at)
					}
				}
				switch {
				case st.want == nil && len(got) != 0:
					t.Errorf("step %d: entries %v, want none", i, got)
				case st.want != nil && (len(got) != 1 || !got[0].Equal(*st.want)):
					t.Errorf("step %d: entries %v, want one at %v", i, got, *st.want)
				}
				mustCheck(t, s)
			}
		})
	}
}

func TestScheduleOrderAndNextDue(t *testing.T) {
	s := openTest(t, Options{})
	var ids []ID
	for i := range 5 {
		m := msg("a@x")
		m.Born = t0.Add(time.Duration(5-i) * time.Minute) // later ids are due earlier
		ids = append(ids, enqueue(t, s, m, "x"))
	}
	// Same time: id order.
	m := msg("a@x")
	m.Born = t0.Add(time.Minute)
	same := enqueue(t, s, m, "x")
	got := schedule(t, s)
	want := []ID{ids[4], same, ids[3], ids[2], ids[1], ids[0]}
	for i := range want {
		if got[i].id != want[i] {
			t.Fatalf("schedule %v, want ids %v", got, want)
		}
	}
	at, id, ok, err := s.NextDue()
	if err != nil || !ok || id != ids[4] || !at.Equal(t0.Add(time.Minute)) {
		t.Errorf("NextDue = %v, %d, %v, %v", at, id, ok, err)
	}
	// Completion sorts first.
	if _, err := s.Record(ids[0], []Result{{Index: 0, State: Delivered, At: t0}}); err != nil {
		t.Fatal(err)
	}
	at, id, ok, err = s.NextDue()
	if err != nil || !ok || id != ids[0] || !at.IsZero() {
		t.Errorf("NextDue after completion = %v, %d, %v, %v", at, id, ok, err)
	}
	n := 0
	s.ScanSchedule(func(time.Time, ID) bool { n++; return n < 3 })
	if n != 3 {
		t.Errorf("ScanSchedule went on after false: %d calls", n)
	}
}

func TestRecord(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x", "b@y", "c@z"), "body")
	next := t0.Add(400 * time.Second)
	m, err := s.Record(id, []Result{
		{Index: 0, State: Delivered, Text: "Remote host said: 250 ok", At: t0.Add(time.Second)},
		{Index: 1, State: Deferred, Text: "Connected to 192.0.2.1 but connection died.", At: t0.Add(2 * time.Second), Next: next},
		{Index: 2, State: Failed, Text: "Remote host said: 550 no such user", At: t0.Add(3 * time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Recipient{
		{Addr: "a@x", State: Delivered, Attempts: 1, NextAttempt: t0, LastAttempt: t0.Add(time.Second), LastResult: "Remote host said: 250 ok"},
		{Addr: "b@y", State: Deferred, Attempts: 1, NextAttempt: next, LastAttempt: t0.Add(2 * time.Second), LastResult: "Connected to 192.0.2.1 but connection died."},
		{Addr: "c@z", State: Failed, Attempts: 1, NextAttempt: t0, LastAttempt: t0.Add(3 * time.Second), LastResult: "Remote host said: 550 no such user"},
	}
	got, _ := s.Get(id)
	for _, mm := range []Message{m, got} {
		for i := range want {
			g := mm.Recipients[i]
			w := want[i]
			if g.Addr != w.Addr || g.State != w.State || g.Attempts != w.Attempts || !g.NextAttempt.Equal(w.NextAttempt) ||
				!g.LastAttempt.Equal(w.LastAttempt) || g.LastResult != w.LastResult {
				t.Errorf("recipient %d = %+v, want %+v", i, g, w)
			}
		}
	}
	if st, _ := s.Stats(); st.Recipients != 1 {
		t.Errorf("non-final recipients %d, want 1", st.Recipients)
	}
	m, err = s.Record(id, []Result{{Index: 1, State: Deferred, At: next, Next: next.Add(time.Hour)}})
	if err != nil || m.Recipients[1].Attempts != 2 {
		t.Errorf("second deferral: attempts %d, %v", m.Recipients[1].Attempts, err)
	}
	mustCheck(t, s)
}

func TestRecordRefused(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x", "b@y"), "body")
	if _, err := s.Record(id, []Result{{Index: 0, State: Delivered, At: t0}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Get(id)
	beforeStats, _ := s.Stats()
	beforeSched := schedule(t, s)
	tests := []struct {
		name string
		res  []Result
	}{
		{"index too large", []Result{{Index: 1, State: Deferred, At: t0, Next: t0}, {Index: 2, State: Delivered}}},
		{"negative index", []Result{{Index: -1, State: Delivered}}},
		{"already final", []Result{{Index: 1, State: Delivered}, {Index: 0, State: Failed}}},
		{"twice", []Result{{Index: 1, State: Deferred}, {Index: 1, State: Delivered}}},
		{"pending is no result", []Result{{Index: 1, State: Pending}}},
		{"unknown state", []Result{{Index: 1, State: RcptState(9)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Record(id, tt.res)
			wantErr(t, err, ErrInvalid)
			if !strings.Contains(err.Error(), "message "+id.String()) {
				t.Errorf("error %q does not name the message", err)
			}
			after, _ := s.Get(id)
			if !reflect.DeepEqual(after, before) {
				t.Errorf("refused Record changed the message:\n%+v\n%+v", before, after)
			}
		})
	}
	if st, _ := s.Stats(); st != beforeStats {
		t.Errorf("counters changed: %+v, was %+v", st, beforeStats)
	}
	if got := schedule(t, s); !reflect.DeepEqual(got, beforeSched) {
		t.Errorf("schedule changed: %v, was %v", got, beforeSched)
	}
}

func TestSetHeldCounters(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x"), "x")
	for _, tt := range []struct {
		held bool
		want int
	}{{true, 1}, {true, 1}, {false, 0}, {false, 0}, {true, 1}} {
		if err := s.SetHeld(id, tt.held); err != nil {
			t.Fatal(err)
		}
		st, _ := s.Stats()
		m, _ := s.Get(id)
		if st.Held != tt.want || m.Held != tt.held {
			t.Errorf("SetHeld(%v): Stats.Held %d, Message.Held %v", tt.held, st.Held, m.Held)
		}
	}
	mustCheck(t, s)
}

func TestDelete(t *testing.T) {
	s := openTest(t, Options{})
	s.chunkSize = 64
	keep := enqueue(t, s, msg("keep@x"), "keep")
	for _, tt := range []struct {
		name string
		m    NewMessage
		body string
	}{
		{"small", msg("a@x"), "small"},
		{"chunked with key", NewMessage{Recipients: []string{"a@x"}, DedupeKey: "k1"}, string(pattern(1000))},
		{"held", NewMessage{Recipients: []string{"a@x"}, Held: true}, "h"},
		{"complete", msg("a@x"), "c"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := enqueue(t, s, tt.m, tt.body)
			if tt.name == "complete" {
				if _, err := s.Record(id, []Result{{Index: 0, State: Delivered, At: t0}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Delete(id); err != nil {
				t.Fatal(err)
			}
			for _, e := range schedule(t, s) {
				if e.id == id {
					t.Errorf("schedule entry %v left", e)
				}
			}
			if st, _ := s.Stats(); st != (Stats{Messages: 1, Recipients: 1, Bytes: 4}) {
				t.Errorf("Stats %+v", st)
			}
			if tt.m.DedupeKey != "" {
				id2, err := s.Enqueue(context.Background(), tt.m, strings.NewReader("again"))
				if err != nil || id2 == id {
					t.Errorf("enqueue with the deleted message's key: %d, %v", id2, err)
				}
				if err := s.Delete(id2); err != nil {
					t.Fatal(err)
				}
			}
			mustCheck(t, s)
		})
	}
	if got := readBody(t, s, keep); string(got) != "keep" {
		t.Errorf("other body %q", got)
	}
}

// TestTLSPolicyMark: a TLS policy failure is remembered per recipient
// across a reopen, cleared by the next attempt's result, and kept by a
// wait that is not an attempt.
func TestTLSPolicyMark(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("a@x.example", "b@y.example"), "hi\n")
	next := t0.Add(time.Hour)
	if _, err := s.Record(id, []Result{{Index: 0, State: Deferred, At: t0, Next: next, Text: "TLS unable to verify server mx.x.example", TLSPolicy: true},
		{Index: 1, State: Deferred, At: t0, Next: next, Text: "timeout"}}); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, Options{})
	m, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Recipients[0].TLSPolicy || m.Recipients[1].TLSPolicy {
		t.Fatalf("marks %v %v, want true false", m.Recipients[0].TLSPolicy, m.Recipients[1].TLSPolicy)
	}
	if _, err := s.Record(id, []Result{{Index: 0, State: Deferred, NotAttempted: true, Next: next.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if m, _ = s.Get(id); !m.Recipients[0].TLSPolicy || m.Recipients[0].State != Deferred {
		t.Fatalf("a wait cleared the mark: %+v", m.Recipients[0])
	}
	if _, err := s.Record(id, []Result{{Index: 0, State: Deferred, At: next, Next: next.Add(time.Hour), Text: "timeout"}}); err != nil {
		t.Fatal(err)
	}
	if m, _ = s.Get(id); m.Recipients[0].TLSPolicy {
		t.Fatal("an attempt without a TLS failure kept the mark")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCache(t *testing.T) {
	s := openTest(t, Options{})
	if _, ok, err := s.CacheGet("mta-sts", "example.com"); ok || err != nil {
		t.Fatalf("empty cache: %v %v", ok, err)
	}
	if err := s.CachePut("mta-sts", "example.com", []byte("policy")); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, Options{})
	v, ok, err := s.CacheGet("mta-sts", "example.com")
	if !ok || err != nil || string(v) != "policy" {
		t.Fatalf("got %q %v %v", v, ok, err)
	}
	if keys, err := s.CacheKeys("mta-sts"); err != nil || len(keys) != 1 || keys[0] != "example.com" {
		t.Fatalf("keys %v %v", keys, err)
	}
	if _, ok, _ := s.CacheGet("other", "example.com"); ok {
		t.Fatal("namespaces are not separate")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
