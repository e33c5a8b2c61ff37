package remote

import (
	"testing"

	"github.com/qsend/qsend/delivery/smtpclient/smtptest"
	"github.com/qsend/qsend/store"
	"github.com/qsend/qsend/tls/certfile/certtest"
	"github.com/qsend/qsend/tls/policy"
)

// TestTLSPoolFollowsPem: a connection verified under a tlshosts pem is
// reused while the pem stays, and not once the pem is replaced by one the
// server does not verify against: the next message connects again and is
// deferred.
func TestTLSPoolFollowsPem(t *testing.T) {
	w := newTLSWorld(t)
	w.dns.Add("one.test. 60 IN MX 10 mx1.example.test.", "mx1.example.test. 60 IN A 127.0.0.2")
	w.writeControl("tlshosts/mx1.example.test.pem", w.ca.PEM())
	s := w.server("127.0.0.2", smtptest.Config{TLS: serverTLS(w.issue("mx1.example.test"))})
	tr := w.transport(Options{TLS: TLSOptions{Policy: w.engine(policy.Options{})}})

	for i := 1; i <= 2; i++ {
		want(t, deliver(tr, job(store.ID(i), "a@qsend.test", "b@one.test")), 0, store.Delivered, "accepted message.")
	}
	if c, r := tr.Counters().Connections.Load(), tr.Counters().Reused.Load(); c != 1 || r != 1 {
		t.Fatalf("connections %d, reused %d; want 1 and 1", c, r)
	}

	other := certtest.NewCA(t, "another CA")
	w.writeControl("tlshosts/mx1.example.test.pem", other.PEM())
	res := deliver(tr, job(3, "a@qsend.test", "b@one.test"))
	wantTLSDeferral(t, res, 0, "TLS unable to verify server with control/tlshosts/mx1.example.test.pem: unable to get local issuer certificate; connected to 127.0.0.2.\n", true)
	if n := len(s.Messages()); n != 2 {
		t.Fatalf("server has %d messages, want the first two only", n)
	}
}
