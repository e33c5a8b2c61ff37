package bounce

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/qsend/qsend/store"
)

// dsnSettings are settings with the DSN format and a fixed token.
func dsnSettings(maxBody int64) Settings {
	s := settings
	s.Format, s.MaxBody, s.token = FormatDSN, maxBody, "0123456789abcdef"
	return s
}

var (
	born    = time.Date(1995, 9, 6, 2, 40, 0, 0, time.UTC)
	tried   = time.Date(1995, 9, 6, 2, 46, 50, 0, time.UTC)
	dsnOrig = store.Message{ID: 42, Sender: "joe@example.com", Born: born, Size: int64(len(origBody))}
	dsnRcpt = store.Recipient{Addr: "user@example.org", LastAttempt: tried,
		LastResult: "1.2.3.4 does not like recipient.\nRemote host said: 550 5.1.1 unknown user\nGiving up on 1.2.3.4.\n"}
)

const dsnHead = "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
	"Date: 6 Sep 1995 02:46:54 -0000\n" +
	"From: MAILER-DAEMON@mx.example.net\n" +
	"To: joe@example.com\n"

const dsnMIME = "Auto-Submitted: auto-replied\n" +
	"MIME-Version: 1.0\n" +
	"Content-Type: multipart/report; report-type=delivery-status;\n" +
	"\tboundary=\"=_qsend_0123456789abcdef\"\n" +
	"Content-Transfer-Encoding: 8bit\n" +
	"\n" +
	"This is a MIME-encapsulated message.\n" +
	"\n" +
	"--=_qsend_0123456789abcdef\n" +
	"Content-Description: Notification\n" +
	"Content-Type: text/plain; charset=us-ascii\n" +
	"\n" +
	"Hi. This is the qmail-send program at mx.example.net.\n"

func TestComposeDSN(t *testing.T) {
	tests := []struct {
		name    string
		maxBody int64
		sender  string
		rcpts   []store.Recipient
		kind    Kind
		want    string
	}{
		{
			name: "single with the whole message", maxBody: DefaultMaxBody, sender: "joe@example.com",
			rcpts: []store.Recipient{dsnRcpt, {Addr: "x@y", LastResult: "Sorry, no mailbox here by that name. (#5.1.1)\n"}}, kind: Single,
			want: dsnHead +
				"Subject: Undelivered Mail Returned to Sender\n" +
				"Message-ID: <810355614.42.0123456789abcdef@mx.example.net>\n" +
				dsnMIME +
				"I'm afraid I wasn't able to deliver your message to the following addresses.\n" +
				"This is a permanent error; I've given up. Sorry it didn't work out.\n" +
				"\n" +
				"<user@example.org>:\n" +
				"1.2.3.4 does not like recipient.\n" +
				"Remote host said: 550 5.1.1 unknown user\n" +
				"Giving up on 1.2.3.4.\n" +
				"\n" +
				"<x@y>:\n" +
				"Sorry, no mailbox here by that name. (#5.1.1)\n" +
				"\n" +
				"--=_qsend_0123456789abcdef\n" +
				"Content-Description: Delivery report\n" +
				"Content-Type: message/delivery-status\n" +
				"\n" +
				"Reporting-MTA: dns; mx.example.net\n" +
				"X-Qsend-Queue-ID: 42\n" +
				"Arrival-Date: 6 Sep 1995 02:40:00 -0000\n" +
				"\n" +
				"Final-Recipient: rfc822; user@example.org\n" +
				"Action: failed\n" +
				"Status: 5.1.1\n" +
				"Remote-MTA: dns; [1.2.3.4]\n" +
				"Diagnostic-Code: smtp; 550 5.1.1 unknown user\n" +
				"Last-Attempt-Date: 6 Sep 1995 02:46:50 -0000\n" +
				"\n" +
				"Final-Recipient: rfc822; x@y\n" +
				"Action: failed\n" +
				"Status: 5.1.1\n" +
				"\n" +
				"--=_qsend_0123456789abcdef\n" +
				"Content-Description: Undelivered message\n" +
				"Content-Type: message/rfc822\n" +
				"Content-Transfer-Encoding: 8bit\n" +
				"\n" +
				origBody +
				"\n--=_qsend_0123456789abcdef--\n",
		},
		{
			name: "double bounce with headers only", maxBody: 10, sender: "",
			rcpts: []store.Recipient{{Addr: "joe@example.com", LastResult: "no such user\n"}}, kind: Double,
			want: "Received: (qmail 4242 invoked for bounce); 6 Sep 1995 02:46:54 -0000\n" +
				"Date: 6 Sep 1995 02:46:54 -0000\n" +
				"From: MAILER-DAEMON@mx.example.net\n" +
				"To: postmaster@mx.example.net\n" +
				"Subject: Undelivered Mail Returned to Sender\n" +
				"Message-ID: <810355614.42.0123456789abcdef@mx.example.net>\n" +
				dsnMIME +
				"I tried to deliver a bounce message to this address, but the bounce bounced!\n" +
				"\n" +
				"<joe@example.com>:\n" +
				"no such user\n" +
				"\n" +
				"--=_qsend_0123456789abcdef\n" +
				"Content-Description: Delivery report\n" +
				"Content-Type: message/delivery-status\n" +
				"\n" +
				"Reporting-MTA: dns; mx.example.net\n" +
				"X-Qsend-Queue-ID: 42\n" +
				"Arrival-Date: 6 Sep 1995 02:40:00 -0000\n" +
				"\n" +
				"Final-Recipient: rfc822; joe@example.com\n" +
				"Action: failed\n" +
				"Status: 5.0.0\n" +
				"\n" +
				"--=_qsend_0123456789abcdef\n" +
				"Content-Description: Undelivered message headers\n" +
				"Content-Type: text/rfc822-headers\n" +
				"\n" +
				"Received: (qmail 12 invoked by uid 1000); 6 Sep 1995 02:40:00 -0000\n" +
				"Subject: hi\n" +
				"\n--=_qsend_0123456789abcdef--\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := dsnOrig
			o.Sender = tc.sender
			nm, r, kind := Compose(dsnSettings(tc.maxBody), o, tc.rcpts, strings.NewReader(origBody), when, 4242)
			if kind != tc.kind || nm.DedupeKey != "bounce:42" {
				t.Fatalf("kind %v key %q", kind, nm.DedupeKey)
			}
			out, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", out, tc.want)
			}
			checkReport(t, out, len(tc.rcpts), "failed")
		})
	}
}

