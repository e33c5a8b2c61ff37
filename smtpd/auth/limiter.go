package auth

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// LimiterOptions configure a Limiter. Zero values take the defaults named.
type LimiterOptions struct {
	// MaxFailures within Window block a client (default 10).
	MaxFailures int
	// Window is how long a failure counts (default 10 minutes).
	Window time.Duration
	// BaseDelay is the delay after the first failure; it doubles with each
	// further one (default 1 second).
	BaseDelay time.Duration
	// MaxDelay caps the delay (default 30 seconds).
	MaxDelay time.Duration
	// MaxClients bounds the clients remembered; when full, the one that
	// failed least recently is forgotten (default 10000).
	MaxClients int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Limiter counts failed AUTH attempts per client within a sliding window,
// so that smtpd can delay its 535 replies more and more and refuse AUTH
// once a client has failed too often (the AUTH patches' fixed AUTHSLEEP
// delay, made to grow; Postfix's anvil and smtpd_client_auth_rate_limit
// play the same part). An IPv4 client is one address; an IPv6 client is
// its /64, which one host usually controls whole.
//
// It needs no goroutine: expired failures are dropped when a client is
// looked at, and memory is bounded by MaxClients. Its methods may be
// called from several goroutines at once.
type Limiter struct {
	o LimiterOptions

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *failures
	lru     list.List                      // front: most recent failure
}

type failures struct {
	client netip.Prefix
	times  []time.Time // oldest first, at most MaxFailures
}

// NewLimiter returns a Limiter.
func NewLimiter(o LimiterOptions) *Limiter {
	if o.MaxFailures <= 0 {
		o.MaxFailures = 10
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 30 * time.Second
	}
	if o.MaxClients <= 0 {
		o.MaxClients = 10000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter{o: o, clients: make(map[netip.Prefix]*list.Element)}
}

// clientOf returns the key a client address counts under.
func clientOf(addr netip.Addr) netip.Prefix {
	addr = addr.Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// Fail records a failed attempt by addr.
func (l *Limiter) Fail(addr netip.Addr) {
	now := l.o.Now()
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[c]
	if !ok {
		if l.lru.Len() >= l.o.MaxClients {
			oldest := l.lru.Back()
			delete(l.clients, oldest.Value.(*failures).client)
			l.lru.Remove(oldest)
		}
		e = l.lru.PushFront(&failures{client: c})
		l.clients[c] = e
	} else {
		l.lru.MoveToFront(e)
	}
	f := e.Value.(*failures)
	l.expire(f, now)
	if len(f.times) == l.o.MaxFailures {
		f.times = append(f.times[:0], f.times[1:]...)
	}
	f.times = append(f.times, now)
}

// Reset forgets addr's failures, for a client that has just logged in.
func (l *Limiter) Reset(addr netip.Addr) {
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.clients[c]; ok {
		l.lru.Remove(e)
		delete(l.clients, c)
	}
}

// Blocked reports whether addr has failed MaxFailures times within Window.
func (l *Limiter) Blocked(addr netip.Addr) bool {
	return l.count(addr) >= l.o.MaxFailures
}

// Delay returns how long to wait before answering addr's next failed
// attempt: 0 without recent failures, else BaseDelay doubled for each
// failure after the first, at most MaxDelay.
func (l *Limiter) Delay(addr netip.Addr) time.Duration {
	n := l.count(addr)
	if n == 0 {
		return 0
	}
	d := l.o.BaseDelay
	for i := 1; i < n && d < l.o.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.o.MaxDelay)
}

// count returns addr's failures within the window.
func (l *Limiter) count(addr netip.Addr) int {
	now := l.o.Now()
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[c]
	if !ok {
		return 0
	}
	f := e.Value.(*failures)
	l.expire(f, now)
	if len(f.times) == 0 {
		l.lru.Remove(e)
		delete(l.clients, c)
		return 0
	}
	return len(f.times)
}

// expire drops the failures of f older than the window.
func (l *Limiter) expire(f *failures, now time.Time) {
	i := 0
	for i < len(f.times) && now.Sub(f.times[i]) >= l.o.Window {
		i++
	}
	if i > 0 {
		f.times = append(f.times[:0], f.times[i:]...)
	}
}
