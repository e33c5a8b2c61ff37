package store

import (
	"strings"
	"testing"
)

// TestWireSize: the store counts at enqueue the body's size with CRLF line
// ends (RFC 1870 §3), across chunks, and keeps it across a reopen; a
// record written before the field existed reads as WireSize 0.
func TestWireSize(t *testing.T) {
	s := openTest(t, Options{})
	chunk := s.chunkSize
	tests := []struct {
		name string
		body string
		want int
	}{
		{"LF", "Subject: x\n\nplain\n", 21},
		{"CRLF", "Subject: x\r\n\r\nplain\r\n", 21},
		{"bare CR", "a\rb\r", 6},
		{"no final line end", "a\nb", 6},
		{"CRLF across chunks", strings.Repeat("a", chunk-1) + "\r\n" + strings.Repeat("b\n", chunk), chunk + 1 + 3*chunk},
		{"LF over chunks", strings.Repeat("abc\n", chunk), 5 * chunk},
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
		if m.WireSize != int64(tt.want) || m.Size != int64(len(tt.body)) {
			t.Errorf("%s: WireSize %d Size %d, want %d %d", tt.name, m.WireSize, m.Size, tt.want, len(tt.body))
		}
	}
	// The SMTPUTF8 test's record of before the field: no trailing size.
	old := []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 'a', '@', 'x', 0, 0, 0, 0, 0}
	r, err := decodeRecord(1, old)
	if err != nil || r.WireSize != 0 {
		t.Fatalf("old record: %+v %v", r, err)
	}
	r.WireSize = 1 << 40
	if got, err := decodeRecord(1, encodeRecord(r)); err != nil || got.WireSize != 1<<40 {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	if _, err := decodeRecord(1, append(old, 0)); err == nil {
		t.Fatal("a wire size of 0 decoded")
	}
}
