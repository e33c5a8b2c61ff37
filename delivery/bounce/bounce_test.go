package bounce

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

var (
	settings = Settings{BounceFrom: "MAILER-DAEMON", BounceHost: "mx.example.net",
		DoubleBounceTo: "postmaster", DoubleBounceHost: "mx.example.net"}
	when = time.Date(1995, 9, 6, 4, 46, 54, 0, time.FixedZone("CEST", 7200))
)

const origBody = "Received: (qmail 12 invoked by uid 1000); 6 Sep 1995 02:40:00 -0000\nSubject: hi\n\nhello\n"

func TestCompose(t *testing.T) {
	tests := []struct {
		name     string
		s        Settings
		sender   string
		failed   []store.Recipient
		kind     Kind
		wantFrom string
		wantTo   string
		want     string // whole body; empty for discards
	}{
		{
			name:   "single",
			s:      settings,
			sender: "joe@example.com",
			failed: []store.Recipient{{Addr: "user@example.org",
				LastResult: "1.2.3.4 does not like recipient.\nRemote host said: 550 5.1.1 unknown user\nGiving up on 1.2.3.4.\n"}},
			kind:   Single,
			wantTo: "joe@example.com",
			want: "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
				"Date: 6 Sep 1995 02:46:54 -0000\n" +
				"From: MAILER-DAEMON@mx.example.net\n" +
				"To: joe@example.com\n" +
				"Subject: failure notice\n" +
				"\n" +
				"Hi. This is the qmail-send program at mx.example.net.\n" +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n" +
				"\n" +
				"<user@example.org>:\n" +
				"1.2.3.4 does not like recipient.\n" +
				"Remote host said: 550 5.1.1 unknown user\n" +
				"Giving up on 1.2.3.4.\n" +
				"\n" +
				"--- Below this line is a copy of the message.\n" +
				"\n" +
				"Return-Path: <joe@example.com>\n" +
				origBody,
		},
		{
			name:   "several recipients, texts without LF, blank lines and quoting",
			s:      Settings{BounceFrom: "mailer daemon", BounceHost: "h", DoubleBounceTo: "pm", DoubleBounceHost: "h"},
			sender: `john..doe@example.com`,
			failed: []store.Recipient{
				{Addr: "a@x", LastResult: "Sorry, no mailbox here by that name. (#5.1.1)"},
				{Addr: "b\n@y", LastResult: "first\n\nsecond\n\n\nthird"},
				{Addr: "c@z", LastResult: ""},
			},
			kind:   Single,
			wantTo: "john..doe@example.com",
			want: "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
				"Date: 6 Sep 1995 02:46:54 -0000\n" +
				"From: \"mailer daemon\"@h\n" +
				"To: \"john..doe\"@example.com\n" +
				"Subject: failure notice\n" +
				"\n" +
				"Hi. This is the qmail-send program at h.\n" +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n" +
				"\n" +
				"<a@x>:\n" +
				"Sorry, no mailbox here by that name. (#5.1.1)\n" +
				"\n" +
				"<b_@y>:\n" +
				"first\n" +
				"/second\n" +
				"//third\n" +
				"\n" +
				"<c@z>:\n" +
				"\n" +
				"--- Below this line is a copy of the message.\n" +
				"\n" +
				"Return-Path: <\"john..doe\"@example.com>\n" +
				origBody,
		},
		{
			name:     "double",
			s:        settings,
			sender:   "",
			failed:   []store.Recipient{{Addr: "joe@example.com", LastResult: "Sorry, I couldn't find any host named example.com. (#5.1.2)\n"}},
			kind:     Double,
			wantFrom: "#@[]",
			wantTo:   "postmaster@mx.example.net",
			want: "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
				"Date: 6 Sep 1995 02:46:54 -0000\n" +
				"From: MAILER-DAEMON@mx.example.net\n" +
				"To: postmaster@mx.example.net\n" +
				"Subject: failure notice\n" +
				"\n" +
				"Hi. This is the qmail-send program at mx.example.net.\n" +
				"I tried to deliver a bounce message to this address, but the bounce bounced!\n" +
				"\n" +
				"<joe@example.com>:\n" +
				"Sorry, I couldn't find any host named example.com. (#5.1.2)\n" +
				"\n" +
				"--- Below this line is the original bounce.\n" +
				"\n" +
				"Return-Path: <>\n" +
				origBody,
		},
		{
			name:   "VERP sender bounces to the owner address",
			s:      settings,
			sender: "list-owner-@lists.example.com-@[]",
			failed: []store.Recipient{{Addr: "m@example.org", LastResult: "no\n"}},
			kind:   Single,
			wantTo: "list-owner-@lists.example.com",
			want: "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
				"Date: 6 Sep 1995 02:46:54 -0000\n" +
				"From: MAILER-DAEMON@mx.example.net\n" +
				"To: list-owner-@lists.example.com\n" +
				"Subject: failure notice\n" +
				"\n" +
				"Hi. This is the qmail-send program at mx.example.net.\n" +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n" +
				"\n" +
				"<m@example.org>:\n" +
				"no\n" +
				"\n" +
				"--- Below this line is a copy of the message.\n" +
				"\n" +
				"Return-Path: <list-owner-@lists.example.com>\n" +
				origBody,
		},
		{
			name:   "triple bounce is discarded",
			s:      settings,
			sender: "#@[]",
			failed: []store.Recipient{{Addr: "postmaster@mx.example.net", LastResult: "no\n"}},
			kind:   Discard,
		},
		{
			name:   "double bounce discarded when doublebounceto is empty",
			s:      Settings{BounceFrom: "MAILER-DAEMON", BounceHost: "h", DoubleBounceTo: "", DoubleBounceHost: "h"},
			sender: "",
			failed: []store.Recipient{{Addr: "joe@example.com", LastResult: "no\n"}},
			kind:   DiscardDouble,
		},
		{
			name:     "a bare VERP marker is a null sender",
			s:        settings,
			sender:   "-@[]",
			failed:   []store.Recipient{{Addr: "x@y", LastResult: "no\n"}},
			kind:     Double,
			wantFrom: "#@[]",
			wantTo:   "postmaster@mx.example.net",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := store.Message{ID: 77, Sender: tc.sender}
			nm, r, kind := Compose(tc.s, orig, tc.failed, strings.NewReader(origBody), when, 4242)
			if kind != tc.kind {
				t.Fatalf("kind %v, want %v", kind, tc.kind)
			}
			if kind == Discard || kind == DiscardDouble {
				if r != nil || nm.Recipients != nil {
					t.Errorf("discard returned a message: %+v", nm)
				}
				return
			}
			if nm.Sender != tc.wantFrom || len(nm.Recipients) != 1 || nm.Recipients[0] != tc.wantTo {
				t.Errorf("envelope %q -> %q, want %q -> %q", nm.Sender, nm.Recipients, tc.wantFrom, tc.wantTo)
			}
			wantIntake := store.Intake{Protocol: "bounce", UID: os.Getuid(), PID: 4242}
			if nm.Intake != wantIntake || nm.DedupeKey != "bounce:77" || !nm.Born.Equal(when) {
				t.Errorf("intake %+v key %q born %v", nm.Intake, nm.DedupeKey, nm.Born)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && string(got) != tc.want {
				t.Errorf("body:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestReport(t *testing.T) {
	tests := []struct{ addr, text, want string }{
		{"a@b", "ok\n", "<a@b>:\nok\n\n"},
		{"a@b", "ok", "<a@b>:\nok\n\n"},
		{"a@b", "", "<a@b>:\n\n"},
		{"a@b", "\nx", "<a@b>:\n/x\n\n"},
		{"a@b", "x\n\n", "<a@b>:\nx\n\n\n"},
		{"a@b", "x\n\n\ny\n", "<a@b>:\nx\n//y\n\n"},
	}
	for _, tc := range tests {
		if got := Report(tc.addr, tc.text); got != tc.want {
			t.Errorf("Report(%q, %q) = %q, want %q", tc.addr, tc.text, got, tc.want)
		}
	}
}

func TestQuoteAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"joe@example.com", "joe@example.com"},
		{"a.b+c@x", "a.b+c@x"},
		{".a@x", `".a"@x`},
		{"a.@x", `"a."@x`},
		{"a b@x", `"a b"@x`},
		{`a"b\c@x`, `"a\"b\\c"@x`},
		{"a@b@x", `"a@b"@x`},
		{"@x", `""@x`},
		{"nodomain", "nodomain"},
		{"a\nb@x\r\nX-Evil: 1", "a_b@x__X-Evil: 1"},
		{"a\rb", "a_b"},
		{"caf\xc3\xa9@x", "\"caf\xc3\xa9\"@x"},
	}
	for _, tc := range tests {
		if got := quoteAddr(tc.in); got != tc.want {
			t.Errorf("quoteAddr(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestStreamsBody bounces a 50 MB body and checks the composer never
// holds it: the bytes come straight from the reader it was given.
func TestStreamsBody(t *testing.T) {
	const size = 50 << 20
	body := &countingReader{n: size}
	_, r, _ := Compose(settings, store.Message{ID: 1, Sender: "a@b"},
		[]store.Recipient{{Addr: "c@d", LastResult: "no\n"}}, body, when, 1)
	if body.read != 0 {
		t.Fatalf("Compose read %d bytes of the body", body.read)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		t.Fatal(err)
	}
	if body.read != size || n <= size {
		t.Errorf("copied %d bytes, body read %d", n, body.read)
	}
}

type countingReader struct{ n, read int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.read >= c.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), c.n-c.read)
	copy(p, bytes.Repeat([]byte{'x'}, int(k)))
	c.read += k
	return int(k), nil
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Single: "single", Double: "double", Discard: "discard", DiscardDouble: "discard-double", 9: "kind(" + strconv.Itoa(9) + ")"} {
		if k.String() != want {
			t.Errorf("%d: %q", int(k), k.String())
		}
	}
}
