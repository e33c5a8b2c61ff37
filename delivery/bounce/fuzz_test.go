package bounce

import (
	"io"
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

// FuzzCompose feeds addresses and remote texts, which come from the
// network, through the bounce composer and checks the shape it promises:
// the original body comes last and unchanged, the header has no line
// broken by a recipient's text, and each report ends in a blank line.
func FuzzCompose(f *testing.F) {
	f.Add("joe@example.com", "user@example.org", "1.2.3.4 does not like recipient.\nRemote host said: 550 no\n", "body\n")
	f.Add("", "x@y", "a\n\n\nb", "")
	f.Add("#@[]", "postmaster@h", "no", "x")
	f.Add("owner-@host-@[]", "a\nb@c", "\n", "Subject: x\n\nhi\n")
	f.Add("a b\"c@x", "", "", "\x00\xff")
	f.Fuzz(func(t *testing.T, sender, rcpt, text, body string) {
		nm, r, kind := Compose(settings, store.Message{ID: 3, Sender: sender},
			[]store.Recipient{{Addr: rcpt, LastResult: text}}, strings.NewReader(body), when, 9)
		if kind == Discard || kind == DiscardDouble {
			if r != nil {
				t.Fatal("discard with a body")
			}
			return
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		s := string(out)
		if !strings.HasSuffix(s, body) {
			t.Fatal("original body not at the end")
		}
		head, _, ok := strings.Cut(s, "\n\n")
		if !ok || strings.Count(head, "\n") != 4 {
			t.Fatalf("header is not five lines: %q", head)
		}
		rep := Report(rcpt, text)
		if !strings.HasSuffix(rep, "\n\n") || strings.Contains(rep[:len(rep)-2], "\n\n") && !strings.HasSuffix(text, "\n\n") {
			t.Fatalf("report %q has a blank line inside", rep)
		}
		if !strings.Contains(s, rep) {
			t.Fatal("report missing")
		}
		if len(nm.Recipients) != 1 || nm.DedupeKey != "bounce:3" {
			t.Fatalf("envelope %+v", nm)
		}
	})
}
