package smtpd

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/qsend/qsend/intake"
	"github.com/qsend/qsend/internal/envelope"
	"github.com/qsend/qsend/tls/ciphers"
)

const (
	testDate = "5 Mar 2024 06:07:08 -0000"
	// after EHLO with RFC 2034 §4's code
	okPattern = `^250 (2\.0\.0 )?ok \d+ qp 4242$`
	strayLF   = "451 See http://pobox.com/~djb/docs/smtplf.html."
)

// sendMessage runs one transaction after EHLO and returns the final reply.
func sendMessage(t *testing.T, c *client, from string, rcpts []string, data string) string {
	t.Helper()
	c.send("MAIL FROM:<" + from + ">\r\n")
	c.expect(c.coded("250 ok", "2.1.0"))
	for _, r := range rcpts {
		c.send("RCPT TO:<" + r + ">\r\n")
		c.expect(c.coded("250 ok", "2.1.5"))
	}
	c.send("DATA\r\n")
	c.expect("354 go ahead")
	c.send(data)
	return c.line()
}

func TestDataQueued(t *testing.T) {
	tests := []struct {
		name      string
		cfg       serverConfig
		helo      string
		rcpts     []string
		data      string
		wantRcpts []string
		wantBody  string
	}{
		{
			name:     "plain",
			helo:     "client.example",
			data:     "Subject: hi\r\n\r\nline one\r\n..dot stuffed\r\n.x\r\n\r\n.\r\n",
			wantBody: "Received: from unknown (HELO client.example) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\n" + "Subject: hi\n\nline one\n.dot stuffed\nx\n\n",
		},
		{
			name:     "empty body",
			helo:     "client.example",
			data:     ".\r\n",
			wantBody: "Received: from unknown (HELO client.example) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\n",
		},
		{
			name: "remote host, info and filtering",
			cfg: serverConfig{rules: func(c *Conn) {
				c.RemoteHost, c.RemoteInfo = "host[1].example", "joe doe"
			}},
			helo:     "evil\tname (x)",
			data:     "x\r\n.\r\n",
			wantBody: "Received: from host?1?.example (HELO evil?name??x?) (joe?doe@192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nx\n",
		},
		{
			name:     "HELO equal to the remote host",
			cfg:      serverConfig{rules: func(c *Conn) { c.RemoteHost = "Client.Example" }},
			helo:     "client.example",
			data:     "x\r\n.\r\n",
			wantBody: "Received: from Client.Example (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nx\n",
		},
		{
			name:     "no HELO",
			data:     "x\r\n.\r\n",
			wantBody: "Received: from unknown (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nx\n",
		},
		{
			name:      "RELAYCLIENT is appended",
			cfg:       serverConfig{rules: func(c *Conn) { c.Relay, c.RelayClient = true, ".relay" }},
			helo:      "c",
			rcpts:     []string{"u@elsewhere.net", "v@example.org"},
			data:      "x\r\n.\r\n",
			wantRcpts: []string{"u@elsewhere.net.relay", "v@example.org.relay"},
			wantBody:  "Received: from unknown (HELO c) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nx\n",
		},
		{
			name:      "address literal becomes localiphost",
			cfg:       serverConfig{opts: func(o *Options) { o.LocalIPHost = "example.org" }},
			helo:      "c",
			rcpts:     []string{"u@[127.0.0.1]"},
			data:      "x\r\n.\r\n",
			wantRcpts: []string{"u@example.org"},
			wantBody:  "Received: from unknown (HELO c) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nx\n",
		},
		{
			name:     "99 hops pass",
			helo:     "c",
			data:     strings.Repeat("Received: x\r\n", 98) + "delivered-to: y\r\n\r\n" + strings.Repeat("Received: in the body\r\n", 5) + ".\r\n",
			wantBody: "Received: from unknown (HELO c) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\n" + strings.Repeat("Received: x\n", 98) + "delivered-to: y\n\n" + strings.Repeat("Received: in the body\n", 5),
		},
		{
			name:     "eight-bit and long lines pass",
			helo:     "c",
			data:     "Subject: \xc3\xa9t\xc3\xa9\r\n\r\n" + strings.Repeat("y", 5000) + "\r\n.\r\n",
			wantBody: "Received: from unknown (HELO c) (192.0.2.10)\n  by " + testMe + " with SMTP; " + testDate + "\nSubject: \xc3\xa9t\xc3\xa9\n\n" + strings.Repeat("y", 5000) + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			c := dial(t, ts.addr)
			c.expect(greeting)
			if tt.helo != "" {
				c.send("HELO " + tt.helo + "\r\n")
				c.expect("250 " + testMe)
			}
			rcpts := tt.rcpts
			if rcpts == nil {
				rcpts = []string{"user@example.org"}
			}
			got := sendMessage(t, c, "sender@example.com", rcpts, tt.data)
			if !regexp.MustCompile(okPattern).MatchString(got) {
				t.Fatalf("reply %q", got)
			}
			msgs := ts.q.messages(t)
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued", len(msgs))
			}
			m := msgs[0]
			wantRcpts := tt.wantRcpts
			if wantRcpts == nil {
				wantRcpts = rcpts
			}
			if m.sender != "sender@example.com" || !slices.Equal(m.rcpts, wantRcpts) {
				t.Errorf("envelope %q %q, want %q", m.sender, m.rcpts, wantRcpts)
			}
			if m.body != tt.wantBody {
				t.Errorf("body\n%q\nwant\n%q", m.body, tt.wantBody)
			}
			// The transaction is over.
			c.send(rcptLocal)
			c.expect("503 MAIL first (#5.5.1)")
		})
	}
}

func TestDataRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  serverConfig
		data string
		want string
	}{
		{name: "100 hops", data: strings.Repeat("Received: x\r\n", 99) + "DELIVERED-To: y\r\n\r\nbody\r\n.\r\n",
			want: "554 too many hops, this message is looping (#5.4.6)"},
		{name: "hops before databytes", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 10 }},
			data: strings.Repeat("Received: x\r\n", 100) + "\r\n.\r\n", want: "554 too many hops, this message is looping (#5.4.6)"},
		{name: "databytes", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 100 }},
			data: strings.Repeat("x", 100) + "\r\n.\r\n", want: "552 sorry, that message size exceeds my databytes limit (#5.3.4)"},
		{name: "DATABYTES", cfg: serverConfig{rules: func(c *Conn) { c.Databytes = 10 }},
			data: "0123456789\r\n.\r\n", want: "552 sorry, that message size exceeds my databytes limit (#5.3.4)"},
		{name: "databytes far over, streamed", cfg: serverConfig{opts: func(o *Options) { o.Databytes = 1000 }},
			data: strings.Repeat(strings.Repeat("z", 998)+"\r\n", 300) + ".\r\n", want: "552 sorry, that message size exceeds my databytes limit (#5.3.4)"},
		{name: "header too large", cfg: serverConfig{opts: func(o *Options) { o.MaxHeaderBytes = 1000 }},
			data: strings.Repeat("X-Filler: 0123456789\r\n", 60) + "\r\nbody\r\n.\r\n", want: "552 sorry, the message header exceeds my limit (#5.3.4)"},
		{name: "queue refuses permanently", cfg: serverConfig{queue: failQueue{intake.Errorf(31, "refused")}},
			data: "x\r\n.\r\n", want: "554 mail server permanently rejected message (#5.3.0)"},
		{name: "queue refuses temporarily", cfg: serverConfig{queue: failQueue{intake.Errorf(71, "later")}},
			data: "x\r\n.\r\n", want: "451 mail server temporarily rejected message (#4.3.0)"},
		{name: "queue address too long", cfg: serverConfig{queue: failQueue{intake.Errorf(11, "long")}},
			data: "x\r\n.\r\n", want: "554 envelope address too long for qq (#5.1.3)"},
		{name: "queue fails otherwise", cfg: serverConfig{queue: failQueue{fmt.Errorf("store closed")}},
			data: "x\r\n.\r\n", want: "451 qq temporary problem (#4.3.0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, tt.cfg)
			c := dial(t, ts.addr)
			c.expect(greeting)
			if got := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, tt.data); got != tt.want {
				t.Fatalf("reply %q, want %q", got, tt.want)
			}
			if n := len(ts.q.messages(t)); n != 0 {
				t.Errorf("%d messages queued", n)
			}
			// The session goes on.
			if got := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "ok\r\n.\r\n"); !regexp.MustCompile(okPattern).MatchString(got) && !strings.HasPrefix(tt.name, "queue") {
				t.Fatalf("next message: %q", got)
			}
		})
	}
}

// TestDataLarge streams a message bigger than what is held in memory.
func TestDataLarge(t *testing.T) {
	ts := startServer(t, serverConfig{})
	c := dial(t, ts.addr)
	c.expect(greeting)
	var data, want strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&data, "line %d of a large message\r\n", i)
		fmt.Fprintf(&want, "line %d of a large message\n", i)
		if i%1000 == 0 {
			data.WriteString("..\r\n")
			want.WriteString(".\n")
		}
	}
	data.WriteString(".\r\n")
	if got := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, data.String()); !regexp.MustCompile(okPattern).MatchString(got) {
		t.Fatalf("reply %q", got)
	}
	msgs := ts.q.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	_, body, _ := strings.Cut(msgs[0].body, testDate+"\n")
	if body != want.String() {
		t.Fatalf("body of %d bytes differs from the %d sent", len(body), want.Len())
	}
}

