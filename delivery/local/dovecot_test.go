package local

import (
	"bytes"
	"strings"
	"testing"

	"github.com/qsend/qsend/delivery/local/dovecottest"
	"github.com/qsend/qsend/delivery/rewrite"
	"github.com/qsend/qsend/store"
)

// TestDovecotLMTP delivers through the transport to a real Dovecot over its
// Unix socket, with a virtualdomains prepend that Dovecot's user names
// match: one transaction, a result per recipient, the message in the
// Maildir with Dovecot's own Return-Path and Delivered-To.
func TestDovecotLMTP(t *testing.T) {
	d := dovecottest.Start(t, dovecottest.Options{Users: []string{"alice", "vu-bob"}})
	rules, err := rewrite.New("example.test", []string{"example.test"}, nil, []string{"virt.test:vu"})
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(t, Options{Rewrite: rules, Me: "qsend.test", Default: Method{Kind: KindLMTP, LMTP: "unix:" + d.Socket()}})
	rs := deliver(t, tr, job("s@example.net", body, "alice@example.test", "nobody@example.test", "bob@virt.test"))
	want := []store.RcptState{store.Delivered, store.Failed, store.Delivered}
	for i, w := range want {
		if rs[i].State != w {
			t.Errorf("rcpt %d: %v %q, want %v\n%s", i, rs[i].State, rs[i].Text, w, d.Log())
		}
	}
	for _, u := range []string{"alice", "vu-bob"} {
		msgs := d.Messages(u)
		if len(msgs) != 1 || !bytes.Contains(msgs[0], []byte("\nSubject: hi\n")) || !bytes.HasSuffix(msgs[0], []byte("\n\nHello.\n")) {
			t.Errorf("%s has %q", u, msgs)
		}
		if len(msgs) == 1 && !strings.Contains(string(msgs[0]), "Return-Path: <s@example.net>") {
			t.Errorf("%s: no Return-Path in %q", u, msgs[0])
		}
	}
}