// checkReport parses a DSN with net/mail and mime/multipart and checks
// its structure (RFC 6522 §3, RFC 3464 §2).
func checkReport(t *testing.T, out []byte, rcpts int, action string) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Date", "From", "To", "Subject", "Message-Id", "Auto-Submitted"} {
		if msg.Header.Get(h) == "" {
			t.Errorf("no %s header", h)
		}
	}
	if _, err := mail.ParseAddress(msg.Header.Get("From")); err != nil {
		t.Errorf("From: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("content type %q %v %v", mt, params, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Header.Get("Content-Type"))
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "message/delivery-status") {
			// Groups of fields: per-message, then one per recipient.
			groups := strings.Split(strings.TrimRight(string(body), "\n"), "\n\n")
			if len(groups) != 1+rcpts {
				t.Errorf("%d field groups, want %d", len(groups), 1+rcpts)
			}
			for i, g := range groups {
				h, err := mail.ReadMessage(strings.NewReader(g + "\n\n"))
				if err != nil {
					t.Fatalf("group %d: %v", i, err)
				}
				if i == 0 && !strings.HasPrefix(h.Header.Get("Reporting-MTA"), "dns; ") {
					t.Errorf("Reporting-MTA %q", h.Header.Get("Reporting-MTA"))
				}
				if i > 0 && (h.Header.Get("Action") != action || h.Header.Get("Status") == "" ||
					!strings.HasPrefix(h.Header.Get("Final-Recipient"), "rfc822; ")) {
					t.Errorf("recipient group %d: %v", i, h.Header)
				}
			}
		}
	}
	if len(types) != 3 || !strings.HasPrefix(types[0], "text/plain") || types[1] != "message/delivery-status" ||
		(types[2] != "message/rfc822" && types[2] != "text/rfc822-headers") {
		t.Errorf("parts %q", types)
	}
}

