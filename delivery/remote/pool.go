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
// opens one connection per recipient.
type pool struct {
	mu     sync.Mutex
	idle   map[poolKey][]idleConn
	closed bool
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
		go ic.c.Quit()
	}
	p.store(addr, list)
	return idleConn{}, false
}

// put keeps c for reuse, or closes it when the pool is closed.
func (p *pool) put(addr poolKey, ic idleConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go ic.c.Quit()
		return
	}
	p.idle[addr] = append(p.idle[addr], ic)
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

// close closes every idle connection and refuses new ones.
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
}
