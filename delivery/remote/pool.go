package remote

import (
	"net/netip"
	"sync"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
)

// pool keeps idle SMTP connections by peer address and TLS policy, so the
// next message to the same server under the same policy reuses the
// session (RSET between messages) instead of connecting again; qmail
// opens one connection per recipient. Connections it closes in the
// background are waited for by close, so none outlives the pool.
type pool struct {
	mu     sync.Mutex
	idle   map[poolKey][]idleConn
	closed bool
	quits  sync.WaitGroup // QUITs sent in the background
}

// poolKey is what a connection may be reused for: its peer, and the TLS
// it was set up with (a session verified for one domain's policy is not
// one verified for another's).
type poolKey struct {
	addr netip.AddrPort
	tls  string
}

type idleConn struct {
	c     *smtpclient.Conn
	uses  int // messages sent on it so far
	since time.Time
}

func newPool() *pool { return &pool{idle: make(map[poolKey][]idleConn)} }

// get returns the most recently used idle connection to addr that has not
// been idle longer than maxIdle.
func (p *pool) get(addr poolKey, now time.Time, maxIdle time.Duration) (idleConn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.idle[addr]
	for len(list) > 0 {
		ic := list[len(list)-1]
		list = list[:len(list)-1]
		if now.Sub(ic.since) <= maxIdle {
			p.store(addr, list)
			return ic, true
		}
		p.quitLater(ic)
	}
	p.store(addr, list)
	return idleConn{}, false
}

// put keeps c for reuse, or closes it when the pool is closed (the
// transport is stopping: the caller may wait for QUIT).
func (p *pool) put(addr poolKey, ic idleConn) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		ic.c.Quit()
		return
	}
	p.idle[addr] = append(p.idle[addr], ic)
	p.mu.Unlock()
}

// quitLater sends QUIT on ic without making the caller wait for the
// reply; close waits for it. Called with p.mu held and the pool open, so
// that no QUIT starts once close is waiting.
func (p *pool) quitLater(ic idleConn) {
	p.quits.Go(func() { ic.c.Quit() })
}

func (p *pool) store(addr poolKey, list []idleConn) {
	if len(list) == 0 {
		delete(p.idle, addr) // no memory for servers we no longer talk to
		return
	}
	p.idle[addr] = list
}

// sweep closes connections idle longer than maxIdle.
func (p *pool) sweep(now time.Time, maxIdle time.Duration) {
	p.mu.Lock()
	var old []idleConn
	for addr, list := range p.idle {
		keep := list[:0]
		for _, ic := range list {
			if now.Sub(ic.since) > maxIdle {
				old = append(old, ic)
			} else {
				keep = append(keep, ic)
			}
		}
		p.store(addr, keep)
	}
	p.mu.Unlock()
	for _, ic := range old {
		ic.c.Quit()
	}
}

// close closes every idle connection, refuses new ones, and returns once
// the QUITs sent in the background are done.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	all := p.idle
	p.idle = make(map[poolKey][]idleConn)
	p.mu.Unlock()
	for _, list := range all {
		for _, ic := range list {
			ic.c.Quit()
		}
	}
	p.quits.Wait()
}
