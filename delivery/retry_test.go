package delivery

import (
	"testing"
	"time"
)

func TestNextRetry(t *testing.T) {
	born := start
	tests := []struct {
		ch   Channel
		age  time.Duration // now - born
		want time.Duration // next - born
	}{
		{Remote, 0, 400 * time.Second},
		{Remote, 399 * time.Second, 39 * 39 * time.Second},
		{Remote, 400 * time.Second, 1600 * time.Second},
		{Remote, 400*time.Second + 999*time.Millisecond, 1600 * time.Second},
		{Remote, 1600 * time.Second, 3600 * time.Second},
		{Remote, 3600 * time.Second, 6400 * time.Second},
		{Remote, -time.Hour, 400 * time.Second}, // born after now
		{Local, 0, 100 * time.Second},
		{Local, 100 * time.Second, 400 * time.Second},
		{Local, 400 * time.Second, 900 * time.Second},
		{Local, -time.Second, 100 * time.Second},
		{Remote, 604800 * time.Second, (777 + 20) * (777 + 20) * time.Second},
	}
	for _, tc := range tests {
		got := NextRetry(tc.ch, born, born.Add(tc.age)).Sub(born)
		if got != tc.want {
			t.Errorf("%v age %v: next at born+%v, want born+%v", tc.ch, tc.age, got, tc.want)
		}
	}
	// A century-old birth must not overflow into the past.
	old := time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
	if n := NextRetry(Remote, old, start); !n.After(start) {
		t.Errorf("next retry %v is not after now", n)
	}
}

func TestIsqrt(t *testing.T) {
	for _, x := range []int64{0, 1, 2, 3, 4, 15, 16, 17, 399, 400, 401, 1<<52 + 1, 1<<62 - 1, 9223372036854775807} {
		r := isqrt(x)
		if r > x/max(r, 1) || r+1 <= x/(r+1) {
			t.Errorf("isqrt(%d) = %d", x, r)
		}
	}
	if isqrt(-5) != 0 {
		t.Error("isqrt of a negative number")
	}
}

func TestAppendLine(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", dyingText},
		{"busy\n", "busy\n" + dyingText},
		{"busy", "busy\n" + dyingText},
	}
	for _, tc := range tests {
		if got := appendLine(tc.text, dyingText); got != tc.want {
			t.Errorf("appendLine(%q) = %q", tc.text, got)
		}
	}
}

func TestChannelString(t *testing.T) {
	if Remote.String() != "remote" || Local.String() != "local" || Channel(7).String() != "channel(7)" {
		t.Error(Remote.String(), Local.String(), Channel(7).String())
	}
}
