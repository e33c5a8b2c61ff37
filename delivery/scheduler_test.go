package delivery

import (
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

func TestDeliverOnce(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{
		"b@y.example": {{store.Delivered, "1.2.3.4 accepted message.\nRemote host said: 250 ok\n"}},
	}}
	e := newEnv(t, func(o *Options) { o.Remote = tr })
	m := e.enqueue("joe@example.com", "a@x.example", "b@y.example")
	e.run()
	e.waitLine("end msg " + m.ID.String())
	e.settle()
	id := m.ID.String()
	want := []string{
		"new msg " + id,
		"info msg " + id + ": bytes " + strconv.FormatInt(m.Size, 10) + " from <joe@example.com> qp 77 uid 1000",
		"starting delivery 1: msg " + id + " to remote a@x.example",
		"starting delivery 2: msg " + id + " to remote b@y.example",
		"status: local 0/10 remote 1/20",
		"delivery 1: success: ok/",
		"delivery 2: success: 1.2.3.4_accepted_message./Remote_host_said:_250_ok/",
		"status: local 0/10 remote 0/20",
		"end msg " + id,
	}
	if got := e.log.Lines(); !slices.Equal(got, want) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(tr.Attempts()); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	if a := tr.Attempts()[0]; a.body != "Subject: test\n\nhello\n" {
		t.Errorf("transport read body %q", a.body)
	}
	if !e.gone(m.ID) || e.stats().Messages != 0 {
		t.Errorf("message still queued: %+v", e.stats())
	}
	if st := e.s.Status(); st.Deliveries != 2 || st.Remote.Limit != 20 || !st.Remote.Transport || st.Local.Transport {
		t.Errorf("status %+v", st)
	}
}

func TestRetrySchedule(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{
		"a@x.example": {{store.Deferred, "Connected to 1.2.3.4 but connection died. (#4.4.2)\n"}},
	}}
	e := newEnv(t, func(o *Options) { o.Remote = tr })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.waitLine("delivery 1: deferral: Connected_to_1.2.3.4_but_connection_died._(#4.4.2)/")
	e.settle()
	r := e.get(m.ID).Recipients[0]
	if r.State != store.Deferred || r.Attempts != 1 || !r.NextAttempt.Equal(start.Add(400*time.Second)) || !r.LastAttempt.Equal(start) {
		t.Fatalf("after first pass: %+v", r)
	}
	// Not due yet: nothing happens.
	e.advance(399 * time.Second)
	e.settle()
	if n := len(tr.Attempts()); n != 1 {
		t.Fatalf("%d attempts before the retry time", n)
	}
	// A late pass: isqrt(430) = 20, next = born + 40² s.
	e.advance(31 * time.Second)
	e.waitLine("delivery 2: deferral: Connected_to_1.2.3.4_but_connection_died._(#4.4.2)/")
	e.settle()
	r = e.get(m.ID).Recipients[0]
	if r.Attempts != 2 || !r.NextAttempt.Equal(start.Add(1600*time.Second)) {
		t.Fatalf("after second pass: %+v", r)
	}
}

func TestDyingPassBounces(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{
		"a@x.example": {{store.Deferred, "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n"}},
	}}
	e := newEnv(t, func(o *Options) { o.Remote = tr; o.QueueLifetime = time.Hour })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.waitLine("delivery 1: deferral: Sorry,_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/")
	e.settle()
	// The next pass after the lifetime is the last; its deferral fails.
	e.advance(time.Hour + time.Second)
	id := m.ID.String()
	e.waitLine("delivery 2: failure: Sorry,_I_wasn't_able_to_establish_an_SMTP_connection._(#4.4.1)/" +
		"I'm_not_going_to_try_again;_this_message_has_been_in_the_queue_too_long./")
	e.waitLine("end msg " + id)
	e.waitLine("bounce msg " + id + " qp " + strconv.Itoa(os.Getpid()))
	// The bounce is queued, announced and delivered to the sender.
	e.waitFor("bounce delivered", func() bool {
		for _, a := range tr.Attempts() {
			if a.addr == "joe@example.com" {
				return true
			}
		}
		return false
	})
	e.settle()
	var b attempt
	for _, a := range tr.Attempts() {
		if a.addr == "joe@example.com" {
			b = a
		}
	}
	bid := b.id.String()
	for _, line := range []string{
		"new msg " + bid,
		"info msg " + bid + ": bytes " + strconv.Itoa(len(b.body)) + " from <> qp " + strconv.Itoa(os.Getpid()) + " uid " + strconv.Itoa(os.Getuid()),
		"starting delivery 3: msg " + bid + " to remote joe@example.com",
		"end msg " + bid,
	} {
		if !e.log.Has(line) {
			t.Errorf("log lacks %q", line)
		}
	}
	wantBody := "<a@x.example>:\nSorry, I wasn't able to establish an SMTP connection. (#4.4.1)\n" +
		"I'm not going to try again; this message has been in the queue too long.\n\n" +
		"--- Below this line is a copy of the message.\n\nReturn-Path: <joe@example.com>\nSubject: test\n\nhello\n"
	if !strings.HasSuffix(b.body, wantBody) || !strings.Contains(b.body, "To: joe@example.com\n") {
		t.Errorf("bounce body:\n%s", b.body)
	}
	if e.stats().Messages != 0 {
		t.Errorf("queue not empty: %+v", e.stats())
	}
}

