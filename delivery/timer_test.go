package delivery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// TestTimerWakes runs on the real clock: a deferred recipient is retried
// by the loop's own timer, with no event to wake it.
func TestTimerWakes(t *testing.T) {
	tr := &scriptTransport{script: map[string][]outcome{
		"a@x.example": {{store.Deferred, "busy\n"}, {store.Delivered, "ok\n"}},
	}}
	e := newEnv(t, func(o *Options) {
		o.Remote = tr
		o.Now = nil
		o.Retry = func(d Deferral) time.Time { return d.Start.Add(100 * time.Millisecond) }
	})
	e.clock.Set(time.Now())
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.waitLine("delivery 1: deferral: busy/")
	e.waitLine("end msg " + m.ID.String())
	if a := tr.Attempts(); len(a) != 2 {
		t.Errorf("%d attempts", len(a))
	}
}

type panicTransport struct{}

func (panicTransport) Deliver(context.Context, Job) []store.Result { panic("boom") }

func TestTransportPanics(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Remote = panicTransport{} })
	m := e.enqueue("joe@example.com", "a@x.example")
	e.run()
	e.waitLine("delivery 1: deferral: " + strings.ReplaceAll(strings.TrimSuffix(noResultText, "\n"), " ", "_") + "/")
	e.settle()
	if r := e.get(m.ID).Recipients[0]; r.State != store.Deferred || r.LastResult != noResultText {
		t.Errorf("after a crash: %+v", r)
	}
	if !e.log.Has(`alert: delivery transport crashed id=1 channel=remote panic=boom`) {
		t.Errorf("no alert; log:\n%s", strings.Join(e.log.Lines(), "\n"))
	}
}
