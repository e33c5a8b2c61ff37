package smtpd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hostile peers: clients that guess passwords in parallel, that send a
// byte now and then to hold connections, and that pipeline more
// recipients than a message may have.

// countingChecker is a PasswordChecker that counts the checks it makes
// and how many run at once; each takes a little time, as a real one does.
type countingChecker struct {
	pass             passwords
	checks, now, max atomic.Int32
}

func (c *countingChecker) Check(ctx context.Context, user, pass string) error {
	c.checks.Add(1)
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	return c.pass.Check(ctx, user, pass)
}

// TestAuthParallelGuesses: 50 sessions opened at once from one address,
// or from one IPv6 /64, each guessing until it is stopped, get no more
// passwords checked than MaxAuthFailures, and no more than
// MaxAuthConcurrent at a time; then the client is blocked, even with the
// right password.
func TestAuthParallelGuesses(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		name := "one IPv4 address"
		if v6 {
			name = "one IPv6 /64"
		}
		t.Run(name, func(t *testing.T) { authParallelGuesses(t, v6) })
	}
}

func authParallelGuesses(t *testing.T, v6 bool) {
	const sessions, maxFailures, concurrent = 50, 10, 2
	checker := &countingChecker{pass: passwords{"alice": "secret"}}
	cfg := serverConfig{loopback: true, opts: func(o *Options) {
		o.Auth = checker
		o.AuthWithoutTLS = true
		o.TLS = sharedPKI(t).serverTLS()
		o.MaxAuthFailures = maxFailures
		o.MaxAuthConcurrent = concurrent
		o.AuthFailDelay = 5 * time.Millisecond // doubling with each failure
		o.MaxPerClient = sessions + 1
		o.MaxErrors = 1000
		o.Now = time.Now
	}}
	if v6 {
		// Each session from another address of 2001:db8:1:2::/64, under
		// TLS as AUTH needs off loopback.
		var n atomic.Uint32
		cfg.loopback = false
		cfg.remote = func(netip.Addr) netip.Addr {
			i := n.Add(1)
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 12: byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		}
	}
	ts := startServer(t, cfg)
	open := func() *client {
		c := dial(t, ts.addr)
		c.expect(greeting)
		if v6 {
			c.startTLS(ts.pki.clientTLS())
		}
		return c
	}
	var replies sync.Map // reply → *atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	var clients []*client
	for range sessions {
		clients = append(clients, open())
	}
	begin := time.Now()
	for i, c := range clients {
		wg.Go(func() {
			<-start
			for try := 0; ; try++ {
				if _, err := fmt.Fprintf(c.c, "AUTH PLAIN %s\r\n", b64(fmt.Sprintf("\x00alice\x00guess-%d-%d", i, try))); err != nil {
					return
				}
				l, err := c.br.ReadString('\n')
				if err != nil {
					return
				}
				l = strings.TrimSuffix(l, "\r\n")
				n, _ := replies.LoadOrStore(l, new(atomic.Int32))
				n.(*atomic.Int32).Add(1)
				if strings.HasPrefix(l, "421") {
					return
				}
				if strings.HasPrefix(l, "454") {
					time.Sleep(5 * time.Millisecond) // and try again
				}
			}
		})
	}
	close(start)
	wg.Wait()
	elapsed := time.Since(begin)
	replies.Range(func(k, v any) bool {
		t.Logf("%5d × %s", v.(*atomic.Int32).Load(), k)
		return true
	})
	t.Logf("%d sessions at once: %d guesses checked, at most %d at a time, in %v",
		sessions, checker.checks.Load(), checker.max.Load(), elapsed.Round(time.Millisecond))
	if n := checker.checks.Load(); n > maxFailures {
		t.Errorf("%d guesses checked, want at most %d", n, maxFailures)
	}
	if n := checker.max.Load(); n > concurrent {
		t.Errorf("%d checks at once, want at most %d", n, concurrent)
	}
	c := open()
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("421 too many authentication failures (#4.7.0)")
	c.expectClosed()
	if n := checker.checks.Load(); n > maxFailures {
		t.Errorf("the blocked client got a check: %d", n)
	}
}

