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

func TestExponential(t *testing.T) {
	const initial, cap = 5 * time.Minute, 4 * time.Hour
	end := start.Add(time.Hour)
	tests := []struct {
		n      int
		jitter float64
		u      float64
		want   time.Duration // next - end
	}{
		{1, 0, 0, 5 * time.Minute},
		{0, 0, 0, 5 * time.Minute}, // treated as the first
		{2, 0, 0, 10 * time.Minute},
		{3, 0, 0, 20 * time.Minute},
		{6, 0, 0, 160 * time.Minute},
		{7, 0, 0, 4 * time.Hour}, // 320m capped
		{1000, 0, 0, 4 * time.Hour},
		{1, 0.2, 0, 4 * time.Minute},   // lowest
		{1, 0.2, 0.5, 5 * time.Minute}, // middle
		{1, 0.2, 0.75, 5*time.Minute + 30*time.Second},
		{7, 0.2, 0, 4 * time.Hour * 8 / 10}, // jitter below the cap
		{7, 1, 0, 0},                        // full jitter can mean at once
	}
	for _, tc := range tests {
		f := exponential(initial, cap, tc.jitter, func() float64 { return tc.u })
		got := f(Deferral{Channel: Remote, Born: start, Start: start, End: end, N: tc.n}).Sub(end)
		if got != tc.want {
			t.Errorf("n %d jitter %v u %v: wait %v, want %v", tc.n, tc.jitter, tc.u, got, tc.want)
		}
	}
}

func TestRetryFunc(t *testing.T) {
	d := Deferral{Channel: Remote, Born: start, Start: start.Add(400 * time.Second), End: start.Add(time.Hour), N: 3}
	tests := []struct {
		schedule     string
		initial, max time.Duration
		jitter       float64
		wantErr      bool
		lo, hi       time.Time // the result's range
	}{
		{"qmail", 0, 0, 0, false, start.Add(1600 * time.Second), start.Add(1600 * time.Second)},
		{"", 0, 0, 0, false, start.Add(1600 * time.Second), start.Add(1600 * time.Second)},
		{"exponential", time.Minute, time.Hour, 0, false, d.End.Add(4 * time.Minute), d.End.Add(4 * time.Minute)},
		{"exponential", time.Minute, time.Hour, 0.5, false, d.End.Add(2 * time.Minute), d.End.Add(6 * time.Minute)},
		{"exponential", 0, time.Hour, 0.2, true, time.Time{}, time.Time{}},
		{"exponential", time.Hour, time.Minute, 0.2, true, time.Time{}, time.Time{}},
		{"exponential", time.Minute, time.Hour, 1.5, true, time.Time{}, time.Time{}},
		{"exponential", time.Minute, time.Hour, -0.1, true, time.Time{}, time.Time{}},
		{"linear", time.Minute, time.Hour, 0, true, time.Time{}, time.Time{}},
	}
	for _, tc := range tests {
		f, err := RetryFunc(tc.schedule, tc.initial, tc.max, tc.jitter)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q %v %v %v: err %v", tc.schedule, tc.initial, tc.max, tc.jitter, err)
			continue
		}
		if err != nil {
			continue
		}
		for range 20 {
			if got := f(d); got.Before(tc.lo) || got.After(tc.hi) {
				t.Errorf("%q %v %v %v: next %v, want in [%v, %v]", tc.schedule, tc.initial, tc.max, tc.jitter, got, tc.lo, tc.hi)
			}
		}
	}
}