func TestBounceOnceAfterRestart(t *testing.T) {
	e := newEnv(t, nil) // no transports
	m := e.enqueue("joe@example.com", "a@x.example")
	if _, err := GiveUp(e.st, m.ID, start); err != nil {
		t.Fatal(err)
	}
	// A previous run queued the bounce and stopped before deleting m.
	prev, err := e.st.Enqueue(t.Context(), store.NewMessage{Sender: "", Recipients: []string{"joe@example.com"},
		Born: start, DedupeKey: "bounce:" + m.ID.String(), Intake: store.Intake{Protocol: "bounce"}},
		strings.NewReader("earlier bounce\n"))
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	e.waitLine("end msg " + m.ID.String())
	e.waitLine("new msg " + prev.String())
	e.settle()
	if st := e.stats(); st.Messages != 1 {
		t.Errorf("%d messages queued, want the one earlier bounce", st.Messages)
	}
	if !e.gone(m.ID) || e.gone(prev) {
		t.Error("wrong message left")
	}
	if !e.log.Has("bounce msg " + m.ID.String() + " qp " + strconv.Itoa(os.Getpid())) {
		t.Error("no bounce line")
	}
}

func TestDoubleAndTripleBounce(t *testing.T) {
	tests := []struct {
		name, sender string
		settings     BounceSettings
		wantTo       string // "" when discarded
		wantLine     string
	}{
		{"double", "", BounceSettings{BounceFrom: "MAILER-DAEMON", BounceHost: "mx.example", DoubleBounceTo: "postmaster", DoubleBounceHost: "mx.example"},
			"postmaster@mx.example", ""},
		{"triple", "#@[]", BounceSettings{BounceFrom: "MAILER-DAEMON", BounceHost: "mx.example", DoubleBounceTo: "postmaster", DoubleBounceHost: "mx.example"},
			"", "triple bounce: discarding bounce/"},
		{"double discarded", "", BounceSettings{BounceFrom: "MAILER-DAEMON", BounceHost: "mx.example", DoubleBounceHost: "mx.example"},
			"", "double bounce: discarding bounce/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &scriptTransport{script: map[string][]outcome{"a@x.example": {{store.Failed, "Sorry, no mailbox here by that name. (#5.1.1)\n"}}}}
			e := newEnv(t, func(o *Options) { o.Remote = tr; o.Bounce = tc.settings })
			m := e.enqueue(tc.sender, "a@x.example")
			e.run()
			e.waitLine("end msg " + m.ID.String())
			if tc.wantTo == "" {
				e.settle()
				if !e.log.Has(tc.wantLine+m.ID.String()) || e.stats().Messages != 0 {
					t.Errorf("not discarded; log:\n%s", strings.Join(e.log.Lines(), "\n"))
				}
				return
			}
			e.waitFor("double bounce delivered", func() bool { return len(tr.Attempts()) == 2 })
			e.settle()
			b := tr.Attempts()[1]
			if b.addr != tc.wantTo || !strings.Contains(b.body, "but the bounce bounced!") || !strings.Contains(b.body, "Return-Path: <>\n") {
				t.Errorf("double bounce to %s:\n%s", b.addr, b.body)
			}
		})
	}
}

func TestNilTransports(t *testing.T) {
	e := newEnv(t, nil)
	var ms []store.Message
	for i := range 5 {
		ms = append(ms, e.enqueue("joe@example.com", "r"+strconv.Itoa(i)+"@x.example"))
	}
	e.run()
	e.advance(24 * time.Hour)
	e.s.FlushAll()
	e.settle()
	for _, l := range e.log.Lines() {
		if strings.HasPrefix(l, "starting delivery") {
			t.Fatalf("dispatched without a transport: %s", l)
		}
	}
	if st := e.stats(); st.Messages != 5 || st.Recipients != 5 {
		t.Fatalf("queue changed: %+v", st)
	}
	// Completion still works: give up on one, the loop bounces it.
	if err := e.s.Bounce(ms[2].ID); err != nil {
		t.Fatal(err)
	}
	e.waitLine("end msg " + ms[2].ID.String())
	e.settle()
	if st := e.stats(); st.Messages != 5 { // 4 left plus the bounce, waiting too
		t.Errorf("queue %+v, want 4 messages and a bounce", st)
	}
	if r := e.get(ms[3].ID).Recipients[0]; r.Attempts != 0 || r.State != store.Pending {
		t.Errorf("untouched message changed: %+v", r)
	}
}

// TestGiveUpOffline is `qsend queue bounce` with the daemon down: the
// next run completes the message, held or not.
func TestGiveUpOffline(t *testing.T) {
	e := newEnv(t, nil)
	m := e.enqueue("joe@example.com", "a@x.example", "b@x.example")
	if err := e.s.Hold(m.ID); err != nil {
		t.Fatal(err)
	}
	got, err := GiveUp(e.st, m.ID, start)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipients[0].State != store.Failed || !strings.HasSuffix(got.Recipients[1].LastResult, giveUpText) {
		t.Fatalf("after GiveUp: %+v", got)
	}
	if _, err := GiveUp(e.st, 999, start); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GiveUp unknown id: %v", err)
	}
	e.run()
	e.waitLine("end msg " + m.ID.String())
	e.settle()
	var bounce store.Message
	_ = e.st.Walk(func(m store.Message) error { bounce = m; return nil })
	if bounce.Sender != "" || len(bounce.Recipients) != 1 || bounce.Recipients[0].Addr != "joe@example.com" {
		t.Errorf("bounce %+v", bounce)
	}
}
