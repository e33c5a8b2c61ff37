package store

import (
	"context"
	"strings"
	"testing"
)

// TestEightBit: the store notes at enqueue whether a body has a byte above
// 127, wherever it is, so deliveries need not read the body to know.
func TestEightBit(t *testing.T) {
	s := openTest(t, Options{})
	chunk := s.chunkSize
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"seven-bit", "Subject: x\n\nplain\n", false},
		{"eight-bit small", "Subject: x\n\ncaf\xc3\xa9\n", true},
		{"seven-bit over chunks", strings.Repeat("a", 3*chunk+5), false},
		{"eight-bit in a later chunk", strings.Repeat("a", 2*chunk+7) + "\xff" + strings.Repeat("b", 100), true},
		{"eight-bit in the first chunk", "\x80" + strings.Repeat("a", 2*chunk), true},
	}
	ids := make([]ID, len(tests))
	for i, tt := range tests {
		ids[i] = enqueue(t, s, msg("r@example.net"), tt.body)
	}
	s = reopen(t, s, Options{})
	for i, tt := range tests {
		m, err := s.Get(ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if m.EightBit != tt.want {
			t.Errorf("%s: EightBit %v, want %v", tt.name, m.EightBit, tt.want)
		}
		if got := string(readBody(t, s, ids[i])); got != tt.body {
			t.Errorf("%s: body changed", tt.name)
		}
	}
}

// TestEnqueueMessageMatchesGet: what EnqueueMessage returns is what Get
// reads back, so callers may use it instead of reading.
func TestEnqueueMessageMatchesGet(t *testing.T) {
	s := openTest(t, Options{})
	for _, body := range []string{"Subject: x\n\nbody \xe9\n", strings.Repeat("z", 2*s.chunkSize+3)} {
		m := msg("a@example.net", "b@example.org")
		m.Intake = Intake{Protocol: "qmail-queue", UID: 42, PID: 7}
		got, err := s.EnqueueMessage(context.Background(), m, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		want, err := s.Get(got.ID)
		if err != nil {
			t.Fatal(err)
		}
		same := got.ID == want.ID && got.Sender == want.Sender && got.Size == want.Size &&
			got.EightBit == want.EightBit && got.Held == want.Held && got.Intake == want.Intake &&
			got.Born.Equal(want.Born) && len(got.Recipients) == len(want.Recipients)
		for i := range got.Recipients {
			g, w := got.Recipients[i], want.Recipients[i]
			same = same && g.Addr == w.Addr && g.State == w.State && g.Attempts == w.Attempts && g.NextAttempt.Equal(w.NextAttempt)
		}
		if !same {
			t.Errorf("EnqueueMessage returned %+v, Get reads %+v", got, want)
		}
	}
}