func TestPipelinedTransaction(t *testing.T) {
	ts := startServer(t, serverConfig{})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("EHLO c\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<user@example.org>\r\nRCPT TO:<x@elsewhere.net>\r\nRCPT TO:<user2@example.org>\r\nDATA\r\n")
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250 SMTPUTF8",
		// RFC 2034 §4: the codes after EHLO
		"250 2.1.0 ok", "250 2.1.5 ok", "553 5.7.1 "+noGateway[4:], "250 2.1.5 ok", "354 go ahead")
	c.send("hello\r\n.\r\nQUIT\r\n")
	if got := c.line(); !regexp.MustCompile(okPattern).MatchString(got) {
		t.Fatalf("reply %q", got)
	}
	c.expect("221 2.0.0 " + testMe) // RFC 2034 §4
	c.expectClosed()
	msgs := ts.q.messages(t)
	if len(msgs) != 1 || !slices.Equal(msgs[0].rcpts, []string{"user@example.org", "user2@example.org"}) {
		t.Fatalf("queued %+v", msgs)
	}
}

// TestSmuggling sends each SMTP smuggling sequence followed by a second,
// smuggled transaction. None may end the first message: with the default
// every bare LF or CR gets qmail's 451 and the connection closes with
// nothing queued; with normalize, the sequences stay inside the one
// message that the final CRLF.CRLF ends.
func TestSmuggling(t *testing.T) {
	smuggled := "MAIL FROM:<evil@elsewhere.net>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nforged\r\n"
	variants := []struct {
		name      string
		seq       string
		normalize string // what normalize stores for seq; "" = refused too
	}{
		{"LF.LF", "\n.\n", "\n.\n"},
		{"CRLF.LF", "\r\n.\n", "\n.\n"},
		{"LF.CRLF", "\n.\r\n", "\n.\n"},
		{"CR.CRLF", "\r.\r\n", ""},
		{"CRLF.CR", "\r\n.\r", ""},
		{"LF..LF", "\n..\n", "\n.\n"},
	}
	for _, mode := range []string{BareLFReject, BareLFNormalize} {
		for _, v := range variants {
			t.Run(mode+"/"+v.name, func(t *testing.T) {
				ts := startServer(t, serverConfig{opts: func(o *Options) { o.BareLF = mode }})
				c := dial(t, ts.addr)
				c.expect(greeting)
				got := sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "Subject: real\r\n\r\nreal"+v.seq+smuggled+".\r\n")
				if mode == BareLFReject || v.normalize == "" {
					if got != strayLF {
						t.Fatalf("reply %q, want %q", got, strayLF)
					}
					c.expectClosed()
					if n := len(ts.q.messages(t)); n != 0 {
						t.Fatalf("%d messages queued", n)
					}
					return
				}
				if !regexp.MustCompile(okPattern).MatchString(got) {
					t.Fatalf("reply %q", got)
				}
				msgs := ts.q.messages(t)
				if len(msgs) != 1 {
					t.Fatalf("%d messages queued", len(msgs))
				}
				_, body, _ := strings.Cut(msgs[0].body, testDate+"\n")
				want := "Subject: real\n\nreal" + v.normalize + strings.ReplaceAll(smuggled, "\r\n", "\n")
				if body != want {
					t.Fatalf("body %q, want %q", body, want)
				}
			})
		}
	}
}

// originQueue records the Origin of each message.
type originQueue struct {
	discardQueue
	got chan Origin
}

func (q originQueue) Enqueue(ctx context.Context, env envelope.Envelope, o Origin, body io.Reader) error {
	q.got <- o
	return q.discardQueue.Enqueue(ctx, env, o, body)
}

func TestOrigin(t *testing.T) {
	q := originQueue{got: make(chan Origin, 2)}
	ts := startServer(t, serverConfig{queue: q, loopback: true, opts: func(o *Options) {
		o.Auth = passwords{"alice": "secret"}
		o.AuthWithoutTLS = true
		o.TLS = sharedPKI(t).serverTLS()
	}})
	c := dial(t, ts.addr)
	c.expect(greeting)
	c.send("HELO c\r\n")
	c.expect("250 " + testMe)
	sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
	if got, want := <-q.got, (Origin{Protocol: "smtp", ClientAddr: "127.0.0.1", HELO: "c"}); got != want {
		t.Errorf("plain: %+v, want %+v", got, want)
	}
	cs := c.startTLS(ts.pki.clientTLS())
	c.send("EHLO d\r\nAUTH PLAIN " + b64("\x00alice\x00secret") + "\r\n")
	c.expect("250-"+testMe, "250-PIPELINING", "250-8BITMIME", "250-SIZE", "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250 AUTH LOGIN PLAIN", authOKCoded)
	sendMessage(t, c, "a@example.com", []string{"user@example.org"}, "x\r\n.\r\n")
	want := Origin{Protocol: "esmtpsa", ClientAddr: "127.0.0.1", HELO: "d", TLS: ciphers.Name(cs.CipherSuite, cs.Version), Auth: "alice"}
	if got := <-q.got; got != want {
		t.Errorf("TLS and AUTH: %+v, want %+v", got, want)
	}
}
