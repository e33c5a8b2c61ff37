package dkim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/qsend/qsend/internal/testlib"
)

func TestFromDomain(t *testing.T) {
	tests := []struct {
		msg, want string
		ok        bool
	}{
		{"From: alice@Example.COM\n\nbody", "example.com", true},
		{"Received: x\nfrom: \"A, B\" <a@b.example>, c@d.example\n\n", "b.example", true},
		{"From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>\n\n", "example.com", true},
		{"From: J\xc3\xbcrgen <j@example.com>\n\n", "example.com", true},
		{"From:\n  alice@example.com.\n\n", "example.com", true},
		{"From: alice@example.com\r\nTo: x\r\n\r\n", "example.com", true},
		{"To: bob@example.com\n\nFrom: alice@example.com\n", "", false},
		{"From: alice\n\n", "", false},
		{"From: alice@exa!mple.com\n\n", "", false},
		{"Subject: no from\n\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := FromDomain([]byte(tt.msg))
		if got != tt.want || ok != tt.ok {
			t.Errorf("FromDomain(%q) = %q, %v; want %q, %v", tt.msg, got, ok, tt.want, tt.ok)
		}
	}
}

func TestSign(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, dir, "example.com", "s1", "ed25519")
	writeKey(t, dir, "me.example", "m1", "ed25519")
	ks, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log testlib.LogBuffer
	c := &Counters{}
	s := New(ks, Options{ScratchDir: t.TempDir(), Counters: c, Logger: log.Logger()})
	tests := []struct {
		name, msg, fallback, domain string
		seekable                    bool
	}{
		{name: "key", msg: "From: a@example.com\n\nhi\n", domain: "example.com", seekable: true},
		{name: "streamed", msg: "From: a@example.com\n\nhi\n", domain: "example.com"},
		{name: "other domain", msg: "From: a@example.org\n\nhi\n", seekable: true},
		{name: "fallback", msg: "From: MAILER-DAEMON@bounces.example\n\nhi\n", fallback: "ME.example", domain: "me.example"},
		{name: "no From, fallback", msg: "Subject: x\n\nhi\n", fallback: "me.example", domain: "me.example"},
		// go-msgauth needs the empty line: this one fails, and goes out
		// unsigned and whole.
		{name: "no body", msg: "From: a@example.com\nSubject: x", domain: ""},
	}
	for _, tt := range tests {
		var in io.Reader = strings.NewReader(tt.msg)
		if !tt.seekable {
			in = io.MultiReader(in)
		}
		m, err := s.Sign(context.Background(), in, tt.fallback)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		b, _ := io.ReadAll(m)
		m.Close()
		if m.Domain != tt.domain {
			t.Errorf("%s: signed for %q, want %q", tt.name, m.Domain, tt.domain)
		}
		if !bytes.HasSuffix(b, []byte(tt.msg)) {
			t.Errorf("%s: message changed:\n%s", tt.name, b)
		}
		signed := bytes.HasPrefix(b, []byte("DKIM-Signature: "))
		if signed != (tt.domain != "") || bytes.Contains(b, []byte("\r")) {
			t.Errorf("%s: stored as\n%q", tt.name, b)
		}
	}
	n := map[string]int64{}
	c.Signed(func(d string, k int64) { n[d] = k })
	if n["example.com"] != 2 || n["me.example"] != 2 || c.Failures() != 1 {
		t.Errorf("counted %v and %d failures", n, c.Failures())
	}
	if !strings.Contains(log.String(), "signing failed") {
		t.Errorf("failure not logged: %s", log.String())
	}
}

// A read error of the message is the caller's: nothing is stored.
func TestSignReadError(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, dir, "example.com", "s1", "ed25519")
	ks, _ := Load(dir, nil)
	s := New(ks, Options{ScratchDir: t.TempDir()})
	boom := errors.New("client went away")
	in := io.MultiReader(strings.NewReader("From: a@example.com\n\nstart"), iotest.ErrReader(boom))
	if _, err := s.Sign(context.Background(), in, ""); !errors.Is(err, boom) {
		t.Fatalf("Sign: %v, want %v", err, boom)
	}
}

func TestRecordMatch(t *testing.T) {
	dir := t.TempDir()
	writeKey(t, dir, "example.com", "r", "rsa")
	writeKey(t, dir, "example.com", "e", "ed25519")
	ks, _ := Load(dir, nil)
	var rsaKey, edKey *Key
	for _, k := range ks.All["example.com"] {
		if k.Algorithm() == "rsa" {
			rsaKey = k
		} else {
			edKey = k
		}
	}
	if rsaKey.RecordName() != "r._domainkey.example.com" {
		t.Errorf("record name %s", rsaKey.RecordName())
	}
	parts := Strings(rsaKey.Record())
	if len(parts) < 2 || len(parts[0]) != 255 || strings.Join(parts, "") != rsaKey.Record() {
		t.Errorf("split into %d strings", len(parts))
	}
	tests := []struct {
		key     *Key
		txt     string
		wantErr string
	}{
		{rsaKey, rsaKey.Record(), ""},
		{rsaKey, strings.ReplaceAll(rsaKey.Record(), "k=rsa; ", ""), ""},
		{edKey, edKey.Record(), ""},
		{rsaKey, edKey.Record(), "type ed25519"},
		{edKey, "v=DKIM1; k=ed25519; p=AAAAAAAA", "not the key file's"},
		{edKey, "v=DKIM1; k=ed25519; p=", "revokes"},
		{edKey, "v=DKIM2; k=ed25519; p=x", "not DKIM1"},
		{edKey, "v=DKIM1; k", "no value"},
	}
	for _, tt := range tests {
		err := tt.key.Match(tt.txt)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Match(%.40q): %v, want %q", tt.txt, err, tt.wantErr)
		}
	}
}
