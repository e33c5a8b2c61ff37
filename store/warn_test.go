package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestRecordNotAttempted checks that a wait that was not an attempt moves
// only the next attempt time (and the text when one is given).
func TestRecordNotAttempted(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	tried := Result{Index: 0, State: Deferred, Text: "Connected to 192.0.2.1 but connection died. (#4.4.2)\n", At: at(time.Minute), Next: at(time.Hour)}
	tests := []struct {
		name string
		res  Result
		want Recipient
	}{
		{"wait with text", Result{Index: 0, State: Deferred, NotAttempted: true, Text: "example.com is backed off until later. (#4.4.1)\n", At: at(2 * time.Minute), Next: at(3 * time.Hour)},
			Recipient{State: Deferred, Attempts: 1, LastAttempt: at(time.Minute), NextAttempt: at(3 * time.Hour), LastResult: "example.com is backed off until later. (#4.4.1)\n"}},
		{"wait without text keeps the last result", Result{Index: 0, State: Deferred, NotAttempted: true, At: at(2 * time.Minute), Next: at(2 * time.Hour)},
			Recipient{State: Deferred, Attempts: 1, LastAttempt: at(time.Minute), NextAttempt: at(2 * time.Hour), LastResult: tried.Text}},
		{"an attempt counts", Result{Index: 0, State: Deferred, Text: "again\n", At: at(2 * time.Minute), Next: at(2 * time.Hour)},
			Recipient{State: Deferred, Attempts: 2, LastAttempt: at(2 * time.Minute), NextAttempt: at(2 * time.Hour), LastResult: "again\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			id := enqueue(t, s, msg("bob@example.com"), "body\n")
			if _, err := s.Record(id, []Result{tried}); err != nil {
				t.Fatal(err)
			}
			m, err := s.Record(id, []Result{tc.res})
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Addr = "bob@example.com"
			if got := m.Recipients[0]; !sameRecipient(got, tc.want) {
				t.Errorf("recipient\n got %+v\nwant %+v", got, tc.want)
			}
			// The schedule entry follows the new next attempt.
			s2 := reopen(t, s, Options{})
			if m2, err := s2.Get(id); err != nil || !sameRecipient(m2.Recipients[0], tc.want) {
				t.Errorf("after reopen: %+v, %v", m2.Recipients, err)
			}
		})
	}
}

func TestRecordNotAttemptedRefusedForFinal(t *testing.T) {
	s := openTest(t, Options{})
	id := enqueue(t, s, msg("bob@example.com"), "body\n")
	for _, st := range []RcptState{Delivered, Failed} {
		_, err := s.Record(id, []Result{{Index: 0, State: st, NotAttempted: true, At: t0}})
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s not attempted: err %v, want ErrInvalid", st, err)
		}
	}
}

// TestWarnedOf checks that queuing a delay warning sets the Warned flag
// of the message it is about in the same commit, for small and large
// bodies, and again when the warning is found under its dedupe key.
func TestWarnedOf(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"small", "warning\n"},
		{"large", strings.Repeat("x", 350)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			s.chunkSize = 100
			orig := enqueue(t, s, msg("bob@example.com"), "body\n")
			if m, _ := s.Get(orig); m.Warned {
				t.Fatal("new message is warned")
			}
			w := msg("alice@example.org")
			w.Sender, w.DedupeKey, w.WarnedOf = "", "warn:"+orig.String(), orig
			wid := enqueue(t, s, w, tc.body)
			if m, _ := s.Get(orig); !m.Warned {
				t.Error("Warned not set by the warning's enqueue")
			}
			if m, _ := s.Get(wid); m.Warned {
				t.Error("the warning itself is marked")
			}
			// The flag survives a reopen.
			s = reopen(t, s, Options{})
			s.chunkSize = 100
			if m, _ := s.Get(orig); !m.Warned {
				t.Error("Warned lost on reopen")
			}
			// A duplicate still marks (a message whose flag was cleared by
			// a restore, say) and stores nothing.
			orig2 := enqueue(t, s, msg("carol@example.com"), "body\n")
			w.WarnedOf = orig2
			dup, err := s.Enqueue(context.Background(), w, strings.NewReader(tc.body))
			if !errors.Is(err, ErrDuplicate) || dup != wid {
				t.Fatalf("duplicate: %d, %v", dup, err)
			}
			if m, _ := s.Get(orig2); !m.Warned {
				t.Error("Warned not set on a duplicate")
			}
			// A warning about a vanished message is stored all the same.
			w.DedupeKey, w.WarnedOf = "", 999
			enqueue(t, s, w, tc.body)
		})
	}
}

// TestWarnedCompatible checks that a record written before the Warned
// flag existed (flags without bit 2) decodes with Warned false, and that
// Warned round-trips.
func TestWarnedCompatible(t *testing.T) {
	r := &record{Message: Message{ID: 3, Sender: "a@x", Recipients: []Recipient{{Addr: "b@y"}}, Born: t0}}
	old := encodeRecord(r)
	if old[1] != 0 {
		t.Fatalf("flags byte %#x, want 0", old[1])
	}
	got, err := decodeRecord(3, old)
	if err != nil || got.Warned {
		t.Fatalf("old record: warned %v, err %v", got != nil && got.Warned, err)
	}
	r.Warned = true
	got, err = decodeRecord(3, encodeRecord(r))
	if err != nil || !got.Warned {
		t.Fatalf("warned record: warned %v, err %v", got != nil && got.Warned, err)
	}
}

func sameRecipient(a, b Recipient) bool {
	return a.Addr == b.Addr && a.State == b.State && a.Attempts == b.Attempts && a.LastResult == b.LastResult &&
		a.NextAttempt.Equal(b.NextAttempt) && a.LastAttempt.Equal(b.LastAttempt)
}
