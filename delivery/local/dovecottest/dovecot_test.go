package dovecottest

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient"
)

// TestLMTPDelivery delivers one message to two users and an unknown one
// with qsend's LMTP client, over the Unix socket and over TCP, and finds
// it in both Maildirs.
func TestLMTPDelivery(t *testing.T) {
	begin := time.Now()
	d := Start(t, Options{Users: []string{"alice", "Bob"}})
	t.Logf("Start took %v", time.Since(begin))

	tests := []struct {
		name     string
		maxRcpts int // one transaction per recipient: RSET and a rewound body
		dial     func(ctx context.Context, o smtpclient.Options) (*smtpclient.Conn, error)
	}{
		{"unix", 0, func(ctx context.Context, o smtpclient.Options) (*smtpclient.Conn, error) {
			raw, err := net.Dial("unix", d.Socket())
			if err != nil {
				return nil, err
			}
			return smtpclient.NewConn(ctx, raw, "", o)
		}},
		{"tcp", 0, func(ctx context.Context, o smtpclient.Options) (*smtpclient.Conn, error) {
			return smtpclient.Dial(ctx, d.Addr(), "", o)
		}},
		{"tcp one recipient per transaction", 1, func(ctx context.Context, o smtpclient.Options) (*smtpclient.Conn, error) {
			return smtpclient.Dial(ctx, d.Addr(), "", o)
		}},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := tt.dial(ctx, smtpclient.Options{LMTP: true, HeloHost: "qsend.test", Timeout: 10 * time.Second, MaxRcpts: tt.maxRcpts})
			if err != nil {
				t.Fatalf("connect: %v\n%s", err, d.Log())
			}
			defer c.Quit()
			if !c.Ext().Pipelining || !c.Ext().Enhanced {
				t.Errorf("extensions %+v: Dovecot advertises PIPELINING and ENHANCEDSTATUSCODES", c.Ext())
			}
			marker := "Subject: over " + tt.name
			body := "From: s@example.test\n" + marker + "\n\nhello\n.leading dot\n"
			env := smtpclient.Envelope{Sender: "s@example.test",
				Rcpts: []string{"alice@example.test", "nobody@example.test", "bob@example.test"}}
			res, err := c.Send(ctx, env, smtpclient.Message{Body: strings.NewReader(body), Size: int64(len(body))})
			if err != nil {
				t.Fatalf("Send: %v\n%s", err, d.Log())
			}
			want := []struct {
				state smtpclient.State
				stage smtpclient.Stage
				code  int
			}{
				{smtpclient.Delivered, smtpclient.StageBody, 250},
				{smtpclient.Failed, smtpclient.StageRcpt, 550},
				{smtpclient.Delivered, smtpclient.StageBody, 250},
			}
			for i, w := range want {
				r := res[i]
				if r.State != w.state || r.Stage != w.stage || r.Reply.Code != w.code {
					t.Errorf("%s: %v at %v (%s), want %v at %v %d", env.Rcpts[i], r.State, r.Stage, r.Reply.Text(), w.state, w.stage, w.code)
				}
			}
			for _, u := range []string{"alice", "bob"} {
				msgs := d.Messages(u)
				if len(msgs) != n+1 {
					t.Fatalf("%s has %d messages, want %d\n%s", u, len(msgs), n+1, d.Log())
				}
				var found []byte
				for _, m := range msgs {
					if bytes.Contains(m, []byte(marker)) {
						found = m
					}
				}
				if !bytes.Contains(found, []byte("\nhello\n.leading dot\n")) {
					t.Errorf("%s: message %q not found in %q", u, marker, msgs)
				}
			}
			if m := d.Messages("nobody"); m != nil {
				t.Errorf("unknown user got %q", m)
			}
		})
	}
}

// BenchmarkLMTPDeliver delivers small messages to two users over the Unix
// socket on one connection: the throughput of Dovecot with the LMTP client.
func BenchmarkLMTPDeliver(b *testing.B) {
	d := Start(b, Options{Users: []string{"alice", "bob"}})
	raw, err := net.Dial("unix", d.Socket())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	c, err := smtpclient.NewConn(ctx, raw, "", smtpclient.Options{LMTP: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Quit()
	body := "From: s@example.test\nSubject: bench\n\n" + strings.Repeat("x", 1000) + "\n"
	env := smtpclient.Envelope{Sender: "s@example.test", Rcpts: []string{"alice@example.test", "bob@example.test"}}
	for b.Loop() {
		res, err := c.Send(ctx, env, smtpclient.Message{Body: strings.NewReader(body)})
		if err != nil || res[0].State != smtpclient.Delivered || res[1].State != smtpclient.Delivered {
			b.Fatalf("Send = %+v, %v", res, err)
		}
	}
}
