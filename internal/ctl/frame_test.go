package ctl

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func frames(t *testing.T, fs ...[2]string) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, f := range fs {
		if err := WriteFrame(&b, f[0][0], []byte(f[1])); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func TestDataReader(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		body    string
		end     byte
		payload string
		err     error
	}{
		{"message then envelope", frames(t, [2]string{"D", "Subject: x\n"}, [2]string{"D", "\nbody\n"}, [2]string{"E", `{"sender":""}`}),
			"Subject: x\n\nbody\n", FrameEnvelope, `{"sender":""}`, nil},
		{"empty message", frames(t, [2]string{"E", "{}"}), "", FrameEnvelope, "{}", nil},
		{"empty data frames", frames(t, [2]string{"D", ""}, [2]string{"D", "x"}, [2]string{"A", ""}), "x", FrameAbort, "", nil},
		{"connection lost", frames(t, [2]string{"D", "x"}), "x", 0, "", io.ErrUnexpectedEOF},
		{"cut inside a frame", frames(t, [2]string{"D", "xyz"})[:6], "", 0, "", io.ErrUnexpectedEOF},
		{"wrong frame type", frames(t, [2]string{"Q", "{}"}), "", 0, "", ErrFrame},
		{"oversized frame", []byte{'D', 0xff, 0xff, 0xff, 0xff}, "", 0, "", ErrFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDataReader(bufio.NewReader(bytes.NewReader(tt.in)))
			got, err := io.ReadAll(d)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.body || d.End != tt.end || string(d.EndPayload) != tt.payload {
				t.Fatalf("got %q %v end %q %q", got, err, d.End, d.EndPayload)
			}
		})
	}
}

func TestWriteFrameLimit(t *testing.T) {
	if err := WriteFrame(io.Discard, FrameData, make([]byte, MaxFrame+1)); err == nil {
		t.Fatal("oversized frame written")
	}
}

func TestCopyFramesChunks(t *testing.T) {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	body := strings.Repeat("z", 3*DataChunk+17)
	if err := copyFrames(w, strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	WriteFrame(w, FrameEnvelope, nil)
	w.Flush()
	got, err := io.ReadAll(NewDataReader(bufio.NewReader(&b)))
	if err != nil || string(got) != body {
		t.Fatalf("round trip: %d bytes, %v", len(got), err)
	}
}

// FuzzDataReader feeds arbitrary bytes, as a client of the control socket
// could send, to the frame reader the daemon uses.
func FuzzDataReader(f *testing.F) {
	f.Add([]byte("D\x00\x00\x00\x03abcE\x00\x00\x00\x02{}"))
	f.Add([]byte("A\x00\x00\x00\x00"))
	f.Add([]byte("D\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDataReader(bufio.NewReader(bytes.NewReader(in)))
		got, err := io.ReadAll(d)
		if err == nil {
			if d.End != FrameEnvelope && d.End != FrameAbort {
				t.Fatalf("ended without an end frame: %q", d.End)
			}
			if len(got) > len(in) {
				t.Fatalf("read %d bytes from %d", len(got), len(in))
			}
		}
	})
}
