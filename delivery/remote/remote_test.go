package remote

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery"
	"github.com/qsend/qsend/delivery/smtpclient"
	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/internal/testlib"
	"github.com/qsend/qsend/mx"
	"github.com/qsend/qsend/mx/dnstest"
	"github.com/qsend/qsend/store"
)

// world is a DNS server and SMTP servers on loopback addresses that all
// listen on one port, as MX hosts on port 25 would.
type world struct {
	t    *testing.T
	dns  *dnstest.Server
	port int
}

func newWorld(t *testing.T) *world {
	// A port free on 127.0.0.2 is almost surely free on the others.
	return &world{t: t, dns: dnstest.Start(t), port: testlib.FreePortOn(t, "127.0.0.2")}
}

// server starts an SMTP server on ip at the world's port.
func (w *world) server(ip string, cfg smtptest.Config) *smtptest.Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "mx." + ip
	}
	return smtptest.Start(w.t, fmt.Sprintf("%s:%d", ip, w.port), cfg)
}

// transport returns a Transport that resolves through the world's DNS.
func (w *world) transport(o Options) *Transport {
	r, err := mx.New(mx.Options{
		Resolvers:  []string{w.dns.Addr},
		Me:         "qsend.test",
		LocalAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		Timeout:    500 * time.Millisecond,
		Shuffle:    func(int, func(i, j int)) {},
	})
	if err != nil {
		w.t.Fatal(err)
	}
	o.Resolver = r
	o.Port = w.port
	o.Client = smtpclient.Options{HeloHost: "qsend.test", ConnectTimeout: 2 * time.Second, Timeout: 5 * time.Second, Phases: o.Client.Phases}
	tr := New(o)
	w.t.Cleanup(func() { tr.Close() })
	return tr
}

const body = "Subject: test\n\nhello\n.leading dot\n"

// job makes a job for a message to rcpts.
func job(id store.ID, sender string, rcpts ...string) delivery.Job {
	m := store.Message{ID: id, Sender: sender, Born: time.Now(), Size: int64(len(body))}
	var idx []int
	for i, r := range rcpts {
		m.Recipients = append(m.Recipients, store.Recipient{Addr: r})
		idx = append(idx, i)
	}
	return delivery.Job{Msg: m, Rcpts: idx, Body: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(body)), nil
	}}
}

func deliver(tr *Transport, j delivery.Job) []store.Result {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return tr.Deliver(ctx, j)
}

func want(t *testing.T, res []store.Result, i int, state store.RcptState, text string) {
	t.Helper()
	if res[i].State != state || !strings.Contains(res[i].Text, text) {
		t.Fatalf("result %d: %v %q, want %v containing %q", i, res[i].State, res[i].Text, state, text)
	}
}

func TestMXOrderAndFallback(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.",
		"example.test. 60 IN MX 20 mx2.example.test.",
		"mx1.example.test. 60 IN A 127.0.0.2", // nothing listens there
		"mx2.example.test. 60 IN A 127.0.0.3")
	s2 := w.server("127.0.0.3", smtptest.Config{Pipelining: true})
	tr := w.transport(Options{})
	res := deliver(tr, job(1, "a@qsend.test", "b@example.test", "c@EXAMPLE.test"))
	want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.\nRemote host said: 250")
	want(t, res, 1, store.Delivered, "127.0.0.3 accepted message.")
	msgs := s2.Messages()
	if len(msgs) != 1 || len(msgs[0].Rcpts) != 2 {
		t.Fatalf("server got %d messages %+v, want one transaction with both recipients", len(msgs), msgs)
	}
	if got := string(msgs[0].Data); got != strings.ReplaceAll(body, "\n", "\r\n") {
		t.Fatalf("data on the wire %q", got)
	}
}

