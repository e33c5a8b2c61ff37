package delivery

import (
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// TestDelayWarning checks that a sender gets one delay warning once the
// message is older than DelayWarning, none for null and "#@[]" senders
// and none when it is off, also across a restart.
func TestDelayWarning(t *testing.T) {
	tests := []struct {
		name   string
		after  time.Duration // DelayWarning
		sender string
		want   int // warnings delivered to the sender
	}{
		{"warned once", time.Hour, "joe@example.com", 1},
		{"off", 0, "joe@example.com", 0},
		{"null sender", time.Hour, "", 0},
		{"double bounce sender", time.Hour, "#@[]", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &scriptTransport{script: map[string][]outcome{
				"slow@x.example": {{store.Deferred, "Connected to 192.0.2.1 but connection died. (#4.4.2)\n"}},
			}}
			mod := func(o *Options) {
				o.Remote = tr
				o.DelayWarning = tc.after
				o.Retry = func(d Deferral) time.Time { return d.End.Add(30 * time.Minute) }
			}
			e := newEnv(t, mod)
			m := e.enqueue(tc.sender, "slow@x.example")
			e.run()
			for range 4 { // 2 hours in passes of 30 minutes
				e.settle()
				e.advance(30 * time.Minute)
			}
			e.settle()
			e.stop()
			// A restart must not warn again.
			e2 := newEnv(t, mod)
			e2.st.Close()
			e2.st, e2.opts.Store = e.st, e.st
			e2.s = New(e2.opts)
			e2.clock.Set(e.clock.Now())
			e2.run()
			e2.settle()
			e2.advance(time.Hour)
			e2.settle()
			e2.stop()

			warnings := 0
			for _, a := range tr.Attempts() {
				if a.addr == tc.sender && strings.Contains(a.body, "Subject: Delayed Mail (still being retried)\n") {
					warnings++
					if !strings.Contains(a.body, "Action: delayed\nStatus: 4.4.2\n") {
						t.Errorf("warning body:\n%s", a.body)
					}
				}
			}
			if warnings != tc.want {
				t.Errorf("%d warnings, want %d; log:\n%s", warnings, tc.want, strings.Join(e.log.Lines(), "\n"))
			}
			got, err := e.st.Get(m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Warned != (tc.want > 0) {
				t.Errorf("Warned %v", got.Warned)
			}
		})
	}
}
