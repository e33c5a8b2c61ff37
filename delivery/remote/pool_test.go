package remote

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
)

// slowQuitServer accepts SMTP connections on loopback and answers QUIT
// only after wait, so that a QUIT still running is seen as such.
func slowQuitServer(t *testing.T, wait time.Duration) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				c.Write([]byte("220 slow.test ESMTP\r\n"))
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(strings.ToUpper(line), "QUIT") {
						time.Sleep(wait)
						c.Write([]byte("221 bye\r\n"))
						return
					}
					c.Write([]byte("250 ok\r\n"))
				}
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestPoolCloseWaitsForQuits: the connections the pool closes in the
// background, because they were idle too long, are closed once close
// returns: no QUIT outlives the pool.
func TestPoolCloseWaitsForQuits(t *testing.T) {
	addr := slowQuitServer(t, 300*time.Millisecond)
	p := newPool()
	key := poolKey{addr: addr}
	now := time.Now()
	var conns []*smtpclient.Conn
	for range 3 {
		c, err := smtpclient.Dial(context.Background(), addr, "slow.test", smtpclient.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		p.put(key, idleConn{c: c, since: now.Add(-time.Hour)})
	}
	if _, ok := p.get(key, now, time.Minute); ok {
		t.Fatal("a connection idle for an hour was reused")
	}
	p.close()
	for i, c := range conns {
		if c.Usable() {
			t.Errorf("connection %d still open after close", i)
		}
	}
}

// TestPoolPutAfterClose: a connection given back once the pool is closed
// is closed before put returns.
func TestPoolPutAfterClose(t *testing.T) {
	addr := slowQuitServer(t, 50*time.Millisecond)
	p := newPool()
	p.close()
	c, err := smtpclient.Dial(context.Background(), addr, "slow.test", smtpclient.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	p.put(poolKey{addr: addr}, idleConn{c: c, since: time.Now()})
	if c.Usable() {
		t.Error("connection still open after put on a closed pool")
	}
	if _, ok := p.get(poolKey{addr: addr}, time.Now(), time.Minute); ok {
		t.Error("a closed pool kept a connection")
	}
}
