package auth

import (
	"net/netip"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewLimiter(LimiterOptions{MaxFailures: 3, Window: 10 * time.Minute, BaseDelay: time.Second, MaxDelay: 3 * time.Second, Now: c.now})
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	type want struct {
		delay   time.Duration
		blocked bool
	}
	steps := []struct {
		name string
		do   func()
		a    want
	}{
		{"fresh", func() {}, want{0, false}},
		{"one failure", func() { l.Fail(a) }, want{time.Second, false}},
		{"two failures", func() { c.add(time.Minute); l.Fail(a) }, want{2 * time.Second, false}},
		{"three failures block", func() { c.add(time.Minute); l.Fail(a) }, want{3 * time.Second, true}},
		{"the mapped form is the same client", func() { l.Fail(netip.MustParseAddr("::ffff:192.0.2.1")) }, want{3 * time.Second, true}},
		{"the first failures expire", func() { c.add(9 * time.Minute) }, want{2 * time.Second, false}},
		{"all expire", func() { c.add(10 * time.Minute) }, want{0, false}},
		{"reset", func() { l.Fail(a); l.Reset(a) }, want{0, false}},
	}
	for _, s := range steps {
		s.do()
		if got := l.Delay(a); got != s.a.delay {
			t.Errorf("%s: Delay = %v, want %v", s.name, got, s.a.delay)
		}
		if got := l.Blocked(a); got != s.a.blocked {
			t.Errorf("%s: Blocked = %v, want %v", s.name, got, s.a.blocked)
		}
		if l.Delay(b) != 0 || l.Blocked(b) {
			t.Errorf("%s: another client is affected", s.name)
		}
	}
}

func TestLimiterIPv6Prefix(t *testing.T) {
	l := NewLimiter(LimiterOptions{MaxFailures: 2})
	l.Fail(netip.MustParseAddr("2001:db8:1:2::1"))
	l.Fail(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	if !l.Blocked(netip.MustParseAddr("2001:db8:1:2::77")) {
		t.Error("failures from one /64 are not counted together")
	}
	if l.Blocked(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("another /64 is blocked")
	}
}

func TestLimiterBounded(t *testing.T) {
	c := &clock{t: time.Unix(1e9, 0)}
	l := NewLimiter(LimiterOptions{MaxFailures: 1, MaxClients: 100, Now: c.now})
	first := netip.MustParseAddr("10.0.0.0")
	for i := 0; i < 1000; i++ {
		c.add(time.Millisecond)
		l.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	if n := len(l.clients); n != 100 || l.lru.Len() != 100 {
		t.Fatalf("%d clients remembered (list %d), want 100", n, l.lru.Len())
	}
	if l.Blocked(first) {
		t.Error("the oldest client was not forgotten")
	}
	if !l.Blocked(netip.AddrFrom4([4]byte{10, 0, 3, 231})) {
		t.Error("the newest client was forgotten")
	}
	for i := 0; i < 10; i++ {
		l.Fail(first)
	}
	if got := len(l.clients[clientOf(first)].Value.(*failures).times); got != 1 {
		t.Errorf("%d failure times kept, want at most MaxFailures", got)
	}
}

// TestLimiterReserve: an attempt counts from its reservation, so parallel
// attempts get no more guesses than MaxFailures; MaxConcurrent bounds
// attempts under way; an attempt left open counts as a failure.
func TestLimiterReserve(t *testing.T) {
	l := NewLimiter(LimiterOptions{MaxFailures: 3, MaxConcurrent: 2})
	a := netip.MustParseAddr("192.0.2.1")
	r1, why := l.Reserve(a)
	if why != Allowed {
		t.Fatalf("first reservation refused: %v", why)
	}
	r2, _ := l.Reserve(a)
	if _, why := l.Reserve(a); why != Busy {
		t.Fatalf("third attempt at once: %v, want Busy", why)
	}
	if _, why := l.Reserve(netip.MustParseAddr("192.0.2.2")); why != Allowed {
		t.Fatalf("another client: %v", why)
	}
	r1.Failed()
	r1.Failed() // settled once only
	r3, why := l.Reserve(a)
	if why != Allowed {
		t.Fatalf("after a failure: %v", why)
	}
	// One failure and two attempts under way use up MaxFailures.
	if !l.Blocked(a) {
		t.Fatal("reservations do not count towards the limit")
	}
	r2.Release()
	if l.Blocked(a) {
		t.Fatal("a released attempt still counts")
	}
	r3.End() // a session that ended before the check was decided
	r4, _ := l.Reserve(a)
	r4.End()
	if !l.Blocked(a) {
		t.Fatal("attempts left open are not counted as failures")
	}
	if _, why := l.Reserve(a); why != Blocked {
		t.Fatalf("blocked client: %v, want Blocked", why)
	}
}

// TestLimiterParallelGuesses: 50 attempts at once from one address get
// at most MaxFailures checked.
func TestLimiterParallelGuesses(t *testing.T) {
	l := NewLimiter(LimiterOptions{MaxFailures: 10, MaxConcurrent: 50})
	a := netip.MustParseAddr("2001:db8::1")
	var open []*Attempt
	for i := range 50 {
		if r, why := l.Reserve(netip.MustParseAddr("2001:db8::" + string(rune('a'+i%6)))); why == Allowed {
			open = append(open, r)
		}
	}
	if len(open) != 10 {
		t.Fatalf("%d attempts allowed at once, want 10", len(open))
	}
	for _, r := range open {
		r.Succeeded()
	}
	if l.Blocked(a) {
		t.Fatal("a login did not clear the failures")
	}
}