// TestAuthBusy: an attempt beyond MaxAuthConcurrent under way from one
// address gets 454 and may try again in the same session.
func TestAuthBusy(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	ts := startServer(t, serverConfig{loopback: true, opts: func(o *Options) {
		o.Auth = checkerFunc(func(ctx context.Context, user, pass string) error {
			if user == "slow" {
				entered <- struct{}{}
				<-release
			}
			return passwords{"alice": "secret"}.Check(ctx, user, pass)
		})
		o.AuthWithoutTLS = true
		o.MaxAuthConcurrent = 1
		o.AuthFailDelay = 4 * time.Second
	}})
	slow := dial(t, ts.addr)
	slow.expect(greeting)
	slow.send("AUTH PLAIN " + b64("\x00slow\x00x") + "\r\n")
	<-entered
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("454 too many authentication attempts at once from your address (#4.7.0)")
	close(release)
	// The failure's delay holds no slot: the next attempt is checked
	// while the 535 waits.
	time.Sleep(100 * time.Millisecond)
	begin := time.Now()
	c.send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect(authOK)
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("login answered after %v, behind the failure's delay", d)
	}
	slow.expect(authFailed)
}

type checkerFunc func(ctx context.Context, user, pass string) error

func (f checkerFunc) Check(ctx context.Context, user, pass string) error { return f(ctx, user, pass) }

// fromLoopback dials addr from the loopback address from (127.0.0.x), so
// that tests have many client addresses on one machine.
func fromLoopback(addr string, from netip.Addr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}, Timeout: 5 * time.Second}
	return d.Dial("tcp", addr)
}

// dialFrom is dial from the loopback address from.
func dialFrom(t testing.TB, addr, from string) *client {
	t.Helper()
	c, err := fromLoopback(addr, netip.MustParseAddr(from))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newClient(t, c)
}

// testNet maps the loopback address a test client connects from to a
// TEST-NET address (RFC 5737), a client that may not relay: 127.0.0.x is
// 192.0.2.x, except 127.0.0.1, which is 198.51.100.1. Addresses from
// 127.0.0.200 up stay loopback: clients that may relay.
func testNet(from netip.Addr) netip.Addr {
	b := from.As4()
	switch {
	case b[3] >= 200:
		return from
	case b[3] == 1:
		return netip.AddrFrom4([4]byte{198, 51, 100, 1})
	}
	return netip.AddrFrom4([4]byte{192, 0, 2, b[3]})
}

// TestSlowloris: 2,000 connections at once from 40 addresses, each
// sending a byte every 500 ms and never a whole line, against a server of
// 500 sessions, then a stream of more of them: a client that may not
// relay still gets its messages through, since a newcomer displaces the
// session idle longest; the slow ones are dropped with 421.
func TestSlowloris(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 connections")
	}
	const slow, addrs = 2000, 40
	ts := startServer(t, serverConfig{remote: testNet, opts: func(o *Options) {
		o.MaxConnections = 500
		o.MaxPerClient = slow / addrs
		o.BusyIdleTimeout = time.Second
		o.Timeout = 30 * time.Second
	}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var st slowStats
	dials := make(chan int)
	for range 50 { // dialers
		wg.Go(func() {
			for i := range dials {
				from := netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i%addrs)})
				c, err := fromLoopback(ts.addr, from)
				if err != nil {
					st.other.Add(1)
					continue
				}
				wg.Go(func() { dribble(ctx, c, &st) })
			}
		})
	}
	for i := range slow {
		dials <- i
	}
	// Let the first ones become idle beyond BusyIdleTimeout, then keep
	// newcomers coming while the legitimate client sends.
	time.Sleep(1500 * time.Millisecond)
	more, stopMore := context.WithCancel(ctx)
	defer stopMore()
	wg.Go(func() {
		defer close(dials)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := slow; ; i++ {
			select {
			case <-more.Done():
				return
			case <-tick.C:
				dials <- i
			}
		}
	})
	var latencies []time.Duration
	for range 5 {
		begin := time.Now()
		c := dialFrom(t, ts.addr, "127.0.0.1")
		c.expect(greeting)
		c.send("EHLO legit.example\r\n")
		c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
		if r := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "hello\r\n.\r\n"); !strings.HasPrefix(r, "250 2.0.0 ok") { // RFC 2034 §4
			t.Fatalf("message: %q", r)
		}
		c.send("QUIT\r\n")
		c.expect("221 2.0.0 " + testMe)
		c.c.Close()
		latencies = append(latencies, time.Since(begin).Round(time.Microsecond))
		time.Sleep(200 * time.Millisecond)
	}
	stopMore()
	time.Sleep(100 * time.Millisecond)
	t.Logf("%d slow connections, and %d more after them, against 500 sessions: %d greeted, %d refused, %d dropped with 421, %d other; legitimate sessions took %v",
		slow, st.greeted.Load()+st.refused.Load()+st.other.Load()-slow, st.greeted.Load(), st.refused.Load(), st.dropped.Load(), st.other.Load(), latencies)
	if n := len(ts.q.messages(t)); n != 5 {
		t.Fatalf("%d messages queued, want 5", n)
	}
	if st.dropped.Load() == 0 {
		t.Error("no slow session was dropped")
	}
}

