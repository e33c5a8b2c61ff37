package smtpd

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestConnectionLimits(t *testing.T) {
	tests := []struct {
		name     string
		max, per int
		refusal  string
	}{
		{name: "overall", max: 2, per: 10, refusal: "421 too many connections (#4.3.2)"},
		{name: "per client", max: 10, per: 2, refusal: "421 too many connections from your address (#4.7.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, serverConfig{opts: func(o *Options) { o.MaxConnections, o.MaxPerClient = tt.max, tt.per }})
			a := dial(t, ts.addr)
			a.expect(greeting)
			b := dial(t, ts.addr)
			b.expect(greeting)
			c := dial(t, ts.addr)
			c.expect(tt.refusal)
			c.expectClosed()
			a.send("QUIT\r\n")
			a.expect("221 " + testMe)
			a.expectClosed()
			// The slot is free again once the session has ended.
			deadline := time.Now().Add(5 * time.Second)
			for {
				d := dial(t, ts.addr)
				if l := d.line(); l == greeting {
					break
				} else if time.Now().After(deadline) {
					t.Fatalf("still refused: %q", l)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
	}
	for _, tt := range tests {
		if got := clientKey(netip.MustParseAddr(tt.a)); got != netip.MustParseAddr(tt.b) {
			t.Errorf("clientKey(%s) = %s, want %s", tt.a, got, tt.b)
		}
	}
}

func TestTimeout(t *testing.T) {
	ts := startServer(t, serverConfig{opts: func(o *Options) { o.Timeout = 200 * time.Millisecond }})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<user@example.org>\r\nDATA\r\nhalf a message\r\n")
	c.expect("250 ok", "250 ok", "354 go ahead", "451 timeout (#4.4.2)")
	c.expectClosed()
	if n := len(ts.q.messages(t)); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
}

// TestShutdown: ending Serve's context ends the sessions with 421 and
// Serve returns.
func TestShutdown(t *testing.T) {
	srv, err := NewServer(Options{Me: testMe, Queue: newStoreQueue(t)})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, ModeSMTP) }()
	c := dial(t, l.Addr().String())
	c.expect(greeting)
	c.send("NOOP\r\n")
	c.expect("250 ok")
	cancel()
	c.expect("421 service shutting down (#4.3.2)")
	c.expectClosed()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Fatal("listener still open")
	}
}

// TestRulesDeny: a Rules error closes the connection without a greeting.
func TestRulesDeny(t *testing.T) {
	srv, err := NewServer(Options{Me: testMe, Queue: newStoreQueue(t),
		Rules: func(context.Context, *Conn) error { return errors.New("denied by tcp.smtp") }})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, ModeSMTP) }()
	defer func() { cancel(); <-done }()
	c := dial(t, l.Addr().String())
	if b, err := io.ReadAll(c.br); len(b) != 0 || err != nil {
		t.Fatalf("read %q, %v", b, err)
	}
}

func TestNewServerErrors(t *testing.T) {
	q := failQueue{}
	tests := []struct {
		name string
		o    Options
	}{
		{"no me", Options{Queue: q}},
		{"no queue", Options{Me: testMe}},
		{"negative databytes", Options{Me: testMe, Queue: q, Databytes: -1}},
		{"bare LF value", Options{Me: testMe, Queue: q, BareLF: "fix"}},
		{"short line", Options{Me: testMe, Queue: q, MaxLine: 100}},
	}
	for _, tt := range tests {
		if _, err := NewServer(tt.o); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// TestServeStdio runs a session on pipes, as under tcpserver, with
// STARTTLS and the read timeout working on them.
func TestServeStdio(t *testing.T) {
	pki := sharedPKI(t)
	q := newStoreQueue(t)
	srv, err := NewServer(Options{Me: testMe, Queue: q, TLS: pki.serverTLS(), Timeout: 700 * time.Millisecond,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	info := ConnFromEnv(mapEnv(map[string]string{
		"TCPREMOTEIP": "192.0.2.7", "TCPLOCALIP": "192.0.2.1", "TCPLOCALHOST": testMe, "TCPREMOTEHOST": "client.example",
	}))
	done := make(chan error, 1)
	go func() {
		done <- srv.ServeStdio(context.Background(), inR, outW, info)
		inR.Close()
		outW.Close()
	}()
	cc, err := newStdioConn(outR, inW, Conn{})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	outR.Close()
	inW.Close()
	c := newClient(t, cc)
	c.expect(greeting)
	c.send("EHLO client.example\r\n")
	c.expect("250-"+testMe, "250-STARTTLS", "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8")
	c.startTLS(pki.clientTLS())
	sendMessage(t, c, "a@example.com", []string{"user@" + testMe}, "over pipes\r\n.\r\n")
	// Silence: the timeout works on pipes too.
	c.expect("451 timeout (#4.4.2)")
	if err := <-done; err != nil {
		t.Fatalf("ServeStdio: %v", err)
	}
	msgs := q.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	want := "Received: from client.example (192.0.2.7)\n  by " + testMe + " with ESMTPS ("
	if got := msgs[0].body; len(got) < len(want) || got[:len(want)] != want {
		t.Fatalf("body %q", got)
	}
}

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestConnFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Conn
	}{
		{name: "empty", env: map[string]string{}, want: Conn{}},
		{name: "tcpserver", env: map[string]string{
			"TCPREMOTEIP": "192.0.2.7", "TCPREMOTEPORT": "40000", "TCPLOCALIP": "::ffff:192.0.2.1", "TCPLOCALPORT": "25",
			"TCPREMOTEHOST": "client.example", "TCPREMOTEINFO": "joe", "TCPLOCALHOST": "mx.example.org",
		}, want: Conn{RemoteIP: netip.MustParseAddr("192.0.2.7"), RemotePort: 40000, LocalIP: netip.MustParseAddr("192.0.2.1"), LocalPort: 25,
			RemoteHost: "client.example", RemoteInfo: "joe", LocalHost: "mx.example.org"}},
		{name: "relay and flags", env: map[string]string{"RELAYCLIENT": "", "SMTPS": "", "NOBADHELO": "", "TLSCIPHERS": "HIGH"},
			want: Conn{Relay: true, ImplicitTLS: true, NoBadHelo: true, TLSCiphers: "HIGH"}},
		{name: "relay value", env: map[string]string{"RELAYCLIENT": "@fixme"}, want: Conn{Relay: true, RelayClient: "@fixme"}},
		{name: "databytes", env: map[string]string{"DATABYTES": "1000"}, want: Conn{Databytes: 1000}},
		{name: "databytes zero", env: map[string]string{"DATABYTES": "0"}, want: Conn{Databytes: -1}},
		{name: "databytes junk is zero", env: map[string]string{"DATABYTES": "lots"}, want: Conn{Databytes: -1}},
		{name: "databytes digits first", env: map[string]string{"DATABYTES": "20k"}, want: Conn{Databytes: 20}},
		{name: "bad addresses", env: map[string]string{"TCPREMOTEIP": "unknown", "TCPREMOTEPORT": "x"}, want: Conn{}},
	}
	for _, tt := range tests {
		if got := ConnFromEnv(mapEnv(tt.env)); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
