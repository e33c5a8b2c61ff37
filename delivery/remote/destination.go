package remote

import (
	"context"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// destination is what the transport remembers of one recipient domain (or
// smtproutes relay): how many sessions it has, how many attempts wait for
// one, and whether it is backed off after failing to connect. Entries live
// only while they are busy or backed off, so memory follows the active
// destinations, not all destinations ever seen.
type destination struct {
	slots   chan struct{} // one token per session allowed
	waiters int           // attempts holding or waiting for a slot
	until   time.Time     // backed off until then
	bo      backoff.BackOff
	// domains are the recipient domains whose attempts backed it off, for
	// reset; nil while it is not backed off.
	domains map[string]bool
}

// destinations is the table of destinations, keyed by domain or route.
type destinations struct {
	mu      sync.Mutex
	m       map[string]*destination
	limit   int // sessions per destination
	waiting int // attempts per destination, running or waiting
	newBO   func() backoff.BackOff
}

// enter registers an attempt for key. It refuses when the destination is
// backed off (until says how long) or already has as many attempts
// waiting as it has sessions, so that one slow or dead destination cannot
// hold every worker of the scheduler.
func (ds *destinations) enter(key string, now time.Time) (d *destination, until time.Time, ok bool) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d = ds.m[key]
	if d == nil {
		d = &destination{slots: make(chan struct{}, ds.limit)}
		ds.m[key] = d
	}
	if d.until.After(now) {
		return nil, d.until, false
	}
	if d.waiters >= ds.waiting {
		return nil, time.Time{}, false
	}
	d.waiters++
	return d, time.Time{}, true
}

// acquire waits for a session slot.
func (d *destination) acquire(ctx context.Context) error {
	select {
	case d.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *destination) release() { <-d.slots }

// leave ends an attempt. connectFailed says that no server of the
// destination could be reached: the destination is then backed off
// (cenkalti/backoff), and any success clears that.
func (ds *destinations) leave(key, domain string, d *destination, now time.Time, connectFailed bool) time.Time {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d.waiters--
	if connectFailed {
		if d.bo == nil {
			d.bo = ds.newBO()
			d.domains = make(map[string]bool)
		}
		d.domains[domain] = true
		if wait := d.bo.NextBackOff(); wait != backoff.Stop {
			d.until = now.Add(wait)
		}
	} else {
		d.bo, d.until, d.domains = nil, time.Time{}, nil
	}
	if d.waiters == 0 && d.bo == nil {
		delete(ds.m, key)
	}
	return d.until
}

// reset forgets the backoff of the destinations backed off by one of
// domains, or of every destination when domains is nil.
func (ds *destinations) reset(domains map[string]bool) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for k, d := range ds.m {
		if d.bo == nil || !touches(d.domains, domains) {
			continue
		}
		d.bo, d.until, d.domains = nil, time.Time{}, nil
		if d.waiters == 0 {
			delete(ds.m, k)
		}
	}
}

// touches reports whether some domain of have is in want; a nil want
// stands for every domain.
func touches(have, want map[string]bool) bool {
	if want == nil {
		return true
	}
	for dom := range have {
		if want[dom] {
			return true
		}
	}
	return false
}

// forgetAfter is how long a destination's backoff is remembered after it
// ran out, so that a destination that keeps failing backs off further.
const forgetAfter = time.Hour

// forget drops destinations nobody uses whose backoff ran out long ago.
func (ds *destinations) forget(now time.Time) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	for k, d := range ds.m {
		if d.waiters == 0 && now.After(d.until.Add(forgetAfter)) {
			delete(ds.m, k)
		}
	}
}

// size is the number of destinations remembered.
func (ds *destinations) size() int {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return len(ds.m)
}
