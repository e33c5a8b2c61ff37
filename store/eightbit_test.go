package store

import (
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