// slowStats counts what happened to slow connections.
type slowStats struct{ greeted, refused, dropped, other atomic.Int32 }

// dribble reads the greeting on c, then sends a byte of a command every
// 500 ms until the server ends the session or ctx ends.
func dribble(ctx context.Context, c net.Conn, st *slowStats) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 256)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, _ := c.Read(buf)
	switch got := string(buf[:n]); {
	case strings.HasPrefix(got, greeting):
		st.greeted.Add(1)
	case strings.HasPrefix(got, "421 too many connections"):
		st.refused.Add(1)
		return
	default:
		st.other.Add(1)
		return
	}
	c.SetReadDeadline(time.Time{})
	// The server's replies are read as they come, so that a 421 is seen.
	replies := make(chan string, 1)
	go func() {
		n, _ := c.Read(buf)
		replies <- string(buf[:n])
	}()
	defer func() {
		c.Close()
		if r := <-replies; strings.HasPrefix(r, "421 timeout: idle while the server is full (#4.4.2)") {
			st.dropped.Add(1)
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case r := <-replies:
			replies <- r
			return
		case <-tick.C:
			if _, err := c.Write([]byte("N")); err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// TestDropIdle: at the connection limit a newcomer displaces the session
// that has waited longest beyond BusyIdleTimeout; before that it is
// refused.
func TestDropIdle(t *testing.T) {
	ts := startServer(t, serverConfig{opts: func(o *Options) {
		o.MaxConnections = 3
		o.RelayReserve = -1
		o.BusyIdleTimeout = 300 * time.Millisecond
	}})
	var idle []*client
	for range 3 {
		c := dial(t, ts.addr)
		c.expect(greeting)
		idle = append(idle, c)
		time.Sleep(50 * time.Millisecond)
	}
	idle[2].send("NOOP\r\n")
	idle[2].expect("250 ok")
	c := dial(t, ts.addr)
	c.expect("421 too many connections (#4.3.2)")
	time.Sleep(350 * time.Millisecond)
	idle[2].send("NOOP\r\n") // busy a moment ago: not the one to go
	idle[2].expect("250 ok")
	for _, want := range []int{0, 1} {
		n := dial(t, ts.addr)
		n.expect(greeting)
		idle[want].expect("421 timeout: idle while the server is full (#4.4.2)")
		idle[want].expectClosed()
	}
	c = dial(t, ts.addr)
	c.expect("421 too many connections (#4.3.2)")
}

// TestDropIdleSparesData: a client sending its message, however long
// that takes, is not the one dropped, with a minimum rate or without.
func TestDropIdleSparesData(t *testing.T) {
	for _, rate := range []int64{-1, 1000} {
		t.Run(fmt.Sprint("rate ", rate), func(t *testing.T) {
			ts := startServer(t, serverConfig{opts: func(o *Options) {
				o.MaxConnections = 2
				o.RelayReserve = -1
				o.BusyIdleTimeout = 200 * time.Millisecond
				o.MinDataRate = rate
			}})
			idle := dial(t, ts.addr)
			idle.expect(greeting)
			busy := dial(t, ts.addr)
			busy.expect(greeting)
			busy.send(mailOK + rcptLocal + "DATA\r\n")
			busy.expect("250 ok", "250 ok", "354 go ahead")
			for range 10 { // 2,000 bytes/s for 500 ms
				busy.send(strings.Repeat("x", 98) + "\r\n")
				time.Sleep(50 * time.Millisecond)
			}
			dial(t, ts.addr).expect(greeting)
			idle.expect("421 timeout: idle while the server is full (#4.4.2)")
			busy.send(".\r\n")
			if r := busy.line(); !strings.HasPrefix(r, "250 ok") {
				t.Fatalf("message: %q", r)
			}
		})
	}
}

// TestRelayShare: clients that may not relay leave RelayReserve of the
// connections free for those that may (loopback, RELAYCLIENT), and an
// authenticated session counts in that share, never displaced.
func TestRelayShare(t *testing.T) {
	ts := startServer(t, serverConfig{remote: testNet, opts: func(o *Options) {
		o.MaxConnections = 10
		o.RelayReserve = 0.3
		o.BusyIdleTimeout = 200 * time.Millisecond
		o.Auth = passwords{"alice": "secret"}
		o.TLS = sharedPKI(t).serverTLS()
	}, rules: func(c *Conn) {
		if c.RemoteIP == netip.MustParseAddr("192.0.2.9") {
			c.Relay = true // RELAYCLIENT from tcprules
		}
	}})
	const outsider = "127.0.0.2"
	var general []*client
	for range 7 {
		c := dialFrom(t, ts.addr, outsider)
		c.expect(greeting)
		general = append(general, c)
	}
	// The first authenticates under TLS and leaves the general share.
	general[0].startTLS(ts.pki.clientTLS())
	general[0].send("AUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	general[0].expect(authOK)
	c := dialFrom(t, ts.addr, outsider)
	c.expect(greeting)
	general = append(general, c)
	// The general share is full and nothing idles long enough.
	dialFrom(t, ts.addr, outsider).expect("421 too many connections (#4.3.2)")
	for _, from := range []string{"127.0.0.200", "127.0.0.9"} { // loopback, RELAYCLIENT
		dialFrom(t, ts.addr, from).expect(greeting)
	}
	// Full: a relay client displaces an idle outsider, not the
	// authenticated session.
	time.Sleep(300 * time.Millisecond)
	for i := range 7 {
		dialFrom(t, ts.addr, "127.0.0.201").expect(greeting)
		general[i+1].expect("421 timeout: idle while the server is full (#4.4.2)")
	}
	general[0].send("NOOP\r\n")
	general[0].expect("250 ok")
	if n := ts.srv.sessions(); n != 10 {
		t.Errorf("%d sessions counted, want 10", n)
	}
}

// TestSessionTimeout: a client busy with NOOPs is still stopped at
// SessionTimeout.
func TestSessionTimeout(t *testing.T) {
	ts := startServer(t, serverConfig{opts: func(o *Options) { o.SessionTimeout = 500 * time.Millisecond }})
	c := dial(t, ts.addr)
	begin := time.Now()
	c.expect(greeting)
	for {
		c.send("NOOP\r\n")
		if l := c.line(); l != "250 ok" {
			if want := "421 timeout: session time limit exceeded (#4.4.2)"; l != want {
				t.Fatalf("reply %q, want %q", l, want)
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.expectClosed()
	if d := time.Since(begin); d < 500*time.Millisecond || d > 10*time.Second {
		t.Errorf("session ended after %v", d)
	}
}

// TestLineTooSlow: a command line must arrive whole within Timeout,
// however often its bytes come.
func TestLineTooSlow(t *testing.T) {
	// A byte every 100 ms is ten times inside Timeout, so only the whole
	// line's deadline can end the session, even on a loaded machine.
	ts := startServer(t, serverConfig{opts: func(o *Options) { o.Timeout = time.Second }})
	c := dial(t, ts.addr)
	c.expect(greeting)
	begin := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range strings.Repeat("NOOP ", 8) {
			if _, err := c.c.Write([]byte(string(b))); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c.expect("421 timeout: command line too slow (#4.4.2)")
	if d := time.Since(begin); d < time.Second || d > 10*time.Second {
		t.Errorf("dropped after %v", d)
	}
	<-done
}

// TestMinDataRate: after DataGrace, DATA must keep up MinDataRate; a
// client above it is served.
func TestMinDataRate(t *testing.T) {
	ts := startServer(t, serverConfig{opts: func(o *Options) {
		o.MinDataRate = 1000
		o.DataGrace = 300 * time.Millisecond
	}})
	send := func(c *client, chunk string, n int) {
		for range n {
			if _, err := c.c.Write([]byte(chunk)); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fast := dial(t, ts.addr)
	fast.expect(greeting)
	fast.send(mailOK + rcptLocal + "DATA\r\n")
	fast.expect("250 ok", "250 ok", "354 go ahead")
	send(fast, strings.Repeat("x", 98)+"\r\n", 20) // 2,000 bytes/s for 1 s
	fast.send(".\r\n")
	if r := fast.line(); !strings.HasPrefix(r, "250 ok") {
		t.Fatalf("fast client: %q", r)
	}

	slow := dial(t, ts.addr)
	slow.expect(greeting)
	slow.send(mailOK + rcptLocal + "DATA\r\n")
	slow.expect("250 ok", "250 ok", "354 go ahead")
	begin := time.Now()
	sent := make(chan struct{})
	go func() { defer close(sent); send(slow, "xxxx\r\n", 40) }() // 120 bytes/s
	slow.expect("421 timeout: data too slow (#4.4.2)")
	slow.c.Close()
	<-sent
	if d := time.Since(begin); d < 300*time.Millisecond || d > 10*time.Second {
		t.Errorf("dropped after %v", d)
	}
	if n := len(ts.q.messages(t)); n != 1 {
		t.Fatalf("%d messages queued, want 1", n)
	}
}

// TestTooManyRcptsNotErrors: a client that pipelines more recipients
// than MaxRcpts gets 452 for the rest and keeps its session and its
// transaction, however many there are beyond MaxErrors.
func TestTooManyRcptsNotErrors(t *testing.T) {
	const max, extra = 100, 1000
	ts := startServer(t, serverConfig{opts: func(o *Options) {
		o.MaxRcpts = max
		o.MaxErrors = 20
	}})
	c := dial(t, ts.addr)
	c.expect(greeting)
	var b strings.Builder
	b.WriteString("EHLO c\r\n" + mailOK)
	for i := range max + extra {
		fmt.Fprintf(&b, "RCPT TO:<user%d@example.org>\r\n", i)
	}
	b.WriteString("DATA\r\n")
	go c.send(b.String())
	// RFC 2034 §4: the codes after EHLO
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8", "250 2.1.0 ok")
	for range max {
		c.expect("250 2.1.5 ok")
	}
	for range extra {
		c.expect("452 4.5.3 too many recipients (#4.5.3)")
	}
	c.expect("354 go ahead")
	c.send("hello\r\n.\r\n")
	if r := c.line(); !strings.HasPrefix(r, "250 2.0.0 ok") { // RFC 2034 §4
		t.Fatalf("DATA: %q", r)
	}
	msgs := ts.q.messages(t)
	if len(msgs) != 1 || len(msgs[0].rcpts) != max {
		t.Fatalf("queued %d messages", len(msgs))
	}
	// Other refusals still count (with RFC 2034 §4's codes after EHLO).
	for range 19 {
		c.send("BOGUS\r\n")
		c.expect("502 5.5.1 unimplemented (#5.5.1)")
	}
	c.send("BOGUS\r\n")
	c.expect("502 5.5.1 unimplemented (#5.5.1)", "421 4.7.0 too many errors (#4.7.0)")
}
