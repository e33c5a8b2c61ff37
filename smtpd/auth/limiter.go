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
	// MaxConcurrent bounds the attempts of one client being checked at
	// once (default 2). Guesses are bounded by MaxFailures whatever this
	// is, since a reserved attempt counts as a failure until it is
	// settled; this bound keeps one client from holding many password
	// checks (checkpassword processes) at a time. Two, not one, so that
	// a user whose mail program opens two submission connections at the
	// same instant (sending while another send is under way, or two
	// users behind one NAT address) is not refused the second login.
	MaxConcurrent int
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
// An attempt is counted before it is checked (Reserve), so that clients
// opening many sessions at once get no more guesses checked than one
// client trying one after another: a reserved attempt counts as a failure
// until it is settled as a success or released unchecked.
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
	client  netip.Prefix
	times   []time.Time // oldest first, at most MaxFailures
	pending int         // reserved attempts not yet settled
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
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 2
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
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail(c)
}

// fail records a failure of c; l.mu is held.
func (l *Limiter) fail(c netip.Prefix) {
	now := l.o.Now()
	f := l.entry(c)
	l.expire(f, now)
	if len(f.times) == l.o.MaxFailures {
		f.times = append(f.times[:0], f.times[1:]...)
	}
	f.times = append(f.times, now)
}

// entry returns c's record, made when missing, as the most recent one;
// when MaxClients are remembered the least recent is forgotten first.
// l.mu is held.
func (l *Limiter) entry(c netip.Prefix) *failures {
	if e, ok := l.clients[c]; ok {
		l.lru.MoveToFront(e)
		return e.Value.(*failures)
	}
	if l.lru.Len() >= l.o.MaxClients {
		oldest := l.lru.Back()
		delete(l.clients, oldest.Value.(*failures).client)
		l.lru.Remove(oldest)
	}
	f := &failures{client: c}
	l.clients[c] = l.lru.PushFront(f)
	return f
}

// Refusal says why Reserve refused an attempt.
type Refusal int

const (
	// Allowed: the attempt may be checked.
	Allowed Refusal = iota
	// Blocked: the client's failures, with its attempts under way, reach
	// MaxFailures within Window.
	Blocked
	// Busy: MaxConcurrent attempts of the client are being checked.
	Busy
)

// Attempt is a reserved AUTH attempt. Exactly one of Succeeded, Failed
// and Release settles it; later calls do nothing. Until it is settled it
// counts as a failure, and End settles it as one.
type Attempt struct {
	l       *Limiter
	client  netip.Prefix
	settled bool
}

// Reserve counts an attempt by addr before its credentials are checked.
// It returns a nil Attempt and the reason when the attempt may not be
// made.
func (l *Limiter) Reserve(addr netip.Addr) (*Attempt, Refusal) {
	now := l.o.Now()
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entry(c)
	l.expire(f, now)
	switch {
	case len(f.times)+f.pending >= l.o.MaxFailures:
		return nil, Blocked
	case f.pending >= l.o.MaxConcurrent:
		return nil, Busy
	}
	f.pending++
	return &Attempt{l: l, client: c}, Allowed
}

// settle ends the reservation: failed records a failure, ok forgets the
// client's failures.
func (a *Attempt) settle(failed, ok bool) {
	if a == nil || a.settled {
		return
	}
	a.settled = true
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, found := l.clients[a.client]; found {
		if f := e.Value.(*failures); f.pending > 0 {
			f.pending--
		}
	}
	switch {
	case failed:
		l.fail(a.client)
	case ok:
		l.forget(a.client)
	}
}

// Succeeded settles the attempt as a login: the client's failures are
// forgotten, as Reset does.
func (a *Attempt) Succeeded() { a.settle(false, true) }

// Failed settles the attempt as a refused one and frees its slot, so
// that the reply's delay does not hold it.
func (a *Attempt) Failed() { a.settle(true, false) }

// Release settles an attempt that was not decided (the check itself
// failed): it counts neither way.
func (a *Attempt) Release() { a.settle(false, false) }

// End settles an attempt that is still open as a failure: a session that
// ends, or gives up, between reserving and deciding has made a guess.
func (a *Attempt) End() { a.settle(true, false) }

// Reset forgets addr's failures, for a client that has just logged in.
func (l *Limiter) Reset(addr netip.Addr) {
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forget(c)
}

// forget drops c's failures, and its record unless attempts of c are
// under way; l.mu is held.
func (l *Limiter) forget(c netip.Prefix) {
	e, ok := l.clients[c]
	switch {
	case !ok:
	case e.Value.(*failures).pending > 0:
		e.Value.(*failures).times = nil
	default:
		l.lru.Remove(e)
		delete(l.clients, c)
	}
}

// Blocked reports whether addr's failures within Window, with its
// attempts under way, reach MaxFailures.
func (l *Limiter) Blocked(addr netip.Addr) bool {
	n, pending := l.count(addr)
	return n+pending >= l.o.MaxFailures
}

// Delay returns how long to wait before answering addr's next failed
// attempt: 0 without recent failures, else BaseDelay doubled for each
// failure after the first, at most MaxDelay.
func (l *Limiter) Delay(addr netip.Addr) time.Duration {
	n, _ := l.count(addr)
	if n == 0 {
		return 0
	}
	d := l.o.BaseDelay
	for i := 1; i < n && d < l.o.MaxDelay; i++ {
		d *= 2
	}
	return min(d, l.o.MaxDelay)
}

// count returns addr's failures within the window and its attempts
// under way.
func (l *Limiter) count(addr netip.Addr) (n, pending int) {
	now := l.o.Now()
	c := clientOf(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[c]
	if !ok {
		return 0, 0
	}
	f := e.Value.(*failures)
	l.expire(f, now)
	if len(f.times) == 0 && f.pending == 0 {
		l.lru.Remove(e)
		delete(l.clients, c)
		return 0, 0
	}
	return len(f.times), f.pending
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
