package delivery

import (
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// TestTLSHoldOnExpiry: a TLS policy failure in a message's last pass holds
// the message (tls.on_expiry hold) instead of bouncing it; other deferred
// recipients of the same pass still fail; release gives the held
// recipient one more attempt. With BounceTLSOnExpiry it bounces as qmail.
func TestTLSHoldOnExpiry(t *testing.T) {
	const tlsText = "TLS unable to verify server mx.x.example: received certificate for other.example; connected to 127.0.0.1.\n"
	for _, bounce := range []bool{false, true} {
		t.Run(map[bool]string{false: "hold", true: "bounce"}[bounce], func(t *testing.T) {
			var delivered bool
			tr := &funcTransport{answer: func(job Job) []store.Result {
				var out []store.Result
				for _, i := range job.Rcpts {
					switch {
					case job.Msg.Recipients[i].Addr == "b@y.example":
						out = append(out, store.Result{State: store.Deferred, Text: "timeout\n"})
					case delivered:
						out = append(out, store.Result{State: store.Delivered, Text: "ok\n"})
					default:
						out = append(out, store.Result{State: store.Deferred, Text: tlsText, TLSPolicy: true})
					}
				}
				return out
			}}
			e := newEnv(t, func(o *Options) {
				o.Remote = tr
				o.QueueLifetime = time.Nanosecond
				o.BounceTLSOnExpiry = bounce
			})
			// The null sender: the bounce of b@ is a double bounce, which
			// the test does not follow.
			m := e.enqueue("", "a@x.example", "b@y.example")
			e.clock.Set(start.Add(time.Second))
			e.run()
			e.waitFor("a job", func() bool { return tr.Jobs() > 0 })
			e.settle()
			if bounce {
				e.waitLine("end msg " + m.ID.String())
				return
			}
			e.waitFor("held", func() bool { return e.get(m.ID).Held })
			got := e.get(m.ID)
			if a, b := got.Recipients[0], got.Recipients[1]; a.State != store.Deferred || !a.TLSPolicy || a.LastResult != tlsText || b.State != store.Failed {
				t.Fatalf("recipients %+v %+v", a, b)
			}
			if n := e.s.Status().TLSHeld; n != 1 {
				t.Errorf("TLSHeld = %d", n)
			}
			tr.mu.Lock()
			delivered = true
			tr.mu.Unlock()
			if err := e.s.Release(m.ID); err != nil {
				t.Fatal(err)
			}
			e.waitLine("end msg " + m.ID.String())
		})
	}
}
