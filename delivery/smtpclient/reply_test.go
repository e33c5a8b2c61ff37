package smtpclient

import (
	"bufio"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name, in string
		want     Reply
		err      bool
	}{
		{"single", "250 ok\r\n", Reply{Code: 250, Lines: []string{"ok"}}, false},
		{"bare LF", "250 ok\n", Reply{Code: 250, Lines: []string{"ok"}}, false},
		{"code only", "250\r\n", Reply{Code: 250, Lines: []string{""}}, false},
		{"multi", "250-a\r\n250-b\r\n250 c\r\n", Reply{Code: 250, Lines: []string{"a", "b", "c"}}, false},
		{"enhanced", "550 5.1.1 no such user\r\n", Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"5.1.1 no such user"}}, false},
		{"enhanced class mismatch", "550 4.1.1 odd\r\n", Reply{Code: 550, Lines: []string{"4.1.1 odd"}}, false},
		{"not enhanced", "250 1.2 x\r\n", Reply{Code: 250, Lines: []string{"1.2 x"}}, false},
		{"garbage", "hello\r\n", Reply{}, true},
		{"bad separator", "250x\r\n", Reply{}, true},
		{"code changes", "250-a\r\n251 b\r\n", Reply{}, true},
		{"bad code", "650 x\r\n", Reply{}, true},
		{"too long", "250 " + strings.Repeat("x", 200) + "\r\n", Reply{}, true},
		{"eof", "250-a\r\n", Reply{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReaderSize(strings.NewReader(tt.in), 16), 100)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReplyText(t *testing.T) {
	r := Reply{Code: 451, Lines: []string{"first", "second"}}
	if got, want := r.Text(), "451-first\n451 second"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
}

func TestParseExtensions(t *testing.T) {
	e := parseExtensions([]string{"mx hello", "pipelining", "8BITMIME", "SIZE 1000", "AUTH=LOGIN PLAIN",
		"STARTTLS", "ENHANCEDSTATUSCODES", "smtputf8", "CHUNKING", "DSN"})
	want := Extensions{Pipelining: true, EightBitMIME: true, SMTPUTF8: true, Enhanced: true, StartTLS: true,
		Chunking: true, DSN: true, Size: 1000, SizeOffered: true, Auth: []string{"LOGIN", "PLAIN"}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("got %+v, want %+v", e, want)
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add([]byte("250 ok\r\n"))
	f.Add([]byte("250-a\r\n250 5.0.0 b\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := readReply(bufio.NewReaderSize(strings.NewReader(string(in)), 16), 512)
		if err != nil {
			if !errors.Is(err, ErrMalformedReply) && err.Error() != "EOF" && err.Error() != "unexpected EOF" {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if rep.Code < 200 || rep.Code > 559 || len(rep.Lines) == 0 {
			t.Fatalf("bad reply %+v", rep)
		}
		parseExtensions(rep.Lines) // must not panic on any EHLO reply
		// The text parses back to the same reply.
		again, err := readReply(bufio.NewReader(strings.NewReader(rep.Text()+"\r\n")), 1<<20)
		if err != nil || !reflect.DeepEqual(again, rep) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, rep)
		}
	})
}