func TestComposeDSNDiscards(t *testing.T) {
	s := dsnSettings(DefaultMaxBody)
	for _, tc := range []struct {
		sender   string
		doubleTo string
		want     Kind
	}{
		{DoubleBounceSender, "postmaster", Discard},
		{"", "", DiscardDouble},
		{"owner-@host-@[]", "postmaster", Single},
	} {
		s.DoubleBounceTo = tc.doubleTo
		o := dsnOrig
		o.Sender = tc.sender
		nm, r, kind := Compose(s, o, []store.Recipient{dsnRcpt}, strings.NewReader(origBody), when, 1)
		if kind != tc.want {
			t.Errorf("sender %q: kind %v, want %v", tc.sender, kind, tc.want)
		}
		if kind == Single && nm.Recipients[0] != "owner-@host" {
			t.Errorf("VERP bounce to %q", nm.Recipients)
		}
		if (r == nil) != (kind == Discard || kind == DiscardDouble) {
			t.Errorf("sender %q: reader %v", tc.sender, r)
		}
	}
}

func TestDSNRandomBoundary(t *testing.T) {
	s := settings
	s.Format, s.MaxBody = FormatDSN, DefaultMaxBody
	var seen []string
	for range 2 {
		_, r, _ := Compose(s, dsnOrig, []store.Recipient{dsnRcpt}, strings.NewReader(origBody), when, 1)
		out, _ := io.ReadAll(r)
		checkReport(t, out, 1, "failed")
		msg, _ := mail.ReadMessage(bytes.NewReader(out))
		_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		seen = append(seen, params["boundary"])
	}
	if seen[0] == seen[1] || len(seen[0]) != len("=_qsend_")+32 {
		t.Errorf("boundaries %q", seen)
	}
}

// TestDSNStreams bounces a 50 MB body in both DSN shapes and checks the
// composer reads it only as the result is read, and for headers only
// stops after the header.
func TestDSNStreams(t *testing.T) {
	const size = 50 << 20
	for _, maxBody := range []int64{size, size - 1} {
		body := &headedReader{countingReader: countingReader{n: size}}
		o := dsnOrig
		o.Size = size
		_, r, _ := Compose(dsnSettings(maxBody), o, []store.Recipient{dsnRcpt}, body, when, 1)
		if body.read != 0 {
			t.Fatalf("Compose read %d bytes of the body", body.read)
		}
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			t.Fatal(err)
		}
		whole := maxBody >= size
		if whole && (body.read != size || n <= size) {
			t.Errorf("whole: copied %d bytes, body read %d", n, body.read)
		}
		if !whole && (n > 64<<10 || body.read > 64<<10) {
			t.Errorf("headers only: copied %d bytes, body read %d", n, body.read)
		}
	}
}

// headedReader is a countingReader whose content starts with a header.
type headedReader struct {
	countingReader
	headDone bool
}

func (h *headedReader) Read(p []byte) (int, error) {
	if !h.headDone {
		h.headDone = true
		s := "Subject: big\n\n"
		h.read += int64(len(s))
		return copy(p, s), nil
	}
	return h.countingReader.Read(p)
}

func TestComposeDelay(t *testing.T) {
	waiting := []store.Recipient{{Addr: "slow@example.org", LastAttempt: tried,
		LastResult: "Connected to 192.0.2.7 but connection died. (#4.4.2)\n"}}
	for _, format := range []string{FormatQmail, FormatDSN} {
		s := dsnSettings(DefaultMaxBody)
		s.Format = format
		nm, r, ok := ComposeDelay(s, dsnOrig, waiting, strings.NewReader(origBody), when, 4242)
		if !ok {
			t.Fatal("no warning")
		}
		if nm.Sender != "" || nm.Recipients[0] != "joe@example.com" || nm.DedupeKey != "warn:42" || nm.WarnedOf != 42 {
			t.Errorf("envelope %+v", nm)
		}
		out, _ := io.ReadAll(r)
		checkReport(t, out, 1, "delayed")
		want := dsnHead +
			"Subject: Delayed Mail (still being retried)\n" +
			"Message-ID: <810355614.42.0123456789abcdef@mx.example.net>\n" +
			dsnMIME +
			"I'm still trying to deliver your message to the following addresses.\n" +
			"This is only a warning: you do not need to send the message again.\n" +
			"I'll tell you if I give up.\n" +
			"\n" +
			"<slow@example.org>:\n" +
			"Connected to 192.0.2.7 but connection died. (#4.4.2)\n" +
			"\n" +
			"--=_qsend_0123456789abcdef\n" +
			"Content-Description: Delivery report\n" +
			"Content-Type: message/delivery-status\n" +
			"\n" +
			"Reporting-MTA: dns; mx.example.net\n" +
			"X-Qsend-Queue-ID: 42\n" +
			"Arrival-Date: 6 Sep 1995 02:40:00 -0000\n" +
			"\n" +
			"Final-Recipient: rfc822; slow@example.org\n" +
			"Action: delayed\n" +
			"Status: 4.4.2\n" +
			"Remote-MTA: dns; [192.0.2.7]\n" +
			"Last-Attempt-Date: 6 Sep 1995 02:46:50 -0000\n" +
			"\n" +
			"--=_qsend_0123456789abcdef\n" +
			"Content-Description: Undelivered message headers\n" +
			"Content-Type: text/rfc822-headers\n" +
			"\n" +
			"Received: (qmail 12 invoked by uid 1000); 6 Sep 1995 02:40:00 -0000\n" +
			"Subject: hi\n" +
			"\n--=_qsend_0123456789abcdef--\n"
		if string(out) != want {
			t.Errorf("%s: got:\n%s\nwant:\n%s", format, out, want)
		}
	}
	for _, sender := range []string{"", DoubleBounceSender} {
		o := dsnOrig
		o.Sender = sender
		if _, _, ok := ComposeDelay(settings, o, waiting, strings.NewReader(origBody), when, 1); ok {
			t.Errorf("warning for sender %q", sender)
		}
	}
	if _, _, ok := ComposeDelay(settings, dsnOrig, nil, strings.NewReader(origBody), when, 1); ok {
		t.Error("warning without waiting recipients")
	}
}