func TestDNSOutcomes(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("nullmx.test. 60 IN MX 0 .", "nullmx.test. 60 IN A 127.0.0.2")
	w.dns.ServFail("broken.test.")
	tr := w.transport(Options{})
	res := deliver(tr, job(1, "a@qsend.test", "x@nullmx.test", "y@nxdomain.test", "z@broken.test"))
	want(t, res, 0, store.Failed, "5.1.10")
	want(t, res, 1, store.Failed, "Sorry, I couldn't find any host named nxdomain.test. (#5.1.2)")
	want(t, res, 2, store.Deferred, "(#4.1.2)")
}

func TestRepliesAtEachStage(t *testing.T) {
	tests := []struct {
		name  string
		reply func(cmd, arg string) (int, string)
		state store.RcptState
		text  string
	}{
		{"sender 5xx", stage("MAIL", 553, "5.7.1 no"), store.Failed, "Connected to 127.0.0.2 but sender was rejected.\nRemote host said: 553 5.7.1 no"},
		{"sender 4xx", stage("MAIL", 451, "4.7.1 later"), store.Deferred, "but sender was rejected."},
		{"recipient 5xx", stage("RCPT", 550, "5.1.1 unknown"), store.Failed, "127.0.0.2 does not like recipient.\nRemote host said: 550 5.1.1 unknown\nGiving up on 127.0.0.2."},
		{"recipient 4xx", stage("RCPT", 450, "4.2.0 greylisted"), store.Deferred, "127.0.0.2 does not like recipient.\nRemote host said: 450 4.2.0 greylisted"},
		{"data 5xx", stage("DATA", 554, "5.3.0 no data"), store.Failed, "127.0.0.2 failed on DATA command."},
		{"after the dot 5xx", stage("DOT", 554, "5.7.1 spam"), store.Failed, "127.0.0.2 failed after I sent the message.\nRemote host said: 554 5.7.1 spam"},
		{"after the dot 4xx", stage("DOT", 451, "4.3.0 try later"), store.Deferred, "127.0.0.2 failed after I sent the message."},
		// A hostile or broken MX that answers DATA with 250: the body was
		// never sent, so the message waits (RFC 5321 §4.3.2).
		{"data 250", stage("DATA", 250, "2.0.0 ok"), store.Deferred, "127.0.0.2 failed on DATA command.\nRemote host said: 250 2.0.0 ok"},
		{"after the dot 354", stage("DOT", 354, "more"), store.Deferred, "Connected to 127.0.0.2 but connection died. Possible duplicate!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
			w.server("127.0.0.2", smtptest.Config{Pipelining: true, Reply: tt.reply})
			res := deliver(w.transport(Options{}), job(1, "a@qsend.test", "b@example.test"))
			want(t, res, 0, tt.state, tt.text)
		})
	}
}

// stage scripts one reply for one command.
func stage(cmd string, code int, text string) func(string, string) (int, string) {
	return func(c, _ string) (int, string) {
		if c == cmd {
			return code, text
		}
		return 0, ""
	}
}

func TestGreetingFailureMovesOn(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx1.example.test.", "example.test. 60 IN MX 20 mx2.example.test.",
		"mx1.example.test. 60 IN A 127.0.0.2", "mx2.example.test. 60 IN A 127.0.0.3")
	w.server("127.0.0.2", smtptest.Config{Reply: stage("GREETING", 421, "4.3.2 busy")})
	s2 := w.server("127.0.0.3", smtptest.Config{})
	res := deliver(w.transport(Options{}), job(1, "a@qsend.test", "b@example.test"))
	want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
	if s2.Count() != 1 {
		t.Fatalf("second MX got %d messages", s2.Count())
	}
}

