package main

import (
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
)

// TestFlushResetsBackoff: after a short outage of a domain's only MX, its
// destination is backed off (a minute at least), but `queue flush ID`
// makes the next attempt go ahead at once, as qmail-tcpok then SIGALRM
// does for qmail.
func TestFlushResetsBackoff(t *testing.T) {
	w := newRemoteWorld(t)
	w.dns.Add("down.example. 60 IN MX 10 mx.down.example.", "mx.down.example. 60 IN A 127.0.0.4")
	s := newSite(t)
	s.writeConfig(w.config(""))
	s.startDaemon()
	if code, errOut := s.queue(bodyFor("outage"), envelope("sender@test.example", "x@down.example")); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var id string
	waitFor(t, "the first attempt to fail", func() bool {
		l := s.listJSON()
		if len(l) == 1 && l[0].Recipients[0].Attempts == 1 {
			id = l[0].ID.String()
			return true
		}
		return false
	})
	if r := s.listJSON()[0].Recipients[0]; !strings.Contains(r.LastResult, "(#4.4.1)") {
		t.Fatalf("first attempt: %q, want a connection failure", r.LastResult)
	}
	sink := w.server(t, "127.0.0.4", smtptest.Config{Pipelining: true}) // the outage is over
	start := time.Now()
	s.mustRun("queue", "flush", id)
	waitFor(t, "the queue to empty after the flush", func() bool { return len(s.listJSON()) == 0 })
	took := time.Since(start)
	t.Logf("delivered %v after the flush", took)
	if sink.Count() != 1 {
		t.Fatalf("the MX got %d transactions", sink.Count())
	}
	if took > 10*time.Second {
		t.Errorf("delivery took %v after the flush", took)
	}
}