func TestStatusAndReply(t *testing.T) {
	tests := []struct {
		text, def               string
		status, mta, diagnostic string
	}{
		{"Sorry, no mailbox here by that name. (#5.1.1)\n", "5.0.0", "5.1.1", "", ""},
		{"1.2.3.4 does not like recipient.\nRemote host said: 550 5.1.1 unknown\nGiving up on 1.2.3.4.\n", "5.0.0", "5.1.1", "[1.2.3.4]", "550 5.1.1 unknown"},
		{"Connected to 2001:db8::1 but sender was rejected.\nRemote host said: 553-5.7.1 first\n553-5.7.1 second\n553 5.7.1 last\n", "5.0.0", "5.7.1", "[IPv6:2001:db8::1]", "553-5.7.1 first 553-5.7.1 second 553 5.7.1 last"},
		{"Remote host said: 452 too many\n", "4.0.0", "4.0.0", "", "452 too many"},
		{"mx.example.com does not like recipient.\nRemote host said: 550\tno\x00pe\n", "5.0.0", "5.0.0", "mx.example.com", "550 no pe"},
		{"", "5.0.0", "5.0.0", "", ""},
		{"Giving up on 192.0.2.9.\n", "5.0.0", "5.0.0", "[192.0.2.9]", ""},
		{"version 5.1.1 of something", "5.0.0", "5.0.0", "", ""},
	}
	for _, tc := range tests {
		if got := statusOf(tc.text, tc.def); got != tc.status {
			t.Errorf("statusOf(%q) = %q, want %q", tc.text, got, tc.status)
		}
		if got := remoteMTA(tc.text); got != tc.mta {
			t.Errorf("remoteMTA(%q) = %q, want %q", tc.text, got, tc.mta)
		}
		if got := remoteReply(tc.text); got != tc.diagnostic {
			t.Errorf("remoteReply(%q) = %q, want %q", tc.text, got, tc.diagnostic)
		}
	}
}

func TestHeaderReader(t *testing.T) {
	tests := []struct{ in, want string }{
		{"A: 1\nB: 2\n\nbody\n\nmore\n", "A: 1\nB: 2\n"},
		{"A: 1\r\nB: 2\r\n\r\nbody\n", "A: 1\r\nB: 2\r\n"},
		{"\nbody\n", ""},
		{"A: 1\n", "A: 1\n"},
		{"A: 1", "A: 1"},
		{"", ""},
		{"A: x\r\n\r\n", "A: x\r\n"},
	}
	for _, tc := range tests {
		for _, step := range []int{1, 2, 3, 4096} {
			got, err := io.ReadAll(newHeaderReader(&stepReader{s: tc.in, step: step}))
			if err != nil || string(got) != tc.want {
				t.Errorf("%q in steps of %d: %q, %v; want %q", tc.in, step, got, err, tc.want)
			}
		}
	}
}

// stepReader returns at most step bytes a read.
type stepReader struct {
	s    string
	step int
}

func (r *stepReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.step)], r.s)
	r.s = r.s[n:]
	return n, nil
}
