package inject

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzAddressList runs a header field through the tokenizer, the
// address-list walker with qmail-inject's rewriting, and the printer.
func FuzzAddressList(f *testing.F) {
	for _, s := range []string{
		"To: a@b.c",
		"To: \"Joe\" <joe@x>, group: a, b;, <@r:c@d>",
		"Cc: recipient list not shown: ;",
		"From: x@[1.2.3.4] (comment (nested))",
		"To: a b c",
		"To: <>, x@[], @, ., a+, b@c+",
	} {
		f.Add(s)
	}
	rw := rewriter{}
	rw.defaultHost, _ = tokenize("@host.example")
	rw.defaultDomain, _ = tokenize(".dom.example")
	rw.plusDomain, _ = tokenize(".plus.example")
	f.Fuzz(func(t *testing.T, s string) {
		ts, ok := tokenize(s)
		if !ok {
			return
		}
		out, ok := addrList(ts, rw.rewrite)
		if !ok {
			return
		}
		b := unparse(out, lineLen)
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("%q printed without a final newline: %q", s, b)
		}
		// What qmail-inject prints, it can read again.
		if _, ok := tokenize(string(b)); !ok {
			t.Fatalf("%q printed as %q, which does not tokenize", s, b)
		}
	})
}

// FuzzHeader runs whole messages through Inject.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"Subject: hi\n\nbody\n",
		"From x\nTo: a, b\nCc: c\n (folded)\nBcc: d\nReturn-Path: <e>\n\nbody",
		"Resent-To: x\nResent-Bcc: y\n",
		"To: (unclosed\n\n",
		"bad line\nTo: x\n",
		"X\x01: y\n",
	} {
		f.Add(s, "-H")
	}
	f.Add("To: a\n", "-f")
	f.Fuzz(func(t *testing.T, msg, arg string) {
		opts, err := ParseArgs([]string{"-n", arg, "r@x"})
		if err != nil {
			return
		}
		m, err := Inject(Input{Options: opts, Env: map[string]string{"USER": "u", "QMAILINJECT": "cr"}, Controls: testControls, Now: testNow, PID: 1},
			strings.NewReader(msg))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Code != ExitPermanent && e.Code != ExitTemporary) {
				t.Fatalf("error %v is not an *Error with 100 or 111", err)
			}
			return
		}
		out, err := io.ReadAll(m.Reader())
		if err != nil {
			t.Fatal(err)
		}
		if len(msg) > 0 && out[len(out)-1] != '\n' {
			t.Fatalf("output does not end with a newline: %q", out)
		}
	})
}
