package bounce

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"

	"github.com/qsend/qsend/store"
)

// FuzzComposeDSN feeds addresses and remote texts, which come from the
// network, and bodies through the DSN composer and checks that the result
// parses as a three-part report whose last part is the original.
func FuzzComposeDSN(f *testing.F) {
	f.Add("joe@example.com", "user@example.org", "1.2.3.4 does not like recipient.\nRemote host said: 550 5.1.1 no\n", "Subject: x\n\nbody\n", true)
	f.Add("", "x@y", "a\n\n\nb (#4.2.2)", "", false)
	f.Add("owner-@host-@[]", "a\nb@c", "Remote host said: 5", "no header", true)
	f.Add("a b\"c@x", "\r\n", "Connected to \x00 but", "\x00\xff\n\n", false)
	f.Fuzz(func(t *testing.T, sender, rcpt, text, body string, whole bool) {
		s := settings
		s.Format, s.MaxBody = FormatDSN, int64(len(body))
		if !whole {
			s.MaxBody--
		}
		o := store.Message{ID: 3, Sender: sender, Born: when, Size: int64(len(body))}
		_, r, kind := Compose(s, o, []store.Recipient{{Addr: rcpt, LastResult: text, LastAttempt: when}}, strings.NewReader(body), when, 9)
		if kind == Discard || kind == DiscardDouble {
			return
		}
		out, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("not a message: %v", err)
		}
		_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(msg.Body, params["boundary"])
		var parts [][]byte
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, b)
		}
		if len(parts) != 3 {
			t.Fatalf("%d parts", len(parts))
		}
		if whole && string(parts[2]) != body {
			// multipart drops a CR before the delimiter's LF; the original
			// must otherwise come back unchanged.
			if !(strings.HasSuffix(body, "\r") && string(parts[2]) == strings.TrimSuffix(body, "\r")) {
				t.Fatalf("original %q came back as %q", body, parts[2])
			}
		}
		if bytes.Count(parts[1], []byte("\nAction: failed\n")) != 1 {
			t.Fatalf("delivery-status part %q", parts[1])
		}
	})
}

// FuzzHeaderReader checks the streaming header cut against a plain one.
func FuzzHeaderReader(f *testing.F) {
	f.Add("A: 1\nB: 2\n\nbody\n", 1)
	f.Add("A: 1\r\n\r\nbody", 2)
	f.Add("\n", 3)
	f.Add(strings.Repeat("x", 5000)+"\n\nbody", 4096)
	f.Fuzz(func(t *testing.T, in string, step int) {
		step = max(1, step%5000)
		got, err := io.ReadAll(newHeaderReader(&stepReader{s: in, step: step}))
		if err != nil {
			t.Fatal(err)
		}
		// Reference: lines up to the first that is empty but for CRs.
		want := ""
		for rest := in; rest != ""; {
			line, after, found := strings.Cut(rest, "\n")
			if found && strings.Trim(line, "\r") == "" {
				break
			}
			if found {
				line += "\n"
			}
			want += line
			rest = after
		}
		if string(got) != want {
			t.Fatalf("%q: got %q, want %q", in, got, want)
		}
	})
}