func TestDropBeforeAndAfterDot(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("before.test. 60 IN MX 10 mx.before.test.", "mx.before.test. 60 IN A 127.0.0.2",
		"before.test. 60 IN MX 20 mx2.before.test.", "mx2.before.test. 60 IN A 127.0.0.3",
		"after.test. 60 IN MX 10 mx.after.test.", "mx.after.test. 60 IN A 127.0.0.4")
	w.server("127.0.0.2", smtptest.Config{DropAfter: "DATA"})
	s3 := w.server("127.0.0.3", smtptest.Config{})
	w.server("127.0.0.4", smtptest.Config{DropAfter: "DOT"})
	tr := w.transport(Options{})
	res := deliver(tr, job(1, "a@qsend.test", "b@before.test"))
	want(t, res, 0, store.Delivered, "127.0.0.3 accepted message.")
	if s3.Count() != 1 {
		t.Fatal("the next MX did not get the message")
	}
	res = deliver(tr, job(2, "a@qsend.test", "b@after.test"))
	want(t, res, 0, store.Deferred, "Connected to 127.0.0.4 but connection died. Possible duplicate!")
}

func TestTooManyRecipientsCarriedOver(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
	s := w.server("127.0.0.2", smtptest.Config{Pipelining: true, MaxRcpts: 2})
	rcpts := []string{"r1@example.test", "r2@example.test", "r3@example.test", "r4@example.test", "r5@example.test"}
	res := deliver(w.transport(Options{}), job(1, "a@qsend.test", rcpts...))
	for i := range rcpts {
		want(t, res, i, store.Delivered, "accepted message.")
	}
	if got := s.Count(); got != 3 {
		t.Fatalf("%d transactions, want 3 of at most 2 recipients", got)
	}
	if s.Connections() != 1 {
		t.Fatalf("%d connections, want 1", s.Connections())
	}
}

func TestSizeRefusal(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
	s := w.server("127.0.0.2", smtptest.Config{Size: 10})
	res := deliver(w.transport(Options{}), job(1, "a@qsend.test", "b@example.test"))
	want(t, res, 0, store.Failed, "5.3.4")
	for _, c := range s.Commands() {
		if strings.HasPrefix(strings.ToUpper(c), "MAIL") {
			t.Fatalf("MAIL sent for a message over the server's SIZE: %v", s.Commands())
		}
	}
}

func TestConnectionReuse(t *testing.T) {
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			w := newWorld(t)
			w.dns.Add("example.test. 60 IN MX 10 mx.example.test.", "mx.example.test. 60 IN A 127.0.0.2")
			s := w.server("127.0.0.2", smtptest.Config{Pipelining: pipelining})
			tr := w.transport(Options{})
			for i := 1; i <= 5; i++ {
				res := deliver(tr, job(store.ID(i), "a@qsend.test", fmt.Sprintf("r%d@example.test", i)))
				want(t, res, 0, store.Delivered, "accepted message.")
			}
			if s.Count() != 5 || s.Connections() != 1 {
				t.Fatalf("%d messages over %d connections, want 5 over 1", s.Count(), s.Connections())
			}
			if tr.Counters().Reused.Load() != 4 {
				t.Fatalf("reused %d times", tr.Counters().Reused.Load())
			}
		})
	}
}

func TestUnreachableDestinationBacksOff(t *testing.T) {
	w := newWorld(t)
	w.dns.Add("dead.test. 60 IN MX 10 mx.dead.test.", "mx.dead.test. 60 IN A 127.0.0.2")
	tr := w.transport(Options{})
	res := deliver(tr, job(1, "a@qsend.test", "b@dead.test"))
	want(t, res, 0, store.Deferred, "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)")
	if res[0].NotAttempted {
		t.Fatal("the first attempt was not counted")
	}
	res = deliver(tr, job(2, "a@qsend.test", "c@dead.test"))
	if !res[0].NotAttempted || res[0].State != store.Deferred || !res[0].Next.After(time.Now().Add(30*time.Second)) {
		t.Fatalf("second message: %+v, want a wait without an attempt until the backoff ends", res[0])
	}
	if tr.Destinations() != 1 {
		t.Fatalf("%d destinations remembered", tr.Destinations())
	}
	counts := map[string]int64{}
	tr.Counters().Results(func(state, reason string, n int64) { counts[state+" "+reason] = n })
	if counts["deferred connect"] != 1 || counts["waited backoff"] != 1 {
		t.Fatalf("counters %v", counts)
	}
}
